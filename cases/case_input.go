package cases

import (
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Text limits of SPEC §2, checked on the input before redaction.
const (
	maxSummaryRunes     = 200
	maxDescriptionRunes = 20000
	maxTags             = 20
	maxTagRunes         = 50
	maxNameRunes        = 200
	maxFaceValueMinor   = 100_000_000_00 // a card of a hundred million units is a typo, not a card
)

// AccountInput names a customer account in a request.
type AccountInput struct {
	AccountID   string `json:"account_id"`
	Marketplace string `json:"marketplace"`
	Email       string `json:"email"`
	Name        string `json:"name"`
}

// CardInput is a gift card in a request. It holds a claim code in clear until it is parsed and
// hashed, so every way of printing it masks the code (R1).
type CardInput struct {
	ClaimCode      string `json:"claim_code"`
	Serial         string `json:"serial"`
	FaceValueMinor *int64 `json:"face_value_minor"`
	Currency       string `json:"currency"`
	Marketplace    string `json:"marketplace"`
	Status         string `json:"status"`
	RedeemedTo     string `json:"redeemed_to"`
	RedeemedAt     string `json:"redeemed_at"`
}

// String masks the claim code.
func (c CardInput) String() string {
	return fmt.Sprintf("card(serial %q, claim code %s)", c.Serial, maskRaw(c.ClaimCode))
}

// GoString masks the claim code.
func (c CardInput) GoString() string { return c.String() }

// LogValue masks the claim code.
func (c CardInput) LogValue() slog.Value { return slog.StringValue(c.String()) }

func maskRaw(raw string) string {
	if raw == "" {
		return "none"
	}
	n := NormalizeClaimCode(raw)
	if len(n) > 4 {
		n = n[len(n)-4:]
	}
	return "••••" + n
}

// ExternalInput names a case in a ticketing system.
type ExternalInput struct {
	System string `json:"system"`
	ID     string `json:"id"`
	URL    string `json:"url"`
}

// NewCase is the body of POST /api/v1/cases (SPEC 4.2).
type NewCase struct {
	Type            string         `json:"type"`
	Priority        string         `json:"priority"`
	Summary         string         `json:"summary"`
	Description     string         `json:"description"`
	Customer        AccountInput   `json:"customer"`
	IntendedAccount *AccountInput  `json:"intended_account"`
	Cards           []CardInput    `json:"cards"`
	External        *ExternalInput `json:"external"`
	Tags            []string       `json:"tags"`
}

// cardStatuses are the card statuses of SPEC §2.
var cardStatuses = []string{"unknown", "active", "not_activated", "redeemed"}

var (
	accountIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,64}$`)
	serialPattern    = regexp.MustCompile(`^[A-Z0-9]{1,64}$`)
	systemPattern    = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)
)

// at is the JSON path of a member of the object at path ("" for the body itself).
func at(path, member string) string {
	if path == "" {
		return member
	}
	return path + "." + member
}

// fieldErrors collects validation failures by JSON path. rule is the SPEC code of the first
// failure that has its own (invalid_claim_code, serial_not_claim_code); the others are
// validation_failed.
type fieldErrors struct {
	list []FieldError
	rule string
}

func (f *fieldErrors) add(field, msg string) {
	f.list = append(f.list, FieldError{Field: field, Message: msg})
}

func (f *fieldErrors) err() error {
	if len(f.list) == 0 {
		return nil
	}
	e := InvalidFields(f.list)
	if f.rule != "" {
		e.Code = f.rule
	}
	return e
}

// text trims s and checks it is clean UTF-8 of at most max characters; required refuses "".
func (f *fieldErrors) text(field, s string, max int, required bool) string {
	s = strings.TrimSpace(s)
	switch {
	case !utf8.ValidString(s) || strings.ContainsRune(s, 0):
		f.add(field, "must be text without NUL bytes")
	case required && s == "":
		f.add(field, "is required")
	case utf8.RuneCountInString(s) > max:
		f.add(field, fmt.Sprintf("must be at most %d characters", max))
	}
	return s
}

// account checks an account named in a request.
func (f *fieldErrors) account(field string, a AccountInput) AccountInput {
	a.AccountID = strings.TrimSpace(a.AccountID)
	switch {
	case a.AccountID == "":
		f.add(field+".account_id", "is required")
	case !accountIDPattern.MatchString(a.AccountID):
		f.add(field+".account_id", "must be 1 to 64 letters, digits or . _ : -")
	case strings.HasPrefix(strings.ToLower(a.AccountID), "system:"):
		f.add(field+".account_id", "the prefix system: is reserved for the desk's own accounts")
	}
	a.Marketplace = strings.ToUpper(strings.TrimSpace(a.Marketplace))
	if !Marketplace(a.Marketplace).Valid() {
		f.add(field+".marketplace", "must be one of "+joinNames(Marketplaces()))
	}
	a.Email = NormalizeEmail(f.text(field+".email", a.Email, 254, false))
	if a.Email != "" && !IsMailbox(a.Email) {
		f.add(field+".email", "must be an email address")
	}
	a.Name = f.text(field+".name", a.Name, maxNameRunes, false)
	return a
}

// parsedCard is a validated card: the claim code reduced to what the desk keeps.
type parsedCard struct {
	field  string // JSON path, e.g. cards[1]
	in     CardInput
	code   *ClaimCode
	hmac   []byte
	serial string
	face   int64
	at     *time.Time
}

// NormalizeSerial returns a serial as stored: spaces and dashes removed, letters upper-cased.
func NormalizeSerial(s string) string { return NormalizeClaimCode(s) }

func (f *fieldErrors) card(field string, c CardInput, key ClaimCodeKey, now time.Time) parsedCard {
	p := parsedCard{in: c}
	if strings.TrimSpace(c.ClaimCode) != "" {
		code, err := ParseClaimCode(c.ClaimCode)
		if re, ok := err.(*RuleError); ok {
			f.add(at(field, "claim_code"), re.Message)
			if f.rule == "" {
				f.rule = re.Code
			}
		} else {
			p.code, p.hmac = &code, key.Sum(code)
		}
	}
	if s := strings.TrimSpace(c.Serial); s != "" {
		p.serial = NormalizeSerial(s)
		if !serialPattern.MatchString(p.serial) {
			f.add(at(field, "serial"), "must be 1 to 64 letters and digits (spaces and dashes are ignored)")
		}
	}
	if p.code != nil && p.serial != "" && p.serial == p.code.Reveal() {
		f.add(at(field, "serial"), "is the claim code itself: the serial is the printed number on the card, not the code")
	}
	if p.code == nil && p.serial == "" && strings.TrimSpace(c.ClaimCode) == "" {
		f.add(at(field, "claim_code"), "a card needs a claim_code or a serial")
	}
	switch {
	case c.FaceValueMinor == nil:
		f.add(at(field, "face_value_minor"), "is required")
	case *c.FaceValueMinor <= 0 || *c.FaceValueMinor > maxFaceValueMinor:
		f.add(at(field, "face_value_minor"), "must be a positive amount in minor units")
	default:
		p.face = *c.FaceValueMinor
	}
	m := Marketplace(strings.ToUpper(strings.TrimSpace(c.Marketplace)))
	cur := Currency(strings.ToUpper(strings.TrimSpace(c.Currency)))
	p.in.Marketplace, p.in.Currency = string(m), string(cur)
	switch {
	case !m.Valid():
		f.add(at(field, "marketplace"), "must be one of "+joinNames(Marketplaces()))
	case !cur.Valid():
		f.add(at(field, "currency"), "must be one of "+joinNames(Currencies()))
	case m.Currency() != cur:
		f.add(at(field, "currency"), fmt.Sprintf("a %s card is in %s", m, m.Currency()))
	}
	p.in.Status = strings.TrimSpace(c.Status)
	if p.in.Status == "" {
		p.in.Status = "unknown"
	} else if !contains(cardStatuses, p.in.Status) {
		f.add(at(field, "status"), "must be one of "+strings.Join(cardStatuses, ", "))
	}
	p.in.RedeemedTo = strings.TrimSpace(c.RedeemedTo)
	if p.in.RedeemedTo != "" && !accountIDPattern.MatchString(p.in.RedeemedTo) {
		f.add(at(field, "redeemed_to"), "must be the id of the customer's or the intended account")
	}
	if ra := strings.TrimSpace(c.RedeemedAt); ra != "" {
		p.at = f.fact(at(field, "redeemed_at"), ra, now, maxFutureOccurredAt)
	}
	return p
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (f *fieldErrors) external(e *ExternalInput) *ExternalInput {
	// An empty string counts as absent (SPEC 4.2), so an object of empty strings is no reference.
	if e == nil || (strings.TrimSpace(e.System) == "" && strings.TrimSpace(e.ID) == "" && strings.TrimSpace(e.URL) == "") {
		return nil
	}
	out := &ExternalInput{System: strings.ToLower(strings.TrimSpace(e.System)), ID: f.text("external.id", e.ID, 128, true),
		URL: strings.TrimSpace(e.URL)}
	if !systemPattern.MatchString(out.System) {
		f.add("external.system", "must be 1 to 64 lower-case letters, digits or . _ -, e.g. zendesk")
	}
	if out.URL != "" {
		u, err := url.Parse(out.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(out.URL) > 2000 {
			f.add("external.url", "must be an http or https URL")
		}
	}
	return out
}

func (f *fieldErrors) tags(tags []string) []string {
	if len(tags) > maxTags {
		f.add("tags", fmt.Sprintf("at most %d tags", maxTags))
		return nil
	}
	out := make([]string, 0, len(tags))
	for i, t := range tags {
		t = f.text(fmt.Sprintf("tags[%d]", i), t, maxTagRunes, true)
		if t != "" && !contains(out, t) {
			out = append(out, t)
		}
	}
	return out
}
