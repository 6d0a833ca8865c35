package models

// userPreferences gives each user the console settings of issue 21: the time zone times are shown
// in (an IANA name; UTC by default) and whether keyboard shortcuts are on.
func userPreferences(d Dialect, _ string) []string {
	stmts := []string{
		`ALTER TABLE users ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC' CHECK (length(time_zone) BETWEEN 1 AND 64)`,
		`ALTER TABLE users ADD COLUMN shortcuts BOOLEAN NOT NULL DEFAULT TRUE`,
	}
	for i, s := range stmts {
		stmts[i] = d.ddl(s)
	}
	return stmts
}
