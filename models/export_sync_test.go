package models

// SQLiteChangeHorizon is the statement ChangeHorizon runs on SQLite, for EXPLAIN in tests.
const SQLiteChangeHorizon = sqliteChangeHorizon
