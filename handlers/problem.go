package handlers

import (
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
)

// Problem is an RFC 9457 problem document with the desk's stable code.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail,omitempty"`
	Code   string       `json:"code"`
	Errors []FieldIssue `json:"errors,omitempty"`
}

// FieldIssue names an invalid JSON field.
type FieldIssue struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// problemType turns a code into the problem's type URI.
func problemType(code string) string { return "urn:giftdesk:problem:" + code }

// writeProblem answers with a problem document and stops the handler chain.
func writeProblem(c *gin.Context, status int, code, detail string, fields []FieldIssue) {
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(status, Problem{Type: problemType(code), Title: http.StatusText(status), Status: status,
		Detail: detail, Code: code, Errors: fields})
}

// fail maps a domain error to its problem. Errors without a known sentinel are logged with the
// request id and answered as a bare 500: their text may hold internals.
func (s *Server) fail(c *gin.Context, err error) {
	var re *cases.RuleError
	if errors.As(err, &re) {
		var fields []FieldIssue
		for _, f := range re.Fields {
			fields = append(fields, FieldIssue{Field: f.Field, Message: f.Message})
		}
		detail := re.Message
		if re.Field != "" {
			detail = re.Field + ": " + re.Message
		}
		writeProblem(c, statusOf(err), re.Code, detail, fields)
		return
	}
	switch {
	case errors.Is(err, cases.ErrUnavailable):
		c.Header("Retry-After", "5")
		writeProblem(c, http.StatusServiceUnavailable, cases.CodeUnavailable, "the database does not answer; try again shortly", nil)
	case errors.Is(err, errUploadTooSlow):
		writeProblem(c, http.StatusRequestTimeout, "request_timeout",
			"the upload stopped arriving or arrived too slowly; send it again", nil)
	case errors.Is(err, cases.ErrThrottled):
		c.Header("Retry-After", retryAfter(err))
		writeProblem(c, http.StatusTooManyRequests, "rate_limited", err.Error(), nil)
	default:
		s.log.ErrorContext(c.Request.Context(), "request failed", slog.String("request_id", requestID(c)),
			slog.String("error", err.Error()))
		writeProblem(c, http.StatusInternalServerError, "internal_error",
			"something went wrong on our side; the request id is "+requestID(c), nil)
	}
}

// statusOf returns the HTTP status of a domain error's sentinel.
func statusOf(err error) int {
	switch {
	case errors.Is(err, cases.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, cases.ErrUnauthenticated):
		return http.StatusUnauthorized
	case errors.Is(err, cases.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, cases.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, cases.ErrStale):
		return http.StatusPreconditionFailed
	case errors.Is(err, cases.ErrPrecondition):
		return http.StatusPreconditionRequired
	case errors.Is(err, cases.ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, cases.ErrThrottled):
		return http.StatusTooManyRequests
	case errors.Is(err, cases.ErrMalformed):
		return http.StatusBadRequest
	case errors.Is(err, cases.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, cases.ErrUnsupportedMedia):
		return http.StatusUnsupportedMediaType
	case errors.Is(err, cases.ErrInvalid):
		return http.StatusUnprocessableEntity
	}
	return http.StatusInternalServerError
}

// retryAfter is the Retry-After header of a throttled request, in whole seconds rounded up.
func retryAfter(err error) string {
	var te *cases.ThrottledError
	if errors.As(err, &te) {
		return strconv.Itoa(int(math.Ceil(te.RetryAfter.Seconds())))
	}
	return "60"
}
