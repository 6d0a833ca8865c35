package handlers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/cases/webhooks"
)

// apiBodies lists every JSON body the API decodes (bindJSON, bindOptionalJSON), named as the
// handlers spell their type; TestFuzzCoversEveryAPIBody keeps the list complete.
var apiBodies = []struct {
	typ  string
	new  func() any
	seed string // a valid body, as the tests send it
}{
	{"cases.NewCase", func() any { return new(cases.NewCase) }, caseBody},
	{"cases.CardInput", func() any { return new(cases.CardInput) },
		`{"claim_code":"AB12-CDEF34-GH56","serial":"6046123412341234","face_value_minor":5000,"currency":"USD","marketplace":"US","status":"redeemed","redeemed_to":"A1B2C3D4","redeemed_at":"2026-11-20T10:00:00Z"}`},
	{"cases.CardLookup", func() any { return new(cases.CardLookup) }, `{"claim_code":"AB12-CDEF34-GH56"}`},
	{"cases.CardPatch", func() any { return new(cases.CardPatch) },
		`{"frozen":true,"frozen_reason":"reported stolen","status":"redeemed","redeemed_to":null,"redeemed_at":"2026-11-20","face_value_minor":2500}`},
	{"cases.CasePatch", func() any { return new(cases.CasePatch) },
		`{"status":"resolved","resolution":"corrected","assignee":"sup@example.com","priority":"high","tags":["phone","vip"]}`},
	{"cases.NewCommunication", func() any { return new(cases.NewCommunication) },
		`{"channel":"phone","direction":"inbound","occurred_at":"2026-11-20T10:00:00Z","counterpart_name":"Pat","representative_name":"Sam","reference":"R-1","duration_seconds":300,"body":"called about AB12-CDEF34-GH56","supersedes":"12"}`},
	{"cases.NewCorrection", func() any { return new(cases.NewCorrection) },
		`{"kind":"transfer","amount_minor":5000,"currency":"USD","from_account":"A1B2C3D4","to_account":"Z9Y8X7W6","card_id":"1","reason":"wrong account"}`},
	{"cases.ApprovalInput", func() any { return new(cases.ApprovalInput) }, `{"note":"receipt checked"}`},
	{"cases.DenialInput", func() any { return new(cases.DenialInput) }, `{"reason":"no receipt"}`},
	{"cases.VerdictInput", func() any { return new(cases.VerdictInput) }, `{"verdict":"verified","note":"matches the POS"}`},
	{"webhooks.NewEndpoint", func() any { return new(webhooks.NewEndpoint) },
		`{"url":"https://hooks.example.com/giftdesk","events":["case.created","correction.applied"],"secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}`},
	{"rotateSecretBody", func() any { return new(rotateSecretBody) }, `{"secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}`},
	{"struct{}", func() any { return new(struct{}) }, `{}`},
}

// TestFuzzCoversEveryAPIBody reads the handlers' sources: every type a handler decodes a body
// into is in apiBodies, so that a new body is fuzzed from the day it is added.
func TestFuzzCoversEveryAPIBody(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	decoded := map[string]bool{}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Body == nil {
				continue
			}
			vars := map[string]string{} // a function's declared variables and their types
			ast.Inspect(fn.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.ValueSpec:
					for _, id := range n.Names {
						if n.Type != nil {
							vars[id.Name] = types.ExprString(n.Type)
						}
					}
				case *ast.CallExpr:
					sel, ok := n.Fun.(*ast.SelectorExpr)
					if !ok || (sel.Sel.Name != "bindJSON" && sel.Sel.Name != "bindOptionalJSON") || len(n.Args) != 2 {
						return true
					}
					typ := ""
					if arg, ok := n.Args[1].(*ast.UnaryExpr); ok {
						if id, ok := arg.X.(*ast.Ident); ok {
							typ = vars[id.Name]
						}
					}
					if typ == "" {
						t.Errorf("%s: %s decodes into %s, not a variable declared with its type", fset.Position(n.Pos()), fn.Name.Name, types.ExprString(n.Args[1]))
						return true
					}
					decoded[typ] = true
				}
				return true
			})
		}
	}
	fuzzed := map[string]bool{}
	for _, b := range apiBodies {
		fuzzed[b.typ] = true
	}
	for typ := range decoded {
		if !fuzzed[typ] {
			t.Errorf("the API decodes %s, which FuzzAPIBodies does not fuzz: add it to apiBodies", typ)
		}
	}
	for typ := range fuzzed {
		if !decoded[typ] {
			t.Errorf("apiBodies lists %s, which no handler decodes any more", typ)
		}
	}
	if len(decoded) < 10 {
		t.Fatalf("found only %d body types in the handlers: the source scan is broken", len(decoded))
	}
}

// fuzzDesk is a desk without a database: the body checks need none.
var fuzzDesk = cases.New(cases.Config{Keys: casestest.Keys, Now: func() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }})

// FuzzAPIBodies decodes a body into one of the API's body types (the first input picks it) the
// way its handler does (read, checked decode, the body's own checks). It never panics; a refusal
// is a 400 or a 422 (never a 500) that never echoes what may be a claim code; an accepted body
// decodes exactly as encoding/json decodes it, holds no NUL byte or invalid UTF-8 anywhere, and
// encodes back to a body that decodes to the same value.
func FuzzAPIBodies(f *testing.F) {
	for i, b := range apiBodies {
		f.Add(uint8(i), []byte(b.seed))
		f.Add(uint8(i), []byte(`{}`))
	}
	for _, edge := range []string{`{"summary":"a\u0000b"}`, `{"type":"other","summary":"s","customer":{"account_id":"A1","marketplace":"US"},"AB12CDEF34GH56":1}`,
		`{"tags":null,"assignee":null,"redeemed_to":null}`, `{"amount_minor":10.50}`, `{"face_value_minor":9223372036854775808}`,
		`{"events":["AB12CDEF34GH56"]}`, `{"url":"http://127.0.0.1/AB12CDEF34GH56"}`, `{"note":"\ud800"}`, ` {"a":1} `, `[]`, `{"cards":[{"claim_code":"6046123412341234"}]}`} {
		for i := range apiBodies {
			f.Add(uint8(i), []byte(edge))
		}
	}
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		b := apiBodies[int(which)%len(apiBodies)]
		srv := &Server{desk: fuzzDesk}
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		got := b.new()
		err := srv.bindJSON(c, got)
		if err != nil {
			var re *cases.RuleError
			if !errors.As(err, &re) {
				t.Fatalf("%s: %q refused with %v, not a rule error", b.typ, body, err)
			}
			if st := statusOf(err); st != http.StatusBadRequest && st != http.StatusUnprocessableEntity {
				t.Fatalf("%s: %q refused with status %d: %v", b.typ, body, st, err)
			}
			for _, fe := range append(re.Fields, cases.FieldError{Field: re.Field, Message: re.Message}) {
				if cases.MayHoldClaimCode(fe.Field) || echoesCode(body, fe.Message) {
					t.Fatalf("%s: %q refused with %q: %q, which may hold a claim code", b.typ, body, fe.Field, fe.Message)
				}
			}
			return
		}
		// The use case runs the body's own checks next: their refusals must not echo a code either.
		for _, fe := range fuzzDesk.BodyProblems(got) {
			if cases.MayHoldClaimCode(fe.Field) || echoesCode(body, fe.Message) {
				t.Fatalf("%s: %q is refused with %q: %q, which may hold a claim code", b.typ, body, fe.Field, fe.Message)
			}
		}
		want := b.new()
		strict := json.NewDecoder(bytes.NewReader(body))
		strict.DisallowUnknownFields()
		if err := strict.Decode(want); err != nil {
			t.Fatalf("%s: accepted %q, encoding/json refuses it: %v", b.typ, body, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: %q decodes as %+v, encoding/json says %+v", b.typ, body, got, want)
		}
		if path, bad := badText(reflect.ValueOf(got), b.typ); bad {
			t.Fatalf("%s: accepted %q with a NUL byte or invalid UTF-8 at %s", b.typ, body, path)
		}
		again, err := json.Marshal(reencode(reflect.ValueOf(got)))
		if err != nil {
			t.Fatal(err)
		}
		back := b.new()
		if problems, err := decodeChecked(again, back); err != nil || len(problems) > 0 || !reflect.DeepEqual(back, got) {
			t.Fatalf("%s: %q re-encodes as %s, which decodes as %+v (%v %v), not %+v", b.typ, body, again, back, problems, err, got)
		}
	})
}

// reencode turns a decoded body back into JSON values: what a client would send for it.
func reencode(v reflect.Value) any {
	if v.Type() == nullableType {
		if n := v.Interface().(cases.Nullable); !n.Null {
			return n.Value
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return nil
		}
		return reencode(v.Elem())
	case reflect.Struct:
		out := map[string]any{}
		for _, f := range reflect.VisibleFields(v.Type()) {
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || f.Anonymous || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			fv := v.FieldByIndex(f.Index)
			if (fv.Type() == nullableType && !fv.Interface().(cases.Nullable).Set) || (fv.Kind() == reflect.Pointer && fv.IsNil()) {
				continue // absent
			}
			out[name] = reencode(fv)
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return nil
		}
		items := make([]any, v.Len())
		for i := range items {
			items[i] = reencode(v.Index(i))
		}
		return items
	}
	return v.Interface()
}

// badText finds a string holding a NUL byte or invalid UTF-8 anywhere in v, and its path.
func badText(v reflect.Value, path string) (string, bool) {
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		return path, strings.ContainsRune(s, 0) || !utf8.ValidString(s)
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return "", false
		}
		return badText(v.Elem(), path)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if p, bad := badText(v.Field(i), path+"."+v.Type().Field(i).Name); bad {
				return p, true
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			if p, bad := badText(v.Index(i), fmt.Sprintf("%s[%d]", path, i)); bad {
				return p, true
			}
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			if p, bad := badText(k, path+"{key}"); bad {
				return p, true
			}
			if p, bad := badText(v.MapIndex(k), path+"["+k.String()+"]"); bad {
				return p, true
			}
		}
	}
	return "", false
}

// echoesCode reports whether text repeats a string of the JSON body (a key or a value) that may
// hold a claim code: a refusal must not show one (R1), as the desk cannot tell it from a code.
func echoesCode(body []byte, text string) bool {
	var root any
	if json.Unmarshal(body, &root) != nil {
		return false // refused as a whole, with a fixed message
	}
	shown, echoed := cases.NormalizeClaimCode(text), false
	check := func(s string) {
		if n := cases.NormalizeClaimCode(s); cases.MayHoldClaimCode(s) && len(n) >= 10 && strings.Contains(shown, n) {
			echoed = true
		}
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case string:
			check(v)
		case []any:
			for _, it := range v {
				walk(it)
			}
		case map[string]any:
			for k, it := range v {
				check(k)
				walk(it)
			}
		}
	}
	walk(root)
	return echoed
}

// uploadSeed is a multipart evidence upload as the tests send one.
func uploadSeed(boundary string, parts ...[2]string) []byte {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if err := w.SetBoundary(boundary); err != nil {
		panic(err)
	}
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		if p[0] == "file" {
			h.Set("Content-Disposition", `form-data; name="file"; filename="receipt.png"`)
			h.Set("Content-Type", "image/png")
		} else {
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q`, p[0]))
		}
		pw, err := w.CreatePart(h)
		if err != nil {
			panic(err)
		}
		if _, err := io.WriteString(pw, p[1]); err != nil {
			panic(err)
		}
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	return b.Bytes()
}

// FuzzEvidenceUpload parses a multipart evidence upload as the API and the console do. It never
// panics; a refusal is a 400, 413 or 422 that never echoes what may be a claim code; an accepted
// upload has exactly one non-empty file whose spooled bytes, size, digest and head are the part's
// own, and every field as a plain multipart reader reads it; and nothing is left on disk.
func FuzzEvidenceUpload(f *testing.F) {
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
	receipt := [][2]string{{"kind", "receipt"}, {"amount_minor", "5000"}, {"currency", "USD"}, {"purchased_at", "2026-11-20"},
		{"store_name", "Store 12"}, {"card_last4", "GH56"}, {"pos_transaction_id", "POS-1"}, {"note", "photo"}}
	f.Add("XBOUNDARY", uploadSeed("XBOUNDARY", append([][2]string{{"file", png}}, receipt...)...))
	f.Add("XBOUNDARY", uploadSeed("XBOUNDARY", append(slices.Clone(receipt), [2]string{"file", png})...))
	f.Add("XBOUNDARY", uploadSeed("XBOUNDARY", [2]string{"kind", "other"}))
	f.Add("XBOUNDARY", uploadSeed("XBOUNDARY", [2]string{"file", png}, [2]string{"file", png}))
	f.Add("XBOUNDARY", uploadSeed("XBOUNDARY", [2]string{"file", ""}, [2]string{"kind", "other"}))
	f.Add("XBOUNDARY", uploadSeed("XBOUNDARY", [2]string{"file", png}, [2]string{"kind", "a"}, [2]string{"kind", "b"}, [2]string{"AB12CDEF34GH56", "x"}))
	f.Add("XBOUNDARY", uploadSeed("XBOUNDARY", [2]string{"file", png}, [2]string{"note", "a\x00b"}))
	f.Add("b", []byte("--b\r\nContent-Disposition: form-data; name=\"file\"\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nab=3Dcd\r\n--b--\r\n"))
	f.Add("b", []byte("--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../../etc/passwd\"\r\n\r\nx\r\n--b"))
	f.Add("b", []byte("--b--\r\n"))
	f.Add("", []byte(""))
	f.Fuzz(func(t *testing.T, boundary string, body []byte) {
		contentType := mime.FormatMediaType("multipart/form-data", map[string]string{"boundary": boundary})
		if contentType == "" {
			contentType = "multipart/form-data"
		}
		dir := t.TempDir()
		srv := &Server{tempDir: dir}
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		c.Request.Header.Set("Content-Type", contentType)
		fields, file, err := srv.readUpload(c, uploadFields)
		defer func() {
			closeSpooled(file)
			if left, err := os.ReadDir(dir); err != nil || len(left) > 0 {
				t.Fatalf("left on disk after the upload: %v %v", left, err)
			}
		}()
		if err != nil {
			var re *cases.RuleError
			if !errors.As(err, &re) {
				t.Fatalf("refused with %v, not a rule error", err)
			}
			switch st := statusOf(err); st {
			case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
			default:
				t.Fatalf("refused with status %d: %v", st, err)
			}
			for _, fe := range append(re.Fields, cases.FieldError{Field: re.Field, Message: re.Message}) {
				if cases.MayHoldClaimCode(fe.Field) || cases.MayHoldClaimCode(fe.Message) {
					t.Fatalf("refused with %q: %q, which may hold a claim code", fe.Field, fe.Message)
				}
			}
			return
		}
		if file == nil || file.Size <= 0 {
			t.Fatalf("accepted without a file: %+v", file)
		}
		for name := range fields {
			if !uploadFields[name] && name != "file_name" {
				t.Fatalf("accepted a field %q that is not the contract's", name)
			}
		}
		// What a plain multipart reader finds in the same body.
		mr := multipart.NewReader(bytes.NewReader(body), boundary)
		var fileBytes []byte
		plain := map[string]string{}
		for {
			part, err := mr.NextPart()
			if err != nil {
				break
			}
			b, err := io.ReadAll(part)
			if err != nil {
				t.Fatalf("the reference reader fails where the upload was accepted: %v", err)
			}
			switch name := part.FormName(); {
			case name == "file":
				fileBytes = b
			case uploadFields[name]:
				plain[name] = string(b)
			}
		}
		sum := sha256.Sum256(fileBytes)
		if file.SHA256 != hex.EncodeToString(sum[:]) || file.Size != int64(len(fileBytes)) {
			t.Fatalf("spooled %d bytes with digest %s; the part has %d with %x", file.Size, file.SHA256, len(fileBytes), sum)
		}
		spooled, err := io.ReadAll(file)
		if err != nil || !bytes.Equal(spooled, fileBytes) {
			t.Fatalf("the spooled file reads back differently (%v)", err)
		}
		if head := fileBytes[:min(len(fileBytes), 512)]; !bytes.Equal(file.Head, head) {
			t.Fatalf("the head kept for sniffing is not the file's first bytes")
		}
		for name, v := range plain {
			if fields[name] != v {
				t.Fatalf("field %s read as %q, the part holds %q", name, fields[name], v)
			}
		}
	})
}

// consoleForms lists the console's form readers, each as its handler calls it, returning the
// body the use case takes.
var consoleForms = []struct {
	name  string
	read  func(form url.Values, zone *time.Location) (any, error)
	field string // a field of the form, for the seeds
}{
	{"correction", func(form url.Values, _ *time.Location) (any, error) { in, err := correctionForm(form); return &in, err }, "amount"},
	{"card", func(form url.Values, zone *time.Location) (any, error) {
		in, err := cardForm(form, zone)
		return &in, err
	}, "face_value"},
	{"communication", func(form url.Values, zone *time.Location) (any, error) {
		in, err := communicationForm(form, zone)
		return &in, err
	}, "body"},
	{"case update", func(form url.Values, _ *time.Location) (any, error) { in := casePatchForm(form); return &in, nil }, "assignee"},
	{"new case", func(form url.Values, zone *time.Location) (any, error) {
		v := newCaseView{Choice: caseTypeChoiceOf(form.Get("type")), values: map[string]string{}}
		if v.Choice == nil {
			return nil, cases.Invalid("type", "choose a type") // the handler answers 400 with the chooser
		}
		in, _, _ := newCaseInput(v, readNewCaseForm(v, form), zone)
		return &in, nil
	}, "summary"},
}

// FuzzConsoleForms reads a posted form (the second input, URL-encoded) with one of the console's
// form readers (the first input picks it, and the time zone). A reader never panics and refuses
// only with a 422; what it reads and the desk's body checks then accept holds no NUL byte and no
// invalid UTF-8; an amount reads back from its own rendering; a local time becomes an RFC 3339
// time that is the same wall clock in the user's zone, or is left as typed for the use case to
// judge; token expiry days end at the next midnight.
func FuzzConsoleForms(f *testing.F) {
	seeds := []string{
		"kind=transfer&amount=50.00&currency=USD&from_account=A1B2C3D4&to_account=Z9Y8X7W6&card_id=1&reason=wrong+account",
		"kind=credit&amount=12&currency=JPY&to_account=A1&reason=goodwill",
		"kind=reversal&reverses=7&reason=mistake&amount=x",
		"claim_code=AB12-CDEF34-GH56&serial=6046&face_value=25.00&currency=USD&marketplace=US&status=redeemed&redeemed_to=A1&redeemed_at=2026-11-20T10:00",
		"channel=phone&direction=inbound&occurred_at=2026-11-20T10:00&occurred_exact=2026-11-20T10:00:42.123456Z&body=called&duration_seconds=300&supersedes=3",
		"status=resolved&resolution=corrected&priority=high&assignee=sup%40example.com&tags=a,+b,,c&version=4",
		"assignee=&tags=",
		"type=wrong_account&summary=Redeemed+on+work&customer.account_id=A1&customer.marketplace=US&intended_account.account_id=Z9&intended_account.marketplace=US" +
			"&cards[0].claim_code=AB12-CDEF34-GH56&cards[0].face_value=50&cards[0].redeemed_to=customer&cards[0].redeemed_at=2026-11-20T10:00&tags=phone",
		"type=scam_victim&summary=s&customer.account_id=A1&customer.marketplace=UK&cards[0].serial=123&cards[0].face_value=10,5&freeze=on&frozen_reason=scam&reported=on",
		"type=other&summary=a%00b&customer.account_id=A1&customer.marketplace=US",
		"assignee=a%00b%40example.com",
		"expires_at=2027-03-31",
		"amount=%FF&currency=usd&kind=transfer",
	}
	for i := range consoleForms {
		for _, s := range seeds {
			f.Add(uint8(i), s)
		}
	}
	zones := []*time.Location{time.UTC, time.FixedZone("UTC-5", -5*3600), time.FixedZone("UTC+13:45", 13*3600+45*60)}
	f.Fuzz(func(t *testing.T, which uint8, raw string) {
		form, _ := url.ParseQuery(raw) // as net/http: what parses is read, the rest dropped
		reader := consoleForms[int(which)%len(consoleForms)]
		zone := zones[int(which)/len(consoleForms)%len(zones)]
		in, err := reader.read(form, zone)
		if err != nil {
			if st := statusOf(err); st != http.StatusUnprocessableEntity {
				t.Fatalf("%s form %q refused with status %d: %v", reader.name, raw, st, err)
			}
		} else if problems := fuzzDesk.BodyProblems(in); len(problems) == 0 {
			if path, bad := badText(reflect.ValueOf(in), reader.name); bad {
				t.Fatalf("%s form %q accepted with a NUL byte or invalid UTF-8 at %s", reader.name, raw, path)
			}
		}
		if c, ok := in.(*cases.NewCorrection); ok && err == nil && c.AmountMinor != nil {
			checkAmountRoundTrip(t, *c.AmountMinor, c.Currency)
		}
		if c, ok := in.(*cases.CardInput); ok && err == nil && c.FaceValueMinor != nil {
			checkAmountRoundTrip(t, *c.FaceValueMinor, c.Currency)
		}
		for _, field := range []string{"redeemed_at", "occurred_at", "expires_at", reader.field} {
			local := form.Get(field)
			out := localToRFC3339(local, zone)
			if out == local {
				continue
			}
			at, perr := time.Parse(time.RFC3339, out)
			wall, werr := time.ParseInLocation(localLayout, strings.TrimSpace(local), zone)
			if perr != nil || werr != nil || !at.Equal(wall) || at.In(zone).Format(localLayout) != wall.Format(localLayout) {
				t.Fatalf("local time %q in %s became %q (%v)", local, zone, out, perr)
			}
		}
		if n := formInt(form.Get("version")); n < 0 {
			t.Fatalf("version %q read as %d", form.Get("version"), n)
		}
		expires, err := expiryOf(form.Get("expires_at"), zone)
		switch {
		case err != nil:
			if statusOf(err) != http.StatusUnprocessableEntity {
				t.Fatalf("expiry %q refused with %v", form.Get("expires_at"), err)
			}
		case expires != nil:
			day, perr := time.ParseInLocation(time.DateOnly, strings.TrimSpace(form.Get("expires_at")), zone)
			if perr != nil || !expires.Equal(day.AddDate(0, 0, 1)) || expires.In(zone).Format("15:04:05") != "00:00:00" {
				t.Fatalf("expiry %q read as %v", form.Get("expires_at"), expires)
			}
		case strings.TrimSpace(form.Get("expires_at")) != "":
			t.Fatalf("expiry %q read as none", form.Get("expires_at"))
		}
	})
}

// checkAmountRoundTrip: an amount read from a form reads back the same from its own rendering.
func checkAmountRoundTrip(t *testing.T, minor int64, currency string) {
	t.Helper()
	cur := cases.Currency(strings.ToUpper(strings.TrimSpace(currency)))
	if minor < 0 {
		t.Fatalf("a form amount read as %d", minor)
	}
	shown, _ := strings.CutSuffix(cases.FormatMinor(minor, cur), " "+string(cur))
	if back, err := cases.ParseMajorUnits(shown, cur); err != nil || back != minor {
		t.Fatalf("amount %d %s renders as %q, which reads as %d (%v)", minor, cur, shown, back, err)
	}
}

// TestFuzzTargetsAreAllRunByCI: every fuzz target of the module is in .ci/fuzz's list, so that CI
// fuzzes it and the README's loop runs it longer.
func TestFuzzTargetsAreAllRunByCI(t *testing.T) {
	script, err := os.ReadFile("../.ci/fuzz")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(string(script), "\n") {
		if f := strings.Fields(line); len(f) == 2 && strings.HasPrefix(f[0], "./") && strings.HasPrefix(f[1], "Fuzz") {
			listed[f[0]+" "+f[1]] = true
		}
	}
	found := 0
	err = filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return err
		}
		file, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		for _, decl := range file.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Fuzz") {
				continue
			}
			found++
			rel, _ := filepath.Rel("..", filepath.Dir(path))
			if key := "./" + filepath.ToSlash(rel) + "/ " + fn.Name.Name; !listed[key] {
				t.Errorf("%s is not in .ci/fuzz's list (want a line %q)", fn.Name.Name, key)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found != len(listed) || found < 8 {
		t.Errorf("%d fuzz targets in the sources, %d listed in .ci/fuzz", found, len(listed))
	}
}
