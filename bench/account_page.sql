-- GET /api/v1/accounts/{id} as the desk reads it (captured with log_statement = all on
-- 2026-11-30, the balance read as issue 25 made it): the token and its user, the account, its
-- balances (checkpoint plus the postings after the mark), its newest 50 postings (+1) with their
-- counter accounts, corrections and cases. -D token_hash, -D account='system:goodwill'.
SELECT t.id AS t_id, t.name AS t_name, t.prefix AS t_prefix, t.scopes AS t_scopes,
  t.created_at AS t_created_at, t.last_used_at AS t_last_used_at, t.expires_at AS t_expires_at, t.revoked_at AS t_revoked_at,
  u.id AS u_id, u.email AS u_email, u.name AS u_name, u.role AS u_role, u.active AS u_active,
  u.must_change_password AS u_must_change_password, u.time_zone AS u_time_zone, u.shortcuts AS u_shortcuts
  FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE t.secret_hash = :token_hash LIMIT 1;
SELECT * FROM customer_accounts WHERE account_id = :account LIMIT 1 \gset acct_
SELECT currency, SUM(amount_minor) AS sum FROM (
  SELECT currency, amount_minor FROM balance_checkpoints WHERE account_id = :acct_id
  UNION ALL
  SELECT currency, amount_minor FROM postings WHERE account_id = :acct_id
    AND (xact_id, id) > ((SELECT through_xact FROM balance_checkpoint_mark WHERE id = 1),
      (SELECT through_posting_id FROM balance_checkpoint_mark WHERE id = 1))
) b GROUP BY currency;
SELECT p.*, a.account_id AS counter_account, c.ref AS case_ref, k.kind, k.status FROM postings AS p
  JOIN postings o ON o.correction_id = p.correction_id AND o.id <> p.id JOIN customer_accounts a ON a.id = o.account_id
  JOIN corrections k ON k.id = p.correction_id JOIN cases c ON c.id = k.case_id
  WHERE p.account_id = :acct_id ORDER BY p.id DESC LIMIT 51;
