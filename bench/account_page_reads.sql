-- The account page's reads after authentication (GET /api/v1/accounts/{id}): the account, its
-- balances (models.Balances) and its newest postings (models.PostingsOf); run with -D gw=ID -D acct=system:goodwill.
SELECT * FROM customer_accounts WHERE account_id = :acct LIMIT 1;
SELECT currency, SUM(amount_minor) AS sum FROM (
	SELECT currency, amount_minor FROM balance_checkpoints WHERE account_id = :gw
	UNION ALL
	SELECT currency, amount_minor FROM postings WHERE account_id = :gw
		AND (xact_id, id) > ((SELECT through_xact FROM balance_checkpoint_mark WHERE id = 1),
			(SELECT through_posting_id FROM balance_checkpoint_mark WHERE id = 1))
) b GROUP BY currency;
SELECT p.*, a.account_id AS counter_account, c.ref AS case_ref, k.kind, k.status FROM postings AS p
	JOIN postings o ON o.correction_id = p.correction_id AND o.id <> p.id JOIN customer_accounts a ON a.id = o.account_id
	JOIN corrections k ON k.id = p.correction_id JOIN cases c ON c.id = k.case_id
	WHERE p.account_id = :gw ORDER BY p.id DESC LIMIT 51;
