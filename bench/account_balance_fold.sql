-- Folds every posting into the balance checkpoints and moves the mark past them, as the desk's
-- checkpoint pass would (cases.Desk.CheckpointBalances); valid only while nothing writes postings.
INSERT INTO balance_checkpoints (account_id, currency, amount_minor)
  SELECT account_id, currency, SUM(amount_minor) FROM postings GROUP BY account_id, currency
  ON CONFLICT (account_id, currency) DO UPDATE SET amount_minor = excluded.amount_minor;
UPDATE balance_checkpoint_mark SET (through_xact, through_posting_id, folded) =
  (SELECT xact_id, id, (SELECT count(*) FROM postings) FROM postings ORDER BY xact_id DESC, id DESC LIMIT 1);
ANALYZE;
