package cases_test

import (
	"encoding/json"
	"errors"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models"
)

// errInjected is a failure a test makes a statement report although the database answered.
var errInjected = errors.New("injected failure")

// announced returns the case.updated outbox payloads of the case ref, oldest first.
func announced(t *testing.T, db *gorm.DB, ref string) []cases.CaseView {
	t.Helper()
	var rows []models.OutboxEvent
	if err := db.Where("event_type = ?", "case.updated").Order("id").Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	var out []cases.CaseView
	for _, r := range rows {
		var v cases.CaseView
		if err := json.Unmarshal(r.Payload, &v); err != nil {
			t.Fatal(err)
		}
		if v.Ref == ref {
			out = append(out, v)
		}
	}
	return out
}

// audited counts the audit events of action about the case ref.
func audited(t *testing.T, db *gorm.DB, action, ref string) int64 {
	t.Helper()
	var n int64
	if err := db.Model(&models.AuditEvent{}).Where("action = ? AND entity_type = 'case' AND entity_id = ?", action, ref).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}
