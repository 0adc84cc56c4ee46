package pdf

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/signintech/gopdf"

	"github.com/firedrill/firedrill/report"
)

// Page geometry, in points (A4 portrait). The margins leave room for a running header and a
// footer with the page number, and for the binding of a printed copy.
const (
	pageW        = 595.28
	pageH        = 841.89
	marginLeft   = 56.0
	marginRight  = 56.0
	marginTop    = 70.0
	marginBottom = 64.0
	contentW     = pageW - marginLeft - marginRight
	bottomY      = pageH - marginBottom

	// lineFactor is line height over font size: Hangul sits taller than Latin, and 1.45 keeps
	// the jamo of one line clear of the next.
	lineFactor = 1.45
	// maxCellLines caps a table cell, so that no row is ever taller than a page; a cell cut
	// short ends with an ellipsis (report.json keeps the whole text).
	maxCellLines = 12
	// maxTitleLines caps a title (a drill's, a clause's, the institution on the cover).
	maxTitleLines = 4
	// cellPadX and cellPadY are the inner margins of a table cell.
	cellPadX = 4.0
	cellPadY = 3.0
)

// The font families are the embedded fonts' PDF names: a six-letter tag and "+" mark a subset
// (PDF 32000-1, 9.6.4), so a reader or a PDF/A checker knows the file carries only the glyphs
// the report uses.
const (
	fontRegular = "FDRRGA+NanumGothic"
	fontBold    = "FDRBDA+NanumGothicBold"
)

// rgb is a colour. Colour only ever doubles a word and a shape: the report reads the same
// printed in black and white.
type rgb struct{ r, g, b uint8 }

var (
	colorText      = rgb{0x1a, 0x1a, 0x1a}
	colorMuted     = rgb{0x5f, 0x63, 0x68}
	colorRule      = rgb{0xc8, 0xcc, 0xd0}
	colorAccent    = rgb{0x1f, 0x3a, 0x5f} // headings and the table header: a sober navy
	colorHeaderBG  = rgb{0xe8, 0xed, 0xf3}
	colorZebra     = rgb{0xf6, 0xf7, 0xf9}
	colorDraft     = rgb{0xa3, 0x3b, 0x00}
	colorBGCompl   = rgb{0xe3, 0xf2, 0xe6}
	colorBGAtRisk  = rgb{0xfd, 0xf1, 0xd6}
	colorBGNonComp = rgb{0xfa, 0xe0, 0xde}
)

// doc is one report being laid out: the gopdf document, the cursor and the words of the
// report's language. Its methods keep the first error and do nothing after it, so that the
// section code reads as a layout, not as a ladder of error checks; Render returns d.err.
type doc struct {
	pdf   *gopdf.GoPdf
	l     *labels
	lang  string
	h     *report.Header
	y     float64
	pages int
	err   error
	// glyphs caches whether the font has a glyph for a rune: a report quoting text the font
	// lacks (an emoji in a lesson) prints '?' rather than an invisible gap.
	glyphs map[rune]bool
	// running is whether pages get the running header: every page after the cover.
	running bool
	// sectionPage is the page each section heading landed on, for the cover's contents.
	sectionPage map[string]int
}

func (d *doc) fail(err error) {
	if d.err == nil && err != nil {
		d.err = err
	}
}

// setFont selects the regular or bold face at size points.
func (d *doc) setFont(bold bool, size float64) {
	family := fontRegular
	if bold {
		family = fontBold
	}
	d.fail(d.pdf.SetFont(family, "", size))
}

func (d *doc) color(c rgb) { d.pdf.SetTextColor(c.r, c.g, c.b) }

// clean makes text printable: control characters become spaces (a newline stays a line
// break), and a rune the font has no glyph for becomes '?'.
func (d *doc) clean(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '\n':
			return r
		case r == '\t' || r == '\r' || unicode.IsControl(r):
			return ' '
		case r == ' ':
			return r
		}
		ok, found := d.glyphs[r]
		if !found {
			has, err := d.pdf.IsCurrFontContainGlyph(r)
			ok = err == nil && has
			d.glyphs[r] = ok
		}
		if !ok {
			return '?'
		}
		return r
	}, s)
}

func (d *doc) width(s string) float64 {
	w, err := d.pdf.MeasureTextWidth(s)
	d.fail(err)
	return w
}

// wrap breaks cleaned text into lines no wider than width in the current font: at spaces where
// it can (Korean is spaced between words, as English is), and inside a word only when the
// word alone is wider than the line (a hash, a URL).
func (d *doc) wrap(text string, width float64) []string {
	var lines []string
	for _, para := range strings.Split(d.clean(text), "\n") {
		words := strings.Fields(para)
		if len(words) == 0 {
			lines = append(lines, "")
			continue
		}
		line := ""
		for _, w := range words {
			candidate := w
			if line != "" {
				candidate = line + " " + w
			}
			if d.width(candidate) <= width {
				line = candidate
				continue
			}
			if line != "" {
				lines = append(lines, line)
				line = ""
			}
			// The word alone: break it by characters if it does not fit a line.
			for d.width(w) > width {
				cut := d.fitPrefix(w, width)
				lines = append(lines, w[:cut])
				w = w[cut:]
			}
			line = w
		}
		lines = append(lines, line)
	}
	return lines
}

// ellipsize is the cleaned s on one line of at most width in the current font, cut short
// with an ellipsis when it does not fit (a running header, a footer).
func (d *doc) ellipsize(s string, width float64) string {
	s = strings.Join(strings.Fields(d.clean(s)), " ")
	if d.width(s) <= width {
		return s
	}
	return strings.TrimSpace(s[:d.fitPrefix(s, width-d.width("…"))]) + "…"
}

// capLines keeps the first n of lines (wrapped to width in the current font), ending the last
// one kept with an ellipsis when lines were cut: for text that must stay in a box (a cell, a
// title), whose whole is in report.json.
func (d *doc) capLines(lines []string, n int, width float64) []string {
	if len(lines) <= n {
		return lines
	}
	lines = lines[:n:n]
	last := lines[n-1]
	for last != "" && d.width(last+" …") > width {
		r := []rune(last)
		last = string(r[:len(r)-1])
	}
	lines[n-1] = last + " …"
	return lines
}

// fitPrefix is the byte length of the longest prefix of s (at least one rune) that fits width.
func (d *doc) fitPrefix(s string, width float64) int {
	end := 0
	for i, r := range s {
		next := i + len(string(r))
		if end > 0 && d.width(s[:next]) > width {
			break
		}
		end = next
	}
	return end
}

// lineH is the height of one line of text at size points.
func lineH(size float64) float64 { return size * lineFactor }

// textAt writes one line with its top at (x, y), in a box of width w aligned left, right or
// centre, vertically centred on the line height.
func (d *doc) textAt(x, y, w float64, size float64, s string, align int) {
	if d.err != nil || s == "" {
		return
	}
	d.pdf.SetXY(x, y)
	d.fail(d.pdf.CellWithOption(&gopdf.Rect{W: w, H: lineH(size)}, s, gopdf.CellOption{Align: align | gopdf.Middle}))
}

func (d *doc) fillRect(x, y, w, h float64, c rgb) {
	d.pdf.SetFillColor(c.r, c.g, c.b)
	d.pdf.RectFromUpperLeftWithStyle(x, y, w, h, "F")
}

func (d *doc) rule(y float64, c rgb, width float64) {
	d.pdf.SetStrokeColor(c.r, c.g, c.b)
	d.pdf.SetLineWidth(width)
	d.pdf.Line(marginLeft, y, pageW-marginRight, y)
}

// newPage starts a page with the running header and footer; the footer's page total is a
// placeholder filled in when the document is complete.
func (d *doc) newPage() {
	if d.err != nil {
		return
	}
	d.pdf.AddPage()
	d.pages++
	d.y = marginTop
	if d.running {
		d.runningHeader()
	}
	d.footer()
}

func (d *doc) runningHeader() {
	d.setFont(false, 8)
	d.color(colorMuted)
	const gap = 12.0
	half := (contentW - gap) / 2
	d.textAt(marginLeft, 34, half, 8, d.ellipsize(d.h.Institution, half), gopdf.Left)
	d.textAt(marginLeft+half+gap, 34, half, 8,
		d.ellipsize(fmt.Sprintf("%s · %s · %s", d.l.title, d.h.Profile.ID, d.h.Period.Name), half), gopdf.Right)
	d.rule(50, colorRule, 0.5)
	if d.h.State != "published" {
		d.setFont(true, 8)
		d.color(colorDraft)
		d.textAt(marginLeft, 52, contentW, 8, d.l.draftBanner, gopdf.Center)
	}
	d.color(colorText)
}

// numW is the width of the page number in the footer ("999 / 999").
const numW = 60.0

func (d *doc) footer() {
	y := pageH - 34 // the baseline
	d.rule(y-12, colorRule, 0.5)
	d.setFont(false, 7.5)
	d.color(colorMuted)
	// On a baseline, as gopdf draws the page-total placeholder, so the footer is one line.
	d.baselineText(marginLeft, y, d.ellipsize(fmt.Sprintf("%s %s v%d · %s %s", d.l.reportID, d.h.ID, d.h.Version,
		d.l.keyFingerprint, shortFingerprint(d.h.SigningKeyFingerprint)), contentW-numW-12))
	// "N / total": the total is known only at the end, so the page number is a placeholder
	// that fillPageNumbers fills in.
	d.pdf.SetXY(pageW-marginRight-numW, y)
	d.fail(d.pdf.PlaceHolderText(pageNumberPlaceholder(d.pages), numW))
	d.color(colorText)
}

func pageNumberPlaceholder(page int) string { return fmt.Sprintf("page-%d", page) }

// fillPageNumbers writes "N / total" into every page's footer.
func (d *doc) fillPageNumbers() {
	d.setFont(false, 7.5)
	for p := 1; p <= d.pages && d.err == nil; p++ {
		d.fail(d.pdf.FillInPlaceHoldText(pageNumberPlaceholder(p), fmt.Sprintf("%d / %d", p, d.pages), gopdf.Right))
	}
}

// baselineText writes one line on the baseline y.
func (d *doc) baselineText(x, y float64, s string) {
	if d.err != nil || s == "" {
		return
	}
	d.pdf.SetXY(x, y)
	d.fail(d.pdf.Text(s))
}

func shortFingerprint(fp string) string {
	if len(fp) > 16 {
		return fp[:16] + "…"
	}
	return fp
}

// ensure starts a new page unless h more points fit on this one.
func (d *doc) ensure(h float64) {
	if d.y+h > bottomY {
		d.newPage()
	}
}

// heading is a numbered section title: a new outline entry, a rule below, and never the last
// thing on a page (it keeps keep room for what follows).
func (d *doc) heading(text string) {
	d.ensure(lineH(15) + 8 + 110)
	d.y += 6
	d.setFont(true, 15)
	d.color(colorAccent)
	d.textAt(marginLeft, d.y, contentW, 15, d.clean(text), gopdf.Left)
	d.pdf.AddOutline(d.clean(text))
	if _, seen := d.sectionPage[text]; !seen {
		d.sectionPage[text] = d.pages
	}
	d.y += lineH(15) + 2
	d.rule(d.y, colorAccent, 1)
	d.y += 10
	d.color(colorText)
}

// subheading is a title inside a section.
func (d *doc) subheading(text string) {
	d.ensure(lineH(11) + 40)
	d.y += 4
	d.setFont(true, 11)
	d.color(colorAccent)
	for _, line := range d.capLines(d.wrap(text, contentW), maxTitleLines, contentW) {
		d.textAt(marginLeft, d.y, contentW, 11, line, gopdf.Left)
		d.y += lineH(11)
	}
	d.y += 3
	d.color(colorText)
}

// para writes wrapped text from x = marginLeft+indent, breaking pages between lines.
func (d *doc) para(text string, size float64, bold bool, indent float64) {
	d.setFont(bold, size)
	for _, line := range d.wrap(text, contentW-indent) {
		d.ensure(lineH(size))
		d.textAt(marginLeft+indent, d.y, contentW-indent, size, line, gopdf.Left)
		d.y += lineH(size)
	}
	d.y += size * 0.4
}

// bullets writes a list, one bullet per item, wrapped under its own indent.
func (d *doc) bullets(items []string, size float64) {
	d.setFont(false, size)
	const indent = 14.0
	for _, item := range items {
		lines := d.wrap(item, contentW-indent)
		for i, line := range lines {
			d.ensure(lineH(size))
			if i == 0 {
				d.textAt(marginLeft+4, d.y, indent, size, "•", gopdf.Left)
			}
			d.textAt(marginLeft+indent, d.y, contentW-indent, size, line, gopdf.Left)
			d.y += lineH(size)
		}
	}
	d.y += size * 0.4
}

// kv is a list of label: value rows, the labels in a column of labelW points.
type kv struct{ label, value string }

func (d *doc) kvs(rows []kv, size, labelW float64) {
	valueW := contentW - labelW
	for _, row := range rows {
		d.setFont(false, size)
		lines := d.wrap(row.value, valueW-cellPadX)
		d.setFont(true, size)
		labelLines := d.wrap(row.label, labelW-cellPadX)
		n := max(len(lines), len(labelLines))
		// A row stays on one page when it fits one; a longer value (a clause's text) breaks
		// between its lines.
		if h := float64(n) * lineH(size); h <= bottomY-marginTop {
			d.ensure(h)
		}
		for i := range n {
			d.ensure(lineH(size))
			if i < len(labelLines) {
				d.setFont(true, size)
				d.color(colorMuted)
				d.textAt(marginLeft, d.y, labelW, size, labelLines[i], gopdf.Left)
				d.color(colorText)
			}
			if i < len(lines) {
				d.setFont(false, size)
				d.textAt(marginLeft+labelW, d.y, valueW, size, lines[i], gopdf.Left)
			}
			d.y += lineH(size)
		}
	}
	d.y += size * 0.5
}

// kvPairs lays label: value pairs out two to a line, for the short facts of a drill; the
// left pair's labels are leftLabelW wide, the right's rightLabelW.
func (d *doc) kvPairs(rows [][2]kv, size, leftLabelW, rightLabelW float64) {
	const gap = 10.0
	half := (contentW - gap) / 2
	type side struct {
		x, labelW float64
	}
	sides := [2]side{{marginLeft, leftLabelW}, {marginLeft + half + gap, rightLabelW}}
	for _, row := range rows {
		var labels, values [2][]string
		n := 1
		for i, pair := range row {
			d.setFont(true, size)
			labels[i] = d.capLines(d.wrap(pair.label, sides[i].labelW-cellPadX), maxCellLines, sides[i].labelW-cellPadX)
			d.setFont(false, size)
			values[i] = d.capLines(d.wrap(pair.value, half-sides[i].labelW-cellPadX), maxCellLines, half-sides[i].labelW-cellPadX)
			n = max(n, len(labels[i]), len(values[i]))
		}
		d.ensure(float64(n) * lineH(size))
		for i := range row {
			d.setFont(true, size)
			d.color(colorMuted)
			for j, line := range labels[i] {
				d.textAt(sides[i].x, d.y+float64(j)*lineH(size), sides[i].labelW, size, line, gopdf.Left)
			}
			d.color(colorText)
			d.setFont(false, size)
			for j, line := range values[i] {
				d.textAt(sides[i].x+sides[i].labelW, d.y+float64(j)*lineH(size), half-sides[i].labelW, size, line, gopdf.Left)
			}
		}
		d.y += float64(n) * lineH(size)
	}
	d.y += size * 0.5
}

// column is one column of a table: its title and its share of the content width.
type column struct {
	title string
	width float64
	align int
}

// cell is one cell of a table row; fill, when set, shades it (always with a word in it).
type cell struct {
	text string
	bold bool
	fill *rgb
}

// table lays out rows under a header row that repeats, marked as continued, on every page the
// table spans. A row never splits across pages.
type table struct {
	d    *doc
	cols []column
	size float64
	rows int
}

func (d *doc) newTable(size float64, cols ...column) *table {
	total := 0.0
	for _, c := range cols {
		total += c.width
	}
	// Widths are relative: scale them to the content width so columns always add up.
	for i := range cols {
		cols[i].width = cols[i].width / total * contentW
	}
	t := &table{d: d, cols: cols, size: size}
	d.ensure(t.headerHeight() + 2*(2*lineH(size)+2*cellPadY))
	t.header(false)
	return t
}

func (t *table) headerHeight() float64 {
	d := t.d
	d.setFont(true, t.size)
	n := 1
	for _, c := range t.cols {
		n = max(n, len(d.wrap(c.title, c.width-2*cellPadX)))
	}
	return float64(n)*lineH(t.size) + 2*cellPadY
}

func (t *table) header(continued bool) {
	d := t.d
	if continued {
		d.setFont(false, t.size)
		d.color(colorMuted)
		d.textAt(marginLeft, d.y, contentW, t.size, d.l.continued, gopdf.Right)
		d.y += lineH(t.size)
	}
	h := t.headerHeight()
	d.fillRect(marginLeft, d.y, contentW, h, colorHeaderBG)
	d.setFont(true, t.size)
	d.color(colorAccent)
	x := marginLeft
	for _, c := range t.cols {
		for i, line := range d.wrap(c.title, c.width-2*cellPadX) {
			d.textAt(x+cellPadX, d.y+cellPadY+float64(i)*lineH(t.size), c.width-2*cellPadX, t.size, line, c.align)
		}
		x += c.width
	}
	d.y += h
	d.pdf.SetStrokeColor(colorAccent.r, colorAccent.g, colorAccent.b)
	d.pdf.SetLineWidth(0.8)
	d.pdf.Line(marginLeft, d.y, pageW-marginRight, d.y)
	d.color(colorText)
}

// cellLines wraps a cell's text for its column, capped at maxCellLines.
func (t *table) cellLines(c cell, width float64) []string {
	d := t.d
	d.setFont(c.bold, t.size)
	return d.capLines(d.wrap(c.text, width-2*cellPadX), maxCellLines, width-2*cellPadX)
}

// row adds a row; note, when not empty, is a full-width line under it in a smaller type (the
// reasons of a service, a step's error) that stays on the same page as its row.
func (t *table) row(cells []cell, note string) {
	d := t.d
	if d.err != nil {
		return
	}
	if len(cells) != len(t.cols) {
		d.fail(fmt.Errorf("table row has %d cells for %d columns", len(cells), len(t.cols)))
		return
	}
	wrapped := make([][]string, len(cells))
	n := 1
	for i, c := range cells {
		wrapped[i] = t.cellLines(c, t.cols[i].width)
		n = max(n, len(wrapped[i]))
	}
	rowH := float64(n)*lineH(t.size) + 2*cellPadY
	noteSize := t.size - 0.5
	var noteLines []string
	if note != "" {
		d.setFont(false, noteSize)
		noteLines = d.wrap(note, contentW-2*cellPadX-12)
		if len(noteLines) > maxCellLines*2 {
			noteLines = append(noteLines[:maxCellLines*2-1], "…")
		}
	}
	noteH := 0.0
	if len(noteLines) > 0 {
		noteH = float64(len(noteLines))*lineH(noteSize) + cellPadY
	}
	if d.y+rowH+noteH > bottomY {
		d.newPage()
		t.header(true)
	}
	if t.rows%2 == 1 {
		d.fillRect(marginLeft, d.y, contentW, rowH+noteH, colorZebra)
	}
	x := marginLeft
	for i, c := range cells {
		if c.fill != nil {
			d.fillRect(x+1, d.y+1, t.cols[i].width-2, rowH-2, *c.fill)
		}
		d.setFont(c.bold, t.size)
		for j, line := range wrapped[i] {
			d.textAt(x+cellPadX, d.y+cellPadY+float64(j)*lineH(t.size), t.cols[i].width-2*cellPadX, t.size, line, t.cols[i].align)
		}
		x += t.cols[i].width
	}
	d.y += rowH
	if len(noteLines) > 0 {
		d.setFont(false, noteSize)
		d.color(colorMuted)
		for _, line := range noteLines {
			d.textAt(marginLeft+cellPadX+12, d.y, contentW-2*cellPadX-12, noteSize, line, gopdf.Left)
			d.y += lineH(noteSize)
		}
		d.y += cellPadY
		d.color(colorText)
	}
	d.pdf.SetStrokeColor(colorRule.r, colorRule.g, colorRule.b)
	d.pdf.SetLineWidth(0.4)
	d.pdf.Line(marginLeft, d.y, pageW-marginRight, d.y)
	t.rows++
}

// end closes the table with some space.
func (t *table) end() { t.d.y += 10 }
