package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
)

// bindJSON decodes a JSON object body into dst (SPEC 4.2). A body that cannot be read or is not
// one JSON object is a 400, one over the limit a 413. Every other problem of the body is a 422
// validation_failed that lists them all, each by its JSON path (cards[1].bogus): unknown fields
// (a misspelled field must never silently drop what the client meant to record), fields given
// twice, values of the wrong type, numbers that are not whole where a whole number is expected,
// and strings holding a NUL byte, which no text column takes (PostgreSQL answers SQLSTATE 22021).
// With them come the problems the body's own checks find in the rest (cases.Desk.BodyProblems),
// so that a client fixes its body in one round.
func (s *Server) bindJSON(c *gin.Context, dst any) error {
	body, err := readJSONBody(c, false)
	if err != nil {
		return err
	}
	return s.decodeJSON(body, dst)
}

// bindOptionalJSON is bindJSON for a route whose every field is optional: no body at all is an
// empty object.
func (s *Server) bindOptionalJSON(c *gin.Context, dst any) error {
	body, err := readJSONBody(c, true)
	if err != nil {
		return err
	}
	return s.decodeJSON(body, dst)
}

func (s *Server) decodeJSON(body []byte, dst any) error {
	problems, err := decodeChecked(body, dst)
	if err != nil || len(problems) == 0 {
		return err
	}
	return cases.InvalidBody(problems, s.desk.BodyProblems(dst))
}

// readJSONBody reads a body that must hold one JSON object.
func readJSONBody(c *gin.Context, optional bool) ([]byte, error) {
	var body []byte
	var err error
	if c.Request.Body != nil {
		body, err = io.ReadAll(c.Request.Body)
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, &cases.RuleError{Code: cases.CodeTooLarge, Message: fmt.Sprintf("the body is larger than %d bytes", tooBig.Limit)}
	}
	if err != nil {
		return nil, &cases.RuleError{Code: cases.CodeMalformedJSON, Message: "the body could not be read"}
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 && optional {
		return []byte("{}"), nil
	}
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, &cases.RuleError{Code: cases.CodeMalformedJSON, Message: "the body must be a JSON object"}
	}
	// encoding/json would quietly replace invalid UTF-8 by U+FFFD: refuse rather than alter.
	if !utf8.Valid(trimmed) {
		return nil, &cases.RuleError{Code: cases.CodeMalformedJSON, Message: "the body is not valid UTF-8"}
	}
	return trimmed, nil
}

// maxJSONDepth bounds the nesting of a body: the desk's deepest body is three levels deep, and the
// checker walks it recursively.
const maxJSONDepth = 32

// decodeChecked checks body against dst's type, then decodes what passed into dst. It returns
// the problems found; an error is a body that is not JSON (400) or a body type the checker does
// not know (a programming error: 500).
func decodeChecked(body []byte, dst any) ([]cases.FieldError, error) {
	// json.Valid checks the syntax in one pass without allocating; the scanner then trusts it.
	if !json.Valid(body) {
		return nil, &cases.RuleError{Code: cases.CodeMalformedJSON, Message: "the body is not valid JSON (or holds more than one value)"}
	}
	sc := jsonScanner{b: body}
	root, err := sc.value(0)
	if err != nil {
		return nil, err
	}
	var ch bodyChecker
	clean, err := ch.check(root, reflect.TypeOf(dst).Elem(), "")
	if err != nil {
		return nil, err
	}
	if clean == nil {
		clean = &jsonValue{kind: jsonObject}
	}
	// What is left matches dst's type: decoding it cannot fail, and nothing unknown is dropped.
	strict := json.NewDecoder(bytes.NewReader(clean.appendTo(nil)))
	strict.DisallowUnknownFields()
	if err := strict.Decode(dst); err != nil {
		return nil, fmt.Errorf("handlers: decoding a checked body into %T: %w", dst, err)
	}
	return ch.problems, nil
}

type jsonKind int

const (
	jsonNull jsonKind = iota
	jsonBool
	jsonNumber
	jsonString
	jsonArray
	jsonObject
)

// jsonValue is a parsed JSON value that keeps what encoding/json forgets: the order of an
// object's members and members given twice.
type jsonValue struct {
	kind    jsonKind
	text    string // a string's value, a number's literal
	boolean bool
	members []jsonMember
	items   []*jsonValue
}

type jsonMember struct {
	key   string
	value *jsonValue
}

// jsonScanner builds a jsonValue from a body json.Valid has accepted. encoding/json's Token API
// would do it too, at twenty times the cost: 0.8 s of CPU for a 1 MiB array of numbers.
type jsonScanner struct {
	b      []byte
	i      int
	values int
}

// maxJSONValues bounds the values of one body. The largest body the desk takes (a case with 50
// cards) holds about 600; a 1 MiB body of empty objects holds 350,000, which cost 300 MB to check
// and decode before this limit.
const maxJSONValues = 5000

func (s *jsonScanner) space() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

func (s *jsonScanner) value(depth int) (*jsonValue, error) {
	if s.values++; s.values > maxJSONValues {
		return nil, cases.Invalid("body", fmt.Sprintf("holds more than %d values: no request of this API is that large", maxJSONValues))
	}
	s.space()
	switch c := s.b[s.i]; c {
	case '{', '[':
		if depth >= maxJSONDepth {
			return nil, &cases.RuleError{Code: cases.CodeMalformedJSON, Message: "the body is nested too deeply"}
		}
		v := &jsonValue{kind: jsonArray}
		end := byte(']')
		if c == '{' {
			v.kind, end = jsonObject, '}'
		}
		s.i++
		s.space()
		for s.b[s.i] != end {
			var key string
			if v.kind == jsonObject {
				key = s.string()
				s.space()
				s.i++ // the colon
			}
			item, err := s.value(depth + 1)
			if err != nil {
				return nil, err
			}
			if v.kind == jsonObject {
				v.members = append(v.members, jsonMember{key: key, value: item})
			} else {
				v.items = append(v.items, item)
			}
			s.space()
			if s.b[s.i] == ',' {
				s.i++
				s.space()
			}
		}
		s.i++
		return v, nil
	case '"':
		return &jsonValue{kind: jsonString, text: s.string()}, nil
	case 't':
		s.i += len("true")
		return &jsonValue{kind: jsonBool, boolean: true}, nil
	case 'f':
		s.i += len("false")
		return &jsonValue{kind: jsonBool}, nil
	case 'n':
		s.i += len("null")
		return &jsonValue{kind: jsonNull}, nil
	}
	start := s.i
	for s.i < len(s.b) && strings.IndexByte("+-0123456789.eE", s.b[s.i]) >= 0 {
		s.i++
	}
	return &jsonValue{kind: jsonNumber, text: string(s.b[start:s.i])}, nil
}

// string reads a JSON string at s.i; escapes are left to encoding/json.
func (s *jsonScanner) string() string {
	start, escaped := s.i, false
	for s.i++; s.b[s.i] != '"'; s.i++ {
		if s.b[s.i] == '\\' {
			escaped = true
			s.i++
		}
	}
	s.i++
	raw := s.b[start:s.i]
	if !escaped {
		return string(raw[1 : len(raw)-1])
	}
	var out string
	_ = json.Unmarshal(raw, &out) // a valid JSON string always decodes
	return out
}

// appendTo appends v as JSON.
func (v *jsonValue) appendTo(b []byte) []byte {
	switch v.kind {
	case jsonBool:
		return strconv.AppendBool(b, v.boolean)
	case jsonNumber:
		return append(b, v.text...)
	case jsonString:
		s, _ := json.Marshal(v.text) // a string always marshals
		return append(b, s...)
	case jsonArray:
		b = append(b, '[')
		for i, it := range v.items {
			if i > 0 {
				b = append(b, ',')
			}
			b = it.appendTo(b)
		}
		return append(b, ']')
	case jsonObject:
		b = append(b, '{')
		for i, m := range v.members {
			if i > 0 {
				b = append(b, ',')
			}
			k, _ := json.Marshal(m.key)
			b = append(append(b, k...), ':')
			b = m.value.appendTo(b)
		}
		return append(b, '}')
	}
	return append(b, "null"...)
}

// bodyChecker collects the problems of a body by JSON path.
type bodyChecker struct {
	problems []cases.FieldError
}

// maxBodyProblems bounds the problems listed for one body: a 1 MiB array of wrong values must not
// become a 30 MB answer.
const maxBodyProblems = 50

func (ch *bodyChecker) add(path, message string) {
	switch {
	case len(ch.problems) < maxBodyProblems:
		ch.problems = append(ch.problems, cases.FieldError{Field: path, Message: message})
	case len(ch.problems) == maxBodyProblems:
		// The whole body ("" is its JSON path) has more: listing them all helps nobody.
		ch.problems = append(ch.problems, cases.FieldError{Field: "", Message: fmt.Sprintf("has more problems than these %d; fix them first", maxBodyProblems)})
	}
}

var (
	nullableType    = reflect.TypeFor[cases.Nullable]()
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
)

// check returns v as it may be decoded into a t, or nil when it must be left out, adding the
// problems it finds. null is accepted everywhere: it is absence, or for a Nullable "clear it".
func (ch *bodyChecker) check(v *jsonValue, t reflect.Type, path string) (*jsonValue, error) {
	if v.kind == jsonNull {
		return v, nil
	}
	if t == nullableType {
		if v.kind != jsonString {
			ch.add(path, "must be a JSON string or null")
			return nil, nil
		}
		return ch.text(v, path), nil
	}
	if t.Kind() != reflect.Pointer && reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil, fmt.Errorf("handlers: the body checker does not know %v", t)
	}
	switch t.Kind() {
	case reflect.Pointer:
		return ch.check(v, t.Elem(), path)
	case reflect.String:
		if v.kind != jsonString {
			ch.add(path, "must be a JSON string")
			return nil, nil
		}
		return ch.text(v, path), nil
	case reflect.Bool:
		if v.kind != jsonBool {
			ch.add(path, "must be true or false")
			return nil, nil
		}
		return v, nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return ch.integer(v, t, path), nil
	case reflect.Slice:
		if v.kind != jsonArray {
			ch.add(path, "must be a JSON array")
			return nil, nil
		}
		out := &jsonValue{kind: jsonArray, items: make([]*jsonValue, len(v.items))}
		for i, it := range v.items {
			clean, err := ch.check(it, t.Elem(), path+"["+strconv.Itoa(i)+"]")
			if err != nil {
				return nil, err
			}
			if clean == nil {
				// Not left out: the items after it keep their indexes in later messages.
				clean = &jsonValue{kind: jsonNull}
			}
			out.items[i] = clean
		}
		return out, nil
	case reflect.Struct:
		if v.kind != jsonObject {
			ch.add(path, "must be a JSON object")
			return nil, nil
		}
		return ch.object(v, t, path)
	}
	return nil, fmt.Errorf("handlers: the body checker does not know %v", t)
}

// text refuses a string holding a NUL byte.
func (ch *bodyChecker) text(v *jsonValue, path string) *jsonValue {
	if strings.ContainsRune(v.text, 0) {
		ch.add(path, "must be text without NUL bytes")
		return nil
	}
	return v
}

// integer accepts a whole number that fits t. Amounts in minor units say so: 10.50 for an
// amount is the commonest mistake a client makes.
func (ch *bodyChecker) integer(v *jsonValue, t reflect.Type, path string) *jsonValue {
	whole := "must be a whole number (a JSON number)"
	if strings.HasSuffix(path, "_minor") {
		whole = "must be a whole number of minor units (a JSON number, e.g. 1050 for 10.50)"
	}
	if v.kind != jsonNumber {
		ch.add(path, whole)
		return nil
	}
	if _, err := strconv.ParseInt(v.text, 10, t.Bits()); err != nil {
		if errors.Is(err, strconv.ErrRange) {
			ch.add(path, "is out of range")
		} else {
			ch.add(path, whole)
		}
		return nil
	}
	return v
}

// object checks an object's members against the fields of struct t, by exact JSON name.
func (ch *bodyChecker) object(v *jsonValue, t reflect.Type, path string) (*jsonValue, error) {
	fields := jsonFields(t)
	out := &jsonValue{kind: jsonObject}
	seen := map[string]bool{}
	for _, m := range v.members {
		field, known := fields[m.key]
		p := memberPath(path, m.key)
		switch {
		case !known:
			ch.add(p, "is not a field of this request: check its spelling")
			continue
		case seen[m.key]:
			ch.add(p, "is given more than once")
			continue
		}
		seen[m.key] = true
		clean, err := ch.check(m.value, field, p)
		if err != nil {
			return nil, err
		}
		if clean != nil {
			out.members = append(out.members, jsonMember{key: m.key, value: clean})
		}
	}
	return out, nil
}

// fieldsByType caches jsonFields: a body may hold thousands of objects of one type.
var fieldsByType sync.Map // reflect.Type → map[string]reflect.Type

// jsonFields maps the JSON names of struct t's fields to their types, as encoding/json sees them.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := fieldsByType.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	out := map[string]reflect.Type{}
	for _, f := range reflect.VisibleFields(t) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		out[name] = f.Type
	}
	fieldsByType.Store(t, out)
	return out
}

// memberPath is the JSON path of a member: the key as it is when it reads as a field name. A key
// that may hold a claim code is never echoed (R1: the desk cannot redact a code it does not know),
// nor one with control characters or too long to be a name.
func memberPath(path, key string) string {
	label := key
	switch {
	case cases.MayHoldClaimCode(key):
		label = "[a field whose name may hold a claim code]"
	case utf8.RuneCountInString(key) > 64 || key == "" || strings.IndexFunc(key, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		label = "[a field with an unreadable name]"
	}
	if path == "" {
		return label
	}
	return path + "." + label
}
