-- case_create_tx.sql under an Idempotency-Key, as issue 19 runs it: look-up before, per-key lock,
-- check and the answer written in the transaction.
\set n random(1, 2000000000)
SELECT status_code FROM idempotency_keys WHERE owner = 'token:1' AND key = 'pb-' || :n;
BEGIN;
SELECT pg_try_advisory_xact_lock(1768778096, :n % 2147483647);
SELECT status_code FROM idempotency_keys WHERE owner = 'token:1' AND key = 'pb-' || :n;
INSERT INTO customer_accounts (account_id, marketplace, email, name, created_at, updated_at) VALUES ('PB' || :n, 'US', 'pat@example.com', 'Pat Doe', now(), now()) ON CONFLICT (account_id) DO NOTHING;
INSERT INTO customer_accounts (account_id, marketplace, created_at, updated_at) VALUES ('PH' || :n, 'US', now(), now()) ON CONFLICT (account_id) DO NOTHING;
INSERT INTO gift_cards (claim_code_hmac, claim_code_last4, claim_code_hints, marketplace, currency, face_value_minor, status, redeemed_at, created_at, updated_at) VALUES (decode(md5(:n::text) || md5((:n + 1)::text), 'hex'), 'ABCD', '[]', 'US', 'USD', 5000, 'redeemed', now(), now(), now()) RETURNING id AS card_id \gset
INSERT INTO cases (ref, type, status, priority, customer_account_id, intended_account_id, summary, description, tags, flags, first_response_due, resolution_due, created_at, updated_at, version) SELECT 'GD-' || lpad(nextval('case_ref_seq')::text, 9, '0'), 'wrong_account', 'new', 'normal', a.id, b.id, 'Redeemed on work account', 'The customer redeemed the card on the work account by mistake.', '["phone"]', '[]', now(), now(), now(), now(), 1 FROM customer_accounts a, customer_accounts b WHERE a.account_id = 'PB' || :n AND b.account_id = 'PH' || :n RETURNING id AS case_id \gset
INSERT INTO case_cards (case_id, card_id, added_at) VALUES (:case_id, :card_id, now());
INSERT INTO case_external_refs (case_id, system, external_id, created_at) VALUES (:case_id, 'zendesk', 'PB' || :n, now());
INSERT INTO audit_events (occurred_at, actor_type, actor_label, action, entity_type, entity_id, after_state) VALUES (now(), 'token', 'bench', 'case.created', 'case', 'GD', json_build_object('ref', 'GD', 'summary', 'Redeemed on work account')::jsonb);
INSERT INTO outbox (event_type, payload, created_at) VALUES ('case.created', json_build_object('ref', 'GD')::jsonb, now());
INSERT INTO idempotency_keys (owner, key, request_hash, state, status_code, response_headers, response_body, created_at, completed_at) VALUES ('token:1', 'pb-' || :n, decode(md5(:n::text) || md5((:n + 2)::text), 'hex'), 'done', 201, '{"Content-Type":"application/json; charset=utf-8"}', convert_to(repeat('{"ref":"GD-000000001"}', 60), 'UTF8'), now(), now());
COMMIT;
