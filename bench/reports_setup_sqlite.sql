-- A desk of 50,000 cases on SQLite for BenchmarkReportsSQLite (issue 22): a year of history, one
-- case every 631 seconds, shaped like bench/reports_setup.sql (answered within five hours, resolved
-- within four days, a card per case, 30 cards on a case in fifty, a correction on every third
-- case). Times are written as the driver writes them, UTC text. One statement per group, each
-- ending in ";".
INSERT INTO users (email, name, role, password_hash, created_at, updated_at) VALUES
  ('agent@bench', 'Agent', 'agent', 'x', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00'),
  ('sup@bench', 'Supervisor', 'supervisor', 'x', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00');
INSERT INTO customer_accounts (account_id, marketplace, created_at, updated_at) VALUES
  ('BENCH000001', 'US', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00'),
  ('BENCH000002', 'US', '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00');
WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 50000),
  b AS (SELECT x, unixepoch('now') - (50000 - x) * 631 AS t FROM g)
INSERT INTO cases (ref, type, status, resolution, priority, customer_account_id, intended_account_id, summary,
    first_response_due, first_responded_at, resolution_due, resolved_at, created_at, updated_at)
  SELECT 'GD-' || printf('%07d', x),
    CASE x % 8 WHEN 0 THEN 'wrong_account' WHEN 1 THEN 'unactivated_card' WHEN 2 THEN 'regional_mismatch' WHEN 3 THEN 'code_problem'
      WHEN 4 THEN 'scam_victim' WHEN 5 THEN 'promo_credit' WHEN 6 THEN 'unexpected_charge' ELSE 'other' END,
    CASE WHEN x > 49000 THEN 'investigating' ELSE 'resolved' END, CASE WHEN x <= 49000 THEN 'no_action' END,
    CASE x % 5 WHEN 0 THEN 'low' WHEN 3 THEN 'high' WHEN 4 THEN 'urgent' ELSE 'normal' END,
    (SELECT min(id) FROM customer_accounts), (SELECT max(id) FROM customer_accounts), 'Bench case ' || x,
    strftime('%Y-%m-%d %H:%M:%S+00:00', t + 8 * 3600, 'unixepoch'),
    CASE WHEN x % 20 <> 0 THEN strftime('%Y-%m-%d %H:%M:%S+00:00', t + (x % 97) * 180, 'unixepoch') END,
    strftime('%Y-%m-%d %H:%M:%S+00:00', t + 72 * 3600, 'unixepoch'),
    CASE WHEN x <= 49000 THEN strftime('%Y-%m-%d %H:%M:%S+00:00', t + (x % 113) * 3000, 'unixepoch') END,
    strftime('%Y-%m-%d %H:%M:%S+00:00', t, 'unixepoch'), strftime('%Y-%m-%d %H:%M:%S+00:00', t, 'unixepoch')
  FROM b;
WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 45000)
INSERT INTO gift_cards (claim_code_hmac, claim_code_last4, marketplace, currency, face_value_minor, created_at, updated_at)
  SELECT randomblob(32), printf('%04d', x % 10000), 'US', 'USD', 5000 + (x % 10) * 1000, '2026-01-01 00:00:00+00:00', '2026-01-01 00:00:00+00:00'
  FROM g;
INSERT INTO case_cards (case_id, card_id, added_at)
  SELECT c.id, (SELECT min(id) FROM gift_cards) + (c.id - (SELECT min(id) FROM cases)) % 45000, c.created_at FROM cases c;
INSERT INTO case_cards (case_id, card_id, added_at)
  SELECT c.id, (SELECT max(id) FROM gift_cards) - ((c.id / 50) % 30), c.created_at FROM cases c WHERE c.id % 50 = 0 ON CONFLICT DO NOTHING;
INSERT INTO corrections (case_id, kind, status, amount_minor, currency, from_account_id, to_account_id, reason, requested_by_id,
    required_approvals, denial_reason, decided_by_id, created_at, updated_at, decided_at, reversed_at)
  SELECT c.id, 'credit', s.status, 500 + (c.id % 40) * 125, CASE c.id % 3 WHEN 0 THEN 'USD' WHEN 1 THEN 'EUR' ELSE 'JPY' END,
    (SELECT min(id) FROM customer_accounts), (SELECT max(id) FROM customer_accounts), 'bench',
    (SELECT id FROM users WHERE email = 'agent@bench'), 1,
    CASE WHEN s.status = 'denied' THEN 'not ours' END,
    CASE WHEN s.status IN ('applied', 'denied', 'reversed') THEN (SELECT id FROM users WHERE email = 'sup@bench') END,
    c.created_at, c.created_at,
    CASE WHEN s.status IN ('applied', 'denied', 'reversed') THEN c.resolution_due END,
    CASE WHEN s.status = 'reversed' THEN c.resolution_due END
  FROM cases c JOIN (SELECT 0 AS k, 'applied' AS status UNION ALL SELECT 1, 'applied' UNION ALL SELECT 2, 'denied'
    UNION ALL SELECT 3, 'reversed' UNION ALL SELECT 4, 'pending') s ON s.k = (c.id / 3) % 5
  WHERE c.id % 3 = 0;
ANALYZE;
