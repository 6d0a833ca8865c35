-- The CSV export's rows and columns as one PostgreSQL statement: the baseline of the desk's CSV
-- export (cases/export's BenchmarkExport and giftdesk-bench read this file). Cards joined by ';'
-- in card order, corrected sums, the first external reference, the assignee's email.
COPY (SELECT c.ref, c.type, c.status, c.resolution, c.priority, c.created_at, c.updated_at,
	a.account_id, a.marketplace,
	(SELECT string_agg(COALESCE(g.claim_code_last4, right(g.serial, 4)), ';' ORDER BY cc.added_at, g.id)
		FROM case_cards cc JOIN gift_cards g ON g.id = cc.card_id WHERE cc.case_id = c.id) AS card_last4,
	(SELECT string_agg(g.face_value_minor::text, ';' ORDER BY cc.added_at, g.id)
		FROM case_cards cc JOIN gift_cards g ON g.id = cc.card_id WHERE cc.case_id = c.id) AS face_value_minor,
	CASE a.marketplace WHEN 'US' THEN 'USD' WHEN 'CA' THEN 'CAD' WHEN 'MX' THEN 'MXN' WHEN 'BR' THEN 'BRL' WHEN 'UK' THEN 'GBP'
		WHEN 'JP' THEN 'JPY' WHEN 'IN' THEN 'INR' WHEN 'AU' THEN 'AUD' ELSE 'EUR' END AS currency,
	COALESCE((SELECT sum(amount_minor) FROM corrections k WHERE k.case_id = c.id AND k.kind IN ('transfer', 'credit') AND k.status = 'applied'), 0) AS corrected_minor,
	u.email AS assignee,
	(SELECT e.system FROM case_external_refs e WHERE e.case_id = c.id ORDER BY e.id LIMIT 1) AS external_system,
	(SELECT e.external_id FROM case_external_refs e WHERE e.case_id = c.id ORDER BY e.id LIMIT 1) AS external_id
	FROM cases c JOIN customer_accounts a ON a.id = c.customer_account_id LEFT JOIN users u ON u.id = c.assignee_id
	ORDER BY c.id) TO STDOUT WITH (FORMAT csv, HEADER);
