package bundle

import (
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"giftdesk/cases"
)

// maxNameBytes bounds the part of an entry's name taken from the uploaded file's name.
const maxNameBytes = 80

// extensions name the evidence types by their sniffed content, whatever the upload was called.
var extensions = map[string]string{"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "application/pdf": ".pdf"}

// EvidenceFileName is the name of an upload inside the bundle's evidence/ folder: its id, then
// what is left of the uploaded file's name once made safe, then the extension of its sniffed
// type: "12-receipt_march.jpg". A name that came from a client is never a path: no separator,
// no "..", no control character, no leading dot survives, and it is at most 80 bytes long.
// The id makes it unique within the case.
func EvidenceFileName(e cases.EvidenceView) string {
	stem := e.FileName
	if i := strings.LastIndexByte(stem, '.'); i > 0 && i > strings.LastIndexAny(stem, "/\\")+1 {
		stem = stem[:i]
	}
	stem = safeStem(stem)
	if stem == "" {
		stem = safeStem(e.Kind)
	}
	if stem == "" {
		stem = "file"
	}
	ext, ok := extensions[e.ContentType]
	if !ok {
		ext = ".bin"
	}
	return strconv.FormatInt(e.ID, 10) + "-" + stem + ext
}

// safeStem keeps letters, digits, and - and _ of s (any other run of characters becomes one _),
// composed (NFC), trimmed of _ and - at its ends, and cut to maxNameBytes on a character boundary.
func safeStem(s string) string {
	s = norm.NFC.String(strings.ToValidUTF8(s, "_"))
	var b strings.Builder
	under := false
	for _, r := range s {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r) || r == '-':
			b.WriteRune(r)
			under = false
		case !under:
			b.WriteByte('_')
			under = true
		}
	}
	out := strings.Trim(b.String(), "_-")
	if len(out) > maxNameBytes {
		cut := maxNameBytes
		for cut > 0 && !runeStart(out[cut]) {
			cut--
		}
		out = strings.TrimRight(out[:cut], "_-")
	}
	return out
}

func runeStart(b byte) bool { return b&0xC0 != 0x80 }
