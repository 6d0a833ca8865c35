package handlers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
)

const idempotentRequestKey = "giftdesk.idempotent_request"

// idempotent honours Idempotency-Key on an API POST (SPEC 4.2). A JSON body (at most 1 MiB) is
// read and hashed in memory, never spooled: it may hold a claim code (R1). A request answered
// before is replayed here; otherwise the request travels to its use case, which checks the key
// again and stores its answer in the transaction of its change (see cases.IdempotentRequest).
// An upload's hash is made by its handler from the parsed parts.
func (s *Server) idempotent(c *gin.Context) {
	key := c.GetHeader("Idempotency-Key")
	if key == "" {
		c.Next()
		return
	}
	if err := cases.ValidIdempotencyKey(key); err != nil {
		s.fail(c, err)
		return
	}
	req := &cases.IdempotentRequest{Owner: cases.IdempotencyOwner(principal(c)), Key: key}
	c.Set(idempotentRequestKey, req)
	if c.FullPath() == uploadPath {
		c.Next()
		return
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		s.fail(c, bodyReadError(err))
		return
	}
	c.Request.Body = io.NopCloser(bytes.NewReader(body))
	req.Hash = s.desk.RequestHash(c.Request.Method, c.Request.URL.Path, body)
	ans, err := s.desk.AnsweredBefore(c.Request.Context(), req.Owner, req.Key, req.Hash)
	switch {
	case err == nil:
		writeAnswer(c, ans, true)
		c.Abort()
		return
	case !errors.Is(err, cases.ErrNotFound):
		s.fail(c, err)
		return
	}
	c.Next()
}

// idempotentRequest is the request the idempotent middleware saw, or nil without a key.
func idempotentRequest(c *gin.Context) *cases.IdempotentRequest {
	v, _ := c.Get(idempotentRequestKey)
	r, _ := v.(*cases.IdempotentRequest)
	return r
}

// answer renders a use case's result the way the API sends it: the same bytes now and on every
// replay of the request.
type answer[T any] func(T) (cases.StoredAnswer, error)

// jsonAnswer is an answer with a JSON body.
func jsonAnswer(status int, headers map[string]string, v any) (cases.StoredAnswer, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return cases.StoredAnswer{}, err
	}
	h := map[string]string{"Content-Type": "application/json; charset=utf-8"}
	for k, v := range headers {
		h[k] = v
	}
	return cases.StoredAnswer{Status: status, Headers: h, Body: body}, nil
}

// created answers 201 with the created object; ok answers 200 with the updated one (SPEC 4.2).
func created[T any](v T) (cases.StoredAnswer, error) { return jsonAnswer(http.StatusCreated, nil, v) }
func ok[T any](v T) (cases.StoredAnswer, error)      { return jsonAnswer(http.StatusOK, nil, v) }

// reply runs a use case that may change something and writes its answer. Under an
// Idempotency-Key the use case stores that answer with its change, or stops with the answer
// stored before, which is written as it was.
func reply[T any](s *Server, c *gin.Context, render answer[T], run func(ctx context.Context) (T, error)) {
	replyKeeping(s, c, render, nil, run)
}

// replyKeeping is reply whose answer kept for a repeated Idempotency-Key is rendered by keep,
// not by render: an answer holding a secret is sent once and kept without it. A nil keep keeps
// what render renders, and the answer kept is then sent as it is, not encoded a second time.
func replyKeeping[T any](s *Server, c *gin.Context, render, keep answer[T], run func(ctx context.Context) (T, error)) {
	ctx := c.Request.Context()
	same := keep == nil
	if same {
		keep = render
	}
	// kept is the answer of the use case's last attempt, the one whose result run returns.
	var kept *cases.StoredAnswer
	if req := idempotentRequest(c); req != nil && req.Hash != nil {
		req.Answer = func(result any) (cases.StoredAnswer, error) {
			v, isT := result.(T)
			if !isT {
				return cases.StoredAnswer{}, fmt.Errorf("idempotent answer: a use case answered %T, its handler renders %T", result, v)
			}
			ans, err := keep(v)
			if err == nil && same {
				kept = &ans
			}
			return ans, err
		}
		ctx = cases.WithIdempotency(ctx, req)
	}
	v, err := run(ctx)
	var replayed *cases.Replayed
	if errors.As(err, &replayed) {
		writeAnswer(c, replayed.Answer, true)
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	if kept != nil {
		writeAnswer(c, *kept, false)
		return
	}
	ans, err := render(v)
	if err != nil {
		s.fail(c, err)
		return
	}
	writeAnswer(c, ans, false)
}

// writeAnswer sends a rendered answer; a replay says so in Idempotency-Replayed.
func writeAnswer(c *gin.Context, ans cases.StoredAnswer, replayed bool) {
	for k, v := range ans.Headers {
		c.Header(k, v)
	}
	if replayed {
		c.Header("Idempotency-Replayed", "true")
	}
	c.Status(ans.Status)
	_, _ = c.Writer.Write(ans.Body)
}

// bodyReadError maps a failure to read a JSON body: over the limit is 413, anything else 400.
func bodyReadError(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &cases.RuleError{Code: cases.CodeTooLarge, Message: fmt.Sprintf("the body is larger than %d bytes", tooBig.Limit)}
	}
	return &cases.RuleError{Code: cases.CodeMalformedJSON, Message: "the body could not be read"}
}
