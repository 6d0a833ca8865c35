package handlers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
)

// maxUploadBody bounds an evidence upload, fields and framing included (issue 15: a declared
// length over 10 MiB is refused at once).
const maxUploadBody = cases.MaxEvidenceBytes

// maxUploadParts bounds the parts of an upload: the contract has eleven fields and one file.
const maxUploadParts = 32

// uploadFields are the form fields SPEC 4.2 defines; other parts are drained unread.
var uploadFields = map[string]bool{"kind": true, "store_name": true, "store_location": true, "purchased_at": true,
	"amount_minor": true, "currency": true, "card_last4": true, "pos_transaction_id": true, "note": true}

// limitUpload refuses a declared Content-Length over the upload limit before reading and stops a
// body that grows past it while streaming. It runs before authentication: it costs nothing.
func (s *Server) limitUpload(c *gin.Context) {
	// An upload refused before its body is read (401, 429, 413, 408) must not leave the server
	// reading the rest to keep the connection: a stalled client would hold it. One handshake per
	// upload is cheap next to its body.
	c.Header("Connection", "close")
	if c.Request.ContentLength > maxUploadBody {
		writeProblem(c, http.StatusRequestEntityTooLarge, cases.CodeTooLarge, "evidence uploads are at most 10 MiB", nil)
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxUploadBody)
	c.Next()
}

// uploadSlot lets a bounded number of uploads stream at once. It runs after the token is checked,
// so that nobody without one can take a slot; a token holds at most a few slots, so that one
// client cannot take them all; and a body must keep arriving, so that a stalled client frees its
// slot within UploadIdleTimeout (and a slow one within UploadTimeout).
func (s *Server) uploadSlot(c *gin.Context) {
	owner := cases.IdempotencyOwner(principal(c))
	if !s.uploadsPerOwner.take(owner) {
		c.Header("Retry-After", "1")
		writeProblem(c, http.StatusTooManyRequests, "rate_limited",
			fmt.Sprintf("at most %d uploads at once per token; send the next one when one has finished", s.uploadsPerOwner.max), nil)
		return
	}
	defer s.uploadsPerOwner.give(owner)
	select {
	case s.uploads <- struct{}{}:
		defer func() { <-s.uploads }()
	case <-c.Request.Context().Done():
		c.Abort()
		return
	}
	c.Request.Body = &deadlineBody{ReadCloser: c.Request.Body, rc: http.NewResponseController(c.Writer),
		idle: s.uploadIdle, end: time.Now().Add(s.uploadTotal)}
	c.Next()
}

// slotCounter counts the slots each owner holds.
type slotCounter struct {
	mu   sync.Mutex
	max  int
	held map[string]int
}

func (sc *slotCounter) take(owner string) bool {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.held[owner] >= sc.max {
		return false
	}
	sc.held[owner]++
	return true
}

func (sc *slotCounter) give(owner string) {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if sc.held[owner]--; sc.held[owner] <= 0 {
		delete(sc.held, owner)
	}
}

// deadlineBody moves the connection's read deadline before each read: at most idle from now, and
// never past end.
type deadlineBody struct {
	io.ReadCloser
	rc        *http.ResponseController
	idle      time.Duration
	end       time.Time
	unsettled bool // the connection takes no deadline (a test recorder): time is not bounded
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if !b.unsettled {
		deadline := time.Now().Add(b.idle)
		if deadline.After(b.end) {
			deadline = b.end
		}
		if err := b.rc.SetReadDeadline(deadline); err != nil {
			b.unsettled = true
		}
	}
	return b.ReadCloser.Read(p)
}

// uploadError maps a streaming failure: over the limit is 413, a body that stopped arriving 408,
// a broken body 400.
func uploadError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &cases.RuleError{Code: cases.CodeTooLarge, Message: "evidence uploads are at most 10 MiB"}
	}
	var re *cases.RuleError
	if errors.As(err, &re) {
		return err
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return errUploadTooSlow
	}
	return &cases.RuleError{Code: cases.CodeMalformedJSON, Message: "the multipart body could not be read"}
}

// errUploadTooSlow is an upload whose body stopped arriving or arrived too slowly.
var errUploadTooSlow = errors.New("the upload body stopped arriving")

// addEvidence serves POST /api/v1/cases/{ref}/evidence: multipart, the file streamed to disk.
func (s *Server) addEvidence(c *gin.Context) {
	fields, file, err := s.readUpload(c, uploadFields)
	defer closeSpooled(file)
	if err != nil {
		s.fail(c, err)
		return
	}
	if req := idempotentRequest(c); req != nil {
		req.Hash = s.uploadHash(c, fields, file)
	}
	reply(s, c, created[cases.EvidenceView], func(ctx context.Context) (cases.EvidenceView, error) {
		return s.desk.AddEvidence(ctx, principal(c), actor(c), c.Param("ref"), evidenceFields(fields), file)
	})
}

// closeSpooled removes an upload's temporary file, if one was spooled.
func closeSpooled(f *cases.Spooled) {
	if f != nil {
		f.Close()
	}
}

// evidenceFields are the parsed fields of an upload as the use case takes them.
func evidenceFields(fields map[string]string) cases.EvidenceFields {
	return cases.EvidenceFields{
		Kind: fields["kind"], FileName: fields["file_name"], StoreName: fields["store_name"], StoreLocation: fields["store_location"],
		PurchasedAt: fields["purchased_at"], AmountMinor: fields["amount_minor"], Currency: fields["currency"],
		CardLast4: fields["card_last4"], PosTransactionID: fields["pos_transaction_id"], Note: fields["note"],
	}
}

// readUpload parses an evidence upload (the API's and the console's): the file spooled to disk
// as it streams, the SPEC fields read with a bound, every misnamed or repeated part reported at
// once; allowed names the fields taken. The caller closes the file with closeSpooled whatever the error.
func (s *Server) readUpload(c *gin.Context, allowed map[string]bool) (map[string]string, *cases.Spooled, error) {
	mr, err := c.Request.MultipartReader()
	if err != nil {
		return nil, nil, &cases.RuleError{Code: cases.CodeMalformedJSON, Message: "send multipart/form-data with a file part"}
	}
	fields := map[string]string{}
	var problems []cases.FieldError // every misnamed or repeated part, reported at once
	var file *cases.Spooled
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fields, file, uploadError(err)
		}
		if parts == maxUploadParts {
			return fields, file, &cases.RuleError{Code: cases.CodeMalformedJSON, Message: "an upload has one file and at most a few fields"}
		}
		name := part.FormName()
		switch {
		case name == "file":
			if file != nil {
				return fields, file, cases.Invalid("file", "send one file per upload")
			}
			if file, err = cases.SpoolUpload(part, s.tempDir); err != nil {
				return fields, file, uploadError(err)
			}
			fields["file_name"] = part.FileName()
		case allowed[name]:
			if _, twice := fields[name]; twice {
				problems = append(problems, cases.FieldError{Field: name, Message: "is given more than once"})
			}
			value, err := io.ReadAll(io.LimitReader(part, 64<<10+1))
			if err != nil {
				return fields, file, uploadError(err)
			}
			if len(value) > 64<<10 {
				return fields, file, cases.Invalid(name, "is longer than 64 KiB")
			}
			fields[name] = string(value)
		default:
			// An unknown part is refused, as an unknown JSON field is (SPEC 4.2): a misspelled
			// field must not silently drop what the client meant to record. It is drained
			// unread, and its name echoed only when it cannot hold a claim code.
			problems = append(problems, cases.FieldError{Field: memberPath("", name), Message: "is not a field of an evidence upload: check its spelling"})
			if _, err := io.Copy(io.Discard, part); err != nil {
				return fields, file, uploadError(err)
			}
		}
	}
	if file == nil {
		problems = append(problems, cases.FieldError{Field: "file", Message: "is required"})
	}
	if len(problems) > 0 {
		return fields, file, cases.InvalidFields(problems)
	}
	return fields, file, nil
}

// uploadHash binds an upload's Idempotency-Key to what it says, not to its bytes: a client that
// retries builds a new multipart boundary, and the same fields and file are the same request. It
// is computed in memory from the parsed fields and the file's digest; nothing is spooled in clear.
func (s *Server) uploadHash(c *gin.Context, fields map[string]string, file *cases.Spooled) []byte {
	h := s.desk.RequestHasher(c.Request.Method, c.Request.URL.Path)
	names := make([]string, 0, len(fields))
	for name := range fields {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		fmt.Fprintf(h, "%d:%s=%d:%s\n", len(name), name, len(fields[name]), fields[name])
	}
	fmt.Fprintf(h, "file=%s/%d\n", file.SHA256, file.Size)
	return h.Sum(nil)
}

// evidenceFile serves GET /api/v1/evidence/{id}/file: always as an attachment, never sniffed or
// run by the browser, with Range requests.
func (s *Server) evidenceFile(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	content, err := s.desk.OpenEvidence(c.Request.Context(), principal(c), id)
	if err != nil {
		s.fail(c, err)
		return
	}
	serveEvidence(c, content, "attachment")
}

// serveEvidence writes an upload's bytes under its sniffed type, never sniffed again or run by
// the browser (a sandbox CSP), with Range requests. disposition is attachment, or inline for a
// console preview of an image.
func serveEvidence(c *gin.Context, content *cases.EvidenceContent, disposition string) {
	h := c.Writer.Header()
	h.Set("Content-Type", content.ContentType)
	h.Set("Content-Disposition", fmt.Sprintf(`%s; filename="%s"`, disposition, strings.ReplaceAll(content.FileName, `"`, "")))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	h.Set("Cache-Control", "private, no-store")
	// Many small ranges would each fetch a chunk from the database: past a few, send the file.
	if strings.Count(c.Request.Header.Get("Range"), ",") >= 5 {
		c.Request.Header.Del("Range")
	}
	http.ServeContent(c.Writer, c.Request, "", content.UploadedAt, content)
}

// verifyEvidence serves POST /api/v1/evidence/{id}/verify.
func (s *Server) verifyEvidence(c *gin.Context) {
	id, err := pathID(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	var in cases.VerdictInput
	if err := s.bindJSON(c, &in); err != nil {
		s.fail(c, err)
		return
	}
	reply(s, c, ok[cases.EvidenceView], func(ctx context.Context) (cases.EvidenceView, error) {
		return s.desk.VerifyEvidence(ctx, principal(c), actor(c), id, in.Verdict, in.Note)
	})
}
