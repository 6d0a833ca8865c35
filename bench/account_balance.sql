-- The balance read with checkpoints (models.Balances; run with -D gw=ID).
SELECT currency, SUM(amount_minor) AS sum FROM (
	SELECT currency, amount_minor FROM balance_checkpoints WHERE account_id = :gw
	UNION ALL
	SELECT currency, amount_minor FROM postings WHERE account_id = :gw
		AND (xact_id, id) > ((SELECT through_xact FROM balance_checkpoint_mark WHERE id = 1),
			(SELECT through_posting_id FROM balance_checkpoint_mark WHERE id = 1))
) b GROUP BY currency;
