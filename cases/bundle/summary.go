package bundle

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"codeberg.org/go-pdf/fpdf"

	"giftdesk/cases"
)

// The summary's page: A4 portrait, 15 mm margins, at most two pages.
const (
	pageW, pageH   = 210.0, 297.0
	margin         = 15.0
	contentW       = pageW - 2*margin
	bottom         = pageH - 18.0 // the footer lives below
	maxPages       = 2
	bodySize       = 7.5
	lineH          = 3.5
	cellPad        = 1.0
	maxCardRows    = 10
	maxCorrections = 10
	maxEvidence    = 12
	maxDescription = 700 // characters of the description the summary prints
)

// family is the summary's font family (the embedded DejaVu Sans).
const family = "dejavu"

// summary draws one case's printable summary.
type summary struct {
	pdf      *fpdf.Fpdf
	replaced bool // a character the font lacks was replaced
	full     bool // the second page is full: nothing more is drawn
}

// Summary renders the case's printable summary (summary.pdf): the case's facts, its cards
// masked, corrections with who requested and approved them, the evidence with its verification,
// and as much of the timeline as fits on two A4 pages, the rest named in a last line.
func Summary(x cases.Dossier, by Exporter, at time.Time) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.SetCompression(true)
	pdf.SetMargins(margin, margin, margin)
	pdf.SetAutoPageBreak(false, 0)
	pdf.AddUTF8FontFromBytes(family, "", regularFace)
	pdf.AddUTF8FontFromBytes(family, "B", boldFace)
	pdf.SetCreationDate(at)
	pdf.SetModificationDate(at)
	pdf.SetCreator("giftdesk", false)
	pdf.SetProducer("giftdesk", false)
	pdf.SetTitle(x.Case.Ref+" case summary", true)
	pdf.SetLang("en")
	pdf.AliasNbPages("{nb}")
	s := &summary{pdf: pdf}
	pdf.SetFooterFunc(func() {
		pdf.SetY(pageH - 12)
		pdf.SetDrawColor(180, 180, 180)
		pdf.Line(margin, pageH-13, pageW-margin, pageH-13)
		pdf.SetFont(family, "", 7)
		pdf.SetTextColor(90, 90, 90)
		left := x.Case.Ref + " · exported " + at.UTC().Format("2006-01-02 15:04 UTC") + " · the files of this bundle and their SHA-256 are in manifest.json"
		pdf.CellFormat(contentW-25, 4, s.text(left), "", 0, "L", false, 0, "")
		pdf.CellFormat(25, 4, fmt.Sprintf("page %d of {nb}", pdf.PageNo()), "", 1, "R", false, 0, "")
		if s.replaced {
			pdf.CellFormat(contentW, 4, "Characters this PDF's font cannot show are printed as "+string(replacement)+"; case.json and timeline.csv have them all.", "", 0, "L", false, 0, "")
		}
	})
	pdf.AddPage()
	s.head(x, by, at)
	s.facts(x.Case)
	s.cards(x.Case)
	s.corrections(x.Corrections, deciders(x.Timeline))
	s.evidence(x.Evidence)
	s.timeline(x.Timeline)
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("bundle: summary.pdf: %w", err)
	}
	return buf.Bytes(), nil
}

// text makes s printable by the font (see printable), noting a replacement.
func (s *summary) text(v string) string {
	out, replaced := printable(v, false)
	s.replaced = s.replaced || replaced
	return out
}

func (s *summary) head(x cases.Dossier, by Exporter, at time.Time) {
	p := s.pdf
	p.SetTextColor(20, 20, 20)
	p.SetFont(family, "B", 16)
	p.CellFormat(contentW, 8, s.text(x.Case.Ref+" · case summary"), "", 1, "L", false, 0, "")
	p.SetFont(family, "", 8)
	p.SetTextColor(70, 70, 70)
	who := by.Email
	if by.Name != "" {
		who = by.Name + " <" + by.Email + ">"
	}
	p.MultiCell(contentW, lineH, s.text(fmt.Sprintf("%s · exported %s by %s (%s)", words(x.Case.Type), at.UTC().Format("2006-01-02 15:04 UTC"), who, by.Via)), "", "L", false)
	chain := "Audit chain at export: nothing sealed yet"
	if x.Chain.HeadSeq > 0 {
		chain = fmt.Sprintf("Audit chain at export: link %d, hash %s", x.Chain.HeadSeq, x.Chain.HeadHash)
	}
	if x.Chain.Unsealed > 0 {
		chain += fmt.Sprintf(" (%d events waiting to be chained)", x.Chain.Unsealed)
	}
	p.MultiCell(contentW, lineH, s.text(chain), "", "L", false)
	p.Ln(2)
}

// heading starts a section; false when the pages are full, after a line naming the section
// left out and where it is, when that line still fits.
func (s *summary) heading(title, where string) bool {
	if !s.room(6 + 2*lineH + 2*cellPad) {
		if s.pdf.GetY()+lineH+1 <= bottom {
			s.pdf.SetFont(family, "", bodySize)
			s.pdf.SetTextColor(70, 70, 70)
			s.pdf.CellFormat(contentW, lineH+1, s.text(title+": no room left on the two pages, see "+where), "", 1, "L", false, 0, "")
		}
		return false
	}
	p := s.pdf
	p.Ln(2)
	p.SetFont(family, "B", 10.5)
	p.SetTextColor(20, 20, 20)
	p.CellFormat(contentW, 5.5, s.text(title), "B", 1, "L", false, 0, "")
	p.Ln(1)
	return true
}

// room makes sure h millimetres fit below the current line, on a new page if this is the
// first; false (and full) when they would need a third page.
func (s *summary) room(h float64) bool {
	if s.full {
		return false
	}
	if s.pdf.GetY()+h <= bottom {
		return true
	}
	if s.pdf.PageNo() >= maxPages {
		s.full = true
		return false
	}
	s.pdf.AddPage()
	return true
}

func (s *summary) facts(c cases.CaseView) {
	if !s.heading("Case", "case.json") {
		return
	}
	status := words(c.Status)
	if c.Resolution != nil {
		status += " (resolution: " + words(*c.Resolution) + ")"
	}
	customer := c.Customer.AccountID + " · " + c.Customer.Marketplace
	if c.Customer.Name != nil {
		customer += " · " + *c.Customer.Name
	}
	if c.Customer.Email != nil {
		customer += " · " + *c.Customer.Email
	}
	pairs := [][2]string{
		{"Status", status}, {"Priority", c.Priority},
		{"Opened", when(&c.CreatedAt)}, {"Last change", when(&c.UpdatedAt)},
		{"Assignee", orNone(c.Assignee)}, {"Corrections", correctionCounts(c.Corrections)},
	}
	full := [][2]string{{"Customer", customer}}
	if a := c.IntendedAccount; a != nil {
		v := a.AccountID + " · " + a.Marketplace
		if a.Name != nil {
			v += " · " + *a.Name
		}
		if a.Email != nil {
			v += " · " + *a.Email
		}
		full = append(full, [2]string{"Intended account", v})
	}
	for _, e := range c.Externals {
		v := e.System + " " + e.ID
		if e.URL != nil {
			v += " · " + *e.URL
		}
		full = append(full, [2]string{"Ticket", v})
	}
	sla := "first response " + slaPoint(c.SLA.FirstResponseAt, c.SLA.FirstResponseDue) + " · resolution due " + orDash(c.SLA.ResolutionDue)
	if c.SLA.Breached {
		sla += " · BREACHED"
	}
	full = append(full, [2]string{"SLA", sla})
	if len(c.Flags) > 0 {
		full = append(full, [2]string{"Flags", strings.Join(c.Flags, ", ")})
	}
	if len(c.Duplicates) > 0 {
		full = append(full, [2]string{"Possible duplicates", strings.Join(c.Duplicates, ", ")})
	}
	if len(c.Tags) > 0 {
		full = append(full, [2]string{"Tags", strings.Join(c.Tags, ", ")})
	}
	full = append(full, [2]string{"Summary", c.Summary})
	if d := strings.TrimSpace(c.Description); d != "" {
		if utf8.RuneCountInString(d) > maxDescription {
			d = string([]rune(d)[:maxDescription]) + "… (the whole description is in case.json)"
		}
		full = append(full, [2]string{"Description", d})
	}
	const labelW = 30.0
	half := contentW / 2
	for i := 0; i < len(pairs); i += 2 {
		row := []cell{textCell(pairs[i][0], labelW, true), textCell(pairs[i][1], half-labelW, false)}
		if i+1 < len(pairs) {
			row = append(row, textCell(pairs[i+1][0], labelW, true), textCell(pairs[i+1][1], half-labelW, false))
		}
		if !s.row(row, 0, false) {
			return
		}
	}
	for _, kv := range full {
		if !s.row([]cell{textCell(kv[0], labelW, true), textCell(kv[1], contentW-labelW, false)}, 6, false) {
			return
		}
	}
}

func (s *summary) cards(c cases.CaseView) {
	if !s.heading(fmt.Sprintf("Cards (%d)", len(c.Cards)), "case.json") {
		return
	}
	if len(c.Cards) == 0 {
		s.line("No card is on this case.")
		return
	}
	cols := []column{{"Card", 22}, {"Serial", 34}, {"Face value", 24}, {"Market", 14}, {"Status", 22}, {"Redeemed", 34}, {"Frozen", 30}}
	var rows [][][]para
	for _, card := range c.Cards {
		redeemed := "—"
		if card.RedeemedTo != nil {
			redeemed = "to " + *card.RedeemedTo
		}
		if card.RedeemedAt != nil {
			redeemed += " " + when(card.RedeemedAt)
		}
		frozen := "no"
		if card.Frozen {
			frozen = "yes"
			if card.FrozenBy != nil {
				frozen += ", by " + *card.FrozenBy
			}
			if card.FrozenReason != nil {
				frozen += ": " + *card.FrozenReason
			}
		}
		rows = append(rows, plainRow(cardName(card.Last4, nil), orDash(card.Serial), money(card.FaceValueMinor, card.Currency),
			card.Marketplace, words(card.Status), redeemed, frozen))
	}
	s.table(cols, rows, maxCardRows, "cards", "case.json")
}

// decision is who denied or cancelled a correction, and when.
type decision struct {
	by string
	at *time.Time
}

// deciders names who denied or cancelled each correction and when: the correction's view keeps
// the approvers alone (and no time for a cancellation), the timeline has every decision's actor.
func deciders(timeline []cases.TimelineEntry) map[int64]decision {
	out := map[int64]decision{}
	for _, e := range timeline {
		if e.Correction != nil && (e.Kind == "correction_denied" || e.Kind == "correction_cancelled") {
			at := e.At
			out[e.Correction.ID] = decision{e.Actor, &at}
		}
	}
	return out
}

func (s *summary) corrections(list []cases.CorrectionView, decidedBy map[int64]decision) {
	if !s.heading(fmt.Sprintf("Corrections (%d)", len(list)), "timeline.csv") {
		return
	}
	if len(list) == 0 {
		s.line("No correction was requested on this case.")
		return
	}
	cols := []column{{"#", 8}, {"Kind", 14}, {"Amount", 20}, {"From → to", 31}, {"Status", 18}, {"Requested by", 39}, {"Decided by", 50}}
	var rows [][][]para
	for _, c := range list {
		// Who requested, approved, denied or cancelled, each with the minute of the act, is never
		// cut (SPEC 4.4: corrections with their requesters and approvers); the notes are, first.
		requested := []para{{c.RequestedBy, whole}, {when(&c.CreatedAt) + " · " + c.Reason, 1}}
		var decided []para
		for _, a := range c.Approvals {
			decided = append(decided, para{"approved by " + a.By, whole}, para{when(&a.At) + quoted(a.Note), 1})
		}
		d := decidedBy[c.ID]
		if d.at == nil {
			d.at = c.DecidedAt
		}
		switch {
		case c.DenialReason != nil:
			decided = append(decided, para{"denied by " + orUnknown(d.by), whole}, para{when(d.at) + quoted(*c.DenialReason), 1})
		case c.Status == string(cases.CorrectionCancelled):
			decided = append(decided, para{"cancelled by " + orUnknown(d.by), whole}, para{when(d.at), 1})
		}
		if c.Status == string(cases.CorrectionPending) {
			decided = append(decided, para{fmt.Sprintf("waiting: %d of %d approval(s)", len(c.Approvals), c.RequiredApprovals), whole})
		}
		status := c.Status
		if c.ReversedBy != nil {
			status += " by #" + *c.ReversedBy
		}
		if c.Reverses != nil {
			status += ", reverses #" + *c.Reverses
		}
		rows = append(rows, append(plainRow(strconv.FormatInt(c.ID, 10), c.Kind, money(c.AmountMinor, c.Currency), c.FromAccount+" → "+c.ToAccount, status),
			requested, decided))
	}
	s.table(cols, rows, maxCorrections, "corrections", "timeline.csv")
}

// quoted is ": “note”", or nothing for no note.
func quoted(note string) string {
	if strings.TrimSpace(note) == "" {
		return ""
	}
	return ": “" + note + "”"
}

func (s *summary) evidence(list []cases.EvidenceView) {
	if !s.heading(fmt.Sprintf("Evidence (%d)", len(list)), "manifest.json") {
		return
	}
	if len(list) == 0 {
		s.line("No evidence file is on this case.")
		return
	}
	cols := []column{{"File in the bundle", 50}, {"Kind", 24}, {"Size, SHA-256", 28}, {"Uploaded by", 36}, {"Verification", 42}}
	var rows [][][]para
	for _, e := range list {
		kind := words(e.Kind)
		if e.AmountMinor != nil && e.Currency != nil {
			kind += "\n" + money(*e.AmountMinor, *e.Currency)
		}
		if e.StoreName != nil {
			kind += "\n" + *e.StoreName
		}
		verification := e.Verification
		if e.VerifiedBy != nil {
			verification += " by " + *e.VerifiedBy
		}
		if e.VerificationNote != nil && *e.VerificationNote != "" {
			verification += ": “" + *e.VerificationNote + "”"
		}
		if len(e.Flags) > 0 {
			verification += "\nflags: " + strings.Join(e.Flags, ", ")
		}
		rows = append(rows, plainRow(evidenceDir+EvidenceFileName(e)+"\n"+e.FileName, kind, size(e.Size)+"\n"+e.SHA256[:min(12, len(e.SHA256))]+"…",
			e.UploadedBy+"\n"+when(&e.UploadedAt), verification))
	}
	s.table(cols, rows, maxEvidence, "files", "manifest.json")
}

func (s *summary) timeline(list []cases.TimelineEntry) {
	if !s.heading(fmt.Sprintf("Timeline (%d events, oldest first)", len(list)), "timeline.csv") {
		return
	}
	if len(list) == 0 {
		s.line("Nothing happened on this case yet.")
		return
	}
	cols := []column{{"When (UTC)", 28}, {"Event", 25}, {"Who", 35}, {"What", 92}}
	var rows [][][]para
	for _, e := range list {
		what := Describe(e)
		if e.Note != nil && *e.Note != "" {
			what += " · “" + *e.Note + "”"
		}
		rows = append(rows, plainRow(e.At.UTC().Format("2006-01-02 15:04"), cases.TimelineLabel(e.Kind), e.Actor, what))
	}
	s.table(cols, rows, len(rows), "events", "timeline.csv")
}

// line writes one line of body text.
func (s *summary) line(v string) {
	if !s.room(lineH + 1) {
		return
	}
	s.pdf.SetFont(family, "", bodySize)
	s.pdf.SetTextColor(70, 70, 70)
	s.pdf.CellFormat(contentW, lineH+1, s.text(v), "", 1, "L", false, 0, "")
}

func words(s string) string { return strings.ReplaceAll(s, "_", " ") }

func when(t *time.Time) string {
	if t == nil {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04")
}

func orUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return s
}

func orNone(s *string) string {
	if s == nil || *s == "" {
		return "none"
	}
	return *s
}

func orDash[T any](v *T) string {
	if v == nil {
		return "—"
	}
	switch x := any(v).(type) {
	case *time.Time:
		return when(x)
	case *string:
		return *x
	}
	return fmt.Sprint(*v)
}

func slaPoint(at, due *time.Time) string {
	switch {
	case at != nil:
		return "answered " + when(at)
	case due != nil:
		return "due " + when(due)
	}
	return "no target"
}

func correctionCounts(c cases.CorrectionsSummary) string {
	var parts []string
	for _, kv := range []struct {
		n    int64
		name string
	}{{int64(c.Pending), "pending"}, {int64(c.Applied), "applied"}, {int64(c.Denied), "denied"}, {int64(c.Cancelled), "cancelled"}, {int64(c.Reversed), "reversed"}} {
		if kv.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", kv.n, kv.name))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func size(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}
