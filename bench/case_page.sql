-- The console's case page (GET /cases/{ref}) as the desk reads it for a case with 200 timeline
-- entries, one customer account and no card (captured with log_statement = all on 2026-11-30, the
-- literals of that request turned into variables; the other cases of its accounts and the audit
-- panel's cards as issue 25 rewrote them): the session and its user; the case, its cards,
-- accounts, links, external references and correction counts; the timeline's sources (200
-- communications); the related cases; the audit panel. giftdesk-bench passes -D session_hash,
-- -D ref, -D case_id and -D account_id of the case it made.
SELECT s.created_at AS s_created_at, s.last_seen_at AS s_last_seen_at,
s.client_ip AS s_client_ip, s.user_agent AS s_user_agent,
u.id AS u_id, u.email AS u_email, u.name AS u_name, u.role AS u_role, u.active AS u_active,
u.must_change_password AS u_must_change_password, u.time_zone AS u_time_zone, u.shortcuts AS u_shortcuts
FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = :session_hash LIMIT 1;
SELECT * FROM "cases" WHERE ref = :ref LIMIT '1';
SELECT g.* FROM gift_cards g JOIN case_cards cc ON cc.card_id = g.id
WHERE cc.case_id = :case_id ORDER BY cc.added_at, g.id;
SELECT g.* FROM gift_cards g JOIN case_cards cc ON cc.card_id = g.id
WHERE cc.case_id = :case_id ORDER BY cc.added_at, g.id;
SELECT * FROM "customer_accounts" WHERE id IN (:account_id);
SELECT DISTINCT c.ref FROM case_links l JOIN cases c ON c.id = l.other_case_id
WHERE l.case_id = :case_id ORDER BY c.ref;
SELECT * FROM "case_external_refs" WHERE case_id = :case_id ORDER BY id;
SELECT status, count(*) AS n FROM corrections WHERE case_id = :case_id GROUP BY status;
SELECT c.*, u.email AS author_email, s.id AS superseded_by FROM communications AS c JOIN users u ON u.id = c.author_id LEFT JOIN communications s ON s.supersedes_id = c.id WHERE c.case_id = :case_id ORDER BY c.occurred_at, c.id LIMIT '200';
SELECT * FROM "evidence" WHERE case_id = :case_id ORDER BY id LIMIT '200';
SELECT * FROM "corrections" WHERE case_id = :case_id ORDER BY id DESC LIMIT '200';
SELECT * FROM "customer_accounts" WHERE id IN (NULL);
SELECT id, ref, type, status, summary, customer_account_id, intended_account_id, updated_at FROM "cases" WHERE id = ANY(ARRAY(SELECT id FROM cases WHERE customer_account_id IN (:account_id) UNION SELECT id FROM cases WHERE intended_account_id IN (:account_id))) AND id <> :case_id ORDER BY id DESC LIMIT '20';
SELECT c.*, u.email AS author_email, s.id AS superseded_by FROM communications AS c JOIN users u ON u.id = c.author_id LEFT JOIN communications s ON s.supersedes_id = c.id WHERE c.case_id = :case_id AND 1 = 1 ORDER BY c.occurred_at, c.id LIMIT '201';
SELECT t.entry_kind, e.*, f.content_type, f.size, u.email AS actor_email FROM (SELECT 'evidence_added' AS entry_kind, 7 AS entry_rank, e.uploaded_at AS entry_at, e.id AS entry_id, e.uploaded_by_id AS actor_id FROM evidence e WHERE e.case_id = :case_id AND 1 = 1 UNION ALL SELECT 'evidence_verified' AS entry_kind, 8 AS entry_rank, e.verified_at AS entry_at, e.id AS entry_id, e.verified_by_id FROM evidence e WHERE e.case_id = :case_id AND e.verification = 'verified' AND 1 = 1 UNION ALL SELECT 'evidence_rejected' AS entry_kind, 9 AS entry_rank, e.verified_at AS entry_at, e.id AS entry_id, e.verified_by_id FROM evidence e WHERE e.case_id = :case_id AND e.verification = 'rejected' AND 1 = 1) t
JOIN evidence e ON e.id = t.entry_id
JOIN evidence_files f ON f.id = e.file_id
JOIN users u ON u.id = t.actor_id
ORDER BY t.entry_at, t.entry_rank, t.entry_id LIMIT '201';
SELECT t.entry_kind, t.entry_id, c.*, fa.account_id AS from_account, ta.account_id AS to_account,
g.claim_code_last4 AS card_last4, g.serial AS card_serial, rv.id AS reversed_by,
a.created_at AS approved_at, a.note AS approval_note, u.email AS actor_email
FROM (SELECT 'correction_requested' AS entry_kind, 10 AS entry_rank, c.created_at AS entry_at, c.id AS entry_id, c.id AS correction_id, c.requested_by_id AS actor_id FROM corrections c WHERE c.case_id = :case_id AND 1 = 1 UNION ALL SELECT 'correction_approved' AS entry_kind, 11 AS entry_rank, a.created_at AS entry_at, a.id AS entry_id, a.correction_id, a.approver_id FROM correction_approvals a JOIN corrections c ON c.id = a.correction_id WHERE c.case_id = :case_id AND 1 = 1 UNION ALL SELECT 'correction_applied' AS entry_kind, 12 AS entry_rank, c.decided_at AS entry_at, c.id AS entry_id, c.id, c.decided_by_id FROM corrections c WHERE c.case_id = :case_id AND c.status IN ('applied', 'reversed') AND 1 = 1 UNION ALL SELECT 'correction_reversed' AS entry_kind, 13 AS entry_rank, c.reversed_at AS entry_at, c.id AS entry_id, c.id, r.decided_by_id FROM corrections c JOIN corrections r ON r.reverses_id = c.id AND r.status = 'applied' WHERE c.case_id = :case_id AND c.status = 'reversed' AND 1 = 1 UNION ALL SELECT 'correction_denied' AS entry_kind, 14 AS entry_rank, c.decided_at AS entry_at, c.id AS entry_id, c.id, c.decided_by_id FROM corrections c WHERE c.case_id = :case_id AND c.status = 'denied' AND 1 = 1 UNION ALL SELECT 'correction_cancelled' AS entry_kind, 15 AS entry_rank, c.updated_at AS entry_at, c.id AS entry_id, c.id, c.requested_by_id FROM corrections c WHERE c.case_id = :case_id AND c.status = 'cancelled' AND 1 = 1) t
JOIN corrections c ON c.id = t.correction_id
JOIN customer_accounts fa ON fa.id = c.from_account_id
JOIN customer_accounts ta ON ta.id = c.to_account_id
LEFT JOIN gift_cards g ON g.id = c.card_id
LEFT JOIN corrections rv ON rv.reverses_id = c.id AND rv.status IN ('pending', 'applied')
LEFT JOIN correction_approvals a ON t.entry_kind = 'correction_approved' AND a.id = t.entry_id
LEFT JOIN users u ON u.id = t.actor_id
ORDER BY t.entry_at, t.entry_rank, t.entry_id LIMIT '201';
SELECT a.id, a.occurred_at, a.actor_label, a.action, a.entity_id, a.before_state, a.after_state
FROM audit_events a
WHERE ((a.entity_type = 'case' AND a.entity_id = :ref AND a.action IN ('case.created', 'case.card_added', 'case.flagged', 'case.updated'))
OR (a.entity_type = 'card' AND a.action IN ('card.frozen', 'card.unfrozen')
AND a.entity_id IN (SELECT CAST(cc.card_id AS TEXT) FROM case_cards cc WHERE cc.case_id = :case_id)))
AND ((a.action = 'case.created' AND 1 = 1) OR (a.action = 'case.card_added' AND 1 = 1) OR (a.action = 'case.flagged' AND 1 = 1) OR (a.action = 'case.updated' AND 1 = 1) OR (a.action = 'card.frozen' AND 1 = 1) OR (a.action = 'card.unfrozen' AND 1 = 1))
ORDER BY a.occurred_at, CASE a.action WHEN 'case.created' THEN 0 WHEN 'case.card_added' THEN 1 WHEN 'case.flagged' THEN 2 WHEN 'case.updated' THEN 3 WHEN 'card.frozen' THEN 4 WHEN 'card.unfrozen' THEN 5 END, a.id LIMIT '201';
SELECT * FROM "cases" WHERE ref = :ref LIMIT '1';
SELECT 'correction' AS type, id FROM corrections WHERE case_id = :case_id
UNION ALL SELECT 'evidence', id FROM evidence WHERE case_id = :case_id
UNION ALL SELECT 'card', card_id FROM case_cards WHERE case_id = :case_id;
SELECT audit_events.*, audit_seals.seq FROM "audit_events" LEFT JOIN audit_seals ON audit_seals.event_id = audit_events.id WHERE ((audit_events.entity_type = 'case' AND audit_events.entity_id IN (:ref))) ORDER BY audit_events.id DESC LIMIT '51';
SELECT g.* FROM gift_cards g WHERE g.id = ANY(ARRAY(SELECT id FROM gift_cards WHERE id IN ('0')
UNION SELECT cc.card_id FROM case_cards cc WHERE cc.case_id IN (
SELECT id FROM cases WHERE ref IN (:ref)
UNION SELECT case_id FROM corrections WHERE id IN ('0')
UNION SELECT case_id FROM evidence WHERE id IN ('0'))));
