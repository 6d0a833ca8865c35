package models

// searchByShape gives each shape of the case list's q an index that answers it without a trigram
// scan (issue 25): the start of an account id, an email or a serial in any letter case. Refs use
// their unique index and last 4s gift_cards_last4 already; trigram indexes stay for free text.
//
// On PostgreSQL a prefix LIKE reads a btree only through text_pattern_ops (the default operator
// class follows the database's collation, and only the C collation orders like LIKE), and that
// operator class also serves equality, so the plain lower(...) indexes, which only search used,
// are replaced rather than doubled: an account is written with every new case. SQLite reads its
// plain expression indexes as a byte range (see PrefixFold) and only lacks one for serials.
func searchByShape(d Dialect, _ string) []string {
	if d == Postgres {
		return []string{
			`CREATE INDEX customer_accounts_account_prefix ON customer_accounts (lower(account_id) text_pattern_ops)`,
			`DROP INDEX customer_accounts_account_lower`,
			`CREATE INDEX customer_accounts_email_prefix ON customer_accounts (lower(email) text_pattern_ops)`,
			`DROP INDEX customer_accounts_email`,
			`CREATE INDEX gift_cards_serial_prefix ON gift_cards (lower(serial) text_pattern_ops)`,
		}
	}
	return []string{`CREATE INDEX gift_cards_serial_prefix ON gift_cards (lower(serial))`}
}
