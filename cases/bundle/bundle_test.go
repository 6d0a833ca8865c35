package bundle_test

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"gorm.io/gorm"

	"giftdesk/cases"
	"giftdesk/cases/bundle"
	"giftdesk/models"
	"giftdesk/models/modelstest"
)

// export builds and writes ref's bundle for p and opens it back.
func export(t *testing.T, f fixture, p cases.Principal, ref string) (*bundle.Bundle, map[string][]byte, []string) {
	t.Helper()
	b, err := bundle.Build(ctx, f.desk, p, actorOf(p), ref)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := b.WriteTo(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	entries, order := unzip(t, buf.Bytes())
	return b, entries, order
}

// unzip reads every entry of a ZIP archive, in the archive's order.
func unzip(t *testing.T, data []byte) (map[string][]byte, []string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("the bundle is no ZIP archive: %v", err)
	}
	out := map[string][]byte{}
	var order []string
	for _, zf := range zr.File {
		r, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		if _, dup := out[zf.Name]; dup {
			t.Errorf("the entry %q is twice in the archive", zf.Name)
		}
		out[zf.Name] = b
		order = append(order, zf.Name)
	}
	return out, order
}

// saveSummary keeps the summary where BUNDLE_SUMMARY_DIR says, to look at it (pdftoppm).
func saveSummary(t *testing.T, name string, pdf []byte) {
	if dir := os.Getenv("BUNDLE_SUMMARY_DIR"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name), pdf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestBundleHoldsTheWholeCase: the bundle's entries, the manifest's hashes and sizes against the
// files, case.json against GET /api/v1/cases/{ref}'s view, the timeline's CSV, the summary's text,
// and every evidence file byte for byte.
func TestBundleHoldsTheWholeCase(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		v := f.richCase(t, 0)
		b, entries, order := export(t, f, f.sup, v.Ref)
		if b.FileName() != v.Ref+".zip" {
			t.Errorf("file name %q", b.FileName())
		}
		if order[0] != bundle.ManifestName {
			t.Errorf("the manifest is not the first entry: %v", order)
		}
		for _, want := range []string{bundle.ManifestName, bundle.CaseName, bundle.TimelineName, bundle.SummaryName} {
			if _, ok := entries[want]; !ok {
				t.Errorf("no %s in %v", want, order)
			}
		}

		var m bundle.Manifest
		if err := json.Unmarshal(entries[bundle.ManifestName], &m); err != nil {
			t.Fatal(err)
		}
		if m.Case != v.Ref || m.Format != bundle.ManifestFormat || m.ExportedBy.Email != f.sup.Email || m.ExportedBy.Via != "console" || m.ExportedAt.IsZero() {
			t.Errorf("manifest head %+v", m)
		}
		if m.AuditChainHead.Seq == 0 || m.AuditChainHead.Hash == nil || len(*m.AuditChainHead.Hash) != 64 {
			t.Errorf("the manifest has no chain head though the fixture sealed: %+v", m.AuditChainHead)
		}
		listed := map[string]bool{}
		for _, mf := range m.Files {
			data, ok := entries[mf.Name]
			if !ok {
				t.Errorf("the manifest lists %q, the archive has no such entry", mf.Name)
				continue
			}
			sum := sha256.Sum256(data)
			if hex.EncodeToString(sum[:]) != mf.SHA256 || int64(len(data)) != mf.Size {
				t.Errorf("%s: manifest says %s / %d bytes, the entry is %x / %d bytes", mf.Name, mf.SHA256, mf.Size, sum, len(data))
			}
			listed[mf.Name] = true
		}
		for _, name := range order {
			if name != bundle.ManifestName && !listed[name] {
				t.Errorf("the entry %q is not in the manifest", name)
			}
		}

		// case.json is the API's view of the case.
		api, err := f.desk.GetCase(ctx, f.agent, v.Ref)
		if err != nil {
			t.Fatal(err)
		}
		var got, want any
		if err := json.Unmarshal(entries[bundle.CaseName], &got); err != nil {
			t.Fatalf("case.json does not parse: %v", err)
		}
		apiJSON, err := json.Marshal(api)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(apiJSON, &want); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("case.json differs from the case's view:\n%s\n%s", entries[bundle.CaseName], apiJSON)
		}

		// Every upload is there, byte for byte, under a safe name.
		ev, err := f.desk.ListEvidence(ctx, f.agent, v.Ref, "100", "")
		if err != nil {
			t.Fatal(err)
		}
		var files []string
		for _, name := range order {
			if strings.HasPrefix(name, "evidence/") {
				files = append(files, name)
			}
		}
		if len(files) != len(ev.Data) || len(ev.Data) != len(hostileUploads(t)) {
			t.Fatalf("%d evidence entries for %d uploads: %v", len(files), len(ev.Data), files)
		}
		for _, e := range ev.Data {
			content, err := f.desk.OpenEvidence(ctx, f.agent, e.ID)
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(content)
			if err != nil {
				t.Fatal(err)
			}
			name := "evidence/" + bundle.EvidenceFileName(e)
			if !bytes.Equal(entries[name], data) {
				t.Errorf("%s is not upload %d's bytes", name, e.ID)
			}
		}
		checkSafeNames(t, files)

		// The PDF: made by fpdf, at most two pages, the customers' names readable in it.
		pdf := entries[bundle.SummaryName]
		saveSummary(t, "rich-"+string(models.DialectOf(db))+".pdf", pdf)
		if !bytes.HasPrefix(pdf, []byte("%PDF-")) || pdfPages(pdf) < 1 || pdfPages(pdf) > 2 {
			t.Fatalf("summary.pdf: %d pages, starts %q", pdfPages(pdf), pdf[:min(8, len(pdf))])
		}
		text := strings.ReplaceAll(pdfText(t, pdf), "\n", " ")
		for _, want := range []string{v.Ref, "Zoë Łukasiewicz-Ørsted", "Ğülşen Çelik", "Ñuño Pérez", "Søren Kierkegård", "••••GH56", "••••9TP2",
			"approved by sup@example.com", "No proof the second card was hers", "verified by sup@example.com", "Łódź Kaufhaus",
			"denied by sup2@example.com", "agent@example.com"} {
			if !strings.Contains(text, want) {
				t.Errorf("the summary's text lacks %q:\n%s", want, text)
			}
		}
		if strings.ContainsAny(text, "😢🎁你好礼品卡") {
			t.Errorf("the summary drew characters its font lacks")
		}
		if !strings.Contains(text, "\uFFFD") || !strings.Contains(text, "cannot show") {
			t.Errorf("the summary neither marks nor explains the characters it could not draw")
		}
		if out, ok := pdftotext(t, pdf); ok {
			flat := strings.Join(strings.Fields(out), " ")
			for _, want := range []string{"Zoë Łukasiewicz-Ørsted", "Ğülşen Çelik", "Ñuño Pérez"} {
				if !strings.Contains(flat, want) {
					t.Errorf("pdftotext does not read %q in the summary:\n%s", want, out)
				}
			}
		} else {
			t.Log("pdftotext (poppler-utils) is not installed: the summary was checked by the pure Go reader alone")
		}

		checkTimelineCSV(t, f, v.Ref, entries[bundle.TimelineName])
		checkNoCode(t, entries, text)
	})
}

// checkSafeNames: no evidence entry's name can leave the evidence folder or trouble a file system.
func checkSafeNames(t *testing.T, files []string) {
	t.Helper()
	seen := map[string]bool{}
	for _, name := range files {
		rest := strings.TrimPrefix(name, "evidence/")
		if strings.ContainsAny(rest, "/\\\x00:") || strings.Contains(name, "..") || strings.HasPrefix(rest, ".") ||
			len(name) > 120 || !utf8.ValidString(name) || strings.IndexFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0 {
			t.Errorf("unsafe entry name %q", name)
		}
		if seen[strings.ToLower(name)] {
			t.Errorf("two entries are named %q", name)
		}
		seen[strings.ToLower(name)] = true
	}
}

// checkTimelineCSV: the header, RFC 4180 lines, times in RFC 3339 UTC, one row per entry of the
// API's timeline in its order, and formula-looking cells neutralised.
func checkTimelineCSV(t *testing.T, f fixture, ref string, data []byte) {
	t.Helper()
	if !bytes.HasSuffix(data, []byte("\r\n")) || bytes.Count(data, []byte("\n")) != bytes.Count(data, []byte("\r\n")) {
		t.Errorf("timeline.csv lines do not end in CRLF")
	}
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		t.Fatalf("timeline.csv: %v", err)
	}
	if !slices.Equal(rows[0], bundle.TimelineHeader) || strings.Join(rows[0], ",") != "at,kind,event,actor,details,note,id" {
		t.Errorf("header %v", rows[0])
	}
	page, err := f.desk.Timeline(ctx, f.agent, ref, cases.TimelineQuery{Limit: "200"})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows)-1 != len(page.Data) {
		t.Fatalf("%d rows for %d timeline entries", len(rows)-1, len(page.Data))
	}
	neutralised := map[string]bool{}
	for i, e := range page.Data {
		row := rows[i+1]
		if row[0] != e.At.UTC().Format("2006-01-02T15:04:05Z") || row[1] != e.Kind || row[6] != jsonID(e.ID) {
			t.Errorf("row %d %v is not entry %s %s %d", i+1, row[:2], e.At, e.Kind, e.ID)
		}
		for _, cell := range row {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) && cell != cases.SpreadsheetSafe(cell) {
				t.Errorf("row %d has an unneutralised cell %q", i+1, cell)
			}
			if strings.HasPrefix(cell, "'") {
				neutralised[cell[:2]] = true
			}
		}
	}
	for _, want := range []string{"'@", "'+"} {
		if !neutralised[want] {
			t.Errorf("no cell of timeline.csv starts with %s: the notes starting with @ and + were not neutralised (%v)", want, neutralised)
		}
	}
}

func jsonID(id int64) string {
	b, _ := json.Marshal(struct {
		ID int64 `json:"id,string"`
	}{id})
	var m map[string]string
	_ = json.Unmarshal(b, &m)
	return m["id"]
}

// checkNoCode: no claim code of the fixture, upper or lower case, with or without its dashes,
// is in any entry's name or content, nor in the summary's drawn text.
func checkNoCode(t *testing.T, entries map[string][]byte, pdfText string) {
	t.Helper()
	for _, code := range codes {
		for _, form := range []string{code, strings.ToLower(code), strings.ReplaceAll(code, "-", ""), strings.ToLower(strings.ReplaceAll(code, "-", ""))} {
			for name, data := range entries {
				if strings.Contains(name, form) || bytes.Contains(data, []byte(form)) {
					t.Errorf("the claim code %q is in %s", form, name)
				}
			}
			if strings.Contains(strings.ReplaceAll(pdfText, " ", ""), strings.ReplaceAll(form, " ", "")) {
				t.Errorf("the claim code %q is drawn in summary.pdf", form)
			}
		}
	}
}

// TestBundleSummaryStaysOnTwoPages: a long timeline is cut politely, the rest named, and the PDF
// never runs to a third page.
func TestBundleSummaryStaysOnTwoPages(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		v := f.richCase(t, 120)
		_, entries, _ := export(t, f, f.admin, v.Ref)
		pdf := entries[bundle.SummaryName]
		saveSummary(t, "long-"+string(models.DialectOf(db))+".pdf", pdf)
		if n := pdfPages(pdf); n != 2 {
			t.Errorf("a long case's summary has %d pages, want 2", n)
		}
		text := strings.ReplaceAll(pdfText(t, pdf), "\n", " ")
		if !strings.Contains(text, "more events, see timeline.csv") {
			t.Errorf("the cut timeline does not say where the rest is:\n%s", text)
		}
		rows, err := csv.NewReader(bytes.NewReader(entries[bundle.TimelineName])).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) < 130 {
			t.Errorf("timeline.csv has %d rows: the whole timeline belongs in it", len(rows))
		}
	})
}

// TestBundleRefusals: an agent in the console (role_required), a token without the export scope
// (scope_required), and an unknown case (not found) get no bundle, and no audit event is written;
// an agent's token with the export scope, granted on purpose, gets it (cases.RequireExport).
func TestBundleRefusals(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		v := f.richCase(t, 0)
		token := f.sup
		token.TokenID, token.Scopes = 99, []cases.Scope{cases.ScopeCasesRead, cases.ScopeCasesWrite}
		for _, c := range []struct {
			name string
			p    cases.Principal
			ref  string
			code string
			want error
		}{
			{"agent", f.agent, v.Ref, cases.CodeRoleRequired, cases.ErrForbidden},
			{"token without export", token, v.Ref, cases.CodeScopeRequired, cases.ErrForbidden},
			{"unknown case", f.sup, "GD-999999", "", cases.ErrNotFound},
		} {
			_, err := bundle.Build(ctx, f.desk, c.p, actorOf(c.p), c.ref)
			if !errors.Is(err, c.want) {
				t.Errorf("%s: %v, want %v", c.name, err, c.want)
			}
			var re *cases.RuleError
			if c.code != "" && (!errors.As(err, &re) || re.Code != c.code) {
				t.Errorf("%s: %v, want code %s", c.name, err, c.code)
			}
		}
		if n := len(bundleEvents(t, db, v.Ref)); n != 0 {
			t.Errorf("%d export events after refusals", n)
		}
		agentRaw, _, err := f.desk.CreateToken(ctx, cases.CLIActor, cases.NewToken{Email: f.agent.Email, Name: "reporting", Scopes: []cases.Scope{cases.ScopeExport}})
		if err != nil {
			t.Fatal(err)
		}
		agentExport, err := f.desk.AuthenticateToken(ctx, agentRaw)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := bundle.Build(ctx, f.desk, agentExport, actorOf(agentExport), v.Ref); err != nil {
			t.Errorf("an agent's token with the export scope: %v, want the bundle", err)
		}
		raw, _, err := f.desk.CreateToken(ctx, cases.CLIActor, cases.NewToken{Email: f.sup.Email, Name: "escalations", Scopes: []cases.Scope{cases.ScopeExport}})
		if err != nil {
			t.Fatal(err)
		}
		withExport, err := f.desk.AuthenticateToken(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		b, err := bundle.Build(ctx, f.desk, withExport, actorOf(withExport), v.Ref)
		if err != nil || b.Manifest.ExportedBy.Via != "token" {
			t.Errorf("a supervisor's token with the export scope alone: %v", err)
		}
	})
}

func bundleEvents(t *testing.T, db *gorm.DB, ref string) []models.AuditRow {
	t.Helper()
	rows, err := models.ListAuditEvents(ctx, db, models.AuditFilter{EntityType: "case", EntityID: ref, Action: bundle.AuditAction, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestBundleExportIsAudited: who, the case, every file and their count.
func TestBundleExportIsAudited(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		v := f.richCase(t, 0)
		b, entries, _ := export(t, f, f.sup, v.Ref)
		rows := bundleEvents(t, db, v.Ref)
		if len(rows) != 1 {
			t.Fatalf("%d export events, want 1", len(rows))
		}
		e := rows[0]
		if e.ActorLabel != f.sup.Email || e.ActorUserID == nil || *e.ActorUserID != f.sup.UserID || e.EntityID != v.Ref {
			t.Errorf("event %+v", e.AuditEvent)
		}
		var after struct {
			Files         []string `json:"files"`
			FileCount     int      `json:"file_count"`
			EvidenceCount int      `json:"evidence_count"`
		}
		if err := json.Unmarshal(e.AfterState, &after); err != nil {
			t.Fatal(err)
		}
		var names []string
		for name := range entries {
			names = append(names, name)
		}
		slices.Sort(names)
		got := slices.Clone(after.Files)
		slices.Sort(got)
		if !slices.Equal(got, names) || after.FileCount != len(entries) || after.EvidenceCount != len(hostileUploads(t)) {
			t.Errorf("audited %d files %v (%d evidence), the bundle has %v", after.FileCount, after.Files, after.EvidenceCount, names)
		}
		if len(b.Manifest.Files)+1 != len(entries) {
			t.Errorf("manifest lists %d files for %d entries", len(b.Manifest.Files), len(entries))
		}
	})
}

// TestBundleStopsOnAChangedFile: a stored file whose bytes no longer match its SHA-256 stops the
// stream before the archive is closed, so that no reader takes it for a whole bundle.
func TestBundleStopsOnAChangedFile(t *testing.T) {
	modelstest.ForEach(t, func(t *testing.T, db *gorm.DB) {
		f := newFixture(t, db)
		v := f.richCase(t, 0)
		b, err := bundle.Build(ctx, f.desk, f.sup, actorOf(f.sup), v.Ref)
		if err != nil {
			t.Fatal(err)
		}
		// Flip the bytes of one stored file behind the desk's back.
		if err := db.Exec(`UPDATE evidence_file_chunks SET data = ? WHERE file_id = (SELECT MIN(file_id) FROM evidence_file_chunks)`,
			pngOf(t, color.RGBA{1, 2, 3, 255})).Error; err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := b.WriteTo(ctx, &buf); !errors.Is(err, bundle.ErrEvidenceChanged) {
			t.Fatalf("WriteTo over a changed file: %v", err)
		}
		if _, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len())); err == nil {
			t.Error("the stopped stream still reads as a whole archive")
		}
	})
}

// TestEvidenceFileNames: a client's file name never leads out of the evidence folder, whatever
// it holds, and the entry keeps the extension of the sniffed type.
func TestEvidenceFileNames(t *testing.T) {
	long := strings.Repeat("é", 300)
	for _, c := range []struct {
		in, kind, ct, want string
	}{
		{"../../etc/passwd", "other", "image/png", "7-etc_passwd.png"},
		{"..\\..\\boot.ini", "other", "application/pdf", "7-boot.pdf"},
		{"nul\x00byte.jpg", "receipt", "image/jpeg", "7-nul_byte.jpg"},
		{"....", "card_photo", "image/webp", "7-card_photo.webp"},
		{"", "receipt", "image/jpeg", "7-receipt.jpg"},
		{".htaccess", "other", "image/png", "7-htaccess.png"},
		{"reçu  Zoë (1).PNG", "other", "image/png", "7-reçu_Zoë_1.png"},
		{"evil.exe", "other", "application/x-msdownload", "7-evil.bin"},
		{"C:\\Users\\zoë\\receipt.jpg", "other", "image/jpeg", "7-C_Users_zoë_receipt.jpg"},
	} {
		got := bundle.EvidenceFileName(cases.EvidenceView{ID: 7, FileName: c.in, Kind: c.kind, ContentType: c.ct})
		if got != c.want {
			t.Errorf("%q: %q, want %q", c.in, got, c.want)
		}
	}
	got := bundle.EvidenceFileName(cases.EvidenceView{ID: 7, FileName: long + ".png", Kind: "other", ContentType: "image/png"})
	if len(got) > 100 || !utf8.ValidString(got) || !strings.HasSuffix(got, "é.png") {
		t.Errorf("a long name: %q (%d bytes)", got, len(got))
	}
}

// BenchmarkSummary measures one summary.pdf of a case with 3 cards, 3 corrections, 7 uploads
// and 200 timeline entries (the fonts are parsed for each document).
func BenchmarkSummary(b *testing.B) {
	last4, serial := "GH56", "6046123412341234"
	x := cases.Dossier{Case: cases.CaseView{Ref: "GD-000042", Type: "wrong_account", Status: "investigating", Priority: "high",
		Summary: "Redeemed on the work account", Customer: cases.AccountView{AccountID: "ZOE-001", Marketplace: "US"}}}
	for i := 0; i < 3; i++ {
		x.Case.Cards = append(x.Case.Cards, cases.CardView{ID: int64(i + 1), Last4: &last4, Serial: &serial, FaceValueMinor: 5000, Currency: "USD", Marketplace: "US", Status: "redeemed"})
		x.Corrections = append(x.Corrections, cases.CorrectionView{ID: int64(i + 1), Kind: "transfer", Status: "applied", AmountMinor: 5000, Currency: "USD",
			FromAccount: "ZOE-001", ToAccount: "GULSEN-7", RequestedBy: "agent@example.com", Reason: "landed on the work account",
			Approvals: []cases.ApprovalView{{By: "sup@example.com", Note: "ok"}}})
	}
	for i := 0; i < 7; i++ {
		x.Evidence = append(x.Evidence, cases.EvidenceView{ID: int64(i + 1), SHA256: strings.Repeat("ab", 32), Size: 123456, Kind: "receipt",
			FileName: "reçu Zoë.png", ContentType: "image/png", UploadedBy: "agent@example.com", Verification: "unverified"})
	}
	for i := 0; i < 200; i++ {
		x.Timeline = append(x.Timeline, cases.TimelineEntry{Kind: "communication", ID: int64(i + 1), Actor: "agent@example.com",
			Communication: &cases.CommunicationView{Channel: "chat", Direction: "inbound", CounterpartName: "Ğülşen Çelik", Body: "Follow-up about the transfer"}})
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := bundle.Summary(x, bundle.Exporter{Email: "sup@example.com", Via: "console"}, x.ReadAt); err != nil {
			b.Fatal(err)
		}
	}
}
