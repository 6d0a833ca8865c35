package cases

import (
	"crypto/hmac"
	"hash"
	"sort"
	"strings"
	"unicode/utf8"
)

// StoredCode is what the desk keeps of a card's claim code: its HMAC and last four characters.
type StoredCode struct {
	HMAC  []byte
	Last4 string
}

// Redactor replaces the claim codes of a case's cards in free text (R2). It needs no code in
// clear: it hashes every candidate run of letters and digits that ends in a known last four
// and compares HMACs, so it works the same on a case created a year ago.
type Redactor struct {
	key   ClaimCodeKey
	codes []StoredCode
}

// NewRedactor returns a redactor for the given stored codes. Codes with no HMAC (cards known by
// serial only) are ignored: serials are not secret.
func NewRedactor(key ClaimCodeKey, codes []StoredCode) *Redactor {
	r := &Redactor{key: key}
	for _, c := range codes {
		if len(c.HMAC) > 0 && len(c.Last4) == 4 {
			r.codes = append(r.codes, c)
		}
	}
	return r
}

// Empty reports whether the redactor has no code to look for.
func (r *Redactor) Empty() bool { return r == nil || len(r.codes) == 0 }

// redactSpan is a byte range [start, end) of the input that holds a code.
type redactSpan struct {
	start, end int
	last4      string
}

// Redact returns s with every run of letters and digits, possibly broken by spaces or dashes
// (see isCodeSeparator), whose normalization equals one of the codes replaced by
// "[claim code ••••LAST4]". Letters match in either case and in fullwidth form.
func (r *Redactor) Redact(s string) string {
	if r.Empty() || len(s) < minClaimCodeLen {
		return s
	}
	spans := r.find(s)
	if len(spans) == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	prev := 0
	for _, sp := range spans {
		b.WriteString(s[prev:sp.start])
		b.WriteString("[claim code ••••" + sp.last4 + "]")
		prev = sp.end
	}
	b.WriteString(s[prev:])
	return b.String()
}

// find returns the merged, ordered spans of s that hold a code.
func (r *Redactor) find(s string) []redactSpan {
	mac := r.key.newMAC()
	var spans []redactSpan
	// A segment is a maximal stretch of letters, digits and separators. Within it, norm holds
	// the folded letters and digits, start the byte offset of each in s and end the offset after it.
	norm := make([]byte, 0, 64)
	start := make([]int, 0, 64)
	end := make([]int, 0, 64)
	flush := func() {
		spans = append(spans, r.matchSegment(mac, norm, start, end)...)
		norm, start, end = norm[:0], start[:0], end[:0]
	}
	for i := 0; i < len(s); {
		ru, size := utf8.DecodeRuneInString(s[i:])
		if ch, ok := foldCodeRune(ru); ok {
			norm = append(norm, ch)
			start = append(start, i)
			end = append(end, i+size)
		} else if !isCodeSeparator(ru) {
			flush()
		}
		i += size
	}
	flush()
	return mergeSpans(spans)
}

// matchSegment tries, at every end position whose last four characters are a known code's,
// every candidate length of R2, and hashes only those.
func (r *Redactor) matchSegment(mac hash.Hash, norm []byte, start, end []int) []redactSpan {
	if len(norm) < minClaimCodeLen {
		return nil
	}
	var out []redactSpan
	sum := make([]byte, 0, 32)
	for stop := minClaimCodeLen; stop <= len(norm); stop++ {
		tail := norm[stop-4 : stop]
		for _, c := range r.codes {
			if c.Last4 != string(tail) {
				continue
			}
			for n := minClaimCodeLen; n <= maxClaimCodeLen && n <= stop; n++ {
				mac.Reset()
				mac.Write(norm[stop-n : stop])
				sum = mac.Sum(sum[:0])
				if hmac.Equal(sum, c.HMAC) {
					out = append(out, redactSpan{start: start[stop-n], end: end[stop-1], last4: c.Last4})
				}
			}
		}
	}
	return out
}

// mergeSpans orders spans and joins overlapping ones, so each byte is replaced at most once.
func mergeSpans(spans []redactSpan) []redactSpan {
	if len(spans) < 2 {
		return spans
	}
	sort.Slice(spans, func(i, j int) bool { return spans[i].start < spans[j].start })
	out := spans[:1]
	for _, sp := range spans[1:] {
		last := &out[len(out)-1]
		if sp.start < last.end {
			if sp.end > last.end {
				last.end = sp.end
			}
			continue
		}
		out = append(out, sp)
	}
	return out
}
