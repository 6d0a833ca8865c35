package demo

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"time"
	"unicode"
)

// Receipt is a paper till receipt for a gift card, drawn at run time so that the demo ships no
// binary file and each receipt shows its own facts.
type Receipt struct {
	Store, Location string
	PurchasedAt     time.Time // the till's local time
	Amount          string    // as printed, e.g. "50.00"
	Currency        string
	CardLast4       string // the last four of the card's number (its serial), as tills print it
	Transaction     string // the POS transaction id
	Tender          string // how it was paid, e.g. "VISA ****4242"
}

// receiptWidth is the number of characters on a line of a till roll.
const receiptWidth = 32

// PNG draws the receipt as a PNG image.
func (r Receipt) PNG() ([]byte, error) {
	rule := strings.Repeat("-", receiptWidth)
	lines := []string{
		center(r.Store), center(r.Location), "",
		r.PurchasedAt.Format("2006-01-02") + "  " + r.PurchasedAt.Format("15:04") + "  REG 03",
		"TRANS " + r.Transaction, rule,
		columns("GIFT CARD ACTIVATION", r.Amount),
		"  CARD ************" + r.CardLast4,
		rule,
		columns("TOTAL "+r.Currency, r.Amount),
		columns(r.Tender, r.Amount),
		rule,
		center("GIFT CARDS ARE NOT REFUNDABLE"),
		center("KEEP THIS RECEIPT"),
		center("THANK YOU"),
	}
	return drawText(lines, color.RGBA{0xfb, 0xf8, 0xef, 0xff}, color.RGBA{0x2b, 0x2b, 0x33, 0xff})
}

// Screenshot draws lines as a plain screen capture: dark text on white.
func Screenshot(lines ...string) ([]byte, error) {
	return drawText(lines, color.RGBA{0xff, 0xff, 0xff, 0xff}, color.RGBA{0x11, 0x18, 0x27, 0xff})
}

func center(s string) string {
	if pad := (receiptWidth - len(s)) / 2; pad > 0 {
		return strings.Repeat(" ", pad) + s
	}
	return s
}

// columns puts left and right at either end of a line.
func columns(left, right string) string {
	if gap := receiptWidth - len(left) - len(right); gap > 0 {
		return left + strings.Repeat(" ", gap) + right
	}
	return left + " " + right
}

// The bitmap font: 5×7 glyphs, upper case (lower case is drawn as upper case), drawn at scale
// with one blank column and two blank rows between characters.
const (
	glyphW, glyphH = 5, 7
	scale          = 2
	cellW, cellH   = (glyphW + 1) * scale, (glyphH + 3) * scale
	margin         = 12 * scale
)

// drawText renders lines on a paletted image (a small PNG) and encodes it.
func drawText(lines []string, bg, ink color.Color) ([]byte, error) {
	cols := receiptWidth
	for _, l := range lines {
		cols = max(cols, len([]rune(l)))
	}
	img := image.NewPaletted(image.Rect(0, 0, 2*margin+cols*cellW, 2*margin+len(lines)*cellH), color.Palette{bg, ink})
	for row, line := range lines {
		for col, r := range []rune(line) {
			g, ok := font[unicode.ToUpper(r)]
			if !ok {
				g = font['?']
			}
			x0, y0 := margin+col*cellW, margin+row*cellH
			for gy, bits := range g {
				for gx, bit := range bits {
					if bit != '#' {
						continue
					}
					for dy := range scale {
						for dx := range scale {
							img.SetColorIndex(x0+gx*scale+dx, y0+gy*scale+dy, 1)
						}
					}
				}
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("draw a demo image: %w", err)
	}
	return b.Bytes(), nil
}

var font = map[rune][glyphH]string{
	' ':  {".....", ".....", ".....", ".....", ".....", ".....", "....."},
	'A':  {".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"},
	'B':  {"####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."},
	'C':  {".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."},
	'D':  {"###..", "#..#.", "#...#", "#...#", "#...#", "#..#.", "###.."},
	'E':  {"#####", "#....", "#....", "####.", "#....", "#....", "#####"},
	'F':  {"#####", "#....", "#....", "####.", "#....", "#....", "#...."},
	'G':  {".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"},
	'H':  {"#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"},
	'I':  {".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."},
	'J':  {"..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."},
	'K':  {"#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"},
	'L':  {"#....", "#....", "#....", "#....", "#....", "#....", "#####"},
	'M':  {"#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"},
	'N':  {"#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"},
	'O':  {".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."},
	'P':  {"####.", "#...#", "#...#", "####.", "#....", "#....", "#...."},
	'Q':  {".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"},
	'R':  {"####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"},
	'S':  {".####", "#....", "#....", ".###.", "....#", "....#", "####."},
	'T':  {"#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."},
	'U':  {"#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."},
	'V':  {"#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."},
	'W':  {"#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."},
	'X':  {"#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"},
	'Y':  {"#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."},
	'Z':  {"#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"},
	'0':  {".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."},
	'1':  {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."},
	'2':  {".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"},
	'3':  {"#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."},
	'4':  {"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."},
	'5':  {"#####", "#....", "####.", "....#", "....#", "#...#", ".###."},
	'6':  {"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."},
	'7':  {"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."},
	'8':  {".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."},
	'9':  {".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."},
	'.':  {".....", ".....", ".....", ".....", ".....", ".##..", ".##.."},
	',':  {".....", ".....", ".....", ".....", ".##..", "..#..", ".#..."},
	':':  {".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."},
	'-':  {".....", ".....", ".....", "#####", ".....", ".....", "....."},
	'/':  {".....", "....#", "...#.", "..#..", ".#...", "#....", "....."},
	'#':  {".#.#.", ".#.#.", "#####", ".#.#.", "#####", ".#.#.", ".#.#."},
	'*':  {".....", "..#..", "#.#.#", ".###.", "#.#.#", "..#..", "....."},
	'=':  {".....", ".....", "#####", ".....", "#####", ".....", "....."},
	'(':  {"...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#."},
	')':  {".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#..."},
	'\'': {"..#..", "..#..", ".#...", ".....", ".....", ".....", "....."},
	'!':  {"..#..", "..#..", "..#..", "..#..", "..#..", ".....", "..#.."},
	'?':  {".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#.."},
	'%':  {"##...", "##..#", "...#.", "..#..", ".#...", "#..##", "...##"},
	'+':  {".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."},
}
