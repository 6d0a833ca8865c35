-- One page of 200 entries of GD-000001's timeline as the desk reads it (BenchmarkCaseTimeline,
-- GIFTDESK_BENCH_PRINT_SQL=1): the token, its user and its touch; the case; its cards' codes for
-- the redactor; then one statement per source: communications, evidence, corrections and
-- approvals, audit events. Data: bench/timeline_setup.sql.
SELECT * FROM api_tokens WHERE secret_hash = decode(repeat('ab', 32), 'hex') LIMIT 1;
SELECT * FROM users WHERE id = 1 LIMIT 1;
UPDATE api_tokens SET last_used_at = now() WHERE id = 1 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');
SELECT * FROM cases WHERE ref = 'GD-000001' LIMIT 1;
SELECT g.* FROM gift_cards g JOIN case_cards cc ON cc.card_id = g.id WHERE cc.case_id = 1 ORDER BY cc.added_at, g.id;
SELECT c.*, u.email AS author_email, s.id AS superseded_by FROM communications AS c JOIN users u ON u.id = c.author_id
  LEFT JOIN communications s ON s.supersedes_id = c.id WHERE c.case_id = 1 AND 1 = 1 ORDER BY c.occurred_at, c.id LIMIT 201;
SELECT t.entry_kind, e.*, f.content_type, f.size, u.email AS actor_email FROM (
    SELECT 'evidence_added' AS entry_kind, 7 AS entry_rank, e.uploaded_at AS entry_at, e.id AS entry_id, e.uploaded_by_id AS actor_id FROM evidence e WHERE e.case_id = 1 AND 1 = 1
    UNION ALL SELECT 'evidence_verified' AS entry_kind, 8 AS entry_rank, e.verified_at AS entry_at, e.id AS entry_id, e.verified_by_id FROM evidence e WHERE e.case_id = 1 AND e.verification = 'verified' AND 1 = 1
    UNION ALL SELECT 'evidence_rejected' AS entry_kind, 9 AS entry_rank, e.verified_at AS entry_at, e.id AS entry_id, e.verified_by_id FROM evidence e WHERE e.case_id = 1 AND e.verification = 'rejected' AND 1 = 1) t
  JOIN evidence e ON e.id = t.entry_id JOIN evidence_files f ON f.id = e.file_id JOIN users u ON u.id = t.actor_id
  ORDER BY t.entry_at, t.entry_rank, t.entry_id LIMIT 201;
SELECT t.entry_kind, t.entry_id, c.*, fa.account_id AS from_account, ta.account_id AS to_account,
    g.claim_code_last4 AS card_last4, g.serial AS card_serial, rv.id AS reversed_by, a.created_at AS approved_at, a.note AS approval_note, u.email AS actor_email
  FROM (SELECT 'correction_requested' AS entry_kind, 10 AS entry_rank, c.created_at AS entry_at, c.id AS entry_id, c.id AS correction_id, c.requested_by_id AS actor_id FROM corrections c WHERE c.case_id = 1 AND 1 = 1
    UNION ALL SELECT 'correction_approved' AS entry_kind, 11 AS entry_rank, a.created_at AS entry_at, a.id AS entry_id, a.correction_id, a.approver_id FROM correction_approvals a JOIN corrections c ON c.id = a.correction_id WHERE c.case_id = 1 AND 1 = 1
    UNION ALL SELECT 'correction_applied' AS entry_kind, 12 AS entry_rank, c.decided_at AS entry_at, c.id AS entry_id, c.id, c.decided_by_id FROM corrections c WHERE c.case_id = 1 AND c.status IN ('applied', 'reversed') AND 1 = 1
    UNION ALL SELECT 'correction_reversed' AS entry_kind, 13 AS entry_rank, c.reversed_at AS entry_at, c.id AS entry_id, c.id, r.decided_by_id FROM corrections c JOIN corrections r ON r.reverses_id = c.id AND r.status = 'applied' WHERE c.case_id = 1 AND c.status = 'reversed' AND 1 = 1
    UNION ALL SELECT 'correction_denied' AS entry_kind, 14 AS entry_rank, c.decided_at AS entry_at, c.id AS entry_id, c.id, c.decided_by_id FROM corrections c WHERE c.case_id = 1 AND c.status = 'denied' AND 1 = 1
    UNION ALL SELECT 'correction_cancelled' AS entry_kind, 15 AS entry_rank, c.updated_at AS entry_at, c.id AS entry_id, c.id, c.requested_by_id FROM corrections c WHERE c.case_id = 1 AND c.status = 'cancelled' AND 1 = 1) t
  JOIN corrections c ON c.id = t.correction_id JOIN customer_accounts fa ON fa.id = c.from_account_id JOIN customer_accounts ta ON ta.id = c.to_account_id
  LEFT JOIN gift_cards g ON g.id = c.card_id LEFT JOIN corrections rv ON rv.reverses_id = c.id AND rv.status IN ('pending', 'applied')
  LEFT JOIN correction_approvals a ON t.entry_kind = 'correction_approved' AND a.id = t.entry_id LEFT JOIN users u ON u.id = t.actor_id
  ORDER BY t.entry_at, t.entry_rank, t.entry_id LIMIT 201;
SELECT a.id, a.occurred_at, a.actor_label, a.action, a.entity_id, a.before_state, a.after_state FROM audit_events a
  WHERE ((a.entity_type = 'case' AND a.entity_id = 'GD-000001' AND a.action IN ('case.created', 'case.card_added', 'case.flagged', 'case.updated'))
    OR (a.entity_type = 'card' AND a.action IN ('card.frozen', 'card.unfrozen') AND a.entity_id IN (SELECT CAST(cc.card_id AS TEXT) FROM case_cards cc WHERE cc.case_id = 1)))
    AND ((a.action = 'case.created' AND 1 = 1) OR (a.action = 'case.card_added' AND 1 = 1) OR (a.action = 'case.flagged' AND 1 = 1)
      OR (a.action = 'case.updated' AND 1 = 1) OR (a.action = 'card.frozen' AND 1 = 1) OR (a.action = 'card.unfrozen' AND 1 = 1))
  ORDER BY a.occurred_at, CASE a.action WHEN 'case.created' THEN 0 WHEN 'case.card_added' THEN 1 WHEN 'case.flagged' THEN 2 WHEN 'case.updated' THEN 3
    WHEN 'card.frozen' THEN 4 WHEN 'card.unfrozen' THEN 5 END, a.id LIMIT 201;
