-- Prepares 60,000 pending transfers, each on its own card, for bench/approve.sql.
INSERT INTO users (email, name, role, password_hash, created_at, updated_at) VALUES ('agent@bench', 'A', 'agent', 'x', now(), now()), ('sup@bench', 'S', 'supervisor', 'x', now(), now());
INSERT INTO customer_accounts (account_id, marketplace, created_at, updated_at) VALUES ('BFROM', 'US', now(), now()), ('BTO', 'US', now(), now());
INSERT INTO cases (ref, type, status, priority, customer_account_id, intended_account_id, summary, tags, flags, created_at, updated_at, version)
  SELECT 'GD-' || lpad(g::text, 8, '0'), 'wrong_account', 'pending_approval', 'normal', f.id, t.id, 'bench', '[]', '[]', now(), now(), 1
  FROM generate_series(1, 60000) g, customer_accounts f, customer_accounts t WHERE f.account_id = 'BFROM' AND t.account_id = 'BTO';
INSERT INTO gift_cards (serial, marketplace, currency, face_value_minor, status, redeemed_to_account_id, created_at, updated_at)
  SELECT 'B' || g, 'US', 'USD', 5000, 'redeemed', f.id, now(), now() FROM generate_series(1, 60000) g, customer_accounts f WHERE f.account_id = 'BFROM';
INSERT INTO case_cards (case_id, card_id, added_at) SELECT c.id, g.id, now() FROM cases c JOIN gift_cards g ON g.serial = 'B' || substr(c.ref, 4)::int;
INSERT INTO corrections (case_id, kind, status, amount_minor, currency, from_account_id, to_account_id, card_id, reason, requested_by_id, required_approvals, created_at, updated_at)
  SELECT cc.case_id, 'transfer', 'pending', 2500, 'USD', c.customer_account_id, c.intended_account_id, cc.card_id, 'bench',
    (SELECT id FROM users WHERE email = 'agent@bench'), 1, now(), now()
  FROM case_cards cc JOIN cases c ON c.id = cc.case_id;
CREATE SEQUENCE bench_ids;
SELECT setval('bench_ids', (SELECT min(id) FROM corrections), false);
ANALYZE;
