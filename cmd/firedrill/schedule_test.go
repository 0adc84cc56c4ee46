package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/internal/clock/clocktest"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/orchestrator/scheduler"
	"github.com/firedrill/firedrill/orchestrator/store"
)

const scheduleEstate = "testdata/schedule/firedrill.hcl"

// scheduleDB returns a migrated SQLite database in which a scheduler has decided the fires of
// testdata/schedule's schedules from 2027-01-01 to 2027-01-03 (KST).
func scheduleDB(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	url := "sqlite:" + filepath.Join(t.TempDir(), "firedrill.db")
	kst := time.FixedZone("KST", 9*3600)
	start := time.Date(2027, 1, 1, 0, 0, 0, 0, kst)
	clk := clocktest.New(start)
	st, err := store.Open(ctx, store.Config{DatabaseURL: url, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := st.MigrateUp(ctx); err != nil {
		t.Fatal(err)
	}
	estate, src, err := loadEstate(scheduleEstate)
	if err != nil {
		t.Fatal(err)
	}
	s, err := scheduler.New(scheduler.Config{
		Store: st, Estate: estate, EstateSource: src, EstateFile: scheduleEstate,
		LoadPlan: schedulePlanLoader(scheduleEstate), Clock: clk, Owner: "test",
		Tick: time.Hour, LeaseFor: 2 * time.Hour, MissedGrace: 90 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	for now := start; !now.After(start.Add(72 * time.Hour)); now = now.Add(time.Hour) {
		clk.Set(now)
		if err := s.Tick(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return url
}

// scheduleServer serves the API over scheduleDB's database, with testdata/schedule's estate,
// and returns it with the tokens of a compliance officer (kim) and an SRE (alice).
func scheduleServer(t *testing.T) (srv *apiServer, kim, alice string) {
	t.Helper()
	url := scheduleDB(t)
	st, err := store.Open(context.Background(), store.Config{DatabaseURL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv = apiOver(t, st, url, scheduleEstate)
	admin := srv.bootstrap(t, "root")
	return srv, srv.person(t, admin, "kim", "compliance"), srv.person(t, admin, "alice", "sre")
}

func TestScheduleListShowPauseResume(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, kim, alice := scheduleServer(t)
	cli := func(args ...string) cliResult { return runCLI(t, ctx, srv.as(alice), args...) }

	res := cli("schedule", "list")
	if res.code != exitOK {
		t.Fatalf("schedule list: exit %d: %s", res.code, res.stderr)
	}
	for _, want := range []string{"NAME", "nightly", "weekly-ny", "Asia/Seoul", "America/New_York", "0 2 * * *", "active"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("schedule list lacks %q:\n%s", want, res.stdout)
		}
	}

	// Pausing is the compliance officer's.
	if res := cli("schedule", "pause", "nightly", "--reason", "x"); res.code != exitError || !strings.Contains(res.stderr, "schedule.pause") {
		t.Errorf("an SRE pauses: exit %d, stderr %q; want forbidden", res.code, res.stderr)
	}
	res = srv.cli(t, kim, "schedule", "pause", "nightly", "--reason", "DR site maintenance")
	if !strings.Contains(res.stdout, "schedule nightly paused by kim (via cli): DR site maintenance") {
		t.Fatalf("schedule pause: %s", res.stdout)
	}
	res = cli("schedule", "list", "--json")
	var list struct {
		Schedules []struct {
			Name     string `json:"name"`
			Paused   bool   `json:"paused"`
			PausedBy struct {
				Kind string `json:"kind"`
				Name string `json:"name"`
			} `json:"paused_by"`
			PausedReason string `json:"paused_reason"`
			NextFire     string `json:"next_fire"`
			Recorded     bool   `json:"recorded"`
		} `json:"schedules"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &list); err != nil {
		t.Fatalf("schedule list --json: %v\n%s", err, res.stdout)
	}
	if len(list.Schedules) != 2 || list.Schedules[0].Name != "nightly" || !list.Schedules[0].Paused ||
		list.Schedules[0].PausedBy.Name != "kim" || list.Schedules[0].PausedBy.Kind != "user" || list.Schedules[0].NextFire != "" ||
		list.Schedules[1].Paused || list.Schedules[1].NextFire == "" || !list.Schedules[1].Recorded {
		t.Errorf("schedule list --json = %+v", list.Schedules)
	}

	res = cli("schedule", "show", "nightly", "--json")
	var show struct {
		Schedule struct {
			Cron      string   `json:"cron"`
			Blackouts []string `json:"blackouts"`
		} `json:"schedule"`
		Recent []struct {
			Local    string `json:"local"`
			Decision string `json:"decision"`
			RunID    string `json:"run_id"`
		} `json:"recent_fires"`
		Next []struct {
			Local string `json:"local"`
		} `json:"next_fires"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &show); err != nil {
		t.Fatalf("schedule show --json: %v\n%s", err, res.stdout)
	}
	// Fires on 01-02 and 01-03 at 02:00 KST ran; 01-01 02:00 came 2h after the start, also ran.
	if show.Schedule.Cron != "0 2 * * *" || len(show.Recent) != 3 || show.Recent[0].Local != "2027-01-03 02:00 KST" ||
		show.Recent[0].Decision != store.FireRun || show.Recent[0].RunID == "" || len(show.Next) != 5 {
		t.Errorf("schedule show --json = %+v", show)
	}
	res = cli("schedule", "show", "nightly")
	for _, want := range []string{"nightly", "start within  1h\n", "paused by kim: DR site maintenance", "2027-01-03 02:00 KST  run", "next fires:"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("schedule show lacks %q:\n%s", want, res.stdout)
		}
	}
	if res := cli("schedule", "show", "nightly", "--recent", "1"); strings.Contains(res.stdout, "2027-01-02 02:00 KST") || !strings.Contains(res.stdout, "2027-01-03 02:00 KST") {
		t.Errorf("schedule show --recent 1:\n%s", res.stdout)
	}

	resumed := decodeJSON[control.ScheduleView](t, srv.cli(t, kim, "schedule", "resume", "nightly", "--json"))
	if resumed.Paused || resumed.NextFire == nil {
		t.Errorf("schedule resume --json = %+v; want active with a next fire", resumed)
	}

	bad := []struct {
		token string
		args  []string
		want  string
	}{
		{kim, []string{"schedule", "pause", "nightly"}, "reason is required"},
		{kim, []string{"schedule", "pause", "nope", "--reason", "x"}, `nope`},
		{alice, []string{"schedule", "show", "nope"}, `nope`},
		{alice, []string{"schedule", "show", "nightly", "--recent", "0"}, "--recent"},
	}
	for _, b := range bad {
		res := runCLI(t, ctx, srv.as(b.token), b.args...)
		if res.code != exitError || !strings.Contains(res.stderr, b.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 and %q", b.args, res.code, res.stderr, b.want)
		}
	}
}

func TestCalendar(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv, _, alice := scheduleServer(t)
	res := srv.cli(t, alice, "calendar", "--from", "2027-01-24", "--to", "2027-02-01")
	golden(t, "calendar.txt", res.stdout)

	res = srv.cli(t, alice, "calendar", "--from", "2027-03-13", "--to", "2027-03-14", "--schedule", "weekly-ny", "--json")
	var cal struct {
		Fires []struct {
			Schedule string `json:"schedule"`
			At       string `json:"at"`
			Local    string `json:"local"`
		} `json:"fires"`
		Services []struct {
			Service      string `json:"service"`
			Every        string `json:"every"`
			NeverDrilled bool   `json:"never_drilled"`
		} `json:"services"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &cal); err != nil {
		t.Fatalf("calendar --json: %v\n%s", err, res.stdout)
	}
	// 02:30 does not exist in New York on 2027-03-14: the fire is at 03:30 EDT.
	if len(cal.Fires) != 1 || cal.Fires[0].Local != "2027-03-14 03:30 EDT" || cal.Fires[0].At != "2027-03-14T07:30:00Z" {
		t.Errorf("calendar --json fires = %+v", cal.Fires)
	}
	if len(cal.Services) != 1 || cal.Services[0].Service != "auth" || cal.Services[0].Every != "90d" || !cal.Services[0].NeverDrilled {
		t.Errorf("calendar --json services = %+v", cal.Services)
	}

	bad := []struct {
		args []string
		want string
	}{
		{[]string{"calendar", "--to", "2027-01-01"}, "--from is required"},
		{[]string{"calendar", "--from", "2027-01-01"}, "--to is required"},
		{[]string{"calendar", "--from", "2027-13-01", "--to", "2027-12-31"}, `--from "2027-13-01" is not a date`},
		{[]string{"calendar", "--from", "2027-02-01", "--to", "2027-01-01"}, "--to 2027-01-01 is before --from 2027-02-01"},
		{[]string{"calendar", "--from", "2027-01-01", "--to", "2027-01-02", "--schedule", "nope"}, `--schedule: the estate defines no schedule "nope"`},
	}
	for _, b := range bad {
		res := runCLI(t, ctx, srv.as(alice), b.args...)
		if res.code != exitError || !strings.Contains(res.stderr, b.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 and %q", b.args, res.code, res.stderr, b.want)
		}
	}
}
