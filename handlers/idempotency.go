package handlers

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
)

// replayedHeaders are the answer headers kept with an idempotent answer.
var replayedHeaders = []string{"Content-Type", "ETag", "Location"}

// captureWriter keeps a copy of the answer for the idempotency store.
type captureWriter struct {
	gin.ResponseWriter
	body bytes.Buffer
}

func (w *captureWriter) Write(b []byte) (int, error) {
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *captureWriter) WriteString(s string) (int, error) {
	w.body.WriteString(s)
	return w.ResponseWriter.WriteString(s)
}

// idempotent honours Idempotency-Key on an API POST (SPEC 4.2): the first answer is stored with
// a hash of the request and replayed for the same key and body.
func (s *Server) idempotent(c *gin.Context) {
	key := c.GetHeader("Idempotency-Key")
	if key == "" {
		c.Next()
		return
	}
	// The body is hashed on its way to a temporary file: an upload is never held whole in memory.
	spool, err := os.CreateTemp(s.tempDir, "giftdesk-request-*")
	if err != nil {
		s.fail(c, err)
		return
	}
	defer os.Remove(spool.Name())
	defer spool.Close()
	hash := s.desk.RequestHasher(c.Request.Method, c.Request.URL.Path)
	if _, err := io.Copy(io.MultiWriter(spool, hash), c.Request.Body); err != nil {
		s.fail(c, uploadError(err))
		return
	}
	if _, err := spool.Seek(0, io.SeekStart); err != nil {
		s.fail(c, err)
		return
	}
	c.Request.Body = spool
	owner := cases.IdempotencyOwner(principal(c))
	stored, err := s.desk.BeginIdempotent(c.Request.Context(), owner, key, hash.Sum(nil))
	if err != nil {
		s.fail(c, err)
		return
	}
	if stored != nil {
		for k, v := range stored.Headers {
			c.Header(k, v)
		}
		c.Header("Idempotency-Replayed", "true")
		c.Status(stored.Status)
		_, _ = c.Writer.Write(stored.Body)
		c.Abort()
		return
	}
	w := &captureWriter{ResponseWriter: c.Writer}
	c.Writer = w
	c.Next()
	ans := cases.StoredAnswer{Status: w.Status(), Body: w.body.Bytes(), Headers: map[string]string{}}
	for _, h := range replayedHeaders {
		if v := w.Header().Get(h); v != "" {
			ans.Headers[h] = v
		}
	}
	// A client that hung up must not leave its key in progress for a day.
	finish := context.WithoutCancel(c.Request.Context())
	if err := s.desk.FinishIdempotent(finish, owner, key, ans); err != nil && w.Status() < http.StatusInternalServerError {
		s.log.WarnContext(c.Request.Context(), "idempotent answer not stored", "request_id", requestID(c), "error", err.Error())
	}
}
