package console

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
)

//go:embed templates/*.html
var templateFS embed.FS

// pages holds one parsed set of templates per language, so that t and role need no state.
type pages struct {
	byLang map[string]*template.Template
}

func loadPages() (*pages, error) {
	p := &pages{byLang: map[string]*template.Template{}}
	for lang := range texts {
		funcs := template.FuncMap{
			"t": func(key string) string {
				if s, ok := texts[lang][key]; ok {
					return s
				}
				return key
			},
			"msg": func(key string) string { return texts[lang][key] },
			"role": func(r string) string {
				if s, ok := roleNames[lang][r]; ok {
					return s
				}
				return r
			},
		}
		t, err := template.New("").Funcs(funcs).ParseFS(templateFS, "templates/*.html")
		if err != nil {
			return nil, fmt.Errorf("console: parse templates: %w", err)
		}
		p.byLang[lang] = t
	}
	return p, nil
}

// pageData is what every page may show.
type pageData struct {
	Lang string
	// Error is a message key (msg...), ErrorText its words (or control's safe message).
	Error, ErrorText string
	Notice           string
	CSRF             string
	OIDC             bool
	// The signed-in home page.
	User, MethodKey, Expires, ExpiresISO string
	Roles                                []string
}

// render writes page name with status; the page goes through a buffer so that a template
// error becomes a 500, not half a page.
func (c *Console) render(w http.ResponseWriter, r *http.Request, status int, name string, d pageData) {
	d.Lang = langOf(r)
	if d.Error != "" && d.ErrorText == "" {
		d.ErrorText = texts[d.Lang][d.Error]
	}
	var buf bytes.Buffer
	if err := c.pages.byLang[d.Lang].ExecuteTemplate(&buf, name+".html", d); err != nil {
		c.log.ErrorContext(r.Context(), "render page", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Language", d.Lang)
	w.Header().Add("Vary", "Accept-Language")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
