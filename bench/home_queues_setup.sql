-- A desk of 100,000 cases for the home queues' benchmark (issue 21), on a database migrated by
-- `giftdesk migrate`; BenchmarkHomeQueues runs this same file. A year of history, four cases in
-- five resolved or closed; the 20,000 newest (the last four days) open, a quarter of them past
-- their 72-hour resolution target: a desk with a backlog. 20 agents; the benchmark signs in as
-- me@bench; 30 % of open cases unassigned. One statement per line group, each ending in ";".
INSERT INTO users (email, name, role, password_hash, created_at, updated_at) VALUES ('me@bench', 'Me', 'agent', 'x', now(), now()) ON CONFLICT DO NOTHING;
INSERT INTO users (email, name, role, password_hash, created_at, updated_at)
  SELECT 'agent' || lpad(g::text, 2, '0') || '@bench', 'Agent ' || g, 'agent', 'x', now(), now() FROM generate_series(1, 19) g;
INSERT INTO customer_accounts (account_id, marketplace, email, created_at, updated_at)
  SELECT 'BENCH' || lpad(g::text, 6, '0'), (ARRAY['US', 'UK', 'DE', 'JP'])[1 + g % 4], 'customer' || g || '@example.com', now(), now()
  FROM generate_series(1, 50000) g;
CREATE TEMP TABLE bench_agents AS SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM users WHERE email LIKE '%@bench';
CREATE TEMP TABLE bench_cases AS
  SELECT g,
    CASE WHEN g <= 80000 THEN now() - interval '4 days' - (80000 - g) * interval '6 minutes'
         ELSE now() - (100000 - g) * interval '17 seconds' END AS created,
    CASE WHEN g <= 80000 THEN (ARRAY['closed', 'closed', 'resolved'])[1 + g % 3]
         ELSE (ARRAY['new', 'new', 'new', 'investigating', 'investigating', 'investigating', 'investigating',
                     'waiting_on_customer', 'waiting_on_customer', 'pending_approval'])[1 + g % 10] END AS status
  FROM generate_series(1, 100000) g;
INSERT INTO cases (ref, type, status, resolution, priority, customer_account_id, intended_account_id, assignee_id, summary, tags, flags,
    first_response_due, first_responded_at, resolution_due, resolved_at, created_at, updated_at, version)
  SELECT 'GD-' || lpad(b.g::text, 7, '0'),
    (ARRAY['wrong_account', 'unactivated_card', 'regional_mismatch', 'code_problem', 'scam_victim', 'promo_credit', 'unexpected_charge', 'other'])[1 + b.g % 8],
    b.status, CASE WHEN b.status IN ('resolved', 'closed') THEN 'no_action' END,
    (ARRAY['low', 'normal', 'normal', 'high', 'urgent'])[1 + b.g % 5],
    (SELECT min(id) FROM customer_accounts WHERE account_id LIKE 'BENCH%') + b.g % 50000,
    CASE WHEN b.g % 8 = 0 THEN (SELECT min(id) FROM customer_accounts WHERE account_id LIKE 'BENCH%') + (b.g + 1) % 50000 END,
    CASE WHEN b.g > 80000 AND (b.g / 7) % 10 < 3 THEN NULL ELSE (SELECT id FROM bench_agents WHERE n = (b.g / 11) % 20) END,
    'Bench case ' || b.g || ': the customer calls about a gift card', '[]',
    CASE WHEN b.g % 50 = 0 THEN '["possible_duplicate"]' ELSE '[]' END::jsonb,
    b.created + interval '8 hours', CASE WHEN b.g <= 80000 OR (b.g / 3) % 10 >= 2 THEN b.created + interval '2 hours' END,
    b.created + interval '72 hours', CASE WHEN b.status IN ('resolved', 'closed') THEN b.created + interval '30 hours' END,
    b.created, b.created, 1
  FROM bench_cases b ORDER BY b.g;
SELECT setval('case_ref_seq', 100001, false);
-- pgbench's session (the benchmark signs in for real).
INSERT INTO sessions (id_hash, user_id, created_at, last_seen_at)
  SELECT sha256('bench-session'), id, now(), now() FROM users WHERE email = 'me@bench';
VACUUM ANALYZE;
