package pages_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// recordSkippedFires records, as the scheduler would, the March fire skipped because the
// schedule was paused and a fire missed while the scheduler was down (at a time the cron no
// longer computes).
func recordSkippedFires(t *testing.T, c *console) {
	t.Helper()
	ctx := context.Background()
	name := "semiannual-sangam-loss"
	if _, err := c.ctl.SchedulePause(ctx, c.callers[drills.RoleCompliance], &control.SchedulePauseParams{Name: name, Reason: "audit week"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []store.ScheduleFireParams{
		{Schedule: name, FireTime: time.Date(2027, 3, 14, 17, 0, 0, 0, time.UTC), Decision: store.FireSkippedPaused, Reason: "paused by compliance: audit week"},
		{Schedule: name, FireTime: time.Date(2027, 6, 1, 1, 0, 0, 0, time.UTC), Decision: store.FireSkippedMissed, Reason: "missed: seen 4h0m0s after its time"},
	} {
		f.DecidedBy = "pages-test"
		if _, err := c.st.ScheduleFire(ctx, &f); err != nil {
			t.Fatal(err)
		}
	}
}

// The month view says in words why each fire was skipped: the blackout, the paused
// schedule, the fire missed while the scheduler was down.
func TestCalendarSkippedFiresWithTheirReason(t *testing.T) {
	t.Parallel()
	c := setup(t)
	recordSkippedFires(t, c)
	march := c.get(t, drills.RoleViewer, "/calendar?month=2027-03", "Accept-Language", "en").body
	if !regexp.MustCompile(`(?s)<div class="day">15</div>.*?⊘</span> Skipped: semiannual-sangam-loss <span class="sub skip-why">\(schedule paused: paused by compliance: audit week\)</span>`).MatchString(march) {
		t.Errorf("March does not say the 15th's fire was skipped because the schedule was paused:\n%s", excerpt(march))
	}
	if !strings.Contains(march, "Blackout: holidays (public holidays)") || !strings.Contains(march, `blackout-day`) {
		t.Errorf("March does not shade 1 March's holiday and say so in words")
	}
	june := c.get(t, drills.RoleViewer, "/calendar?month=2027-06", "Accept-Language", "ko").body
	if !strings.Contains(june, "건너뜀: semiannual-sangam-loss") || !strings.Contains(june, "스케줄러 중단으로 누락: missed: seen 4h0m0s after its time") {
		t.Errorf("June does not show the missed fire with its reason in Korean:\n%s", excerpt(june))
	}
}

// The year view: twelve small months with the drills scheduled, skipped and due in each,
// whole-day blackouts hatched and named, and every skipped fire listed with its reason.
func TestCalendarYear(t *testing.T) {
	t.Parallel()
	c := setup(t)
	recordSkippedFires(t, c)
	c.runDrill(t, "", 8*time.Minute)
	forbiddenFor(t, c, "/calendar?view=year", control.OpScheduleRead)
	got := c.get(t, drills.RoleCompliance, "/calendar?view=year&year=2027", "Accept-Language", "en")
	body := got.body
	if got.status != http.StatusOK {
		t.Fatalf("the year view: %d\n%s", got.status, excerpt(body))
	}
	if n := strings.Count(body, `<section class="mini-month card"`); n != 12 {
		t.Errorf("the year view has %d months, want 12", n)
	}
	for _, want := range []string{
		"Calendar: 2027", `href="/calendar?month=2027-09"`, "September",
		// March: its fire skipped (paused); September: skipped by the holidays.
		"Scheduled: 0 · <strong>Skipped: 1</strong>",
		"schedule paused: paused by compliance: audit week", "blackout holidays", "missed while the scheduler was down",
		// Whole-day blackouts are hatched and said; the part-day one is listed.
		`class=" blackout-day" title="2027-01-01: 0 scheduled, 0 skipped, 0 run; Blackout: holidays (public holidays)"`,
		"market-hours: 08:30–16:00 (KRX trading hours), for semiannual-sangam-loss",
		// The drill that ran, and what is due when.
		"Drills run: 1 (1 passed)", "Nothing due",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the year view lacks %q:\n%s", want, excerpt(body))
		}
	}
	if strings.Count(regexp.MustCompile(`(?s)<h2 id="skip-h">.*?</table>`).FindString(body), "<tr>") != 4 {
		t.Errorf("the skipped fires table does not list the three skipped fires")
	}
	// A year after the drill every service is due again: March 2028 says so.
	next := c.get(t, drills.RoleCompliance, "/calendar?view=year&year=2028", "Accept-Language", "en").body
	if !regexp.MustCompile(`(?s)id="m-2028-03".*?<li class="due">Due: auth, payments, remittance</li>`).MatchString(next) {
		t.Errorf("March 2028 does not say the three services are due:\n%s", excerpt(next))
	}
	if ko := c.get(t, drills.RoleViewer, "/calendar?view=year&year=2027", "Accept-Language", "ko").body; !strings.Contains(ko, "9월") || !strings.Contains(ko, "건너뛴 실행과 사유") {
		t.Errorf("the Korean year view lacks its month names or the skipped list")
	}
	if bad := c.get(t, drills.RoleViewer, "/calendar?view=year&year=twenty"); bad.status != http.StatusBadRequest || !strings.Contains(bad.body, "year") {
		t.Errorf("a bad year: %d, want 400 naming year", bad.status)
	}
	if month := c.get(t, drills.RoleViewer, "/calendar?month=2027-03").body; !strings.Contains(month, `href="/calendar?view=year&amp;year=2027"`) {
		t.Errorf("the month view does not link to its year")
	}
}
