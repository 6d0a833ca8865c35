package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// TestTimelineAPIEveryKindMatchesTheDocument: a case that goes through every kind of entry, made
// through the API, then read through GET /api/v1/cases/{ref}/timeline in both orders and page by
// page. The harness validates each page against openapi.json, so every kind's shape is checked
// against the document, not only the few an ordinary test makes.
func TestTimelineAPIEveryKindMatchesTheDocument(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h := newHarness(t, db)
		agent := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite, cases.ScopeCorrectionsWrite)
		second := h.token("agent2@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
		sup := h.token("sup@example.com", cases.RoleSupervisor, cases.ScopeCasesRead, cases.ScopeCasesWrite, cases.ScopeCorrectionsDecide)
		send := func(token, method, path, body string, want int, header map[string]string) map[string]any {
			t.Helper()
			w := h.do(request{method: method, path: path, token: token, body: strings.NewReader(body), header: header})
			if w.Code != want {
				t.Fatalf("%s %s: %d, want %d: %s", method, path, w.Code, want, w.Body)
			}
			var v map[string]any
			mustUnmarshal(t, w.Body.Bytes(), &v)
			return v
		}
		ref := h.newCase(agent, "tl-kinds")
		kase := send(agent, http.MethodGet, "/api/v1/cases/"+ref, "", http.StatusOK, nil)
		cardID := kase["cards"].([]any)[0].(map[string]any)["id"].(string)
		h.newCase(agent, "tl-kinds-dup") // the same card on another case: both are flagged (R3)
		send(agent, http.MethodPost, "/api/v1/cases/"+ref+"/cards", `{"serial":"6046999988887777","face_value_minor":2500,
			"currency":"USD","marketplace":"US"}`, http.StatusCreated, nil)
		kase = send(agent, http.MethodGet, "/api/v1/cases/"+ref, "", http.StatusOK, nil)
		send(agent, http.MethodPatch, "/api/v1/cases/"+ref, `{"status":"investigating","assignee":"agent@example.com","tags":["phone","vip"]}`,
			http.StatusOK, map[string]string{"If-Match": fmt.Sprintf(`"%v"`, kase["version"])})
		send(agent, http.MethodPost, "/api/v1/cases/"+ref+"/communications", `{"channel":"phone","direction":"inbound","body":"called"}`,
			http.StatusCreated, nil)
		var evidence []string
		for i := 0; i < 2; i++ {
			w := h.upload(agent, ref, map[string]string{"kind": "screenshot"}, "s.png", append(pngBytes, byte('x'+i)))
			var ev map[string]any
			mustUnmarshal(t, w.Body.Bytes(), &ev)
			if w.Code != http.StatusCreated {
				t.Fatalf("upload: %d %s", w.Code, w.Body)
			}
			evidence = append(evidence, ev["id"].(string))
		}
		send(second, http.MethodPost, "/api/v1/evidence/"+evidence[0]+"/verify", `{"verdict":"verified","note":"matches"}`, http.StatusOK, nil)
		send(second, http.MethodPost, "/api/v1/evidence/"+evidence[1]+"/verify", `{"verdict":"rejected","note":"blurred"}`, http.StatusOK, nil)
		correction := func(reason string) string {
			c := send(agent, http.MethodPost, "/api/v1/cases/"+ref+"/corrections", `{"kind":"transfer","amount_minor":1000,"currency":"USD",
				"from_account":"A1B2C3D4","to_account":"Z9Y8X7W6","card_id":"`+cardID+`","reason":"`+reason+`"}`, http.StatusCreated, nil)
			return c["id"].(string)
		}
		applied := correction("moved back")
		send(sup, http.MethodPost, "/api/v1/corrections/"+applied+"/approve", `{"note":"checked"}`, http.StatusOK, nil)
		reversal := send(agent, http.MethodPost, "/api/v1/cases/"+ref+"/corrections",
			`{"kind":"reversal","reverses":"`+applied+`","reason":"sent twice"}`, http.StatusCreated, nil)["id"].(string)
		send(sup, http.MethodPost, "/api/v1/corrections/"+reversal+"/approve", `{}`, http.StatusOK, nil)
		send(sup, http.MethodPost, "/api/v1/corrections/"+correction("second try")+"/deny", `{"reason":"not needed"}`, http.StatusOK, nil)
		send(agent, http.MethodPost, "/api/v1/corrections/"+correction("third try")+"/cancel", ``, http.StatusOK, nil)
		send(agent, http.MethodPatch, "/api/v1/cards/"+cardID, `{"frozen":true,"frozen_reason":"scam report"}`, http.StatusOK, nil)
		send(sup, http.MethodPatch, "/api/v1/cards/"+cardID, `{"frozen":false,"frozen_reason":"cleared"}`, http.StatusOK, nil)

		read := func(order string, limit int) []string {
			t.Helper()
			var kinds []string
			cursor := ""
			for pages := 0; ; pages++ {
				if pages > 100 {
					t.Fatal("the timeline does not end")
				}
				path := fmt.Sprintf("/api/v1/cases/%s/timeline?order=%s&limit=%d", ref, order, limit)
				if cursor != "" {
					path += "&cursor=" + cursor
				}
				w := h.do(request{method: http.MethodGet, path: path, token: agent})
				if w.Code != http.StatusOK {
					t.Fatalf("%s: %d %s", path, w.Code, w.Body)
				}
				var page struct {
					Data       []struct{ Kind string }
					NextCursor string `json:"next_cursor"`
				}
				if err := json.Unmarshal(w.Body.Bytes(), &page); err != nil {
					t.Fatal(err)
				}
				for _, e := range page.Data {
					kinds = append(kinds, e.Kind)
				}
				if cursor = page.NextCursor; cursor == "" {
					return kinds
				}
			}
		}
		asc := read("asc", 200)
		for _, kind := range models.TimelineKinds {
			if !slices.Contains(asc, kind) {
				t.Errorf("the timeline has no %s entry, so its shape went unchecked: %v", kind, asc)
			}
		}
		desc := read("desc", 3)
		slices.Reverse(desc)
		if !slices.Equal(asc, desc) {
			t.Errorf("desc paged by 3, reversed, is not asc:\n%v\n%v", desc, asc)
		}
	})
}
