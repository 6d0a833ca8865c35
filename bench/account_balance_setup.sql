-- Prepares, on a fresh database migrated by `giftdesk migrate`, the ledger of BenchmarkAccountPage
-- (issue 25): 100,000 promo credits from system:goodwill to 1,000 customer accounts, applied, so
-- that system:goodwill holds 100,000 postings (a million-case desk's goodwill account holds about
-- 96,000) among 200,000. No balance checkpoint: bench/account_balance_fold.sql folds them.
INSERT INTO users (email, name, role, password_hash, created_at, updated_at) VALUES ('agent@bench', 'A', 'agent', 'x', now(), now());
INSERT INTO customer_accounts (account_id, marketplace, created_at, updated_at)
  SELECT 'BAL' || g, 'US', now(), now() FROM generate_series(1, 1000) g;
INSERT INTO cases (ref, type, status, priority, customer_account_id, summary, tags, flags, created_at, updated_at, version)
  SELECT 'GD-' || lpad(g::text, 6, '0'), 'promo_credit', 'investigating', 'normal', a.id, 'promo credit', '[]', '[]', now(), now(), 1
  FROM generate_series(1, 1000) g JOIN customer_accounts a ON a.account_id = 'BAL' || g;
INSERT INTO corrections (case_id, kind, status, amount_minor, currency, from_account_id, to_account_id, reason, requested_by_id,
    required_approvals, created_at, updated_at)
  SELECT c.id, 'credit', 'applied', 100 + g % 900, 'USD', (SELECT id FROM customer_accounts WHERE account_id = 'system:goodwill'),
    c.customer_account_id, 'expired promotion', (SELECT min(id) FROM users), 1, now(), now()
  FROM generate_series(1, 100000) g JOIN cases c ON c.ref = 'GD-' || lpad((1 + g % 1000)::text, 6, '0');
-- Two postings per correction, in the corrections' order, as the desk writes them.
INSERT INTO postings (correction_id, account_id, amount_minor, currency, created_at)
  SELECT k.id, l.account_id, l.amount_minor, k.currency, k.created_at
  FROM corrections k, LATERAL (VALUES (1, k.from_account_id, -k.amount_minor), (2, k.to_account_id, k.amount_minor)) AS l(n, account_id, amount_minor)
  ORDER BY k.id, l.n;
ANALYZE;
