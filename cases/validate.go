package cases

import (
	"errors"
	"fmt"
	"net/mail"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/go-playground/validator/v10"
)

// validate checks request structs by their `validate` tags and names fields by their JSON name.
var validate = func() *validator.Validate {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		if name == "" {
			return f.Name
		}
		return name
	})
	// "mailbox" accepts what net/mail accepts as a bare address, including admin@localhost, which
	// the stock "email" tag refuses.
	_ = v.RegisterValidation("mailbox", func(fl validator.FieldLevel) bool {
		return IsMailbox(fl.Field().String())
	})
	// "text" refuses what no stored string may hold: a NUL byte (PostgreSQL refuses it with an
	// error) or invalid UTF-8.
	_ = v.RegisterValidation("text", func(fl validator.FieldLevel) bool {
		s := fl.Field().String()
		return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
	})
	return v
}()

// IsMailbox reports whether s is a bare email address (no display name, no angle brackets).
func IsMailbox(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && a.Name == "" && strings.Count(s, "@") == 1
}

// checkStruct validates v and turns failures into one validation_failed error listing every field.
func checkStruct(v any) error {
	err := validate.Struct(v)
	if err == nil {
		return nil
	}
	var verrs validator.ValidationErrors
	if !errors.As(err, &verrs) {
		return err
	}
	fields := make([]FieldError, 0, len(verrs))
	for _, fe := range verrs {
		fields = append(fields, FieldError{Field: jsonPath(fe.Namespace()), Message: fieldMessage(fe)})
	}
	return InvalidFields(fields)
}

// jsonPath drops the struct name from a validator namespace: "NewUser.email" → "email".
func jsonPath(ns string) string {
	if _, rest, ok := strings.Cut(ns, "."); ok {
		return rest
	}
	return ns
}

func fieldMessage(fe validator.FieldError) string {
	switch fe.Tag() {
	case "required":
		return "is required"
	case "text":
		return "must be text without NUL bytes"
	case "email", "mailbox":
		return "must be an email address"
	case "max":
		return fmt.Sprintf("must be at most %s characters", fe.Param())
	case "min":
		return fmt.Sprintf("must be at least %s characters", fe.Param())
	case "oneof":
		return "must be one of " + strings.ReplaceAll(fe.Param(), " ", ", ")
	}
	return "is invalid (" + fe.Tag() + ")"
}
