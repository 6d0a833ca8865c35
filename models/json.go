package models

import (
	"database/sql/driver"
	"encoding/json"
	"fmt"
)

// StringList is a JSON array of strings in one column (tags, flags, scopes): JSONB on
// PostgreSQL, TEXT on SQLite.
type StringList []string

// Value writes the list as a JSON array; nil becomes [] so the column never holds null.
func (l StringList) Value() (driver.Value, error) {
	if l == nil {
		return "[]", nil
	}
	b, err := json.Marshal([]string(l))
	// A string, not []byte: pgx would send []byte as bytea, which jsonb refuses.
	return string(b), err
}

// Scan reads a JSON array written by Value.
func (l *StringList) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*l = StringList{}
		return nil
	case []byte:
		b = v
	case string:
		b = []byte(v)
	default:
		return fmt.Errorf("StringList: cannot scan %T", src)
	}
	var out []string
	if err := json.Unmarshal(b, &out); err != nil {
		return fmt.Errorf("StringList: %w", err)
	}
	if out == nil {
		out = []string{}
	}
	*l = out
	return nil
}

// JSONDoc is an optional JSON document in one column (audit before/after, outbox payloads).
type JSONDoc json.RawMessage

// Value writes the document, or NULL when empty.
func (d JSONDoc) Value() (driver.Value, error) {
	if len(d) == 0 {
		return nil, nil
	}
	if !json.Valid(d) {
		return nil, fmt.Errorf("JSONDoc: invalid JSON")
	}
	return string(d), nil
}

// Scan reads a document.
func (d *JSONDoc) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d = nil
	case []byte:
		*d = append(JSONDoc(nil), v...)
	case string:
		*d = JSONDoc(v)
	default:
		return fmt.Errorf("JSONDoc: cannot scan %T", src)
	}
	return nil
}

// MarshalJSON writes the document as it is, or null.
func (d JSONDoc) MarshalJSON() ([]byte, error) {
	if len(d) == 0 {
		return []byte("null"), nil
	}
	return d, nil
}
