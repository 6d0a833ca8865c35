-- The console's home page (GET /) of an agent as the desk reads it (captured with log_statement =
-- all on 2026-11-30, the request's literals turned into variables): the session and its user, the
-- queue counts, the first queue's page of 50 (+1), its customer accounts. giftdesk-bench passes
-- -D session_hash, -D user_id and -D due (the SLA window's end: now + 2 hours) of its agent.
-- -D accounts='{…}' are the customer accounts of that page (the desk sends them as an IN list).
SELECT s.created_at AS s_created_at, s.last_seen_at AS s_last_seen_at,
s.client_ip AS s_client_ip, s.user_agent AS s_user_agent,
u.id AS u_id, u.email AS u_email, u.name AS u_name, u.role AS u_role, u.active AS u_active,
u.must_change_password AS u_must_change_password, u.time_zone AS u_time_zone, u.shortcuts AS u_shortcuts
FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_hash = :session_hash LIMIT 1;
SELECT (SELECT count(*) FROM "cases" WHERE cases.status IN ('new', 'investigating', 'waiting_on_customer', 'pending_approval') AND cases.assignee_id = :user_id) AS c0, (SELECT count(*) FROM "cases" WHERE cases.status IN ('new', 'investigating', 'waiting_on_customer', 'pending_approval') AND cases.assignee_id IS NULL) AS c1, ((SELECT count(*) FROM "cases" WHERE cases.status IN ('new', 'investigating', 'waiting_on_customer', 'pending_approval') AND cases.resolution_due <= :due) + (SELECT count(*) FROM "cases" WHERE cases.status IN ('new', 'investigating', 'waiting_on_customer', 'pending_approval') AND (cases.first_responded_at IS NULL AND cases.first_response_due <= :due AND (cases.resolution_due IS NULL OR cases.resolution_due > :due)))) AS c2, (SELECT count(*) FROM "cases" WHERE cases.status = 'waiting_on_customer') AS c3, (SELECT count(*) FROM "cases" WHERE cases.status IN ('new', 'investigating', 'waiting_on_customer', 'pending_approval') AND (cases.id IN (SELECT e.case_id FROM evidence e WHERE e.verification = 'unverified' AND e.uploaded_by_id <> :user_id))) AS c4, (SELECT count(*) FROM "cases" WHERE cases.status = 'pending_approval') AS c5;
SELECT * FROM "cases" WHERE cases.status IN ('new', 'investigating', 'waiting_on_customer', 'pending_approval') AND cases.assignee_id = :user_id ORDER BY cases.id DESC LIMIT '51';
SELECT * FROM "customer_accounts" WHERE id = ANY (:accounts::bigint[]);
