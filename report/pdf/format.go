package pdf

import (
	"strconv"
	"strings"
	"time"
)

// durationText prints a duration of ms milliseconds exactly, in the largest units that hold it
// ("3h", "4m 12s", "4m 12.345s", "319 ms"). Exact to the millisecond because the report is read
// against its ceilings: a measured 3h 0m 0.4s must not print as "3h" next to a 3h ceiling it
// exceeds.
func durationText(ms int64, lang string) string {
	if ms < 0 {
		return "-" + durationText(-ms, lang)
	}
	if ms < 1000 {
		return strconv.FormatInt(ms, 10) + " ms"
	}
	unitH, unitM, unitS := "h", "m", "s"
	if lang == "ko" {
		unitH, unitM, unitS = "시간", "분", "초"
	}
	h := ms / 3_600_000
	m := ms / 60_000 % 60
	s := ms / 1000 % 60
	frac := ms % 1000
	var parts []string
	if h > 0 {
		parts = append(parts, strconv.FormatInt(h, 10)+unitH)
	}
	if m > 0 || (h > 0 && (s > 0 || frac > 0)) {
		parts = append(parts, strconv.FormatInt(m, 10)+unitM)
	}
	if s > 0 || frac > 0 {
		sec := strconv.FormatInt(s, 10)
		if frac > 0 {
			sec += strings.TrimRight("."+leftPad(strconv.FormatInt(frac, 10), 3), "0")
		}
		parts = append(parts, sec+unitS)
	}
	return strings.Join(parts, " ")
}

// optDuration prints a measured duration, or the "not measured" word when there is none.
func optDuration(ms *int64, lang, notMeasured string) string {
	if ms == nil {
		return notMeasured
	}
	return durationText(*ms, lang)
}

func leftPad(s string, n int) string {
	for len(s) < n {
		s = "0" + s
	}
	return s
}

// Times print in UTC, labelled, as report.json holds them: the reader compares the two.
const (
	secondLayout = "2006-01-02 15:04:05"
	dateLayout   = "2006-01-02"
	clockLayout  = "15:04:05"
)

func (d *doc) second(t time.Time) string { return t.UTC().Format(secondLayout) + " " + d.l.utc }

func (d *doc) optSecond(t *time.Time) string {
	if t == nil {
		return d.l.none
	}
	return d.second(*t)
}

// fingerprintText groups a hex fingerprint in fours so that a person can read it aloud and
// compare it with the key they were given.
func fingerprintText(hex string) string {
	var b strings.Builder
	for i, r := range []rune(hex) {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// orNone is s, or the "none" word when s is empty.
func (d *doc) orNone(s string) string {
	if strings.TrimSpace(s) == "" {
		return d.l.none
	}
	return s
}
