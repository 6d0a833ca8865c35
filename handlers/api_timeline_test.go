package handlers

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/models/modelstest"
)

// TestCaseTimelineAPI: GET /api/v1/cases/{ref}/timeline answers the merged timeline as a page,
// oldest or newest first, and a page of 200 entries costs the statements of a page of one.
func TestCaseTimelineAPI(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		h, counter := countingHarness(t, db)
		agent := h.token("agent@example.com", cases.RoleAgent, cases.ScopeCasesRead, cases.ScopeCasesWrite)
		ref := h.newCase(agent, "tl-1")
		for i := 0; i < 30; i++ {
			if w := h.do(request{method: http.MethodPost, path: "/api/v1/cases/" + ref + "/communications", token: agent,
				body: strings.NewReader(fmt.Sprintf(`{"channel":"email","direction":"inbound","body":"mail %d"}`, i))}); w.Code != http.StatusCreated {
				t.Fatalf("communication: %d %s", w.Code, w.Body)
			}
		}
		type page struct {
			Data []struct {
				Kind          string `json:"kind"`
				ID            string `json:"id"`
				Actor         string `json:"actor"`
				Communication *struct {
					Body string `json:"body"`
				} `json:"communication"`
			} `json:"data"`
			NextCursor string `json:"next_cursor"`
		}
		read := func(query string) (page, int64) {
			t.Helper()
			_, n, body := h.statementsOf(counter, request{method: http.MethodGet, path: "/api/v1/cases/" + ref + "/timeline" + query, token: agent})
			var p page
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatalf("%s: %v %s", query, err, body)
			}
			return p, n
		}
		asc, one := read("?limit=1")
		if len(asc.Data) != 1 || asc.Data[0].Kind != "case_created" || asc.Data[0].Actor != "agent@example.com" || asc.NextCursor == "" {
			t.Fatalf("first page: %+v", asc)
		}
		next, _ := read("?limit=1&cursor=" + asc.NextCursor)
		if len(next.Data) != 1 || next.Data[0].Communication == nil || next.Data[0].Communication.Body != "mail 0" {
			t.Fatalf("second page: %+v", next)
		}
		all, many := read("?limit=200")
		if len(all.Data) != 31 || all.NextCursor != "" {
			t.Fatalf("a page of 200: %d entries, cursor %q", len(all.Data), all.NextCursor)
		}
		if one != many {
			t.Errorf("a page of one entry took %d statements, a page of 31 took %d", one, many)
		}
		desc, n := read("?order=desc&limit=200")
		if len(desc.Data) != 31 || desc.Data[0].Communication.Body != "mail 29" || desc.Data[30].Kind != "case_created" || n != many {
			t.Fatalf("newest first: %d entries, %d statements", len(desc.Data), n)
		}
		for _, bad := range []string{"?order=up", "?limit=201", "?limit=0", "?cursor=x", "?order=desc&cursor=" + asc.NextCursor} {
			w := h.do(request{method: http.MethodGet, path: "/api/v1/cases/" + ref + "/timeline" + bad, token: agent})
			if w.Code != http.StatusUnprocessableEntity || !strings.Contains(w.Body.String(), `"validation_failed"`) {
				t.Errorf("%s: %d %s", bad, w.Code, w.Body)
			}
		}
		if w := h.do(request{method: http.MethodGet, path: "/api/v1/cases/GD-999999/timeline", token: agent}); w.Code != http.StatusNotFound {
			t.Errorf("unknown case: %d %s", w.Code, w.Body)
		}
	})
}
