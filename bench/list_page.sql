-- One page of GET /api/v1/cases as the desk reads it (captured with log_statement = all on
-- 2026-11-30): the token and its user, the page of 50 rows (+1), its customer accounts and
-- assignees by primary key. giftdesk-bench passes the same values the desk's request uses:
-- -D token_hash, -D page=1 the default list, 2 status=investigating&type=wrong_account, 3 the page
-- before case id -D before (a deep keyset page); -D accounts='{…}' and -D users='{…}' are the ids
-- that page holds.
SELECT t.id AS t_id, t.name AS t_name, t.prefix AS t_prefix, t.scopes AS t_scopes,
  t.created_at AS t_created_at, t.last_used_at AS t_last_used_at, t.expires_at AS t_expires_at, t.revoked_at AS t_revoked_at,
  u.id AS u_id, u.email AS u_email, u.name AS u_name, u.role AS u_role, u.active AS u_active,
  u.must_change_password AS u_must_change_password, u.time_zone AS u_time_zone, u.shortcuts AS u_shortcuts
  FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.secret_hash = :token_hash LIMIT 1;
\if :page = 1
SELECT * FROM cases ORDER BY cases.id DESC LIMIT 51;
\elif :page = 2
SELECT * FROM cases WHERE cases.status = 'investigating' AND cases.type = 'wrong_account' ORDER BY cases.id DESC LIMIT 51;
\else
SELECT * FROM cases WHERE cases.id < :before ORDER BY cases.id DESC LIMIT 51;
\endif
SELECT * FROM customer_accounts WHERE id = ANY (:accounts::bigint[]);
SELECT id, email AS value FROM users WHERE id = ANY (:users::bigint[]);
