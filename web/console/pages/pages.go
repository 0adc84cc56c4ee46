// Package pages renders the web console's pages: server-side html/template over the same
// control operations the CLI and the API call, with the same authorization table. A page or
// button the caller may not use is not shown; an operation control refuses answers 403 with
// a page that names the roles that would do. Sign-in, sessions and CSRF checking are the
// console package's: this package asks Config.Caller who is calling and puts
// Config.CSRFToken's token in every state-changing form.
package pages

import (
	"bytes"
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/firedrill/firedrill/internal/clock"
	"github.com/firedrill/firedrill/orchestrator/control"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// DefaultTimeZone is the zone dates are shown in when the user chose none.
const DefaultTimeZone = "Asia/Seoul"

// Config configures the pages.
type Config struct {
	// Control carries out every operation; required.
	Control *control.Control
	// Caller says who sent a request; nil or an error sends the browser to /login. Required.
	Caller func(*http.Request) (*control.Caller, error)
	// CSRFToken is the token every state-changing form carries in its csrf_token field (the
	// sign-in middleware checks it). Required.
	CSRFToken func(*http.Request) string
	// Clock defaults to the wall clock.
	Clock clock.Clock
	// ShiftedHistory says the history was recorded on a shifted clock (serve --demo): every
	// page says so, so that nobody takes a demo's dates for a real year's drills.
	ShiftedHistory bool
	// Logger defaults to one that discards.
	Logger *slog.Logger
	// MaxBundleSize bounds a bundle uploaded to be verified, in bytes. Defaults to (and is at
	// most) control.MaxReportVerifySize.
	MaxBundleSize int64
	// EventPoll is how often a run's event stream asks for new timeline entries. Defaults to
	// DefaultEventPoll.
	EventPoll time.Duration
	// EventHeartbeat is how often an idle event stream sends a comment, so that proxies keep
	// it open. Defaults to DefaultEventHeartbeat.
	EventHeartbeat time.Duration
	// EventStreamFor bounds how long one event stream stays open; the browser then reconnects
	// from the last event it has (and its session is checked again). Defaults to
	// DefaultEventStreamFor.
	EventStreamFor time.Duration
}

type handler struct {
	cfg   Config
	log   *slog.Logger
	pages map[string]*template.Template
	mux   *http.ServeMux
	// shutdowns are closed when their server begins to shut down (serverStopping).
	shutdowns shutdowns
	// tops are the pages' tops by language, page and roles (top); topCount counts them.
	tops     sync.Map
	topCount atomic.Int64
}

// New returns the console's pages as one handler, rooted at "/".
func New(cfg Config) (http.Handler, error) {
	switch {
	case cfg.Control == nil:
		return nil, errors.New("console pages: Config.Control is required")
	case cfg.Caller == nil:
		return nil, errors.New("console pages: Config.Caller is required")
	case cfg.CSRFToken == nil:
		return nil, errors.New("console pages: Config.CSRFToken is required")
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxBundleSize <= 0 || cfg.MaxBundleSize > control.MaxReportVerifySize {
		cfg.MaxBundleSize = control.MaxReportVerifySize
	}
	cfg.EventPoll = cmp.Or(cfg.EventPoll, DefaultEventPoll)
	cfg.EventHeartbeat = cmp.Or(cfg.EventHeartbeat, DefaultEventHeartbeat)
	cfg.EventStreamFor = cmp.Or(cfg.EventStreamFor, DefaultEventStreamFor)
	if cfg.EventPoll < 0 || cfg.EventHeartbeat < 0 || cfg.EventStreamFor < 0 {
		return nil, errors.New("console pages: Config.EventPoll, EventHeartbeat and EventStreamFor must not be negative")
	}
	h := &handler{cfg: cfg, log: cfg.Logger.With("component", "console.pages"), pages: map[string]*template.Template{}}
	if err := h.parseTemplates(); err != nil {
		return nil, err
	}
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	m := http.NewServeMux()
	m.Handle("GET /static/", http.StripPrefix("/static/", cacheForever(http.FileServerFS(static))))
	m.HandleFunc("GET /{$}", h.page(h.dashboard))
	m.HandleFunc("GET /approvals", h.page(h.approvals))
	m.HandleFunc("POST /approvals/{id}/{decision}", h.action(h.approvalDecide))
	m.HandleFunc("GET /runs", h.page(h.runs))
	m.HandleFunc("GET /runs/{id}", h.page(h.runDetail))
	m.HandleFunc("POST /runs/{id}/notes", h.action(h.runNoteAdd))
	m.HandleFunc("GET /runs/{id}/live", h.page(h.runLive))
	m.HandleFunc("GET /runs/{id}/events", h.runEvents)
	m.HandleFunc("GET /runs/{id}/abort", h.page(h.runAbortConfirm))
	m.HandleFunc("POST /runs/{id}/abort", h.action(h.runAbort))
	m.HandleFunc("POST /runs/{id}/decide", h.action(h.stepDecide))
	m.HandleFunc("GET /services/{name}", h.page(h.serviceHistory))
	m.HandleFunc("GET /findings", h.page(h.findings))
	m.HandleFunc("POST /findings", h.action(h.findingAdd))
	m.HandleFunc("POST /findings/{id}", h.action(h.findingUpdate))
	m.HandleFunc("POST /findings/{id}/accept-risk", h.action(h.findingAcceptRisk))
	m.HandleFunc("GET /reports", h.page(h.reports))
	m.HandleFunc("POST /reports", h.action(h.reportExport))
	m.HandleFunc("POST /reports/{id}/publish", h.action(h.reportPublish))
	m.HandleFunc("GET /reports/{id}/bundle", h.reportBundle)
	m.HandleFunc("GET /schedules", h.page(h.schedules))
	m.HandleFunc("GET /calendar", h.page(h.calendar))
	m.HandleFunc("POST /schedules/{name}/{change}", h.action(h.schedulePause))
	m.HandleFunc("GET /portal", h.page(h.portal))
	m.HandleFunc("GET /portal/verify", h.page(h.verifyForm))
	m.HandleFunc("POST /portal/verify", h.verifyUpload)
	m.HandleFunc("GET /portal/key.pub", h.publicKey)
	m.HandleFunc("GET /plans", h.page(h.plans))
	m.HandleFunc("GET /plans/view", h.page(h.plan))
	m.HandleFunc("POST /plans/validate", limitBody(maxPastedPlan, h.page(h.planValidatePasted)))
	m.HandleFunc("GET /plans/validate", redirectTo("/plans"))
	m.HandleFunc("POST /plans/start", h.action(h.planStart))
	m.HandleFunc("GET /audit", h.page(h.audit))
	m.HandleFunc("GET /users", h.page(h.users))
	m.HandleFunc("POST /users", h.action(h.userCreate))
	m.HandleFunc("GET /users/{name}", h.page(h.user))
	m.HandleFunc("POST /users/{name}/disable", h.action(h.userDisable))
	m.HandleFunc("POST /users/{name}/roles", h.action(h.roleGrant))
	m.HandleFunc("POST /users/{name}/roles/{role}/revoke", h.action(h.roleRevoke))
	m.HandleFunc("POST /users/{name}/password", h.action(h.passwordSet))
	m.HandleFunc("POST /users/{name}/tokens", limitBody(64<<10, h.page(h.tokenCreate)))
	m.HandleFunc("GET /users/{name}/tokens", func(w http.ResponseWriter, r *http.Request) { redirectTo(userPath(r.PathValue("name")))(w, r) })
	m.HandleFunc("POST /tokens/{id}/revoke", h.action(h.tokenRevoke))
	h.mux = m
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "same-origin")
	h.mux.ServeHTTP(w, r)
}

func cacheForever(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		next.ServeHTTP(w, r)
	})
}

// ---- requests --------------------------------------------------------------------------

// req is what every page knows about the request it answers.
type req struct {
	r      *http.Request
	ctx    context.Context
	caller *control.Caller
	lang   string
	loc    *time.Location
	now    time.Time
	// op is the operation the page last asked for (need): a forbidden answer names its roles.
	op control.Operation
}

// may says whether the caller may take op, from the one authorization table: pages show a
// link or a button only when it does.
func (q *req) may(op control.Operation) bool { return control.Allowed(op, q.caller.Roles) }

// view is a page's data as its template sees it.
type view struct {
	Title  string
	Nav    string
	Lang   string
	TZ     string
	User   string
	Roles  []string
	CSRF   string
	Notice string
	Path   string
	// Keep is the page's own query (its filters, its month), which the language and zone
	// switch carries over so that switching does not lose the reader's place.
	Keep []queryPair
	// Can is the caller's permissions by operation name, for the templates.
	Can map[string]bool
	// PortalOnly: the caller reaches the regulator portal and nothing else (portalOnly).
	PortalOnly bool
	// ShiftedHistory: the history's dates are a demo's (Config.ShiftedHistory).
	ShiftedHistory bool
	Data           any
	// Top is the page's top up to its navigation (layout-top, handler.top).
	Top template.HTML
}

// pageFunc renders one page: the template name, its title key and its data.
type pageFunc func(q *req) (tmpl, title string, data any, err error)

// actionFunc carries out a form and returns where to send the browser (POST-redirect-GET).
type actionFunc func(q *req) (redirect string, err error)

func (h *handler) request(w http.ResponseWriter, r *http.Request) (*req, bool) {
	caller, err := h.cfg.Caller(r)
	if err != nil || caller == nil {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
		return nil, false
	}
	lang := chooseLanguage(w, r)
	loc := chooseZone(w, r)
	return &req{r: r, ctx: r.Context(), caller: caller, lang: lang, loc: loc, now: h.cfg.Clock.Now()}, true
}

func (h *handler) page(fn pageFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q, ok := h.request(w, r)
		if !ok {
			return
		}
		name, title, data, err := fn(q)
		var to *redirectError
		if errors.As(err, &to) {
			http.Redirect(w, r, to.to, http.StatusSeeOther)
			return
		}
		if err != nil {
			h.fail(w, q, err)
			return
		}
		h.render(w, q, http.StatusOK, name, title, data)
	}
}

func (h *handler) action(fn actionFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q, ok := h.request(w, r)
		if !ok {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			h.fail(w, q, &control.Error{Category: control.CategoryInvalid, Message: "the form could not be read: " + err.Error()})
			return
		}
		to, err := fn(q)
		if err != nil {
			h.fail(w, q, err)
			return
		}
		http.Redirect(w, r, to, http.StatusSeeOther)
	}
}

func (h *handler) render(w http.ResponseWriter, q *req, status int, name, title string, data any) {
	t, ok := h.pages[name]
	if !ok {
		h.log.Error("no such page template", "template", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	v := h.viewOf(q, name, title, data)
	buf := renderBuffers.Get().(*bytes.Buffer)
	defer putRenderBuffer(buf)
	if err := t.ExecuteTemplate(buf, "layout", v); err != nil {
		h.log.Error("render page", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// renderBuffers hold pages while they render (a page is not sent half-rendered when its
// template fails): a page is tens of kB, and growing a new buffer to that size on every
// request was a tenth of a page's allocations.
var renderBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledRender bounds the buffers kept: one rare huge page must not stay pinned.
const maxPooledRender = 1 << 20

func putRenderBuffer(b *bytes.Buffer) {
	if b.Cap() > maxPooledRender {
		return
	}
	b.Reset()
	renderBuffers.Put(b)
}

// queryPair is one query parameter, for a form's hidden fields.
type queryPair struct{ Name, Value string }

// keptQuery is the query without what the preferences form sets itself and the one-time notice.
func keptQuery(v url.Values) []queryPair {
	var out []queryPair
	for _, name := range slices.Sorted(maps.Keys(v)) {
		if name == "lang" || name == "tz" || name == "done" {
			continue
		}
		for _, value := range v[name] {
			out = append(out, queryPair{name, value})
		}
	}
	return out
}

// operations is every operation, for the pages' permissions (control.Operations sorts them
// anew on each call).
var operations = control.Operations()

// viewOf is what a template sees of the request and the page's data.
func (h *handler) viewOf(q *req, name, title string, data any) *view {
	can := make(map[string]bool, len(operations))
	for _, op := range operations {
		can[string(op)] = q.may(op)
	}
	query := q.r.URL.Query()
	v := &view{Title: tr(q.lang, title), Nav: name, Lang: q.lang, TZ: q.loc.String(), User: q.caller.Actor.Name,
		Roles: q.caller.Roles, CSRF: h.cfg.CSRFToken(q.r), Notice: noticeText(q.lang, query.Get("done")),
		Path: q.r.URL.Path, Keep: keptQuery(query), Can: can, PortalOnly: portalOnly(q.caller), ShiftedHistory: h.cfg.ShiftedHistory, Data: data}
	v.Top = h.top(v)
	return v
}

// top is layout-top for v, rendered once for each language, page and set of roles: its
// dozens of template calls, through reflection, were a good part of every page's rendering.
func (h *handler) top(v *view) template.HTML {
	key := v.Lang + "\x00" + v.Nav + "\x00" + strings.Join(v.Roles, "\x00")
	if top, ok := h.tops.Load(key); ok {
		return top.(template.HTML)
	}
	t, ok := h.pages[v.Nav]
	if !ok {
		for _, t = range h.pages {
			break
		}
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout-top", v); err != nil {
		// The page's own rendering fails the same way, and says so.
		h.log.Error("render the top of a page", "template", v.Nav, "err", err)
		return ""
	}
	top := template.HTML(b.String()) //nolint:gosec // rendered by html/template
	if h.topCount.Add(1) <= maxTops {
		h.tops.Store(key, top)
	}
	return top
}

// maxTops bounds the tops kept: the combinations of roles in use are few, but their number
// is not bounded.
const maxTops = 1024

// errorPage is what the error template shows.
type errorPage struct {
	Status  int
	Message string
	// Roles are the roles that would do, when the operation was forbidden.
	Roles []string
	// Scope says why a caller whose operation is narrowed (control.Scopes) was refused.
	Scope string
	Back  string
	// Portal links the portal, for a caller who reaches nothing else.
	Portal bool
}

// fail answers an operation's error with a page: unauthenticated goes to sign-in, forbidden
// is 403 naming the roles that would do, the rest map as the API maps them.
func (h *handler) fail(w http.ResponseWriter, q *req, err error) {
	var ce *control.Error
	if !errors.As(err, &ce) {
		h.log.Error("console page", "path", q.r.URL.Path, "err", err)
		ce = &control.Error{Category: control.CategoryInternal}
	}
	p := &errorPage{Back: q.r.Referer(), Portal: portalOnly(q.caller)}
	var title string
	switch ce.Category {
	case control.CategoryUnauthenticated:
		http.Redirect(w, q.r, "/login", http.StatusSeeOther)
		return
	case control.CategoryForbidden:
		p.Status, title = http.StatusForbidden, "err.forbidden"
		switch {
		case q.op != "" && q.may(q.op) && control.Scoped(q.op, q.caller):
			p.Scope = scopeText(q.lang, q.op, ce.Message)
		case q.op != "":
			p.Roles = control.Permissions[q.op]
		default:
			p.Message = ce.Message
		}
	case control.CategoryNotFound:
		p.Status, title, p.Message = http.StatusNotFound, "err.notfound", ce.Message
	case control.CategoryInvalid:
		p.Status, title, p.Message = http.StatusBadRequest, "err.invalid", ce.Message
		if ce.Field != "" {
			p.Message = ce.Field + ": " + ce.Message
		}
	case control.CategoryConflict:
		p.Status, title, p.Message = http.StatusConflict, "err.conflict", ce.Message
	default:
		if ce.Err != nil {
			h.log.Error("console page", "path", q.r.URL.Path, "err", ce.Err)
		}
		p.Status, title, p.Message = http.StatusInternalServerError, "err.internal", ""
	}
	h.render(w, q, p.Status, "error", title, p)
}

// need names the operation a page or form is about to take, so that a forbidden answer can
// say which roles would do. It refuses nothing itself: the control operation refuses (and
// records the refused attempt in the audit trail, as it does for the CLI and the API).
func (q *req) need(op control.Operation) { q.op = op }

// ---- language and zone -----------------------------------------------------------------

const (
	langCookie = "firedrill_lang"
	zoneCookie = "firedrill_tz"
)

// chooseLanguage is the lang parameter (remembered in a cookie), else the cookie, else the
// first of Accept-Language the console speaks, else English.
func chooseLanguage(w http.ResponseWriter, r *http.Request) string {
	if l := r.URL.Query().Get("lang"); supported(l) {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: l, Path: "/", MaxAge: 365 * 24 * 3600, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
		return l
	}
	if c, err := r.Cookie(langCookie); err == nil && supported(c.Value) {
		return c.Value
	}
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if supported(base) {
			return base
		}
	}
	return "en"
}

func supported(lang string) bool { return lang == "en" || lang == "ko" }

// chooseZone is the tz parameter (remembered in a cookie), else the cookie, else Asia/Seoul.
func chooseZone(w http.ResponseWriter, r *http.Request) *time.Location {
	if z := r.URL.Query().Get("tz"); z != "" {
		if loc, err := time.LoadLocation(z); err == nil && z != "Local" {
			http.SetCookie(w, &http.Cookie{Name: zoneCookie, Value: z, Path: "/", MaxAge: 365 * 24 * 3600, HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
			return loc
		}
	}
	if c, err := r.Cookie(zoneCookie); err == nil && c.Value != "Local" {
		if loc, err := time.LoadLocation(c.Value); err == nil {
			return loc
		}
	}
	loc, err := time.LoadLocation(DefaultTimeZone)
	if err != nil {
		return time.UTC
	}
	return loc
}

// formValue is a form field, trimmed.
func formValue(q *req, name string) string { return strings.TrimSpace(q.r.PostFormValue(name)) }

// withNotice adds the done parameter that the page after a redirect shows as a notice.
func withNotice(path, notice string) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return path + sep + "done=" + url.QueryEscape(notice)
}

func pathID(q *req, name string) string { return q.r.PathValue(name) }

func errorf(category control.Category, field, format string, args ...any) error {
	return &control.Error{Category: category, Field: field, Message: fmt.Sprintf(format, args...)}
}
