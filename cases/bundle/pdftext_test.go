package bundle_test

import (
	"bytes"
	"compress/zlib"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
)

// pdfStreams are the PDF's streams, inflated when they are Flate-compressed. A stream's bytes are
// as many as its dictionary's /Length says: compressed data may end in a CR or LF byte of its own.
func pdfStreams(t *testing.T, pdf []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for rest := pdf; ; {
		i := bytes.Index(rest, []byte("stream\n"))
		if i < 0 {
			return out
		}
		dict := rest[:i]
		if k := bytes.LastIndex(dict, []byte(" obj")); k >= 0 {
			dict = dict[k:]
		}
		rest = rest[i+len("stream\n"):]
		m := streamLength.FindSubmatch(dict)
		if m == nil {
			t.Fatal("a stream without its /Length")
		}
		n, err := strconv.Atoi(string(m[1]))
		if err != nil || n > len(rest) || !bytes.HasPrefix(bytes.TrimLeft(rest[n:], "\r\n"), []byte("endstream")) {
			t.Fatalf("a stream whose /Length %s does not end at its endstream", m[1])
		}
		raw := rest[:n]
		rest = rest[n+bytes.Index(rest[n:], []byte("endstream"))+len("endstream"):]
		if r, err := zlib.NewReader(bytes.NewReader(raw)); err == nil {
			b, err := io.ReadAll(r)
			if err != nil {
				t.Fatalf("a Flate stream does not inflate: %v", err)
			}
			out = append(out, b)
			continue
		}
		out = append(out, raw)
	}
}

var streamLength = regexp.MustCompile(`/Length (\d+)\b`)

var showText = regexp.MustCompile(`\(((?:\\.|[^\\)])*)\)\s*Tj`)

// pdfText is the text fpdf drew: every "(…) Tj" of the page streams, its escapes undone, read as
// the UTF-16BE fpdf writes for a UTF-8 font, one line per string. A pure Go check, so that it
// runs wherever the tests run; pdftotext, when installed, checks a real reader sees the same.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	var lines []string
	for _, s := range pdfStreams(t, pdf) {
		for _, m := range showText.FindAllSubmatch(s, -1) {
			raw := unescapePDF(m[1])
			if len(raw)%2 != 0 {
				t.Fatalf("a text string of odd length: %q", raw)
			}
			u := make([]uint16, len(raw)/2)
			for i := range u {
				u[i] = uint16(raw[2*i])<<8 | uint16(raw[2*i+1])
			}
			lines = append(lines, string(utf16.Decode(u)))
		}
	}
	return strings.Join(lines, "\n")
}

func unescapePDF(s []byte) []byte {
	var out []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			out = append(out, s[i])
			continue
		}
		i++
		switch c := s[i]; c {
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case '\n':
		default:
			if c >= '0' && c <= '7' {
				n, k := 0, 0
				for k < 3 && i+k < len(s) && s[i+k] >= '0' && s[i+k] <= '7' {
					n = n*8 + int(s[i+k]-'0')
					k++
				}
				out = append(out, byte(n))
				i += k - 1
				continue
			}
			out = append(out, c)
		}
	}
	return out
}

// pdftotext runs poppler's pdftotext when it is installed; "" and false when it is not.
func pdftotext(t *testing.T, pdf []byte) (string, bool) {
	t.Helper()
	path, err := exec.LookPath("pdftotext")
	if err != nil {
		return "", false
	}
	cmd := exec.Command(path, "-enc", "UTF-8", "-", "-")
	cmd.Stdin = bytes.NewReader(pdf)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out), true
}

// pdfPages counts the PDF's pages.
func pdfPages(pdf []byte) int {
	return len(regexp.MustCompile(`/Type /Page\b[^s]`).FindAll(pdf, -1))
}
