-- A desk of 1,000,000 cases for the reports' benchmark (issue 22), on a database migrated by
-- `giftdesk migrate`; BenchmarkReports1M runs this same file. Two years of history, one case every
-- 63 seconds, the 20,000 newest open; 95 % answered within five hours, resolved cases within four
-- days; a card per case (900,000 cards, the first 100,000 on two cases two years apart) and 300
-- cards added to a case in fifty (duplicate claims); a correction on every third case, in USD,
-- EUR and JPY, applied, denied, reversed, pending or cancelled. One statement per group, each
-- ending in ";".
INSERT INTO users (email, name, role, password_hash, created_at, updated_at) VALUES
  ('agent@bench', 'Agent', 'agent', 'x', now(), now()), ('sup@bench', 'Supervisor', 'supervisor', 'x', now(), now());
INSERT INTO customer_accounts (account_id, marketplace, email, created_at, updated_at)
  SELECT 'BENCH' || lpad(g::text, 6, '0'), 'US', 'customer' || g || '@example.com', now(), now()
  FROM generate_series(1, 50000) g;
INSERT INTO cases (ref, type, status, resolution, priority, customer_account_id, intended_account_id, summary,
    first_response_due, first_responded_at, resolution_due, resolved_at, created_at, updated_at)
  SELECT 'GD-' || lpad(b.g::text, 7, '0'),
    (ARRAY['wrong_account', 'unactivated_card', 'regional_mismatch', 'code_problem', 'scam_victim', 'promo_credit', 'unexpected_charge', 'other'])[1 + b.g % 8],
    CASE WHEN b.g > 980000 THEN 'investigating' WHEN b.g % 3 = 0 THEN 'closed' ELSE 'resolved' END,
    CASE WHEN b.g <= 980000 THEN 'no_action' END,
    (ARRAY['low', 'normal', 'normal', 'high', 'urgent'])[1 + b.g % 5],
    (SELECT min(id) FROM customer_accounts) + b.g % 50000,
    CASE WHEN b.g % 8 = 0 THEN (SELECT min(id) FROM customer_accounts) + (b.g + 1) % 50000 END,
    'Bench case ' || b.g,
    b.created + interval '8 hours',
    CASE WHEN b.g % 20 <> 0 THEN b.created + (b.g % 97) * interval '3 minutes' END,
    b.created + interval '72 hours',
    CASE WHEN b.g <= 980000 THEN b.created + (b.g % 113) * interval '50 minutes' END,
    b.created, b.created
  FROM (SELECT g, now() - (1000000 - g) * interval '63 seconds' AS created FROM generate_series(1, 1000000) g) b;
SELECT setval('case_ref_seq', 1000001, false);
INSERT INTO gift_cards (claim_code_hmac, claim_code_last4, marketplace, currency, face_value_minor, created_at, updated_at)
  SELECT sha256(g::text::bytea), lpad((g % 10000)::text, 4, '0'), 'US', 'USD', 5000 + (g % 10) * 1000, now(), now()
  FROM generate_series(1, 900000) g;
INSERT INTO case_cards (case_id, card_id, added_at)
  SELECT c.id, (SELECT min(id) FROM gift_cards) + (c.id - (SELECT min(id) FROM cases)) % 900000, c.created_at FROM cases c;
INSERT INTO case_cards (case_id, card_id, added_at)
  SELECT c.id, (SELECT min(id) FROM gift_cards) + 900000 - 1 - ((c.id / 50) % 300), c.created_at + interval '1 minute'
  FROM cases c WHERE c.id % 50 = 0 ON CONFLICT DO NOTHING;
INSERT INTO corrections (case_id, kind, status, amount_minor, currency, from_account_id, to_account_id, reason, requested_by_id,
    required_approvals, denial_reason, decided_by_id, created_at, updated_at, decided_at, reversed_at)
  SELECT c.id, 'credit', s.status, 500 + (c.id % 40) * 125, (ARRAY['USD', 'EUR', 'JPY'])[1 + c.id % 3],
    (SELECT min(id) FROM customer_accounts), (SELECT min(id) FROM customer_accounts) + 1, 'bench',
    (SELECT id FROM users WHERE email = 'agent@bench'), 1,
    CASE WHEN s.status = 'denied' THEN 'not ours' END,
    CASE WHEN s.status IN ('applied', 'denied', 'reversed') THEN (SELECT id FROM users WHERE email = 'sup@bench') END,
    c.created_at + interval '1 hour', c.created_at + interval '5 hours',
    CASE WHEN s.status IN ('applied', 'denied', 'reversed') THEN c.created_at + interval '5 hours' END,
    CASE WHEN s.status = 'reversed' THEN c.created_at + interval '30 hours' END
  FROM cases c, LATERAL (SELECT (ARRAY['applied', 'applied', 'applied', 'denied', 'reversed', 'pending', 'cancelled'])[1 + (c.id / 3) % 7] AS status) s
  WHERE c.id % 3 = 0;
VACUUM ANALYZE;
