-- 1,000 more credits from system:goodwill after the last fold: postings a pass has not folded yet.
INSERT INTO corrections (case_id, kind, status, amount_minor, currency, from_account_id, to_account_id, reason, requested_by_id,
    required_approvals, created_at, updated_at)
  SELECT c.id, 'credit', 'applied', 100, 'USD', (SELECT id FROM customer_accounts WHERE account_id = 'system:goodwill'),
    c.customer_account_id, 'expired promotion', (SELECT min(id) FROM users), 1, now(), now()
  FROM cases c ORDER BY c.id LIMIT 1000;
INSERT INTO postings (correction_id, account_id, amount_minor, currency, created_at)
  SELECT k.id, l.account_id, l.amount_minor, k.currency, k.created_at
  FROM corrections k, LATERAL (VALUES (1, k.from_account_id, -k.amount_minor), (2, k.to_account_id, k.amount_minor)) AS l(n, account_id, amount_minor)
  WHERE NOT EXISTS (SELECT 1 FROM postings p WHERE p.correction_id = k.id) ORDER BY k.id, l.n;
