package pdf

import (
	"strings"
	"testing"

	"github.com/signintech/gopdf"
)

func TestDurationText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ms     int64
		en, ko string
	}{
		{0, "0 ms", "0 ms"},
		{319, "319 ms", "319 ms"},
		{1000, "1s", "1초"},
		{12_300, "12.3s", "12.3초"},
		{60_000, "1m", "1분"},
		{252_345, "4m 12.345s", "4분 12.345초"},
		{3_600_000, "1h", "1시간"},
		{5_400_000, "1h 30m", "1시간 30분"},
		// Over a 3h ceiling by 0.4s: it must not print as "3h".
		{10_800_400, "3h 0m 0.4s", "3시간 0분 0.4초"},
		{10_801_000, "3h 0m 1s", "3시간 0분 1초"},
		{-1500, "-1.5s", "-1.5초"},
	}
	for _, tt := range tests {
		if got := durationText(tt.ms, "en"); got != tt.en {
			t.Errorf("durationText(%d, en) = %q, want %q", tt.ms, got, tt.en)
		}
		if got := durationText(tt.ms, "ko"); got != tt.ko {
			t.Errorf("durationText(%d, ko) = %q, want %q", tt.ms, got, tt.ko)
		}
	}
}

func TestFingerprintTextGroupsInFours(t *testing.T) {
	t.Parallel()
	if got, want := fingerprintText("3f9a1c0e5b"), "3f9a 1c0e 5b"; got != want {
		t.Errorf("fingerprintText = %q, want %q", got, want)
	}
}

// TestWrapFitsAndKeepsEveryCharacter: every line fits its width (no text runs past a column or
// the margin) and wrapping loses nothing but the spaces it broke at.
func TestWrapFitsAndKeepsEveryCharacter(t *testing.T) {
	t.Parallel()
	d := &doc{pdf: &gopdf.GoPdf{}, glyphs: map[rune]bool{}}
	d.pdf.Start(gopdf.Config{PageSize: gopdf.Rect{W: pageW, H: pageH}, Unit: gopdf.UnitPT})
	if err := d.pdf.AddTTFFontData(fontRegular, nanumGothic); err != nil {
		t.Fatal(err)
	}
	if err := d.pdf.AddTTFFontData(fontBold, nanumGothicBold); err != nil {
		t.Fatal(err)
	}
	inputs := []string{
		"payments는 훈련했지만 payments가 의존하는 auth는 2026년에 한 번도 전환하지 않았습니다.",
		"띄어쓰기없이아주길게이어지는한국어문장은글자단위로나뉘어야합니다그렇지않으면칸을넘칩니다",
		"a41f0c9e3b5d7f1a2c4e6b8d0f3a5c7e9b1d2f4a6c8e0b3d5f7a9c1e2b4d6f8a",
		"https://www.law.go.kr/행정규칙/전자금융감독규정/제24조?version=2025-01-01&print=true",
		"two\nlines and a very long second line that has to wrap somewhere along the way",
		"x",
	}
	for _, bold := range []bool{false, true} {
		for _, size := range []float64{7.5, 10, 15} {
			for _, width := range []float64{20, 61, 140, contentW} {
				d.setFont(bold, size)
				for _, in := range inputs {
					lines := d.wrap(in, width)
					for _, line := range lines {
						if w := d.width(line); w > width && len([]rune(line)) > 1 {
							t.Errorf("wrap(%q, %v) line %q is %.1f wide", in, width, line, w)
						}
					}
					if got, want := squeeze(strings.Join(lines, "")), squeeze(in); got != want {
						t.Errorf("wrap(%q, %v) lost text: %q", in, width, got)
					}
				}
			}
		}
	}
	if d.err != nil {
		t.Fatal(d.err)
	}
}

func squeeze(s string) string { return strings.Join(strings.Fields(s), "") }
