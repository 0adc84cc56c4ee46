package pdf_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"iter"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/report"
	"github.com/firedrill/firedrill/report/pdf"
)

var sampleDir = flag.String("sample", "", "write the sample reports (ko and en) as PDFs into this directory, to look at")

// TestWriteSample writes the sample reports for a person to look at (pdftoppm -png), which is
// how the layout is reviewed: go test ./report/pdf -run TestWriteSample -sample /tmp/pdfs
func TestWriteSample(t *testing.T) {
	if *sampleDir == "" {
		t.Skip("-sample DIR not given")
	}
	for _, lang := range []string{"ko", "en"} {
		out := render(t, sampleHeader(lang), sampleDrills(5, lang), pdf.Config{})
		if err := os.WriteFile(filepath.Join(*sampleDir, "sample-"+lang+".pdf"), out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func render(t *testing.T, h *report.Header, seq iter.Seq2[*report.Drill, error], cfg pdf.Config) []byte {
	t.Helper()
	r, err := pdf.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.Render(&buf, h, seq); err != nil {
		t.Fatalf("Render: %v", err)
	}
	return buf.Bytes()
}

// extracted is the text pdftotext gets out of a PDF, in reading order and in layout order (a
// table row on one line).
type extracted struct {
	raw    string
	layout []string
	pages  int
}

func extract(t *testing.T, doc []byte) extracted {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Fatal("pdftotext not found: install poppler-utils (scripts/test.sh does)")
	}
	file := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(file, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	raw := run("pdftotext", "-enc", "UTF-8", file, "-")
	layout := run("pdftotext", "-layout", "-enc", "UTF-8", file, "-")
	return extracted{raw: raw, layout: strings.Split(layout, "\n"), pages: strings.Count(raw, "\f")}
}

// squeeze drops all white space: pdftotext decides spaces from glyph gaps and breaks lines where
// the layout wrapped them, neither of which the tests are about.
func squeeze(s string) string { return strings.Join(strings.Fields(s), "") }

func (e extracted) has(s string) bool { return strings.Contains(squeeze(e.raw), squeeze(s)) }

func (e extracted) count(s string) int { return strings.Count(squeeze(e.raw), squeeze(s)) }

// row is the first layout line holding every one of cells, in that order: a table row whose
// figures and status sit together.
func (e extracted) row(cells ...string) (string, bool) {
	for _, line := range e.layout {
		rest := squeeze(line)
		ok := true
		for _, c := range cells {
			i := strings.Index(rest, squeeze(c))
			if i < 0 {
				ok = false
				break
			}
			rest = rest[i+len(squeeze(c)):]
		}
		if ok {
			return line, true
		}
	}
	return "", false
}

// coverOnly is e cut to its first page.
func (e extracted) coverOnly() extracted {
	for i, line := range e.layout {
		if strings.Contains(line, "\f") {
			return extracted{raw: strings.Split(e.raw, "\f")[0], layout: e.layout[:i], pages: 1}
		}
	}
	return e
}

func wantText(t *testing.T, e extracted, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !e.has(w) {
			t.Errorf("pdftotext output lacks %q", w)
		}
	}
}

func wantRows(t *testing.T, e extracted, rows [][]string) {
	t.Helper()
	for _, cells := range rows {
		if _, ok := e.row(cells...); !ok {
			t.Errorf("no line of pdftotext -layout holds %q in order", cells)
		}
	}
}

func TestRenderKoreanHeadingsAndFigures(t *testing.T) {
	t.Parallel()
	e := extract(t, render(t, sampleHeader("ko"), sampleDrills(5, "ko"), pdf.Config{}))
	wantText(t, e,
		// cover
		"재해복구 훈련 결과 보고서", "한빛은행 주식회사", "전자금융감독규정 (비상대응 훈련)", "제출처", "금융위원회",
		"대상 기간: 2026", "2026-01-01 – 2026-12-31", "작성 일시", "2027-01-05 01:30:00 UTC",
		"서명 키 지문 (SHA-256)", "3f9a 1c0e 5b7d 2a4f 8e6c 1b3d 5f7a 9c0e 2b4d 6f8a 1c3e 5b7d 9f0a 2c4e 6b8d 0f1a",
		"#48213", "초안 — 게시(승인) 전 문서",
		// section headings
		"1. 요약", "2. 서비스별 준수 현황", "3. 훈련 상세", "4. 미결 발견사항", "5. 위험 수용",
		"6. 재검증으로 종결된 발견사항", "7. 조항별 충족 근거", "8. 승인",
		// the summary's figures and the Kakao lesson in words
		"종합 판정", "× 미준수", "○ 준수 1 · △ 위험 1 · × 미준수 2",
		"2026 기간 동안 서비스 4개를 대상으로 재해복구 훈련을 5회 실시하였고, 그중 4회가 통과하였습니다.",
		"payments는 훈련했지만 payments가 의존하는 auth는 2026년에 한 번도 전환하지 않았습니다.",
		// a drill section
		"3.1 2026-01-04 payments-failover", "3.5 2026-01-16 remittance-failover", "○ 통과", "× 미통과",
		"a41f0c9e3b5d7f1a2c4e6b8d0f3a5c7e9b1d2f4a6c8e0b3d5f7a9c1e2b4d6f8a", "재해 발생 (T0)", "복구 완료 (T1)",
		"계획된 참여자 3명 중 2명이 참석하였습니다.", "DNS TTL이 300초로 남아 있어", "결제 담당자가 불참하여",
		"context deadline exceeded", "카나리아 행이 T0 전에 충분히 쌓이지 않아",
		// findings, risks, clauses, sign-off
		"박지훈 (결제플랫폼팀)", "× 기한 초과", "근본 원인: DR 사이트 DB 승격 전에", "compliance:lee.soyeon",
		"2027년 1분기 망 재구성 때 교체 예정", "run-7f3a91",
		"art24 제24조 비상대책 등의 수립·운용", "이 근거가 보여 주지 않는 것", "훈련 빈도 (drill_frequency), 훈련 통과 여부 (drill_passed), 의존 서비스 전환 (dependencies_covered)",
		"성명·직위", "openssl pkeyutl -verify -pubin -inkey key.pub -rawin -in manifest.json -sigfile manifest.sig",
	)
	// Each status and figure sits on its service's row, and a status is a shape and a word.
	wantRows(t, e, [][]string{
		{"auth", "× 미준수", "1시간", "△ 미입증", "1분", "△ 미입증", "실시 0 / 기한 도래 1"},
		{"payments", "△ 위험", "30분", "4분 12.345초", "5초", "319 ms", "실시 3 / 기한 도래 1"},
		{"remittance", "× 미준수", "2시간", "3시간 0분 0.4초", "1분", "△ 미입증", "실시 2 / 기한 도래 1"},
		{"notification", "○ 준수", "4시간", "1분 35.003초", "15분", "0 ms", "실시 1 / 기한 도래 1"},
		{"F-12", "높음", "remittance RTO 목표 미달", "박지훈", "2026-11-30", "조치 중", "run-c01d22"},
		{"remittance", "2시간", "3시간 0분 0.4초", "× 미달", "1분", "미측정", "△ 미입증"},
		{"wait_healthy", "http.wait_healthy", "yatap", "1", "실패", "01:56:53", "2분 18.88초"},
	})
	for p := 1; p <= e.pages; p++ {
		if _, ok := e.row("보고서 ID R-2027-0001 v1", pageOf(p, e.pages)); !ok {
			t.Errorf("page %d has no footer with the report ID and %q", p, pageOf(p, e.pages))
		}
	}
	// The cover's contents give the page each section starts on.
	pages := strings.Split(e.raw, "\f")
	for _, section := range []string{"1. 요약", "3. 훈련 상세", "4. 미결 발견사항", "7. 조항별 충족 근거", "8. 승인"} {
		landed := 0
		for i, text := range pages[1:] {
			if strings.Contains(squeeze(text), squeeze(section)) {
				landed = i + 2
				break
			}
		}
		if landed == 0 {
			t.Errorf("no page after the cover holds %q", section)
			continue
		}
		if _, ok := e.coverOnly().row(section, fmt.Sprint(landed)); !ok {
			t.Errorf("the contents do not give page %d for %q", landed, section)
		}
	}
}

func pageOf(p, n int) string { return fmt.Sprintf("%d / %d", p, n) }

func TestRenderEnglishHeadingsAndFigures(t *testing.T) {
	t.Parallel()
	e := extract(t, render(t, sampleHeader("en"), sampleDrills(5, "en"), pdf.Config{}))
	wantText(t, e,
		"Disaster-recovery drill report", "Hanbit Bank Co., Ltd.", "Submitted to", "Financial Services Commission",
		"Period: 2026", "DRAFT — not yet published (signed off)",
		"1. Executive summary", "2. Services: objectives against results", "3. Drills", "4. Open findings",
		"5. Accepted risks", "6. Findings closed by a retest", "7. Clause map", "8. Sign-off",
		"× non-compliant", "○ compliant 1 · △ at risk 1 · × non-compliant 2",
		"In 2026, 5 disaster-recovery drills were run across 4 services; 4 passed.",
		"payments was drilled, but auth, which it depends on, was never failed over in 2026: the drill does not show payments can run on the DR site.",
		"3.1 2026-01-04 payments-failover", "2 of the 3 intended participants attended.",
		"What this evidence does not show", "This report is a draft.", "RTO within objective and ceiling (rto_within)",
	)
	wantRows(t, e, [][]string{
		{"payments", "△ at risk", "30m", "4m 12.345s", "5s", "319 ms", "run 3 / due 1"},
		{"remittance", "× non-compliant", "2h", "3h 0m 0.4s", "1m", "△ not evidenced", "run 2 / due 1"},
		{"payments", "30m", "4m 12.345s", "○ met", "5s", "319 ms", "○ met", "3"},
		{"F-12", "high", "remittance missed its RTO objective", "Park Jihoon", "2026-11-30", "in progress"},
	})
	// Korean words stay out of an English report (the fixed words are all translated).
	for _, ko := range []string{"요약", "서비스", "훈련", "초안"} {
		if e.has(ko) {
			t.Errorf("the English report holds the Korean word %q", ko)
		}
	}
}

func TestRenderPublishedNamesWhoSignedOff(t *testing.T) {
	t.Parallel()
	h := sampleHeader("en")
	h.State = "published"
	h.SignOff = &report.SignOff{PublishedBy: "compliance:han.jiwoo", PublishedAt: time.Date(2027, 1, 8, 9, 0, 0, 0, time.UTC)}
	h.Replaces = "R-2026-0007"
	e := extract(t, render(t, h, sampleDrills(1, "en"), pdf.Config{}))
	wantRows(t, e, [][]string{
		{"Published (signed off) by", "compliance:han.jiwoo"},
		{"Published at", "2027-01-08 09:00:00 UTC"},
		{"Replaces", "R-2026-0007"},
		{"State", "published"},
	})
	for _, draft := range []string{"DRAFT", "This report is a draft."} {
		if e.has(draft) {
			t.Errorf("a published report says %q", draft)
		}
	}
}

func TestRenderCapsDrillSectionsAndSaysSo(t *testing.T) {
	t.Parallel()
	e := extract(t, render(t, sampleHeader("en"), sampleDrills(7, "en"), pdf.Config{MaxDrillSections: 2, MaxListedRows: 3}))
	if got := e.count("Plan hash (SHA-256)"); got != 2 {
		t.Errorf("%d full drill sections, want 2", got)
	}
	wantText(t, e, "3-1. Further drills", "This report describes the first 2 drills in full and lists the others one per line below.",
		"2 further drills are not listed here; they are in report.json, runs.csv and events.ndjson of the same signed bundle.")
	wantRows(t, e, [][]string{
		{"3", "2026-01-10", "run-000003", "payments-failover", "succeeded", "○ passed", "4m 12.345s"},
		{"5", "2026-01-16", "run-000005", "remittance-failover", "failed", "× not passed", "3h 0m 0.4s"},
	})
	for _, absent := range []string{"run-000006", "run-000007"} {
		if e.has(absent) {
			t.Errorf("drill %s is printed, beyond both caps", absent)
		}
	}
}

func TestRenderWithoutDrills(t *testing.T) {
	t.Parallel()
	e := extract(t, render(t, sampleHeader("ko"), nil, pdf.Config{}))
	wantText(t, e, "이 기간에 종료된 훈련이 없습니다.", "8. 승인")
}

func TestRenderStopsAtTheFirstDrillError(t *testing.T) {
	t.Parallel()
	errSource := errors.New("step rows: connection reset")
	seq := func(yield func(*report.Drill, error) bool) {
		if !yield(sampleDrill(1, "en"), nil) {
			return
		}
		if !yield(nil, errSource) {
			return
		}
		t.Error("the sequence was read past its error")
	}
	var buf bytes.Buffer
	err := pdf.Render(&buf, sampleHeader("en"), seq)
	if !errors.Is(err, errSource) {
		t.Fatalf("Render = %v, want it to wrap %v", err, errSource)
	}
	if !strings.Contains(err.Error(), "drill 2") {
		t.Errorf("Render = %v, want it to name drill 2", err)
	}
	if buf.Len() != 0 {
		t.Errorf("Render wrote %d bytes before failing, want none", buf.Len())
	}
}

func TestRenderRejectsHeadersItCannotBeHonestAbout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(h *report.Header)
		want   string
	}{
		{"language", func(h *report.Header) { h.Language = "fr" }, `header language "fr"`},
		{"institution", func(h *report.Header) { h.Institution = "" }, "header institution"},
		{"profile", func(h *report.Header) { h.Profile.ID = "" }, "header profile.id"},
		{"period name", func(h *report.Header) { h.Period.Name = "" }, "header period.name"},
		{"period order", func(h *report.Header) { h.Period.End = h.Period.Start }, "header period"},
		{"generated at", func(h *report.Header) { h.GeneratedAt = time.Time{} }, "header generated_at"},
		{"state", func(h *report.Header) { h.State = "final" }, `header state "final"`},
		{"unsigned publication", func(h *report.Header) { h.State = "published" }, "header sign_off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := sampleHeader("en")
			tt.change(h)
			var buf bytes.Buffer
			err := pdf.Render(&buf, h, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Render = %v, want an error naming %q", err, tt.want)
			}
		})
	}
	if err := pdf.Render(&bytes.Buffer{}, nil, nil); err == nil {
		t.Error("Render(nil header) = nil, want an error")
	}
	if err := pdf.Render(nil, sampleHeader("en"), nil); err == nil {
		t.Error("Render(nil writer) = nil, want an error")
	}
	for _, cfg := range []pdf.Config{{MaxDrillSections: -1}, {MaxListedRows: -1}} {
		if _, err := pdf.New(cfg); err == nil {
			t.Errorf("New(%+v) = nil error, want one naming the field", cfg)
		}
	}
}

// TestRenderHostileText feeds text a form field could hold: emoji the font lacks, control
// characters, a word longer than any column, an error message longer than a page.
func TestRenderHostileText(t *testing.T) {
	t.Parallel()
	h := sampleHeader("ko")
	long := strings.Repeat("abcdefghij", 300)
	h.Services[1].Reasons[0].Text = "의존성 😀 누락\tTAB\x00NUL\r\n" + long
	h.Findings[0].RootCause = strings.Repeat("원인을 설명하는 아주 긴 문장입니다 ", 400)
	drill := sampleDrill(5, "ko")
	drill.Steps[len(drill.Steps)-1].Error = strings.Repeat("줄바꿈 없는 오류", 2000)
	drill.Lessons = append(drill.Lessons, strings.Repeat("교훈 ", 3000))
	h.Institution = strings.Repeat("아주 긴 기관 이름 ", 40)
	h.ID = strings.Repeat("R", 300)
	h.Clauses[0].DoesNotShow = strings.Repeat("이 근거는 많은 것을 보여 주지 않습니다 ", 300)
	h.Clauses[1].Title = strings.Repeat("아주 긴 조항 제목 ", 60)
	drill.Scenario = strings.Repeat("scenario ", 2000)
	drill.RequestedBy = strings.Repeat("x", 500)
	for range 60 {
		drill.Steps = append(drill.Steps, drill.Steps[0])
	}
	doc := render(t, h, func(yield func(*report.Drill, error) bool) { yield(drill, nil) }, pdf.Config{})
	e := extract(t, doc)
	wantText(t, e, "의존성 ? 누락 TAB NUL", "abcdefghijabcdefghij", "…", "8. 승인")
	wantLaidOut(t, doc)
}

func TestRenderSampleIsLaidOut(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"ko", "en"} {
		wantLaidOut(t, render(t, sampleHeader(lang), sampleDrills(7, lang), pdf.Config{MaxDrillSections: 5, MaxListedRows: 10}))
	}
}

var wordBox = regexp.MustCompile(`<word xMin="([0-9.]+)" yMin="([0-9.]+)" xMax="([0-9.]+)" yMax="([0-9.]+)">([^<]*)</word>`)

// wantLaidOut checks, from the word boxes pdftotext -bbox reports, that no word runs past the
// left or right margin, none sits between the body and the footer (text that ran off the
// bottom of the page), and no two words overlap (text drawn over text).
func wantLaidOut(t *testing.T, doc []byte) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(file, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-bbox", file, "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext -bbox: %v\n%s", err, out)
	}
	// The page geometry of layout.go, in points, with half a point for rounding.
	const (
		pageW, pageH          = 595.28, 841.89
		left, right           = 56 - 0.5, pageW - 56 + 0.5
		bodyBottom, footerTop = pageH - 64 + 0.5, pageH - 46
		slack                 = 0.5
	)
	type box struct {
		x0, y0, x1, y1 float64
		text           string
	}
	problems := 0
	report := func(format string, args ...any) {
		if problems < 10 {
			t.Errorf(format, args...)
		}
		problems++
	}
	for p, page := range strings.Split(string(out), "<page ")[1:] {
		var words []box
		for _, m := range wordBox.FindAllStringSubmatch(page, -1) {
			var b box
			for i, f := range []*float64{&b.x0, &b.y0, &b.x1, &b.y1} {
				v, err := strconv.ParseFloat(m[i+1], 64)
				if err != nil {
					t.Fatal(err)
				}
				*f = v
			}
			b.text = m[5]
			words = append(words, b)
			if b.x0 < left || b.x1 > right {
				report("page %d: %q runs past a margin (x %.1f..%.1f)", p+1, b.text, b.x0, b.x1)
			}
			if b.y1 > bodyBottom && b.y0 < footerTop {
				report("page %d: %q runs off the body into the footer (y %.1f..%.1f)", p+1, b.text, b.y0, b.y1)
			}
		}
		for i := range words {
			for j := i + 1; j < len(words); j++ {
				a, b := words[i], words[j]
				if a.x0 < b.x1-slack && b.x0 < a.x1-slack && a.y0 < b.y1-slack && b.y0 < a.y1-slack {
					report("page %d: %q and %q overlap", p+1, a.text, b.text)
				}
			}
		}
	}
	if problems > 10 {
		t.Errorf("... and %d more layout problems", problems-10)
	}
}

func TestRenderUnknownEnumsPrintAsTheyAre(t *testing.T) {
	t.Parallel()
	h := sampleHeader("en")
	h.Findings[0].Status = drills.FindingStatus("escalated")
	h.Findings[0].Kind = drills.FindingKind("audit_note")
	e := extract(t, render(t, h, nil, pdf.Config{}))
	wantText(t, e, "escalated", "audit_note")
}

// TestRenderIsDeterministicAndConcurrent: the same report renders the same bytes (its hash in
// the manifest can be reproduced from report.json's content), including when several reports
// render at once from one Renderer, as concurrent exports do.
func TestRenderIsDeterministicAndConcurrent(t *testing.T) {
	t.Parallel()
	want := render(t, sampleHeader("ko"), sampleDrills(3, "ko"), pdf.Config{})
	r, err := pdf.New(pdf.Config{})
	if err != nil {
		t.Fatal(err)
	}
	const renders = 4
	results := make(chan []byte, renders)
	errs := make(chan error, renders)
	for range renders {
		go func() {
			var buf bytes.Buffer
			if err := r.Render(&buf, sampleHeader("ko"), sampleDrills(3, "ko")); err != nil {
				errs <- err
				return
			}
			results <- buf.Bytes()
		}()
	}
	for range renders {
		select {
		case err := <-errs:
			t.Fatalf("Render: %v", err)
		case got := <-results:
			if !bytes.Equal(got, want) {
				t.Fatalf("a render gave %d bytes that differ from the first render's %d", len(got), len(want))
			}
		}
	}
}

// TestRenderEmbedsFontSubsets: both faces are embedded (the PDF renders on a machine without
// Nanum), as subsets (a report does not carry 9 MB of fonts), with a Unicode map (text
// extracts).
func TestRenderEmbedsFontSubsets(t *testing.T) {
	t.Parallel()
	doc := render(t, sampleHeader("ko"), sampleDrills(1, "ko"), pdf.Config{})
	file := filepath.Join(t.TempDir(), "report.pdf")
	if err := os.WriteFile(file, doc, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdffonts", file).CombinedOutput()
	if err != nil {
		t.Fatalf("pdffonts (poppler-utils): %v\n%s", err, out)
	}
	fonts := 0
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.Contains(line, "NanumGothic") {
			continue
		}
		fonts++
		// Columns: name, type (two words), encoding, emb, sub, uni, object ID.
		f := strings.Fields(line)
		if len(f) < 7 || f[len(f)-5] != "yes" || f[len(f)-4] != "yes" || f[len(f)-3] != "yes" {
			t.Errorf("pdffonts: %q, want embedded, subset and with a Unicode map", line)
		}
	}
	if fonts != 2 {
		t.Errorf("pdffonts lists %d NanumGothic faces, want 2 (regular, bold):\n%s", fonts, out)
	}
	if len(doc) > 1<<20 {
		t.Errorf("a one-drill report is %d bytes: the fonts are not subset", len(doc))
	}
}
