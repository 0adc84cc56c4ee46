// Package pdf renders a compliance report as the bundle's report.pdf: a cover, the executive
// summary, the services table (objectives against measured RTO and RPO, status and reasons),
// one section per drill, open findings, accepted risks, the clause map and a sign-off block, in
// Korean or English. It reads only the report model (package report) and writes only to the
// writer it is given: no database, no files, no clock (every date comes from the header).
//
// Hangul renders with NanumGothic (OFL, fonts/OFL.txt), embedded as a TrueType subset, so the
// text stays extractable: pdftotext finds every heading and figure (the tests check it). A
// status is always printed as a shape and a word (○ 준수, △ 위험, × 미준수), colour only
// doubling them.
package pdf

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"iter"

	"github.com/signintech/gopdf"

	"github.com/firedrill/firedrill/report"
)

var (
	//go:embed fonts/NanumGothic.ttf
	nanumGothic []byte
	//go:embed fonts/NanumGothicBold.ttf
	nanumGothicBold []byte
)

// Defaults of Config.
const (
	// DefaultMaxDrillSections is how many drills get a full section (about a page each).
	DefaultMaxDrillSections = 200
	// DefaultMaxListedRows is how many further drills, and how many findings per table, are
	// listed one per line. With the sections this keeps a year of hourly drills to a report a
	// person can read (and a renderer whose memory does not grow with the period): what is not
	// printed is counted and left to report.json and runs.csv of the same signed bundle.
	DefaultMaxListedRows = 2000
)

// Config tunes a Renderer. A zero field means its default.
type Config struct {
	// MaxDrillSections is how many drills, in the order they arrive, get a full section; the
	// others are listed one per line. Defaults to DefaultMaxDrillSections.
	MaxDrillSections int
	// MaxListedRows caps the list of further drills and each findings table; the report says
	// how many it left out. Defaults to DefaultMaxListedRows.
	MaxListedRows int
}

// Renderer renders reports. It holds no state between renders and is safe for concurrent use.
type Renderer struct {
	cfg Config
}

// New returns a Renderer with cfg's defaults applied.
func New(cfg Config) (*Renderer, error) {
	if cfg.MaxDrillSections < 0 {
		return nil, fmt.Errorf("pdf config: MaxDrillSections is %d: it must not be negative", cfg.MaxDrillSections)
	}
	if cfg.MaxListedRows < 0 {
		return nil, fmt.Errorf("pdf config: MaxListedRows is %d: it must not be negative", cfg.MaxListedRows)
	}
	if cfg.MaxDrillSections == 0 {
		cfg.MaxDrillSections = DefaultMaxDrillSections
	}
	if cfg.MaxListedRows == 0 {
		cfg.MaxListedRows = DefaultMaxListedRows
	}
	return &Renderer{cfg: cfg}, nil
}

// Render renders h and its drills with the default Config.
func Render(w io.Writer, h *report.Header, drills iter.Seq2[*report.Drill, error]) error {
	r, err := New(Config{})
	if err != nil {
		return err
	}
	return r.Render(w, h, drills)
}

// Render writes the PDF of h and its drills (in the order given; nil means none) to w. The
// drills are read once, as they stream; the first error the sequence yields stops the render
// and is returned wrapped, with nothing written to w.
func (r *Renderer) Render(w io.Writer, h *report.Header, drills iter.Seq2[*report.Drill, error]) error {
	if w == nil {
		return errors.New("render report pdf: nil writer")
	}
	if err := validateHeader(h); err != nil {
		return fmt.Errorf("render report pdf: %w", err)
	}
	d := &doc{
		pdf:         &gopdf.GoPdf{},
		l:           languages[h.Language],
		lang:        h.Language,
		h:           h,
		glyphs:      map[rune]bool{},
		sectionPage: map[string]int{},
	}
	d.pdf.Start(gopdf.Config{PageSize: gopdf.Rect{W: pageW, H: pageH}, Unit: gopdf.UnitPT})
	d.pdf.SetInfo(gopdf.PdfInfo{
		Title:        fmt.Sprintf("%s — %s %s", d.l.title, h.Profile.ID, h.Period.Name),
		Author:       h.Institution,
		Subject:      h.Profile.Title,
		Creator:      "firedrill",
		Producer:     "firedrill report/pdf (gopdf)",
		CreationDate: h.GeneratedAt,
	})
	if err := d.pdf.AddTTFFontData(fontRegular, nanumGothic); err != nil {
		return fmt.Errorf("render report pdf: load NanumGothic: %w", err)
	}
	if err := d.pdf.AddTTFFontData(fontBold, nanumGothicBold); err != nil {
		return fmt.Errorf("render report pdf: load NanumGothic Bold: %w", err)
	}
	d.setFont(false, 10)

	d.cover()
	d.running = true
	d.newPage()
	d.summary()
	d.services()
	if err := d.drills(drills, r.cfg); err != nil {
		return fmt.Errorf("render report pdf: %w", err)
	}
	d.openFindings(r.cfg.MaxListedRows)
	d.acceptedRisks(r.cfg.MaxListedRows)
	d.closedFindings(r.cfg.MaxListedRows)
	d.clauses()
	d.signOff()

	d.fillPageNumbers()
	d.fillContents()
	if d.err != nil {
		return fmt.Errorf("render report pdf: %w", d.err)
	}
	if _, err := d.pdf.WriteTo(w); err != nil {
		return fmt.Errorf("render report pdf: write: %w", err)
	}
	return nil
}

// validateHeader rejects a header the report cannot be honest about, naming the field.
func validateHeader(h *report.Header) error {
	switch {
	case h == nil:
		return errors.New("nil header")
	case languages[h.Language] == nil:
		return fmt.Errorf("header language %q: the PDF is rendered in ko or en", h.Language)
	case h.Institution == "":
		return errors.New("header institution: empty")
	case h.Profile.ID == "":
		return errors.New("header profile.id: empty")
	case h.Period.Name == "":
		return errors.New("header period.name: empty")
	case !h.Period.End.After(h.Period.Start):
		return fmt.Errorf("header period: end %s is not after start %s", h.Period.End, h.Period.Start)
	case h.GeneratedAt.IsZero():
		return errors.New("header generated_at: zero")
	case h.State != "draft" && h.State != "published":
		return fmt.Errorf("header state %q: want draft or published", h.State)
	case h.State == "published" && h.SignOff == nil:
		return errors.New("header sign_off: a published report names who signed it off")
	}
	return nil
}

// A Renderer is what report.Write and report.Publish render report.pdf with.
var _ report.PDFRenderer = (*Renderer)(nil)
