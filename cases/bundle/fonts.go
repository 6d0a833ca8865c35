package bundle

import (
	_ "embed"
	"encoding/binary"
	"errors"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// The summary's faces: DejaVu Sans (Debian's fonts-dejavu-core 2.37, licence in fonts/LICENSE),
// which covers Latin-1, Latin Extended-A and B, Greek, Cyrillic and the symbols a case shows.
// One regular and one bold face: about 1.4 MiB of the binary; fpdf embeds only the glyphs used.
var (
	//go:embed fonts/DejaVuSans.ttf
	regularFace []byte
	//go:embed fonts/DejaVuSans-Bold.ttf
	boldFace []byte
)

// replacement stands for a character the summary's font cannot draw.
const replacement = '\uFFFD'

var (
	coverOnce sync.Once
	covered   *bmpSet
	coverErr  error
)

// coverage returns the characters both faces draw (read once from their cmap tables).
func coverage() (*bmpSet, error) {
	coverOnce.Do(func() {
		var r, b *bmpSet
		if r, coverErr = cmapOf(regularFace); coverErr != nil {
			return
		}
		if b, coverErr = cmapOf(boldFace); coverErr != nil {
			return
		}
		for i := range r {
			r[i] &= b[i]
		}
		covered = r
	})
	return covered, coverErr
}

// bmpSet is a set of the characters of Unicode's Basic Multilingual Plane.
type bmpSet [0x10000 / 64]uint64

func (s *bmpSet) add(r rune)      { s[r/64] |= 1 << (r % 64) }
func (s *bmpSet) has(r rune) bool { return r >= 0 && r < 0x10000 && s[r/64]&(1<<(r%64)) != 0 }
func (s *bmpSet) addRange(lo, hi rune) {
	for r := lo; r <= hi && r < 0x10000; r++ {
		s.add(r)
	}
}

// cmapOf reads the characters a TrueType font maps to a glyph, from its format 4 (BMP) cmap
// subtable: the summary draws nothing outside the BMP (fpdf cannot), so no other is needed.
func cmapOf(ttf []byte) (*bmpSet, error) {
	bad := errors.New("bundle: the embedded font has no readable Unicode cmap")
	u16 := func(b []byte, off int) (uint16, bool) {
		if off < 0 || off+2 > len(b) {
			return 0, false
		}
		return binary.BigEndian.Uint16(b[off:]), true
	}
	u32 := func(b []byte, off int) (uint32, bool) {
		if off < 0 || off+4 > len(b) {
			return 0, false
		}
		return binary.BigEndian.Uint32(b[off:]), true
	}
	numTables, ok := u16(ttf, 4)
	if !ok {
		return nil, bad
	}
	var cmap []byte
	for i := 0; i < int(numTables); i++ {
		rec := 12 + 16*i
		if rec+16 > len(ttf) {
			return nil, bad
		}
		if string(ttf[rec:rec+4]) == "cmap" {
			off, _ := u32(ttf, rec+8)
			n, _ := u32(ttf, rec+12)
			if uint64(off)+uint64(n) > uint64(len(ttf)) {
				return nil, bad
			}
			cmap = ttf[off : off+n]
		}
	}
	subtables, ok := u16(cmap, 2)
	if !ok {
		return nil, bad
	}
	for i := 0; i < int(subtables); i++ {
		platform, _ := u16(cmap, 4+8*i)
		encoding, _ := u16(cmap, 6+8*i)
		off, ok := u32(cmap, 8+8*i)
		if !ok || !(platform == 3 && encoding == 1 || platform == 0 && encoding <= 3) {
			continue
		}
		if format, _ := u16(cmap, int(off)); format != 4 {
			continue
		}
		return format4(cmap[off:])
	}
	return nil, bad
}

// format4 reads a cmap subtable of format 4: segments of characters, each mapped by a delta or
// through a glyph array; glyph 0 is "missing".
func format4(t []byte) (*bmpSet, error) {
	bad := errors.New("bundle: the embedded font's cmap is malformed")
	at := func(off int) (int, bool) {
		if off < 0 || off+2 > len(t) {
			return 0, false
		}
		return int(binary.BigEndian.Uint16(t[off:])), true
	}
	segX2, ok := at(6)
	if !ok {
		return nil, bad
	}
	ends, starts, deltas, ranges := 14, 16+segX2, 16+2*segX2, 16+3*segX2
	s := &bmpSet{}
	for i := 0; i < segX2; i += 2 {
		end, ok1 := at(ends + i)
		start, ok2 := at(starts + i)
		delta, ok3 := at(deltas + i)
		rangeOff, ok4 := at(ranges + i)
		if !(ok1 && ok2 && ok3 && ok4) {
			return nil, bad
		}
		if start > end || start == 0xFFFF {
			continue
		}
		if rangeOff == 0 {
			for c := start; c <= end; c++ {
				if (c+delta)&0xFFFF != 0 {
					s.add(rune(c))
				}
			}
			continue
		}
		for c := start; c <= end; c++ {
			g, ok := at(ranges + i + rangeOff + 2*(c-start))
			if ok && g != 0 && (g+delta)&0xFFFF != 0 {
				s.add(rune(c))
			}
		}
	}
	return s, nil
}

// printable makes s drawable by the summary's font: composed (NFC, so that an "e" followed by a
// combining diaeresis is the one "ë" the font has), invalid bytes and control characters dropped
// (a line break becomes a space unless keepLines), and every character the font lacks (emoji,
// CJK, ...) replaced by U+FFFD. It reports whether it replaced any.
func printable(s string, keepLines bool) (string, bool) {
	set, err := coverage()
	if err != nil {
		// No coverage table: keep Latin-1 alone, which every face draws.
		set = &bmpSet{}
		set.addRange(0x20, 0x7E)
		set.addRange(0xA0, 0xFF)
	}
	s = norm.NFC.String(strings.ToValidUTF8(s, string(replacement)))
	var b strings.Builder
	b.Grow(len(s))
	replaced := false
	for _, r := range s {
		switch {
		case r == '\n' && keepLines:
			b.WriteRune('\n')
		case r == '\t' || r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029':
			b.WriteByte(' ')
		case unicode.IsControl(r) || r == '\u200B' || r == '\u200C' || r == '\u200D' || r == '\u2060' || r == '\uFEFF' || r == '\u00AD':
		case set.has(r):
			b.WriteRune(r)
		default:
			replaced = true
			b.WriteRune(replacement)
		}
	}
	return b.String(), replaced
}
