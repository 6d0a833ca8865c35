package handlers

import (
	"encoding/json"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"giftdesk/cases"
)

// FuzzDecodeChecked: the checked decoder never panics, and a body it accepts without problems
// decodes exactly as encoding/json decodes it.
func FuzzDecodeChecked(f *testing.F) {
	f.Add([]byte(strings.ReplaceAll(caseBody, "\n", " ")))
	f.Add([]byte(`{"summary":"a \"quoted\" \u00e9 \ud83d\ude00 \\ / \/ \b\f\n\r\t","cards":[{"face_value_minor":-0},{"face_value_minor":1e2}],"tags":[]}`))
	f.Add([]byte(`{ "customer" : { "name" : "x" } , "tags" : [ "a" , "b" ] , "intended_account" : null }`))
	f.Add([]byte(`{"cards":[[[[[]]]]]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var got cases.NewCase
		problems, err := decodeChecked(body, &got)
		if err != nil || len(problems) > 0 {
			return
		}
		var want cases.NewCase
		if err := json.Unmarshal(body, &want); err != nil {
			t.Fatalf("accepted %q, encoding/json refuses it: %v", body, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q decodes as %+v, encoding/json says %+v", body, got, want)
		}
	})
}

// TestDecodeCheckedPaths: problems carry JSON paths with indexes, in body order, and the body is
// never echoed where it may hold a claim code.
func TestDecodeCheckedPaths(t *testing.T) {
	var in cases.NewCase
	problems, err := decodeChecked([]byte(`{"cards":[{"face_value_minor":10.50},{"face_value_minor":"5000","bogus":1}],
		"customer":{"account_id":7},"tags":["ok",null,3],"summary":"a","summary":"b","AB12CDEF34GH56":1,"x\u0000":1}`), &in)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range problems {
		got = append(got, p.Field+": "+p.Message)
	}
	want := []string{
		"cards[0].face_value_minor: must be a whole number of minor units (a JSON number, e.g. 1050 for 10.50)",
		"cards[1].face_value_minor: must be a whole number of minor units (a JSON number, e.g. 1050 for 10.50)",
		"cards[1].bogus: is not a field of this request: check its spelling",
		"customer.account_id: must be a JSON string",
		"tags[2]: must be a JSON string",
		"summary: is given more than once",
		"[a field whose name may hold a claim code]: is not a field of this request: check its spelling",
		"[a field with an unreadable name]: is not a field of this request: check its spelling",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(in.Cards) != 2 || in.Summary != "a" || len(in.Tags) != 3 {
		t.Fatalf("what passed is not decoded: %+v", in)
	}
	deep := `{"cards":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`
	if _, err := decodeChecked([]byte(deep), &in); err == nil || statusOf(err) != 400 {
		t.Fatalf("deep nesting: %v", err)
	}
	many := `{"tags":[` + strings.Repeat("1,", maxJSONValues/2) + `1]}`
	if problems, err := decodeChecked([]byte(many), &in); err != nil || len(problems) != maxBodyProblems+1 {
		t.Fatalf("%d problems listed for a long array (%v)", len(problems), err)
	}
}

// TestHugeBodiesAreRefusedBeforeTheyCostMemory: 1 MiB of empty objects took 300 MB to check and
// decode (review of issue 19); past a few thousand values a body is refused as it is scanned.
func TestHugeBodiesAreRefusedBeforeTheyCostMemory(t *testing.T) {
	body := []byte(`{"type":"other","summary":"s","cards":[` + strings.Repeat(`{},`, 350_000) + `{}]}`)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var in cases.NewCase
	_, err := decodeChecked(body, &in)
	runtime.ReadMemStats(&after)
	var re *cases.RuleError
	if !errors.As(err, &re) || re.Code != cases.CodeValidationFailed {
		t.Fatalf("a body of 350,000 values: %v", err)
	}
	if allocated := after.TotalAlloc - before.TotalAlloc; allocated > 16<<20 {
		t.Fatalf("refusing it allocated %d MiB", allocated>>20)
	}
}
