package cases

import (
	"strings"
	"testing"

	"giftdesk/models"
)

// TestStateChanges reads audit states field by field as the console shows them: only what
// differs, nested fields by path, amounts in their currency's units (JPY without decimals), long
// texts clipped after redaction, and a code redacted even where the stored state kept it.
func TestStateChanges(t *testing.T) {
	red := redactorFor(t, "ZX98-QW76-PO54")
	tests := []struct {
		name          string
		before, after string
		want          []AuditChange
	}{
		{"one field", `{"status":"new","priority":"normal"}`, `{"status":"investigating","priority":"normal"}`,
			[]AuditChange{{Field: "status", Before: "new", After: "investigating"}}},
		{"created", ``, `{"amount_minor":7500,"currency":"JPY","kind":"credit"}`,
			[]AuditChange{{Field: "amount_minor", After: "7500 JPY"}, {Field: "currency", After: "JPY"}, {Field: "kind", After: "credit"}}},
		{"nested and lists", `{"customer":{"email":"a@example.com"},"tags":["x"]}`, `{"customer":{"email":"b@example.com"},"tags":[]}`,
			[]AuditChange{{Field: "customer.email", Before: "a@example.com", After: "b@example.com"}, {Field: "tags", Before: "x", After: "none"}}},
		{"amount in cents", `null`, `{"correction":{"amount_minor":1234,"currency":"USD"}}`,
			[]AuditChange{{Field: "correction.amount_minor", After: "12.34 USD"}, {Field: "correction.currency", After: "USD"}}},
		{"a code in a stored text", ``, `{"body":"read zx98 qw76 po54 to me"}`,
			[]AuditChange{{Field: "body", After: "read [claim code ••••PO54] to me"}}},
		{"not an object", ``, `"plain"`, []AuditChange{{Field: "", After: "plain"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := stateChanges(models.JSONDoc(tt.before), models.JSONDoc(tt.after), red)
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("change %d: got %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
	long := `{"description":"` + strings.Repeat("a", 400) + `"}`
	if got := stateChanges(nil, models.JSONDoc(long), red); len([]rune(got[0].After)) != maxChangeValue+1 {
		t.Errorf("a long text is %d characters, want %d and an ellipsis", len([]rune(got[0].After)), maxChangeValue)
	}
}
