package console

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/firedrill/firedrill/internal/password"
)

// loginForm is a decoded POST /login.
type loginForm struct {
	User, Password, CSRF string
}

// errForm is a sign-in form that cannot be read; its message names the field.
type errForm struct{ field, msg string }

func (e *errForm) Error() string { return e.field + ": " + e.msg }

// decodeLoginForm decodes an application/x-www-form-urlencoded sign-in form: exactly the
// fields user, password and csrf_token, each once, bounded, valid UTF-8. The user name is
// trimmed and lowercased (names are lowercase); the password is taken as typed.
func decodeLoginForm(body string) (loginForm, error) {
	var f loginForm
	if len(body) > maxFormBytes {
		return f, &errForm{"form", fmt.Sprintf("the form is longer than %d bytes", maxFormBytes)}
	}
	vals, err := url.ParseQuery(body)
	if err != nil {
		return f, &errForm{"form", "the form is not URL-encoded"}
	}
	for k, v := range vals {
		switch k {
		case "user", "password", CSRFField:
		default:
			return f, &errForm{"form", fmt.Sprintf("%q is not a field of the sign-in form", k)}
		}
		if len(v) != 1 {
			return f, &errForm{k, "is given more than once"}
		}
		if !utf8.ValidString(v[0]) {
			return f, &errForm{k, "is not valid UTF-8"}
		}
	}
	f.User = strings.ToLower(strings.TrimSpace(vals.Get("user")))
	f.Password = vals.Get("password")
	f.CSRF = vals.Get(CSRFField)
	switch {
	case f.User == "":
		return f, &errForm{"user", "the user name is required"}
	case len(f.User) > 64:
		return f, &errForm{"user", "the user name is longer than 64 characters"}
	case f.Password == "":
		return f, &errForm{"password", "the password is required"}
	case len(f.Password) > password.MaxLength:
		return f, &errForm{"password", fmt.Sprintf("the password is longer than %d bytes", password.MaxLength)}
	}
	return f, nil
}

func formField(err error) string {
	var e *errForm
	if errors.As(err, &e) {
		return e.field
	}
	return ""
}
