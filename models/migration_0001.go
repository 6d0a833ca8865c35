package models

import (
	"fmt"
	"strings"
)

// The enumerations as migration 0001 fixed them. The cases package has its own typed copies:
// TestSchemaAcceptsEveryDomainValue proves the schema takes every value the domain can produce,
// TestSchemaRefusesBadRows that it refuses values outside. A later change is a new migration.
var (
	m1Roles         = []string{"agent", "supervisor", "admin"}
	m1Marketplaces  = [][2]string{{"US", "USD"}, {"CA", "CAD"}, {"MX", "MXN"}, {"BR", "BRL"}, {"UK", "GBP"}, {"DE", "EUR"}, {"FR", "EUR"}, {"IT", "EUR"}, {"ES", "EUR"}, {"NL", "EUR"}, {"JP", "JPY"}, {"IN", "INR"}, {"AU", "AUD"}}
	m1Currencies    = []string{"USD", "CAD", "MXN", "BRL", "GBP", "EUR", "JPY", "INR", "AUD"}
	m1CaseTypes     = []string{"wrong_account", "unactivated_card", "regional_mismatch", "code_problem", "scam_victim", "promo_credit", "unexpected_charge", "other"}
	m1Statuses      = []string{"new", "investigating", "waiting_on_customer", "pending_approval", "resolved", "closed"}
	m1Resolutions   = []string{"corrected", "denied", "no_action", "duplicate", "referred"}
	m1Priorities    = []string{"low", "normal", "high", "urgent"}
	m1CardStatuses  = []string{"unknown", "active", "not_activated", "redeemed"}
	m1Channels      = []string{"phone", "email", "chat", "in_person", "internal_note"}
	m1Directions    = []string{"inbound", "outbound", "internal"}
	m1EvidenceKinds = []string{"receipt", "activation_slip", "card_photo", "screenshot", "other"}
	m1ContentTypes  = []string{"image/jpeg", "image/png", "image/webp", "application/pdf"}
	m1Verifications = []string{"unverified", "verified", "rejected"}
	m1CorrKinds     = []string{"transfer", "credit", "reversal"}
	m1CorrStatuses  = []string{"pending", "applied", "denied", "cancelled", "reversed"}
	m1ActorTypes    = []string{"user", "token", "cli", "system"}
	m1LinkReasons   = []string{"card", "evidence_file", "pos_transaction"}
	m1WebhookEvents = []string{"case.created", "case.updated", "communication.created", "evidence.added", "correction.requested", "correction.applied", "correction.denied", "correction.reversed"}
	m1Deliveries    = []string{"pending", "delivered", "failed"}
	m1SystemAccts   = []string{"system:activation_liability", "system:goodwill", "system:suspense"}
	// m1AppendOnly are R9's tables, plus the audit seals of R10.
	m1AppendOnly = []string{"communications", "postings", "correction_approvals", "audit_events", "audit_seals"}
)

// redacted returns the stored length limit of a free-text field whose SPEC limit is specMax. R2
// replaces a claim code (10 to 20 characters) by "[claim code ••••LAST4]" (21), so redaction can
// roughly double a text; the SPEC limit is checked on the input, before redaction, and the column
// leaves room for the growth.
func redacted(specMax int) string { return fmt.Sprint(specMax * 3) }

// foundation creates every table of SPEC §2 with the constraints the rules rely on.
func foundation(d Dialect, fingerprint string) []string {
	marketplaces := make([]string, len(m1Marketplaces))
	var currencyOf strings.Builder
	currencyOf.WriteString("CASE marketplace")
	for i, mc := range m1Marketplaces {
		marketplaces[i] = mc[0]
		fmt.Fprintf(&currencyOf, " WHEN '%s' THEN '%s'", mc[0], mc[1])
	}
	currencyOf.WriteString(" END")
	in := func(column string, values []string) string {
		return column + " IN (" + sqlList(values...) + ")"
	}

	stmts := []string{
		`CREATE TABLE instance_settings (
			name TEXT PRIMARY KEY,
			value TEXT NOT NULL,
			created_at {time} NOT NULL
		)`,

		`CREATE TABLE users (
			id {pk},
			email TEXT NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
			name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
			role TEXT NOT NULL CHECK (` + in("role", m1Roles) + `),
			password_hash TEXT NOT NULL,
			active BOOLEAN NOT NULL DEFAULT TRUE,
			must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
			created_at {time} NOT NULL,
			updated_at {time} NOT NULL
		)`,
		// The application stores emails lower-cased; the index makes uniqueness case-insensitive
		// even for a row written by hand.
		`CREATE UNIQUE INDEX users_email_key ON users (lower(email))`,

		`CREATE TABLE api_tokens (
			id {pk},
			user_id BIGINT NOT NULL REFERENCES users(id),
			name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
			prefix TEXT NOT NULL,
			secret_hash {bytes} NOT NULL UNIQUE,
			scopes {json} NOT NULL,
			created_at {time} NOT NULL,
			last_used_at {time},
			expires_at {time},
			revoked_at {time}
		)`,
		`CREATE INDEX api_tokens_user ON api_tokens (user_id)`,

		`CREATE TABLE customer_accounts (
			id {pk},
			account_id TEXT NOT NULL UNIQUE CHECK (length(account_id) BETWEEN 1 AND 64
				AND ` + d.onlyChars("account_id", "A-Za-z0-9._:-") + `),
			is_system BOOLEAN NOT NULL DEFAULT FALSE,
			marketplace TEXT CHECK (` + in("marketplace", marketplaces) + `),
			email TEXT CHECK (length(email) <= 254),
			name TEXT CHECK (length(name) <= 200),
			created_at {time} NOT NULL,
			updated_at {time} NOT NULL,
			CONSTRAINT customer_accounts_system_prefix CHECK (is_system = (lower(substr(account_id, 1, 7)) = 'system:')),
			CONSTRAINT customer_accounts_system_has_no_marketplace
				CHECK ((is_system AND marketplace IS NULL) OR (NOT is_system AND marketplace IS NOT NULL))
		)`,
		`CREATE INDEX customer_accounts_email ON customer_accounts (lower(email))`,

		`CREATE TABLE gift_cards (
			id {pk},
			claim_code_hmac {bytes} UNIQUE CHECK (length(claim_code_hmac) = 32),
			claim_code_last4 TEXT CHECK (length(claim_code_last4) = 4),
			-- R2's confusable-character hints, kept because the code itself is not.
			claim_code_hints {json} NOT NULL DEFAULT '[]',
			serial TEXT UNIQUE CHECK (length(serial) BETWEEN 1 AND 64),
			marketplace TEXT NOT NULL CHECK (` + in("marketplace", marketplaces) + `),
			currency TEXT NOT NULL CONSTRAINT gift_cards_currency_of_marketplace CHECK (currency = ` + currencyOf.String() + `),
			face_value_minor BIGINT NOT NULL CHECK (face_value_minor > 0),
			status TEXT NOT NULL DEFAULT 'unknown' CHECK (` + in("status", m1CardStatuses) + `),
			frozen BOOLEAN NOT NULL DEFAULT FALSE,
			redeemed_to_account_id BIGINT REFERENCES customer_accounts(id),
			redeemed_at {time},
			created_at {time} NOT NULL,
			updated_at {time} NOT NULL,
			version BIGINT NOT NULL DEFAULT 1 CHECK (version >= 1),
			CONSTRAINT gift_cards_identified CHECK (claim_code_hmac IS NOT NULL OR serial IS NOT NULL),
			CONSTRAINT gift_cards_last4_with_code CHECK ((claim_code_hmac IS NULL) = (claim_code_last4 IS NULL))
		)`,
		`CREATE INDEX gift_cards_last4 ON gift_cards (claim_code_last4)`,

		d.caseSequenceDDL(),

		`CREATE TABLE cases (
			id {pk},
			ref TEXT NOT NULL UNIQUE CHECK (substr(ref, 1, 3) = 'GD-' AND length(ref) >= 9),
			type TEXT NOT NULL CHECK (` + in("type", m1CaseTypes) + `),
			status TEXT NOT NULL DEFAULT 'new' CHECK (` + in("status", m1Statuses) + `),
			resolution TEXT CHECK (` + in("resolution", m1Resolutions) + `),
			priority TEXT NOT NULL DEFAULT 'normal' CHECK (` + in("priority", m1Priorities) + `),
			customer_account_id BIGINT NOT NULL REFERENCES customer_accounts(id),
			intended_account_id BIGINT REFERENCES customer_accounts(id),
			assignee_id BIGINT REFERENCES users(id),
			summary TEXT NOT NULL CHECK (length(summary) BETWEEN 1 AND ` + redacted(200) + `),
			description TEXT NOT NULL DEFAULT '' CHECK (length(description) <= ` + redacted(20000) + `),
			tags {json} NOT NULL DEFAULT '[]',
			flags {json} NOT NULL DEFAULT '[]',
			first_response_due {time},
			resolution_due {time},
			first_responded_at {time},
			resolved_at {time},
			created_by_id BIGINT REFERENCES users(id),
			created_at {time} NOT NULL,
			updated_at {time} NOT NULL,
			version BIGINT NOT NULL DEFAULT 1 CHECK (version >= 1),
			CONSTRAINT cases_resolution_with_resolved CHECK ((status IN ('resolved', 'closed') AND resolution IS NOT NULL)
				OR (status NOT IN ('resolved', 'closed') AND resolution IS NULL)),
			CONSTRAINT cases_wrong_account_has_intended CHECK (type <> 'wrong_account' OR intended_account_id IS NOT NULL)
		)`,
		`CREATE INDEX cases_customer ON cases (customer_account_id)`,
		`CREATE INDEX cases_assignee ON cases (assignee_id, status)`,
		`CREATE INDEX cases_status ON cases (status, id)`,
		`CREATE INDEX cases_updated ON cases (updated_at, id)`,

		// A case may be known to several ticketing systems; a (system, id) names one case at most.
		// A plain unique constraint (not a partial index) so that ON CONFLICT can name it.
		`CREATE TABLE case_external_refs (
			id {pk},
			case_id BIGINT NOT NULL REFERENCES cases(id),
			system TEXT NOT NULL CHECK (length(system) BETWEEN 1 AND 64),
			external_id TEXT NOT NULL CHECK (length(external_id) BETWEEN 1 AND ` + redacted(128) + `),
			url TEXT CHECK (length(url) <= ` + redacted(2000) + `),
			created_at {time} NOT NULL,
			CONSTRAINT case_external_refs_key UNIQUE (system, external_id)
		)`,
		`CREATE INDEX case_external_refs_case ON case_external_refs (case_id)`,

		`CREATE TABLE case_cards (
			case_id BIGINT NOT NULL REFERENCES cases(id),
			card_id BIGINT NOT NULL REFERENCES gift_cards(id),
			added_at {time} NOT NULL,
			PRIMARY KEY (case_id, card_id)
		)`,
		`CREATE INDEX case_cards_card ON case_cards (card_id)`,

		// R3: a link per pair and reason, written both ways, so each case lists the others.
		`CREATE TABLE case_links (
			case_id BIGINT NOT NULL REFERENCES cases(id),
			other_case_id BIGINT NOT NULL REFERENCES cases(id),
			reason TEXT NOT NULL CHECK (` + in("reason", m1LinkReasons) + `),
			created_at {time} NOT NULL,
			PRIMARY KEY (case_id, other_case_id, reason),
			CONSTRAINT case_links_not_self CHECK (case_id <> other_case_id)
		)`,

		`CREATE TABLE communications (
			id {pk},
			case_id BIGINT NOT NULL REFERENCES cases(id),
			channel TEXT NOT NULL CHECK (` + in("channel", m1Channels) + `),
			direction TEXT NOT NULL CHECK (` + in("direction", m1Directions) + `),
			occurred_at {time} NOT NULL,
			counterpart_name TEXT NOT NULL DEFAULT '' CHECK (length(counterpart_name) <= ` + redacted(200) + `),
			representative_name TEXT NOT NULL DEFAULT '' CHECK (length(representative_name) <= ` + redacted(200) + `),
			reference TEXT NOT NULL DEFAULT '' CHECK (length(reference) <= ` + redacted(200) + `),
			duration_seconds BIGINT CHECK (duration_seconds >= 0),
			body TEXT NOT NULL DEFAULT '' CHECK (length(body) <= ` + redacted(20000) + `),
			supersedes_id BIGINT UNIQUE REFERENCES communications(id),
			author_id BIGINT NOT NULL REFERENCES users(id),
			recorded_at {time} NOT NULL
		)`,
		`CREATE INDEX communications_case ON communications (case_id, occurred_at, id)`,

		// Evidence bytes live in the database (a backup holds everything), content-addressed by
		// sha256 and cut into chunks so that no file is ever held whole in memory.
		`CREATE TABLE evidence_files (
			id {pk},
			sha256 TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64 AND ` + d.onlyChars("sha256", "0-9a-f") + `),
			size BIGINT NOT NULL CHECK (size > 0 AND size <= 10485760),
			content_type TEXT NOT NULL CHECK (` + in("content_type", m1ContentTypes) + `),
			created_at {time} NOT NULL
		)`,
		`CREATE TABLE evidence_file_chunks (
			file_id BIGINT NOT NULL REFERENCES evidence_files(id),
			seq INTEGER NOT NULL CHECK (seq >= 0),
			data {bytes} NOT NULL,
			PRIMARY KEY (file_id, seq)
		)`,
		`CREATE TABLE evidence (
			id {pk},
			case_id BIGINT NOT NULL REFERENCES cases(id),
			file_id BIGINT NOT NULL REFERENCES evidence_files(id),
			kind TEXT NOT NULL CHECK (` + in("kind", m1EvidenceKinds) + `),
			file_name TEXT NOT NULL DEFAULT '' CHECK (length(file_name) <= 255),
			uploaded_by_id BIGINT NOT NULL REFERENCES users(id),
			uploaded_at {time} NOT NULL,
			store_name TEXT CHECK (length(store_name) <= ` + redacted(200) + `),
			store_location TEXT CHECK (length(store_location) <= ` + redacted(200) + `),
			purchased_at TEXT CHECK (length(purchased_at) <= 40),
			amount_minor BIGINT CHECK (amount_minor > 0),
			currency TEXT CHECK (` + in("currency", m1Currencies) + `),
			card_last4 TEXT CHECK (length(card_last4) = 4),
			pos_transaction_id TEXT CHECK (length(pos_transaction_id) BETWEEN 1 AND ` + redacted(128) + `),
			note TEXT NOT NULL DEFAULT '' CHECK (length(note) <= ` + redacted(20000) + `),
			verification TEXT NOT NULL DEFAULT 'unverified' CHECK (` + in("verification", m1Verifications) + `),
			verified_by_id BIGINT REFERENCES users(id),
			verified_at {time},
			verification_note TEXT CHECK (length(verification_note) <= ` + redacted(20000) + `),
			flags {json} NOT NULL DEFAULT '[]',
			CONSTRAINT evidence_receipt_fields
				CHECK (kind <> 'receipt' OR (amount_minor IS NOT NULL AND currency IS NOT NULL AND purchased_at IS NOT NULL)),
			CONSTRAINT evidence_verifier_when_decided CHECK ((verification = 'unverified') = (verified_by_id IS NULL)),
			CONSTRAINT evidence_four_eyes CHECK (verified_by_id IS NULL OR verified_by_id <> uploaded_by_id)
		)`,
		`CREATE INDEX evidence_case ON evidence (case_id, id)`,
		`CREATE INDEX evidence_file ON evidence (file_id)`,
		`CREATE INDEX evidence_pos ON evidence (pos_transaction_id) WHERE pos_transaction_id IS NOT NULL`,

		`CREATE TABLE corrections (
			id {pk},
			case_id BIGINT NOT NULL REFERENCES cases(id),
			kind TEXT NOT NULL CHECK (` + in("kind", m1CorrKinds) + `),
			status TEXT NOT NULL DEFAULT 'pending' CHECK (` + in("status", m1CorrStatuses) + `),
			amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
			currency TEXT NOT NULL CHECK (` + in("currency", m1Currencies) + `),
			from_account_id BIGINT NOT NULL REFERENCES customer_accounts(id),
			to_account_id BIGINT NOT NULL REFERENCES customer_accounts(id),
			card_id BIGINT REFERENCES gift_cards(id),
			reason TEXT NOT NULL CHECK (length(reason) BETWEEN 1 AND ` + redacted(2000) + `),
			requested_by_id BIGINT NOT NULL REFERENCES users(id),
			required_approvals INTEGER NOT NULL CHECK (required_approvals IN (1, 2)),
			reverses_id BIGINT REFERENCES corrections(id),
			denial_reason TEXT CHECK (length(denial_reason) <= ` + redacted(2000) + `),
			decided_by_id BIGINT REFERENCES users(id),
			created_at {time} NOT NULL,
			updated_at {time} NOT NULL,
			decided_at {time},
			reversed_at {time},
			version BIGINT NOT NULL DEFAULT 1 CHECK (version >= 1),
			CONSTRAINT corrections_two_accounts CHECK (from_account_id <> to_account_id),
			CONSTRAINT corrections_reversal_names_original CHECK ((kind = 'reversal') = (reverses_id IS NOT NULL)),
			CONSTRAINT corrections_transfer_names_card CHECK (kind <> 'transfer' OR card_id IS NOT NULL),
			CONSTRAINT corrections_denial_has_reason
				CHECK (status <> 'denied' OR (denial_reason IS NOT NULL AND length(denial_reason) > 0)),
			CONSTRAINT corrections_reversal_not_reversed CHECK (kind <> 'reversal' OR status <> 'reversed'),
			CONSTRAINT corrections_four_eyes CHECK (decided_by_id IS NULL OR decided_by_id <> requested_by_id),
			-- Lets approvals carry the requester with a foreign key that proves it (R5 below).
			CONSTRAINT corrections_id_requester UNIQUE (id, requested_by_id)
		)`,
		// R7: a correction is reversed at most once; a denied or cancelled reversal does not count.
		`CREATE UNIQUE INDEX corrections_one_reversal ON corrections (reverses_id)
			WHERE reverses_id IS NOT NULL AND status IN ('pending', 'applied')`,
		`CREATE INDEX corrections_case ON corrections (case_id, id)`,
		`CREATE INDEX corrections_card ON corrections (card_id, status)`,
		`CREATE INDEX corrections_status ON corrections (status, id)`,

		// R5: the same supervisor approving twice counts once, and the requester never approves: the
		// approval repeats the requester, and the foreign key proves it is the correction's.
		`CREATE TABLE correction_approvals (
			id {pk},
			correction_id BIGINT NOT NULL,
			requested_by_id BIGINT NOT NULL,
			approver_id BIGINT NOT NULL REFERENCES users(id),
			note TEXT NOT NULL DEFAULT '' CHECK (length(note) <= ` + redacted(2000) + `),
			created_at {time} NOT NULL,
			UNIQUE (correction_id, approver_id),
			CONSTRAINT correction_approvals_four_eyes CHECK (approver_id <> requested_by_id),
			FOREIGN KEY (correction_id, requested_by_id) REFERENCES corrections (id, requested_by_id)
		)`,

		// The ledger. One posting per account and correction makes a double application fail
		// in the database even if every check above it were wrong.
		`CREATE TABLE postings (
			id {pk},
			correction_id BIGINT NOT NULL REFERENCES corrections(id),
			account_id BIGINT NOT NULL REFERENCES customer_accounts(id),
			amount_minor BIGINT NOT NULL CHECK (amount_minor <> 0),
			currency TEXT NOT NULL CHECK (` + in("currency", m1Currencies) + `),
			created_at {time} NOT NULL,
			UNIQUE (correction_id, account_id)
		)`,
		`CREATE INDEX postings_account ON postings (account_id, id)`,

		`CREATE TABLE audit_events (
			id {pk},
			occurred_at {time} NOT NULL,
			actor_type TEXT NOT NULL CHECK (` + in("actor_type", m1ActorTypes) + `),
			actor_user_id BIGINT REFERENCES users(id),
			actor_token_id BIGINT REFERENCES api_tokens(id),
			actor_label TEXT NOT NULL DEFAULT '',
			client_ip TEXT NOT NULL DEFAULT '',
			user_agent TEXT NOT NULL DEFAULT '' CHECK (length(user_agent) <= 512),
			request_id TEXT NOT NULL DEFAULT '',
			action TEXT NOT NULL CHECK (length(action) BETWEEN 1 AND 100),
			entity_type TEXT NOT NULL CHECK (length(entity_type) BETWEEN 1 AND 50),
			entity_id TEXT NOT NULL CHECK (length(entity_id) BETWEEN 1 AND 100),
			before_state {json},
			after_state {json},
			{xact}
		)`,
		`CREATE INDEX audit_events_entity ON audit_events (entity_type, entity_id, id)`,
		// R10: the sealer appends (sequence, event, hash) here; events are never updated.
		`CREATE TABLE audit_seals (
			seq BIGINT PRIMARY KEY CHECK (seq >= 1),
			event_id BIGINT NOT NULL UNIQUE REFERENCES audit_events(id),
			hash {bytes} NOT NULL CHECK (length(hash) = 32),
			sealed_at {time} NOT NULL,
			-- PostgreSQL: the snapshot xmin when this seal's pass began. Every event of an older
			-- transaction was final then and is sealed, so the next pass scans from here.
			low_water_xact BIGINT
		)`,

		// Written in the same transaction as the change it announces; delivered after commit.
		`CREATE TABLE outbox (
			id {pk},
			event_type TEXT NOT NULL CHECK (` + in("event_type", m1WebhookEvents) + `),
			payload {json} NOT NULL,
			created_at {time} NOT NULL,
			{xact}
		)`,

		`CREATE TABLE webhook_endpoints (
			id {pk},
			url TEXT NOT NULL CHECK (length(url) BETWEEN 8 AND 2000),
			secret_ciphertext {bytes} NOT NULL,
			events {json} NOT NULL,
			active BOOLEAN NOT NULL DEFAULT TRUE,
			created_by_id BIGINT REFERENCES users(id),
			created_at {time} NOT NULL,
			disabled_at {time}
		)`,
		`CREATE TABLE webhook_deliveries (
			id {pk},
			endpoint_id BIGINT NOT NULL REFERENCES webhook_endpoints(id),
			outbox_id BIGINT NOT NULL REFERENCES outbox(id),
			status TEXT NOT NULL DEFAULT 'pending' CHECK (` + in("status", m1Deliveries) + `),
			attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
			next_attempt_at {time},
			last_status_code INTEGER,
			created_at {time} NOT NULL,
			updated_at {time} NOT NULL,
			UNIQUE (endpoint_id, outbox_id)
		)`,
		`CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at)`,
		`CREATE TABLE webhook_attempts (
			id {pk},
			delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries(id),
			attempted_at {time} NOT NULL,
			status_code INTEGER,
			error TEXT NOT NULL DEFAULT '' CHECK (length(error) <= 1000),
			duration_ms BIGINT NOT NULL DEFAULT 0
		)`,
		`CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id)`,
	}

	if d == Postgres {
		stmts = append(stmts, refuseChangeFunctionDDL)
	}
	for _, table := range m1AppendOnly {
		stmts = append(stmts, d.appendOnlyDDL(table)...)
	}
	for _, acct := range m1SystemAccts {
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO customer_accounts (account_id, is_system, created_at, updated_at)
			VALUES ('%s', TRUE, {now}, {now})`, acct))
	}
	stmts = append(stmts, fmt.Sprintf(`INSERT INTO instance_settings (name, value, created_at)
		VALUES ('master_key_fingerprint', %s, {now})`, sqlList(fingerprint)))

	for i, s := range stmts {
		stmts[i] = d.ddl(s)
	}
	return stmts
}
