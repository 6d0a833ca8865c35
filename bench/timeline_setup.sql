-- Prepares, on a fresh database migrated by `giftdesk migrate`, the case of BenchmarkCaseTimeline
-- for bench/timeline.sql: GD-000001 (case id 1, token id 1, user ids 1-3) with 200 timeline
-- entries (its creation, 100 communications, 30 receipts and their 30 verdicts, 10 transfers
-- requested, approved and applied, 9 status changes), among 1,000 other cases with 20,000
-- communications and 20,000 audit events.
INSERT INTO users (email, name, role, password_hash, created_at, updated_at) VALUES
  ('agent@bench', 'A', 'agent', 'x', now(), now()), ('second@bench', 'B', 'agent', 'x', now(), now()), ('sup@bench', 'S', 'supervisor', 'x', now(), now());
INSERT INTO api_tokens (user_id, name, prefix, secret_hash, scopes, created_at)
  VALUES (1, 'bench', 'gdt_bench', decode(repeat('ab', 32), 'hex'), '["cases:read"]', now());
INSERT INTO customer_accounts (account_id, marketplace, created_at, updated_at) VALUES ('A1B2C3D4', 'US', now(), now()), ('Z9Y8X7W6', 'US', now(), now());
INSERT INTO gift_cards (claim_code_hmac, claim_code_last4, serial, marketplace, currency, face_value_minor, status, redeemed_to_account_id, created_at, updated_at)
  SELECT decode(repeat('cd', 32), 'hex'), 'GH56', '6046123412341234', 'US', 'USD', 500000, 'redeemed', id, now(), now() FROM customer_accounts WHERE account_id = 'A1B2C3D4';
INSERT INTO cases (ref, type, status, priority, customer_account_id, intended_account_id, summary, tags, flags, created_by_id, created_at, updated_at, version)
  SELECT 'GD-000001', 'wrong_account', 'investigating', 'normal', f.id, t.id, 'Redeemed on work account', '[]', '[]', 1, now() - interval '1 day', now(), 60
  FROM customer_accounts f, customer_accounts t WHERE f.account_id = 'A1B2C3D4' AND t.account_id = 'Z9Y8X7W6';
INSERT INTO case_cards (case_id, card_id, added_at) VALUES (1, 1, now() - interval '1 day');
INSERT INTO audit_events (occurred_at, actor_type, actor_user_id, actor_label, action, entity_type, entity_id, after_state)
  VALUES (now() - interval '1 day', 'user', 1, 'agent@bench', 'case.created', 'case', 'GD-000001',
    '{"ref":"GD-000001","type":"wrong_account","status":"new","priority":"normal","summary":"Redeemed on work account","cards":[{"id":"1","last4":"GH56","serial":"6046123412341234","face_value_minor":500000,"currency":"USD","marketplace":"US","status":"redeemed"}]}');
INSERT INTO communications (case_id, channel, direction, occurred_at, counterpart_name, representative_name, reference, duration_seconds, body, author_id, recorded_at)
  SELECT 1, 'phone', 'inbound', now() - interval '1 day' + g * interval '1 minute', 'Pat Doe', 'Rep 7', 'CALL-' || g, 300,
    repeat('The customer explained what happened at the register. ', 6), 1, now() - interval '1 day' + g * interval '1 minute'
  FROM generate_series(1, 100) g;
INSERT INTO evidence_files (sha256, size, content_type, created_at)
  SELECT md5('f' || g) || md5('g' || g), 1000, 'image/png', now() FROM generate_series(1, 30) g;
INSERT INTO evidence (case_id, file_id, kind, file_name, uploaded_by_id, uploaded_at, store_name, purchased_at, amount_minor, currency, note,
    verification, verified_by_id, verified_at, verification_note)
  SELECT 1, f.id, 'receipt', 'receipt.png', 1, now() - interval '20 hours' + f.id * interval '1 minute', 'Store 12', '2026-11-01', 5000, 'USD',
    'photo of the receipt', 'verified', 2, now() - interval '20 hours' + f.id * interval '1 minute' + interval '30 seconds', 'matches the card'
  FROM evidence_files f;
INSERT INTO corrections (case_id, kind, status, amount_minor, currency, from_account_id, to_account_id, card_id, reason, requested_by_id,
    required_approvals, decided_by_id, created_at, updated_at, decided_at)
  SELECT 1, 'transfer', 'applied', 1000, 'USD', c.customer_account_id, c.intended_account_id, 1, 'wrong account', 1, 1, 3,
    now() - interval '10 hours' + g * interval '1 minute', now() - interval '10 hours' + g * interval '1 minute' + interval '30 seconds',
    now() - interval '10 hours' + g * interval '1 minute' + interval '30 seconds'
  FROM cases c, generate_series(1, 10) g WHERE c.id = 1;
INSERT INTO correction_approvals (correction_id, requested_by_id, approver_id, note, created_at)
  SELECT id, requested_by_id, 3, 'checked', decided_at FROM corrections WHERE case_id = 1;
INSERT INTO audit_events (occurred_at, actor_type, actor_user_id, actor_label, action, entity_type, entity_id, before_state, after_state)
  SELECT now() - interval '5 hours' + g * interval '1 minute', 'user', 1, 'agent@bench', 'case.updated', 'case', 'GD-000001',
    '{"status":"investigating"}', '{"status":"waiting_on_customer"}' FROM generate_series(1, 9) g;
-- The other cases, as in the benchmark.
INSERT INTO cases (ref, type, status, priority, customer_account_id, summary, tags, flags, created_at, updated_at, version)
  SELECT 'GD-9' || lpad(g::text, 7, '0'), 'other', 'new', 'normal', (SELECT min(id) FROM customer_accounts WHERE NOT is_system),
    'background', '[]', '[]', now(), now(), 1 FROM generate_series(1, 1000) g;
INSERT INTO communications (case_id, channel, direction, occurred_at, body, author_id, recorded_at)
  SELECT c.id, 'email', 'inbound', now() - g * interval '1 minute', 'background', 1, now() FROM cases c, generate_series(1, 20) g WHERE c.ref LIKE 'GD-9%';
INSERT INTO audit_events (occurred_at, actor_type, actor_label, action, entity_type, entity_id, after_state)
  SELECT now(), 'system', '', 'case.updated', 'case', c.ref, '{"status":"investigating"}' FROM cases c, generate_series(1, 20) g WHERE c.ref LIKE 'GD-9%';
ANALYZE;
SELECT (SELECT id FROM cases WHERE ref = 'GD-000001') AS case_id, (SELECT id FROM api_tokens) AS token_id;
