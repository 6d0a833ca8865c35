package cases

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"giftdesk/models"
)

// SearchShape names what a case list's q looks like (see SearchFor).
type SearchShape string

// The shapes of q, each with the probes it makes.
const (
	ShapeRef    SearchShape = "ref"    // GD-000123, any case: that ref
	ShapeNumber SearchShape = "number" // digits: a ref's number, a last 4, the start of an account id or serial
	ShapeEmail  SearchShape = "email"  // has an @ after its first character: the start of an email
	ShapeWord   SearchShape = "word"   // letters, digits, . _ : -: the start of an account id, email or serial, a last 4
	ShapeText   SearchShape = "text"   // anything else: contained in a ref, account id, email or serial
)

// MaxSearchLength is the longest q the case list takes, in characters.
const MaxSearchLength = 200

// minShaped is the shortest q read by its shape: one or two characters start most account ids or
// serials (every seeded account id starts with A), and a prefix probe that matches most of the desk
// gathers every id (13 s for "a" at a million cases, under load) where containment at least stops
// at the page's newest matches.
const minShaped = 3

// minSerialPrefix is the shortest q looked for at the start of serials (see serialPrefixOf).
const minSerialPrefix = 8

// minSerialFragment is the shortest run of digits looked for inside serials when nothing starts
// with it: shorter runs are inside too many serials to be a search.
const minSerialFragment = 6

var (
	refShape  = regexp.MustCompile(`^(?i:GD)-([0-9]{1,18})$`)
	wordShape = regexp.MustCompile(`^[A-Za-z0-9._:-]+$`)
)

// SearchFor sorts the case list's q (SPEC 4.2: ref, account id, email, card last 4, serial; any
// letter case) by its shape into the probes that can find it, each read from an exact or prefix
// index (models.CaseSearch): only free text reads the trigram indexes. It is the one place that
// decides what a search looks for; nil means q is empty. A claim code is never searched here: the
// console's search box sends it to LookupCard first (Search), and an API client to
// POST /api/v1/cards/lookup.
//
// A q may fit several fields, and gets the union of the probes it fits:
//   - "GD-000123" (any case) is that ref, as typed or with its number written as the desk writes
//     refs (gd-123 finds GD-000123);
//   - digits are a ref's number (123 finds GD-000123), the start of an account id, with 8 or
//     more the start of a serial, and, when there are 4 of them, a last 4; when none of those finds a case, a run of at least
//     six digits is looked for inside serials (a serial read off a damaged card): the one
//     trigram scan a shaped q may make, and only on a miss;
//   - a q with an @ after its first character is the start of an email (sam@example finds
//     sam@example.co.uk); one starting with @ is text, so a domain is found inside emails;
//   - a word of letters, digits and . _ : - is the start of an account id or of an email (an
//     agent reads out "jane.doe" before the @), with 8 or more characters of a serial too, and
//     with 4 letters or digits a last 4;
//   - anything else (spaces, other punctuation), and any q of one or two characters, is text
//     found inside refs, account ids, emails and serials, as every q was before issue 25.
//
// So a fragment from the middle of a ref, an account id or an email is no longer found unless
// it is text; starts are what people read out.
func SearchFor(q string) (SearchShape, *models.CaseSearch, error) {
	q = strings.TrimSpace(q)
	switch {
	case !utf8.ValidString(q) || strings.ContainsRune(q, 0):
		return "", nil, Invalid("q", "must be text without NUL bytes")
	case utf8.RuneCountInString(q) > MaxSearchLength:
		return "", nil, Invalid("q", fmt.Sprintf("must be at most %d characters", MaxSearchLength))
	case q == "":
		return "", nil, nil
	}
	if utf8.RuneCountInString(q) < minShaped {
		return ShapeText, &models.CaseSearch{Contains: q}, nil
	}
	if m := refShape.FindStringSubmatch(q); m != nil {
		return ShapeRef, &models.CaseSearch{Refs: refsOf(strings.ToUpper(q), m[1])}, nil
	}
	if strings.Trim(q, "0123456789") == "" {
		s := &models.CaseSearch{Refs: refsOf("", q), AccountPrefix: q, SerialPrefix: serialPrefixOf(q), Last4: last4Of(q)}
		if len(q) >= minSerialFragment {
			s.SerialFragment = q
		}
		return ShapeNumber, s, nil
	}
	if strings.IndexByte(q, '@') > 0 && !strings.ContainsAny(q, " \t\r\n") {
		return ShapeEmail, &models.CaseSearch{EmailPrefix: q}, nil
	}
	if wordShape.MatchString(q) {
		return ShapeWord, &models.CaseSearch{AccountPrefix: q, EmailPrefix: q, SerialPrefix: serialPrefixOf(q), Last4: last4Of(q)}, nil
	}
	return ShapeText, &models.CaseSearch{Contains: q}, nil
}

// refsOf returns typed (when not empty) and the ref of case number digits as the desk writes it,
// without repeats.
func refsOf(typed, digits string) []string {
	var refs []string
	if typed != "" {
		refs = append(refs, typed)
	}
	if n, err := strconv.ParseInt(digits, 10, 64); err == nil && n > 0 {
		if ref := FormatRef(n); ref != typed {
			refs = append(refs, ref)
		}
	}
	return refs
}

// serialPrefixOf returns q when it is long enough to start few serials, else "": the first digits
// of a serial are its issuer's, shared by every card of a run (all the seed's start with 6046), and
// a prefix that matches most cards gathers every one of their cases.
func serialPrefixOf(q string) string {
	if len(q) < minSerialPrefix {
		return ""
	}
	return q
}

// last4Of returns q in upper case when it can be the last 4 of a claim code, else "".
func last4Of(q string) string {
	if len(q) != 4 || strings.Trim(q, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
		return ""
	}
	return strings.ToUpper(q)
}

// FormatRef writes case number n as its ref: GD- and at least six digits.
func FormatRef(n int64) string { return fmt.Sprintf("GD-%06d", n) }
