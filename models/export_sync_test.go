package models

// SQLiteChangeHorizon is the statement ChangeHorizon runs on SQLite, for EXPLAIN in tests.
const SQLiteChangeHorizon = sqliteChangeHorizon

// WebhookFanoutCursorMigration is migration 0013's statements, for the test of its data step.
var WebhookFanoutCursorMigration = webhookFanoutCursor
