INSERT INTO cases (ref, type, status, priority, customer_account_id, summary, description, tags, flags, created_at, updated_at, version)
VALUES ('GD-' || lpad(nextval('case_ref_seq')::text, 9, '0'), 'other', 'new', 'normal', (SELECT id FROM customer_accounts WHERE account_id = 'BENCH1'), 'Redeemed on work account', 'benchmark', '[]', '[]', now(), now(), 1);
