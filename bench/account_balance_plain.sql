-- The balance read before issue 25: every posting of the account, summed (run with -D gw=ID).
SELECT currency, SUM(amount_minor) AS sum FROM postings WHERE account_id = :gw GROUP BY currency;
