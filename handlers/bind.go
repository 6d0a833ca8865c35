package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"giftdesk/cases"
)

// bindJSON decodes a JSON object body into dst. Malformed JSON or anything but an object is a 400,
// a value of the wrong type a 422 naming its field, a body over the limit a 413. Unknown fields
// are ignored (SPEC 4.2).
func bindJSON(c *gin.Context, dst any) error {
	body, err := io.ReadAll(c.Request.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return &cases.RuleError{Code: cases.CodeTooLarge, Message: fmt.Sprintf("the body is larger than %d bytes", tooBig.Limit)}
	}
	if err != nil {
		return &cases.RuleError{Code: cases.CodeMalformedJSON, Message: "the body could not be read"}
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return &cases.RuleError{Code: cases.CodeMalformedJSON, Message: "the body must be a JSON object"}
	}
	// encoding/json would quietly replace invalid UTF-8 by U+FFFD: refuse rather than alter.
	if !utf8.Valid(trimmed) {
		return &cases.RuleError{Code: cases.CodeMalformedJSON, Message: "the body is not valid UTF-8"}
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(dst); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			field := typeErr.Field
			if field == "" {
				field = "body"
			}
			return cases.Invalid(field, "must be a JSON "+jsonKind(typeErr.Type.Kind().String()))
		}
		return &cases.RuleError{Code: cases.CodeMalformedJSON, Message: "the body is not valid JSON"}
	}
	if dec.More() {
		return &cases.RuleError{Code: cases.CodeMalformedJSON, Message: "the body holds more than one JSON value"}
	}
	return nil
}

func jsonKind(goKind string) string {
	switch {
	case strings.HasPrefix(goKind, "int"), strings.HasPrefix(goKind, "uint"), strings.HasPrefix(goKind, "float"):
		return "number"
	case goKind == "string":
		return "string"
	case goKind == "bool":
		return "boolean"
	case goKind == "slice":
		return "array"
	case goKind == "struct", goKind == "ptr", goKind == "map":
		return "object"
	}
	return "value of another type"
}

// jsonUnmarshal decodes without the HTTP wrapping, for tests and benchmarks that feed bodies directly.
func jsonUnmarshal(b []byte, dst any) error { return json.Unmarshal(b, dst) }
