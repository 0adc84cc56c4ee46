package console

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/firedrill/firedrill/internal/password"
)

func FuzzDecodeLoginForm(f *testing.F) {
	for _, s := range []string{
		"user=kim&password=correct+horse&csrf_token=abc",
		"user=%20KIM%20&password=x&csrf_token=",
		"user=a&user=b&password=x",
		"user=kim&password=%ff%fe&csrf_token=t",
		"user=kim&password=x&admin=true",
		"%zz", "", "user=" + strings.Repeat("a", 70) + "&password=p",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, err := decodeLoginForm(body)
		if err != nil {
			if formField(err) == "" {
				t.Fatalf("decodeLoginForm(%q) = %v: the error names no field", body, err)
			}
			return
		}
		switch {
		case form.User == "" || form.Password == "":
			t.Fatalf("decodeLoginForm(%q) accepted an empty user or password: %+v", body, form)
		case form.User != strings.ToLower(strings.TrimSpace(form.User)) || len(form.User) > 64:
			t.Fatalf("decodeLoginForm(%q): user %q not trimmed, lowercased and bounded", body, form.User)
		case len(form.Password) > password.MaxLength:
			t.Fatalf("decodeLoginForm(%q): password of %d bytes accepted", body, len(form.Password))
		case !utf8.ValidString(form.User) || !utf8.ValidString(form.Password) || !utf8.ValidString(form.CSRF):
			t.Fatalf("decodeLoginForm(%q): invalid UTF-8 accepted", body)
		}
		// What was accepted decodes the same when encoded again.
		again, err := decodeLoginForm(url.Values{"user": {form.User}, "password": {form.Password}, CSRFField: {form.CSRF}}.Encode())
		if err != nil || again != form {
			t.Fatalf("decodeLoginForm(%q) = %+v; re-encoded it decodes to %+v, %v", body, form, again, err)
		}
	})
}

func TestChooseLang(t *testing.T) {
	t.Parallel()
	tests := []struct{ header, want string }{
		{"", "en"}, {"ko", "ko"}, {"ko-KR,ko;q=0.9,en-US;q=0.8", "ko"}, {"en-US,en;q=0.9,ko;q=0.8", "en"},
		{"fr-FR,ko;q=0.5", "ko"}, {"de", "en"}, {"ko;q=0,en;q=0.1", "en"}, {"en;q=0.2,ko;q=0.7", "ko"},
	}
	for _, tt := range tests {
		if got := chooseLang(tt.header); got != tt.want {
			t.Errorf("chooseLang(%q) = %q, want %q", tt.header, got, tt.want)
		}
	}
}

// The sign-in page speaks the language chosen on the pages (their cookie) or asked for with
// ?lang=, before Accept-Language.
func TestLangOfFollowsTheChoiceBeforeTheHeader(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ target, cookie, header, want string }{
		{"/login", "", "ko-KR", "ko"}, {"/login?lang=en", "", "ko-KR", "en"}, {"/login", "ko", "en-US", "ko"},
		{"/login?lang=ko", "en", "en-US", "ko"}, {"/login?lang=fr", "de", "ko", "ko"},
	} {
		r := httptest.NewRequest("GET", tt.target, nil)
		r.Header.Set("Accept-Language", tt.header)
		if tt.cookie != "" {
			r.AddCookie(&http.Cookie{Name: langCookie, Value: tt.cookie})
		}
		if got := langOf(r); got != tt.want {
			t.Errorf("langOf(%s, cookie %q, Accept-Language %q) = %q, want %q", tt.target, tt.cookie, tt.header, got, tt.want)
		}
	}
}
