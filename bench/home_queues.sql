-- The SELECTs one console page sends, as the desk sends them (issue 21), for pgbench against the
-- database bench/home_queues_setup.sql fills: the session and its user, the queue counts (home
-- pages only), the page of 50 rows (+1), their customer accounts and assignees (50 and 20 rows by
-- primary key, as the desk's batch loads). Pick the page with -D queue=N: 1 mine, 2 unassigned,
-- 3 sla, 4 waiting, 5 approval (the home page with that queue), 6 /cases, 7 /cases?priority=urgent&assignee=none;
-- and the SLA window's end with -D due="YYYY-MM-DD HH:MM:SS+00" (now + 2 hours; needs -M prepared, which passes it as a parameter, as the desk does).
SELECT * FROM sessions WHERE id_hash = sha256('bench-session') LIMIT 1 \gset
SELECT * FROM users WHERE id = :user_id LIMIT 1;
\if :queue <= 5
SELECT (SELECT count(*) FROM cases WHERE cases.status IN ('new', 'investigating', 'waiting_on_customer', 'pending_approval') AND cases.assignee_id = :user_id) AS c0,
  (SELECT count(*) FROM cases WHERE cases.status IN ('new', 'investigating', 'waiting_on_customer', 'pending_approval') AND cases.assignee_id IS NULL) AS c1,
  ((SELECT count(*) FROM cases WHERE cases.status IN ('new', 'investigating', 'waiting_on_customer', 'pending_approval') AND cases.resolution_due <= :due::timestamptz)
   + (SELECT count(*) FROM cases WHERE cases.status IN ('new', 'investigating', 'waiting_on_customer', 'pending_approval') AND (cases.first_responded_at IS NULL
      AND cases.first_response_due <= :due::timestamptz AND (cases.resolution_due IS NULL OR cases.resolution_due > :due::timestamptz)))) AS c2,
  (SELECT count(*) FROM cases WHERE cases.status = 'waiting_on_customer') AS c3,
  (SELECT count(*) FROM cases WHERE cases.status = 'pending_approval') AS c4;
\endif
\if :queue = 1
SELECT * FROM cases WHERE cases.status IN ('new', 'investigating', 'waiting_on_customer', 'pending_approval') AND cases.assignee_id = :user_id ORDER BY cases.id DESC LIMIT 51;
\elif :queue = 2
SELECT * FROM cases WHERE cases.status IN ('new', 'investigating', 'waiting_on_customer', 'pending_approval') AND cases.assignee_id IS NULL ORDER BY cases.id DESC LIMIT 51;
\elif :queue = 3
SELECT * FROM cases WHERE cases.status IN ('new', 'investigating', 'waiting_on_customer', 'pending_approval')
  AND (((cases.first_responded_at IS NULL AND cases.first_response_due <= :due::timestamptz) OR cases.resolution_due <= :due::timestamptz)) ORDER BY cases.id DESC LIMIT 51;
\elif :queue = 4
SELECT * FROM cases WHERE cases.status = 'waiting_on_customer' ORDER BY cases.id DESC LIMIT 51;
\elif :queue = 5
SELECT * FROM cases WHERE cases.status = 'pending_approval' ORDER BY cases.id DESC LIMIT 51;
\elif :queue = 6
SELECT * FROM cases ORDER BY cases.id DESC LIMIT 51;
\else
SELECT * FROM cases WHERE cases.priority = 'urgent' AND cases.assignee_id IS NULL ORDER BY cases.id DESC LIMIT 51;
\endif
SELECT * FROM customer_accounts WHERE id BETWEEN 1000 AND 1049;
SELECT id, email AS value FROM users WHERE id <= 20;
