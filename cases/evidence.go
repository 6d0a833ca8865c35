package cases

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"gorm.io/gorm"

	"giftdesk/models"
)

// MaxEvidenceBytes is the largest evidence file (SPEC 4.2).
const MaxEvidenceBytes = 10 << 20

var evidenceKinds = []string{"receipt", "activation_slip", "card_photo", "screenshot", "other"}

// SniffEvidence names the type of a file from its first bytes: JPEG, PNG, WebP or PDF, whatever
// the name or declared type say. Anything else is refused with 415.
func SniffEvidence(head []byte) (string, error) {
	switch {
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return "image/jpeg", nil
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return "image/png", nil
	case len(head) >= 12 && bytes.Equal(head[:4], []byte("RIFF")) && bytes.Equal(head[8:12], []byte("WEBP")):
		return "image/webp", nil
	case bytes.HasPrefix(head, []byte("%PDF-")):
		return "application/pdf", nil
	}
	return "", &RuleError{Code: CodeUnsupportedMediaType, Field: "file", Message: "evidence must be a JPEG, PNG, WebP or PDF file (checked from its content)"}
}

// Spooled is an upload copied to a temporary file while it was hashed, sized and sniffed.
type Spooled struct {
	file   *os.File
	Size   int64
	SHA256 string
	Head   []byte
}

// SpoolUpload copies r to a temporary file in dir (on disk, beside the data: the system's temp
// folder may live in memory), never holding it in memory, and refuses it with 413 once it passes
// MaxEvidenceBytes.
func SpoolUpload(r io.Reader, dir string) (*Spooled, error) {
	f, err := os.CreateTemp(dir, "giftdesk-upload-*")
	if err != nil {
		return nil, err
	}
	// Unlinked at once and kept by its descriptor alone: a killed server leaves nothing behind.
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	s := &Spooled{file: f}
	h := sha256.New()
	head := &headBuffer{max: 512}
	n, err := io.Copy(io.MultiWriter(f, h, head), io.LimitReader(r, MaxEvidenceBytes+1))
	if err != nil {
		s.Close()
		return nil, err
	}
	if n > MaxEvidenceBytes {
		s.Close()
		return nil, &RuleError{Code: CodeTooLarge, Field: "file", Message: "evidence files are at most 10 MiB"}
	}
	if n == 0 {
		s.Close()
		return nil, Invalid("file", "is empty")
	}
	s.Size, s.SHA256, s.Head = n, hex.EncodeToString(h.Sum(nil)), head.b
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Read reads the spooled content from its start.
func (s *Spooled) Read(p []byte) (int, error) { return s.file.Read(p) }

// Close removes the temporary file.
func (s *Spooled) Close() {
	s.file.Close()
}

type headBuffer struct {
	b   []byte
	max int
}

func (h *headBuffer) Write(p []byte) (int, error) {
	if room := h.max - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// EvidenceFields are the form fields of an upload (SPEC 4.2).
type EvidenceFields struct {
	Kind, FileName, StoreName, StoreLocation, PurchasedAt, AmountMinor, Currency string
	CardLast4, PosTransactionID, Note                                            string
}

// EvidenceView is an upload as the API shows it.
type EvidenceView struct {
	ID               int64      `json:"id,string"`
	Case             string     `json:"case"`
	SHA256           string     `json:"sha256"`
	ContentType      string     `json:"content_type"`
	Size             int64      `json:"size"`
	Kind             string     `json:"kind"`
	FileName         string     `json:"file_name"`
	UploadedBy       string     `json:"uploaded_by"`
	UploadedAt       time.Time  `json:"uploaded_at"`
	StoreName        *string    `json:"store_name"`
	StoreLocation    *string    `json:"store_location"`
	PurchasedAt      *string    `json:"purchased_at"`
	AmountMinor      *int64     `json:"amount_minor"`
	Currency         *string    `json:"currency"`
	CardLast4        *string    `json:"card_last4"`
	PosTransactionID *string    `json:"pos_transaction_id"`
	Note             string     `json:"note"`
	Verification     string     `json:"verification"`
	VerifiedBy       *string    `json:"verified_by"`
	VerifiedAt       *time.Time `json:"verified_at"`
	VerificationNote *string    `json:"verification_note"`
	Flags            []string   `json:"flags"`
	Duplicates       []string   `json:"duplicates"`
}

// FlagCardLast4Unmatched marks a receipt whose card's last four match no card on the case.
const FlagCardLast4Unmatched = "card_last4_unmatched"

// safeFileName keeps the last path element of a client's file name, without control characters.
func safeFileName(name string) string {
	name = path.Base(strings.ReplaceAll(cleanText(name), "\\", "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '"' || r == '/' {
			return -1
		}
		return r
	}, name)
	if name == "." || name == "/" {
		name = ""
	}
	return truncate(name, 4096)
}

// truncateRunes cuts s to at most n characters.
func truncateRunes(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n])
}

func (d *Desk) evidenceFields(in EvidenceFields) (models.Evidence, error) {
	var f fieldErrors
	e := models.Evidence{Kind: strings.TrimSpace(in.Kind), FileName: safeFileName(in.FileName), Verification: "unverified", Flags: models.StringList{}}
	if !contains(evidenceKinds, e.Kind) {
		f.add("kind", "must be one of "+strings.Join(evidenceKinds, ", "))
	}
	opt := func(field, s string, max int) *string {
		v := f.text(field, s, max, false)
		if v == "" {
			return nil
		}
		return &v
	}
	e.StoreName, e.StoreLocation = opt("store_name", in.StoreName, 200), opt("store_location", in.StoreLocation, 200)
	e.PosTransactionID = opt("pos_transaction_id", in.PosTransactionID, 128)
	e.Note = f.text("note", in.Note, maxDescriptionRunes, false)
	if s := strings.TrimSpace(in.AmountMinor); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		switch {
		case err != nil && strings.ContainsAny(s, ".,eE"):
			f.add("amount_minor", "must be a whole number of minor units, e.g. 1050 for 10.50")
		case err != nil || n <= 0 || n > maxFaceValueMinor:
			f.add("amount_minor", "must be a positive amount in minor units")
		default:
			e.AmountMinor = &n
		}
	}
	if s := strings.ToUpper(strings.TrimSpace(in.Currency)); s != "" {
		if !Currency(s).Valid() {
			f.add("currency", "must be one of "+joinNames(Currencies()))
		} else {
			e.Currency = &s
		}
	}
	if s := strings.TrimSpace(in.PurchasedAt); s != "" {
		now := d.now()
		t, dateOnly, err := ParseTimeOrDate(s)
		switch {
		case err != nil:
			f.add("purchased_at", err.Error())
		case t.After(now.Add(maxFutureOccurredAt)) || (dateOnly && t.After(now)):
			f.add("purchased_at", "must not be in the future")
		default:
			// Stored normalised: a date as a date, a time in UTC at second precision.
			norm := t.Format(time.DateOnly)
			if !dateOnly {
				norm = t.UTC().Truncate(time.Second).Format(time.RFC3339)
			}
			e.PurchasedAt = &norm
		}
	}
	if s := strings.ToUpper(strings.TrimSpace(in.CardLast4)); s != "" {
		if len(s) != 4 || strings.IndexFunc(s, func(r rune) bool { return !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') }) >= 0 {
			f.add("card_last4", "must be four letters or digits")
		} else {
			e.CardLast4 = &s
		}
	}
	if e.Kind == "receipt" {
		// In a fixed order, as every list of problems: a map's would change from call to call.
		for _, req := range []struct {
			field   string
			missing bool
		}{{"amount_minor", e.AmountMinor == nil}, {"currency", e.Currency == nil}, {"purchased_at", e.PurchasedAt == nil}} {
			field, missing := req.field, req.missing
			if missing && !slices.ContainsFunc(f.list, func(fe FieldError) bool { return fe.Field == field }) {
				f.add(field, "is required for a receipt")
			}
		}
	}
	return e, f.err()
}

// AddEvidence stores an uploaded file on a case: its type sniffed from its bytes, content-addressed
// and stored once in the database in chunks, its receipt fields checked, flagged as a duplicate
// when the same file or POS transaction is on another case (R3), audited, announced.
func (d *Desk) AddEvidence(ctx context.Context, p Principal, a Actor, ref string, in EvidenceFields, file *Spooled) (EvidenceView, error) {
	if err := p.RequireScope(ScopeCasesWrite); err != nil {
		return EvidenceView{}, err
	}
	contentType, err := SniffEvidence(file.Head)
	if err != nil {
		return EvidenceView{}, err
	}
	fields, err := d.evidenceFields(in)
	if err != nil {
		return EvidenceView{}, err
	}
	var view EvidenceView
	err = d.inTxAnswering(ctx, func() any { return view }, func(tx *gorm.DB) error {
		// A fresh row at each attempt: inTx may run this again, and a failed attempt's id, flags
		// and redactions must not leak into the next.
		e := fields
		e.Flags = slices.Clone(fields.Flags)
		c, err := lockOpenCase(ctx, tx, ref)
		if err != nil {
			return err
		}
		now := d.now()
		if _, err := file.file.Seek(0, io.SeekStart); err != nil {
			return err
		}
		fileID, err := models.StoreEvidenceFile(ctx, tx, file.SHA256, file.Size, contentType, file, now)
		if err != nil {
			return err
		}
		red, err := d.caseRedactor(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		redact := func(s *string) *string {
			if s == nil {
				return nil
			}
			r := red.Redact(*s)
			return &r
		}
		e.StoreName, e.StoreLocation, e.PosTransactionID = redact(fields.StoreName), redact(fields.StoreLocation), redact(fields.PosTransactionID)
		// Redacted before it is cut, so that a code at the end is neither half kept nor overlong.
		e.Note, e.FileName = red.Redact(e.Note), truncateRunes(red.Redact(e.FileName), 255)
		e.CaseID, e.FileID, e.UploadedByID, e.UploadedAt = c.ID, fileID, p.UserID, now
		cards, err := models.CardsOfCase(ctx, tx, c.ID)
		if err != nil {
			return err
		}
		if e.Currency != nil {
			// A receipt is in the currency of the case: its customer's marketplace or one of its cards.
			acct, err := models.AccountByID(ctx, tx, c.CustomerAccountID)
			if err != nil {
				return err
			}
			ok := acct.Marketplace != nil && string(Marketplace(*acct.Marketplace).Currency()) == *e.Currency
			for _, card := range cards {
				ok = ok || card.Currency == *e.Currency
			}
			if !ok {
				return &RuleError{Code: CodeMarketplaceMismatch, Field: "currency", Message: "the receipt's currency is not the case's: neither the customer's marketplace nor a card's"}
			}
		}
		if e.CardLast4 != nil {
			if !slices.ContainsFunc(cards, func(card models.GiftCard) bool {
				return (card.ClaimCodeLast4 != nil && *card.ClaimCodeLast4 == *e.CardLast4) ||
					(card.Serial != nil && strings.HasSuffix(*card.Serial, *e.CardLast4))
			}) {
				e.Flags = append(e.Flags, FlagCardLast4Unmatched)
			}
		}
		byFile, byPOS, err := models.CasesWithEvidence(ctx, tx, fileID, e.PosTransactionID, c.ID)
		if err != nil {
			return err
		}
		if len(byFile)+len(byPOS) > 0 {
			e.Flags = append(e.Flags, FlagPossibleDuplicate)
		}
		if err := models.InsertEvidence(ctx, tx, &e); err != nil {
			return err
		}
		if len(byFile)+len(byPOS) > 0 {
			if err := models.FlagEvidenceOnOtherCases(ctx, tx, fileID, e.PosTransactionID, c.ID, FlagPossibleDuplicate); err != nil {
				return err
			}
		}
		if _, err := d.flagDuplicates(ctx, tx, a, duplicateFind{Case: c.ID, Others: byFile, Reason: "evidence_file"}, now); err != nil {
			return err
		}
		if _, err := d.flagDuplicates(ctx, tx, a, duplicateFind{Case: c.ID, Others: byPOS, Reason: "pos_transaction"}, now); err != nil {
			return err
		}
		if view, err = d.evidenceView(ctx, tx, e.ID); err != nil {
			return err
		}
		if err := d.audit(ctx, tx, a, "evidence.added", "case", c.Ref, nil, view); err != nil {
			return err
		}
		return d.outbox(ctx, tx, "evidence.added", view)
	})
	return view, err
}

// VerdictInput is the body of POST /api/v1/evidence/{id}/verify.
type VerdictInput struct {
	Verdict string `json:"verdict"`
	Note    string `json:"note"`
}

// checkVerdict validates a verification's body and returns its trimmed note.
func checkVerdict(in VerdictInput) (string, error) {
	var f fieldErrors
	if in.Verdict != "verified" && in.Verdict != "rejected" {
		f.add("verdict", "must be verified or rejected")
	}
	note := f.text("note", in.Note, 2000, true)
	return note, f.err()
}

// VerifyEvidence records a second person's verdict on an upload: verified or rejected, with a
// note, once, never by its uploader.
func (d *Desk) VerifyEvidence(ctx context.Context, p Principal, a Actor, id int64, verdict, note string) (EvidenceView, error) {
	if err := p.RequireScope(ScopeCasesWrite); err != nil {
		return EvidenceView{}, err
	}
	note, err := checkVerdict(VerdictInput{Verdict: verdict, Note: note})
	if err != nil {
		return EvidenceView{}, err
	}
	var view EvidenceView
	err = d.inTxAnswering(ctx, func() any { return view }, func(tx *gorm.DB) error {
		e, err := models.EvidenceByIDForUpdate(ctx, tx, id)
		if errors.Is(err, models.ErrNotFound) {
			return NotFound("evidence")
		}
		if err != nil {
			return err
		}
		if e.UploadedByID == p.UserID {
			return Forbidden(CodeFourEyes, "the person who uploaded evidence cannot verify it")
		}
		if c, err := models.CaseByID(ctx, tx, e.CaseID); err != nil {
			return err
		} else if c.Status == string(StatusClosed) {
			return &RuleError{Code: CodeInvalidTransition, Field: "status", Message: "a closed case is final: its evidence is not verified any more"}
		}
		if e.Verification != "unverified" {
			return &RuleError{Code: CodeAlreadyDecided, Message: "this evidence is already " + e.Verification}
		}
		red, err := d.caseRedactor(ctx, tx, e.CaseID)
		if err != nil {
			return err
		}
		note := red.Redact(note) // not the captured note: this may run again
		if err := models.UpdateEvidence(ctx, tx, e.ID, map[string]any{"verification": verdict, "verified_by_id": p.UserID,
			"verified_at": d.now(), "verification_note": note}); err != nil {
			return err
		}
		if view, err = d.evidenceView(ctx, tx, e.ID); err != nil {
			return err
		}
		return d.audit(ctx, tx, a, "evidence."+verdict, "evidence", e.ID, map[string]string{"verification": "unverified"},
			map[string]string{"verification": verdict, "note": note})
	})
	return view, err
}

// EvidenceContent is an upload's bytes, readable and seekable chunk by chunk from the database.
type EvidenceContent struct {
	ContentType, FileName string
	Size                  int64
	UploadedAt            time.Time
	ctx                   context.Context
	db                    *gorm.DB
	fileID                int64
	pos                   int64
	chunk                 []byte
	chunkSeq              int
}

// OpenEvidence returns the content of an upload for download.
func (d *Desk) OpenEvidence(ctx context.Context, p Principal, id int64) (*EvidenceContent, error) {
	if err := p.RequireScope(ScopeCasesRead); err != nil {
		return nil, err
	}
	return d.openEvidence(ctx, id)
}

// openEvidence opens the content of upload id.
func (d *Desk) openEvidence(ctx context.Context, id int64) (*EvidenceContent, error) {
	e, f, err := models.EvidenceByID(ctx, d.db, id)
	if errors.Is(err, models.ErrNotFound) {
		return nil, NotFound("evidence")
	}
	if err != nil {
		return nil, storeErr(err)
	}
	ext := map[string]string{"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "application/pdf": ".pdf"}[f.ContentType]
	return &EvidenceContent{ContentType: f.ContentType, FileName: fmt.Sprintf("evidence-%d%s", e.ID, ext), Size: f.Size,
		UploadedAt: e.UploadedAt, ctx: ctx, db: d.db, fileID: f.ID, chunkSeq: -1}, nil
}

// Read reads from the current position, fetching one chunk at a time.
func (c *EvidenceContent) Read(p []byte) (int, error) {
	if c.pos >= c.Size {
		return 0, io.EOF
	}
	seq := int(c.pos / models.EvidenceChunkSize)
	if seq != c.chunkSeq {
		data, err := models.EvidenceChunk(c.ctx, c.db, c.fileID, seq)
		if err != nil {
			return 0, storeErr(err)
		}
		c.chunk, c.chunkSeq = data, seq
	}
	off := int(c.pos % models.EvidenceChunkSize)
	if off >= len(c.chunk) {
		return 0, io.ErrUnexpectedEOF
	}
	n := copy(p, c.chunk[off:])
	c.pos += int64(n)
	return n, nil
}

// Seek moves the position, so that ranges of a large file are served without reading the rest.
func (c *EvidenceContent) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += c.pos
	case io.SeekEnd:
		offset += c.Size
	default:
		return 0, errors.New("bad whence")
	}
	if offset < 0 {
		return 0, errors.New("negative position")
	}
	c.pos = offset
	return offset, nil
}
