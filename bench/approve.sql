-- One approval as the desk applies it: lock case, card and correction; the approval; the status;
-- two postings; the case back to investigating; the audit event; the outbox row.
SELECT nextval('bench_ids') AS cid \gset
BEGIN;
SELECT c.id FROM cases c JOIN corrections k ON k.case_id = c.id WHERE k.id = :cid FOR UPDATE OF c;
SELECT g.id FROM gift_cards g JOIN corrections k ON k.card_id = g.id WHERE k.id = :cid FOR UPDATE OF g;
SELECT id FROM corrections WHERE id = :cid FOR UPDATE;
INSERT INTO correction_approvals (correction_id, requested_by_id, approver_id, note, created_at)
  SELECT id, requested_by_id, (SELECT id FROM users WHERE email = 'sup@bench'), '', now() FROM corrections WHERE id = :cid;
SELECT COALESCE(SUM(amount_minor), 0) FROM corrections WHERE card_id = (SELECT card_id FROM corrections WHERE id = :cid) AND status = 'applied';
UPDATE corrections SET status = 'applied', decided_at = now(), updated_at = now(), version = version + 1 WHERE id = :cid;
INSERT INTO postings (correction_id, account_id, amount_minor, currency, created_at)
  SELECT id, from_account_id, -amount_minor, currency, now() FROM corrections WHERE id = :cid
  UNION ALL SELECT id, to_account_id, amount_minor, currency, now() FROM corrections WHERE id = :cid;
UPDATE cases SET status = 'investigating', version = version + 1, updated_at = now() WHERE id = (SELECT case_id FROM corrections WHERE id = :cid);
INSERT INTO audit_events (occurred_at, actor_type, actor_label, action, entity_type, entity_id, after_state)
  VALUES (now(), 'user', 'sup@bench', 'correction.applied', 'correction', 'x', json_build_object('status', 'applied')::jsonb);
INSERT INTO outbox (event_type, payload, created_at) VALUES ('correction.applied', json_build_object('status', 'applied')::jsonb, now());
COMMIT;
