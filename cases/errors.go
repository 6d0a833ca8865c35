package cases

import (
	"errors"
	"fmt"
)

// Sentinels every domain error unwraps to. The handlers map each to one HTTP status; the
// comment names it.
var (
	// ErrNotFound: the named entity does not exist or is not visible (404).
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the request breaks a validation or business rule (422).
	ErrInvalid = errors.New("invalid")
	// ErrForbidden: the caller may not do this (403).
	ErrForbidden = errors.New("forbidden")
	// ErrUnauthenticated: no valid credentials (401).
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrConflict: the request collides with another one still running (409).
	ErrConflict = errors.New("conflict")
	// ErrStale: the caller's version no longer matches (412).
	ErrStale = errors.New("stale")
	// ErrPrecondition: a required precondition header is missing (428).
	ErrPrecondition = errors.New("precondition required")
	// ErrUnavailable: the database does not answer (503).
	ErrUnavailable = errors.New("database unavailable")
	// ErrMalformed: the request body is not a JSON object (400).
	ErrMalformed = errors.New("malformed request")
	// ErrTooLarge: the request body is over its limit (413).
	ErrTooLarge = errors.New("request too large")
	// ErrUnsupportedMedia: an upload of a type the desk does not take (415).
	ErrUnsupportedMedia = errors.New("unsupported media type")
)

// The problem codes of SPEC 4.2. They are part of the API contract.
const (
	CodeFourEyes              = "four_eyes"
	CodeRoleRequired          = "role_required"
	CodeScopeRequired         = "scope_required"
	CodeMarketplaceMismatch   = "marketplace_mismatch"
	CodeEvidenceRequired      = "evidence_required"
	CodeExceedsFaceValue      = "exceeds_face_value"
	CodeAlreadyDecided        = "already_decided"
	CodeAlreadyReversed       = "already_reversed"
	CodeAlreadyApproved       = "already_approved"
	CodeCardFrozen            = "card_frozen"
	CodeInvalidTransition     = "invalid_transition"
	CodeSerialNotClaimCode    = "serial_not_claim_code"
	CodeInvalidClaimCode      = "invalid_claim_code"
	CodeValidationFailed      = "validation_failed"
	CodeIdempotencyMismatch   = "idempotency_mismatch"
	CodeStaleVersion          = "stale_version"
	CodeVersionRequired       = "version_required"
	CodeIdempotencyInProgress = "idempotency_in_progress"
	CodeUnsupportedMediaType  = "unsupported_media_type"
	CodeTooLarge              = "too_large"
	CodeNotFound              = "not_found"
	CodeUnauthenticated       = "unauthenticated"
	CodeUnavailable           = "database_unavailable"
	CodeMalformedJSON         = "malformed_json"
	CodeRequesterOnly         = "requester_only"
)

// FieldError names one invalid input field by its JSON name.
type FieldError struct {
	Field   string
	Message string
}

// RuleError is a refusal with a stable SPEC code. It unwraps to the sentinel that fixes its
// HTTP status: ErrInvalid unless the code says otherwise.
type RuleError struct {
	Code    string
	Field   string // JSON field the refusal is about, "" when it is about the whole request
	Message string
	Fields  []FieldError // for validation_failed with several fields
}

func (e *RuleError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s: %s", e.Code, e.Field, e.Message)
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the sentinel of e's code.
func (e *RuleError) Unwrap() error {
	switch e.Code {
	case CodeFourEyes, CodeRoleRequired, CodeScopeRequired, CodeRequesterOnly:
		return ErrForbidden
	case CodeStaleVersion:
		return ErrStale
	case CodeVersionRequired:
		return ErrPrecondition
	case CodeIdempotencyInProgress, CodeAlreadyApproved:
		return ErrConflict
	case CodeNotFound:
		return ErrNotFound
	case CodeUnauthenticated:
		return ErrUnauthenticated
	case CodeMalformedJSON:
		return ErrMalformed
	case CodeTooLarge:
		return ErrTooLarge
	case CodeUnsupportedMediaType:
		return ErrUnsupportedMedia
	}
	return ErrInvalid
}

// Invalid returns a validation_failed error about one field.
func Invalid(field, message string) *RuleError {
	return &RuleError{Code: CodeValidationFailed, Field: field, Message: message,
		Fields: []FieldError{{Field: field, Message: message}}}
}

// InvalidFields returns a validation_failed error about several fields.
func InvalidFields(fields []FieldError) *RuleError {
	e := &RuleError{Code: CodeValidationFailed, Message: "the request has invalid fields", Fields: fields}
	if len(fields) == 1 {
		e.Field, e.Message = fields[0].Field, fields[0].Message
	}
	return e
}

// NotFound returns a not-found error naming what was looked for, without echoing the value.
func NotFound(what string) error {
	return &RuleError{Code: CodeNotFound, Message: what + " not found"}
}

// Forbidden returns a 403 refusal with code (four_eyes, role_required, scope_required).
func Forbidden(code, message string) error {
	return &RuleError{Code: code, Message: message}
}
