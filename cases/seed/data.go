package seed

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"strconv"
)

// weighted picks are (value, weight) tables: the proportions a busy desk sees.
type weighted[T any] struct {
	v T
	w int
}

// Case types: wrong accounts and unactivated cards are most of a gift-card desk's work.
var typeWeights = []weighted[string]{
	{"wrong_account", 22}, {"unactivated_card", 18}, {"code_problem", 15}, {"regional_mismatch", 8},
	{"scam_victim", 7}, {"promo_credit", 12}, {"unexpected_charge", 12}, {"other", 6},
}

var priorityWeights = []weighted[string]{{"low", 15}, {"normal", 55}, {"high", 22}, {"urgent", 8}}

var marketplaceWeights = []weighted[string]{
	{"US", 40}, {"UK", 12}, {"DE", 10}, {"CA", 6}, {"FR", 6}, {"JP", 6}, {"IT", 4}, {"ES", 4}, {"IN", 4},
	{"AU", 3}, {"NL", 2}, {"MX", 2}, {"BR", 1},
}

var currencyOf = map[string]string{"US": "USD", "CA": "CAD", "MX": "MXN", "BR": "BRL", "UK": "GBP", "DE": "EUR",
	"FR": "EUR", "IT": "EUR", "ES": "EUR", "NL": "EUR", "JP": "JPY", "IN": "INR", "AU": "AUD"}

// denominations are card values in minor units, smallest (and commonest) first; the largest reach
// each currency's dual-approval threshold (R5).
var denominations = map[string][]int64{
	"USD": {1000, 2500, 5000, 10000, 20000, 50000, 75000},
	"CAD": {2500, 5000, 10000, 25000, 50000, 100000},
	"MXN": {20000, 50000, 100000, 200000, 500000, 1000000, 1500000},
	"BRL": {5000, 10000, 25000, 50000, 100000, 300000},
	"GBP": {1000, 2500, 5000, 10000, 25000, 40000, 50000},
	"EUR": {1500, 2500, 5000, 10000, 25000, 45000, 50000},
	"JPY": {1000, 3000, 5000, 10000, 30000, 50000, 100000},
	"INR": {50000, 100000, 200000, 500000, 1000000, 4000000, 5000000},
	"AUD": {2500, 5000, 10000, 25000, 50000, 75000, 100000},
}

var domains = []string{"example.com", "example.net", "example.org", "mail.example", "post.example"}

var channelWeights = []weighted[string]{{"phone", 35}, {"email", 30}, {"chat", 20}, {"in_person", 3}, {"internal_note", 12}}

var tagChoices = []string{"phone", "vip", "repeat-contact", "escalated", "holiday-rush", "store-visit", "fraud-review", "needs-receipt"}

var externalSystems = []weighted[string]{{"zendesk", 55}, {"freshdesk", 25}, {"jira", 20}}

var summaries = map[string][]string{
	"wrong_account": {"Redeemed on work account instead of personal", "Card redeemed onto a family member's account",
		"Gift card landed on old account", "Redeemed on spouse's account by mistake"},
	"unactivated_card": {"Card not activated at the register", "Redemption fails: card never activated",
		"Store did not activate card at purchase", "Activation missing on holiday purchase"},
	"regional_mismatch": {"US card tried on UK account", "Card from another marketplace refused",
		"Regional lock on gift card", "Card bought abroad will not redeem"},
	"code_problem": {"Claim code scratched and unreadable", "Serial number typed instead of claim code",
		"Code rejected: O and 0 mixed up", "Pasted code with spaces fails"},
	"scam_victim": {"Paid a 'tax fine' in gift cards", "Caller demanded gift cards for a utility bill",
		"Sent codes to a fake tech-support agent", "Romance scam: codes sent to stranger"},
	"promo_credit": {"Promotional credit vanished", "Promo credit expired early", "Goodwill credit missing from balance"},
	"unexpected_charge": {"Bank card charged although balance existed", "Digital purchases drained saved balance",
		"1-Click used default card, not balance"},
	"other": {"Question about gift card terms", "Balance shown differs from statement", "Customer asks for a receipt copy"},
}

var denialReasons = []string{"The card was redeemed by the customer's own account; no error found.",
	"Receipt does not match the card's last four digits.", "Outside the 90-day correction window.",
	"The balance was already restored by the issuer."}

var correctionReasons = map[string]string{
	"wrong_account":    "Customer proved the card was redeemed onto the wrong account; move the balance to the intended account.",
	"unactivated_card": "Verified receipt shows the card was paid for but never activated.",
	"code_problem":     "Card shown to be unredeemed; credit its value.",
	"scam_victim":      "Supervisor agreed a goodwill credit for a scam victim.",
	"promo_credit":     "Promotional credit expired before its stated date.",
}

func pick[T any](g *generator, table []weighted[T]) T {
	total := 0
	for _, e := range table {
		total += e.w
	}
	r := g.f.IntN(total)
	for _, e := range table {
		if r < e.w {
			return e.v
		}
		r -= e.w
	}
	return table[len(table)-1].v
}

func oneOf[T any](g *generator, list []T) T { return list[g.f.IntN(len(list))] }

// accountCode turns a row id into a unique retailer account id. Ids are handed out in order, as
// a retailer's are, so that the unique index grows at its end instead of everywhere at once.
func accountCode(id int64) string {
	s := upper(strconv.FormatInt(id, 36))
	for len(s) < 9 {
		s = "0" + s
	}
	return "A" + s
}

// serialOf turns a card id into a unique 16-digit serial; cards are printed in serial order.
func serialOf(id int64) string {
	s := strconv.FormatInt(id, 10)
	for len(s) < 12 {
		s = "0" + s
	}
	return "6046" + s
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
	return string(b)
}

// pngIDAT is the compressed pixel data of a 1×1 grey image.
var pngIDAT = func() []byte {
	var b bytes.Buffer
	w := zlib.NewWriter(&b)
	_, _ = w.Write([]byte{0, 0x80})
	_ = w.Close()
	return b.Bytes()
}()

// tinyPNG is a valid 1×1 PNG made unique by a text chunk: a seeded photo has its own sha256, as
// an upload would, and downloads as an image.
func tinyPNG(label string) []byte {
	var b bytes.Buffer
	b.Write([]byte("\x89PNG\r\n\x1a\n"))
	chunk := func(typ string, data []byte) {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(data)))
		b.Write(n[:])
		crc := crc32.NewIEEE()
		crc.Write([]byte(typ))
		crc.Write(data)
		b.WriteString(typ)
		b.Write(data)
		binary.BigEndian.PutUint32(n[:], crc.Sum32())
		b.Write(n[:])
	}
	chunk("IHDR", []byte{0, 0, 0, 1, 0, 0, 0, 1, 8, 0, 0, 0, 0})
	chunk("tEXt", append([]byte("Comment\x00"), label...))
	chunk("IDAT", pngIDAT)
	chunk("IEND", nil)
	return b.Bytes()
}

// tinyPDF is a minimal one-page PDF, unique by its text.
func tinyPDF(label string) []byte {
	return []byte("%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n" +
		"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\ntrailer<</Root 1 0 R>>\n%" + label + "\n%%EOF\n")
}
