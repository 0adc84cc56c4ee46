package console

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
)

// A form that uploads a file (multipart/form-data) carries its CSRF token as its first field,
// before the file, so that an upload without the token is refused before it is read.

// maxUploadBytes bounds a console upload: the largest report bundle control verifies, and
// the form's other fields.
const maxUploadBytes = 256<<20 + 1<<20

// maxCSRFPeek bounds what is read of an upload to find its CSRF token: the first part's
// headers and the token.
const maxCSRFPeek = 16 << 10

func isMultipart(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && strings.EqualFold(mt, "multipart/form-data")
}

// multipartCSRF returns the value of the upload's first part when that part is the CSRF
// field, else "". It reads no more of the body than the first part, and puts what it read
// back in front of the rest, so the page reads the whole form.
func multipartCSRF(r *http.Request) string {
	_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || params["boundary"] == "" {
		return ""
	}
	var seen bytes.Buffer
	mr := multipart.NewReader(io.TeeReader(io.LimitReader(r.Body, maxCSRFPeek), &seen), params["boundary"])
	token := ""
	if p, err := mr.NextPart(); err == nil && p.FormName() == CSRFField {
		b, err := io.ReadAll(io.LimitReader(p, 512))
		if err == nil {
			token = strings.TrimSpace(string(b))
		}
	}
	r.Body = readCloser{io.MultiReader(&seen, r.Body), r.Body}
	return token
}

type readCloser struct {
	io.Reader
	io.Closer
}
