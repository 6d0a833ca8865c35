package bundle_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/png"
	"strconv"
	"strings"
	"testing"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/casestest"
	"giftdesk/models/modelstest"
)

func TestMain(m *testing.M) { modelstest.Main(m) }

var ctx = context.Background()

// The claim codes the fixture's cards carry: no bundle may hold them in any spelling.
var codes = []string{"AB12-CDEF34-GH56", "KQ7R-WXYZ-M9TP2", "HJ4K-LMN7-PQRT"}

type fixture struct {
	desk                    *cases.Desk
	admin, sup, sup2, agent cases.Principal
}

func newFixture(t *testing.T, db *gorm.DB) fixture {
	t.Helper()
	f := fixture{desk: cases.New(cases.Config{DB: db, Keys: casestest.Keys})}
	for _, u := range []struct {
		p     *cases.Principal
		email string
		name  string
		role  cases.Role
	}{{&f.admin, "admin@example.com", "Ada Admin", cases.RoleAdmin}, {&f.sup, "sup@example.com", "Søren Kierkegård", cases.RoleSupervisor},
		{&f.sup2, "sup2@example.com", "Ines Dvořák", cases.RoleSupervisor}, {&f.agent, "agent@example.com", "Ana Agent", cases.RoleAgent}} {
		v, err := f.desk.AddUser(ctx, cases.CLIActor, cases.NewUser{Email: u.email, Name: u.name, Role: u.role, Password: "correct horse battery staple 42"})
		if err != nil {
			t.Fatal(err)
		}
		*u.p = cases.Principal{UserID: v.ID, Email: v.Email, Name: v.Name, Role: u.role}
	}
	return f
}

func actorOf(p cases.Principal) cases.Actor { return cases.ActorFor(p, "192.0.2.1", "test", "") }

// upload is one evidence file the fixture adds.
type upload struct {
	name, kind string
	content    []byte
	receipt    bool
}

// pngOf is a small real PNG of one colour.
func pngOf(t *testing.T, c color.RGBA) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for x := 0; x < 16; x++ {
		for y := 0; y < 16; y++ {
			img.Set(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// hostileUploads are evidence files whose names try to leave the bundle's folder, hide a NUL, run
// past any file system's limit, or repeat each other.
func hostileUploads(t *testing.T) []upload {
	long := strings.Repeat("Ærøskøbing-kvittering-", 20) + ".png"
	return []upload{
		{name: "../../../etc/passwd.png", kind: "card_photo", content: pngOf(t, color.RGBA{200, 30, 30, 255})},
		{name: "..\\..\\windows\\system32\\receipt.jpg", kind: "receipt", content: pngOf(t, color.RGBA{30, 200, 30, 255}), receipt: true},
		{name: "nul\x00byte.png", kind: "screenshot", content: pngOf(t, color.RGBA{30, 30, 200, 255})},
		{name: long, kind: "other", content: pngOf(t, color.RGBA{90, 90, 90, 255})},
		{name: "reçu Zoë.png", kind: "other", content: pngOf(t, color.RGBA{10, 10, 10, 255})},
		{name: "reçu Zoë.png", kind: "other", content: pngOf(t, color.RGBA{11, 10, 10, 255})},
		{name: "activation slip.pdf", kind: "activation_slip", content: []byte("%PDF-1.4\n% a slip\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n")},
	}
}

// richCase opens a wrong_account case with accented names, three cards with claim codes (typed
// into its texts too), communications with a formula and characters the PDF font lacks,
// evidence files with hostile names, and corrections applied, denied and pending.
func (f fixture) richCase(t *testing.T, extraComms int) cases.CaseView {
	t.Helper()
	fv := int64(5000)
	var cards []cases.CardInput
	for i, code := range codes {
		cards = append(cards, cases.CardInput{ClaimCode: code, Serial: "60461234123" + strconv.Itoa(41230+i), FaceValueMinor: &fv, Currency: "USD",
			Marketplace: "US", Status: "redeemed", RedeemedTo: "ZOE-001", RedeemedAt: "2026-11-20T10:00:00Z"})
	}
	v, _, err := f.desk.CreateCase(ctx, f.agent, actorOf(f.agent), cases.NewCase{Type: "wrong_account", Priority: "high",
		Summary:         "Redeemed on the work account; code " + codes[0] + " read out by Zoë",
		Description:     "Zoë Łukasiewicz-Ørsted says her codes " + strings.ToLower(codes[1]) + " and " + strings.ReplaceAll(codes[2], "-", "") + " went to her work account. 🎁 礼品卡",
		Customer:        cases.AccountInput{AccountID: "ZOE-001", Marketplace: "US", Email: "zoe@example.com", Name: "Zoë Łukasiewicz-Ørsted"},
		IntendedAccount: &cases.AccountInput{AccountID: "GULSEN-7", Marketplace: "US", Email: "gulsen@example.com", Name: "Ğülşen Çelik"},
		Cards:           cards,
		External:        &cases.ExternalInput{System: "zendesk", ID: "81234", URL: "https://example.zendesk.com/agent/tickets/81234"},
		Tags:            []string{"phone", "=SUM(A1:A9)"}})
	if err != nil {
		t.Fatal(err)
	}
	dur := int64(754)
	comms := []cases.NewCommunication{
		{Channel: "phone", Direction: "inbound", CounterpartName: "Ñuño Pérez", RepresentativeName: "Ågot Nyström", Reference: "CALL-77",
			DurationSeconds: &dur, Body: "Customer read the code " + codes[0] + " again; she is upset 😢 and wrote 你好."},
		{Channel: "email", Direction: "outbound", CounterpartName: "Zoë Łukasiewicz-Ørsted", Body: "=HYPERLINK(\"http://evil.example\",\"click\")"},
		{Channel: "internal_note", Direction: "internal", Body: "+1 for a transfer; -check the slip; @sup please look"},
	}
	for i := 0; i < extraComms; i++ {
		comms = append(comms, cases.NewCommunication{Channel: "chat", Direction: "inbound", CounterpartName: "Ğülşen Çelik",
			Body: "Follow-up message number " + strconv.Itoa(i+1) + " about the transfer, with quite a few words so that the line wraps in the summary's table."})
	}
	for _, c := range comms {
		if _, err := f.desk.AddCommunication(ctx, f.agent, actorOf(f.agent), v.Ref, c); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range hostileUploads(t) {
		spooled, err := cases.SpoolUpload(bytes.NewReader(u.content), t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		in := cases.EvidenceFields{Kind: u.kind, FileName: u.name, Note: "photo sent by Zoë; code " + codes[1]}
		if u.receipt {
			in.AmountMinor, in.Currency, in.PurchasedAt, in.StoreName, in.CardLast4 = "5000", "USD", "2026-11-01", "Łódź Kaufhaus", "GH56"
		}
		e, err := f.desk.AddEvidence(ctx, f.agent, actorOf(f.agent), v.Ref, in, spooled)
		spooled.Close()
		if err != nil {
			t.Fatalf("upload %q: %v", u.name, err)
		}
		if u.receipt {
			if _, err := f.desk.VerifyEvidence(ctx, f.sup, actorOf(f.sup), e.ID, "verified", "+ matches the till roll, Ørsted signature"); err != nil {
				t.Fatal(err)
			}
		}
	}
	amount := int64(5000)
	cardID := func(i int) string { return strconv.FormatInt(v.Cards[i].ID, 10) }
	applied, err := f.desk.RequestCorrection(ctx, f.agent, actorOf(f.agent), v.Ref, cases.NewCorrection{Kind: "transfer", AmountMinor: &amount,
		Currency: "USD", FromAccount: "ZOE-001", ToAccount: "GULSEN-7", CardID: cardID(0), Reason: "Card " + codes[0] + " landed on the work account"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.desk.ApproveCorrection(ctx, f.sup, actorOf(f.sup), applied.ID, "@sup2 receipt verified; approved for Zoë"); err != nil {
		t.Fatal(err)
	}
	denied, err := f.desk.RequestCorrection(ctx, f.agent, actorOf(f.agent), v.Ref, cases.NewCorrection{Kind: "transfer", AmountMinor: &amount,
		Currency: "USD", FromAccount: "ZOE-001", ToAccount: "GULSEN-7", CardID: cardID(1), Reason: "Second card as well"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.desk.DenyCorrection(ctx, f.sup2, actorOf(f.sup2), denied.ID, "No proof the second card was hers — ask Ñuño"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.desk.RequestCorrection(ctx, f.agent, actorOf(f.agent), v.Ref, cases.NewCorrection{Kind: "transfer", AmountMinor: &amount,
		Currency: "USD", FromAccount: "ZOE-001", ToAccount: "GULSEN-7", CardID: cardID(2), Reason: "Third card, pending"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.desk.SealPass(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := f.desk.GetCase(ctx, f.agent, v.Ref)
	if err != nil {
		t.Fatal(err)
	}
	return got
}
