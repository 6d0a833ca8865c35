package handlers

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

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

// limitUpload refuses a declared Content-Length over the upload limit before reading, stops a
// body that grows past it while streaming, and lets a bounded number of uploads run at once.
func (s *Server) limitUpload(c *gin.Context) {
	if c.Request.ContentLength > maxUploadBody {
		writeProblem(c, http.StatusRequestEntityTooLarge, cases.CodeTooLarge, "evidence uploads are at most 10 MiB", nil)
		return
	}
	select {
	case s.uploads <- struct{}{}:
		defer func() { <-s.uploads }()
	case <-c.Request.Context().Done():
		c.Abort()
		return
	}
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxUploadBody)
	c.Next()
}

// uploadError maps a streaming failure: over the limit is 413, a broken body 400.
func uploadError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &cases.RuleError{Code: cases.CodeTooLarge, Message: "evidence uploads are at most 10 MiB"}
	}
	var re *cases.RuleError
	if errors.As(err, &re) {
		return err
	}
	return &cases.RuleError{Code: cases.CodeMalformedJSON, Message: "the multipart body could not be read"}
}

// addEvidence serves POST /api/v1/cases/{ref}/evidence: multipart, the file streamed to disk.
func (s *Server) addEvidence(c *gin.Context) {
	mr, err := c.Request.MultipartReader()
	if err != nil {
		s.fail(c, &cases.RuleError{Code: cases.CodeMalformedJSON, Message: "send multipart/form-data with a file part"})
		return
	}
	fields := map[string]string{}
	var file *cases.Spooled
	defer func() {
		if file != nil {
			file.Close()
		}
	}()
	for parts := 0; ; parts++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			s.fail(c, uploadError(err))
			return
		}
		if parts == maxUploadParts {
			s.fail(c, &cases.RuleError{Code: cases.CodeMalformedJSON, Message: "an upload has one file and at most a few fields"})
			return
		}
		name := part.FormName()
		switch {
		case name == "file":
			if file != nil {
				s.fail(c, cases.Invalid("file", "send one file per upload"))
				return
			}
			if file, err = cases.SpoolUpload(part, s.tempDir); err != nil {
				s.fail(c, uploadError(err))
				return
			}
			fields["file_name"] = part.FileName()
		case uploadFields[name]:
			value, err := io.ReadAll(io.LimitReader(part, 64<<10+1))
			if err != nil {
				s.fail(c, uploadError(err))
				return
			}
			if len(value) > 64<<10 {
				s.fail(c, cases.Invalid(name, "is longer than 64 KiB"))
				return
			}
			fields[name] = string(value)
		default:
			// Unknown parts are drained unread: they cost bandwidth, never memory, and their
			// names are never echoed.
			if _, err := io.Copy(io.Discard, part); err != nil {
				s.fail(c, uploadError(err))
				return
			}
		}
	}
	if file == nil {
		s.fail(c, cases.Invalid("file", "is required"))
		return
	}
	view, err := s.desk.AddEvidence(c.Request.Context(), principal(c), actor(c), c.Param("ref"), cases.EvidenceFields{
		Kind: fields["kind"], FileName: fields["file_name"], StoreName: fields["store_name"], StoreLocation: fields["store_location"],
		PurchasedAt: fields["purchased_at"], AmountMinor: fields["amount_minor"], Currency: fields["currency"],
		CardLast4: fields["card_last4"], PosTransactionID: fields["pos_transaction_id"], Note: fields["note"],
	}, file)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, view)
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
	h := c.Writer.Header()
	h.Set("Content-Type", content.ContentType)
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, strings.ReplaceAll(content.FileName, `"`, "")))
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
	view, err := s.desk.VerifyEvidence(c.Request.Context(), principal(c), actor(c), id, in.Verdict, in.Note)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, view)
}
