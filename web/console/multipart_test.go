package console_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/web/console"
)

// uploadForm is a multipart form: fields in order (name, value), then a file.
func uploadForm(t *testing.T, fields [][2]string, file []byte, tokenAfterFile string) (string, *bytes.Buffer) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, f := range fields {
		if err := mw.WriteField(f[0], f[1]); err != nil {
			t.Fatal(err)
		}
	}
	fw, err := mw.CreateFormFile("bundle", "report.zip")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(file)
	if tokenAfterFile != "" {
		mw.WriteField(console.CSRFField, tokenAfterFile)
	}
	mw.Close()
	return mw.FormDataContentType(), &body
}

// An upload carries its CSRF token as its first field: with it, the page reads the whole
// form, file and all; without it, or with it after the file, the console refuses the upload
// before the page sees it.
func TestUploadsCarryTheirCSRFTokenFirst(t *testing.T) {
	t.Parallel()
	echo := func(csrf func(*http.Request) string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { echoForm(w, r, csrf) })
	}
	b := setup(t, func(o *options) { o.pages = echo })
	b.localUser(t, "ahn", drills.RoleAuditor)
	br := b.browser(t)
	br.signIn("ahn", goodPassword)
	token := csrfOfSession(t, br)
	file := bytes.Repeat([]byte("PK zip bytes "), 20000) // 260 KB: past the token peek

	post := func(ct string, body io.Reader) page {
		req, err := http.NewRequest(http.MethodPost, b.srv.URL+"/portal/verify", body)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", ct)
		return br.do(req)
	}
	ct, body := uploadForm(t, [][2]string{{console.CSRFField, token}, {"note", "q3"}}, file, "")
	p := post(ct, body)
	if want := fmt.Sprintf("csrf_token=%d;note=2;bundle=%d;", len(token), len(file)); p.status != http.StatusOK || p.body != want {
		t.Errorf("an upload with its token first: %d %q, want 200 %q", p.status, p.body, want)
	}
	for _, tc := range []struct {
		name   string
		fields [][2]string
		after  string
	}{
		{"without a token", [][2]string{{"note", "q3"}}, ""},
		{"with a wrong token", [][2]string{{console.CSRFField, strings.Repeat("A", len(token))}}, ""},
		{"with the token after the file", nil, token},
		{"with the token second", [][2]string{{"note", "q3"}, {console.CSRFField, token}}, ""},
	} {
		ct, body := uploadForm(t, tc.fields, file, tc.after)
		if p := post(ct, body); p.status != http.StatusForbidden || strings.Contains(p.body, "bundle=") {
			t.Errorf("an upload %s: %d %q, want 403 before the page reads it", tc.name, p.status, p.body)
		}
	}
	if !br.signedIn() {
		t.Error("the refused uploads signed the browser out")
	}
}

// csrfOfSession is the browser's session's CSRF token, from the test's page.
func csrfOfSession(t *testing.T, br *browser) string {
	t.Helper()
	p := br.get("/")
	if m := csrfInput.FindStringSubmatch(p.body); m != nil && m[1] != "" {
		return m[1]
	}
	t.Fatalf("no CSRF token on %s", p.url)
	return ""
}

// echoForm is a page that shows the session's CSRF token in a form (GET) and names each part of
// a posted upload with its size (POST).
func echoForm(w http.ResponseWriter, r *http.Request, csrf func(*http.Request) string) {
	if r.Method != http.MethodPost {
		fmt.Fprintf(w, `<form><input type="hidden" name="csrf_token" value="%s"></form>`, csrf(r))
		return
	}
	mr, err := r.MultipartReader()
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n, _ := io.Copy(io.Discard, p)
		fmt.Fprintf(w, "%s=%d;", p.FormName(), n)
	}
}
