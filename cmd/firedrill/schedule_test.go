package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/internal/clock/clocktest"
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

func TestScheduleListShowPauseResume(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := scheduleDB(t)
	flags := []string{"--config", scheduleEstate, "--database-url", db}
	cli := func(args ...string) cliResult { return runCLI(t, ctx, nil, append(args, flags...)...) }

	res := cli("schedule", "list")
	if res.code != exitOK {
		t.Fatalf("schedule list: exit %d: %s", res.code, res.stderr)
	}
	for _, want := range []string{"NAME", "nightly", "weekly-ny", "Asia/Seoul", "America/New_York", "0 2 * * *", "active"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("schedule list lacks %q:\n%s", want, res.stdout)
		}
	}

	res = runCLI(t, ctx, nil, "schedule", "pause", "nightly", "--by", "alice", "--reason", "DR site maintenance", "--database-url", db)
	if res.code != exitOK || !strings.Contains(res.stdout, "schedule nightly paused by alice: DR site maintenance") {
		t.Fatalf("schedule pause: exit %d\n%s%s", res.code, res.stdout, res.stderr)
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
		list.Schedules[0].PausedBy.Name != "alice" || list.Schedules[0].NextFire != "" ||
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
	for _, want := range []string{"nightly", "start within  1h\n", "paused by alice: DR site maintenance", "2027-01-03 02:00 KST  run", "next fires:"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("schedule show lacks %q:\n%s", want, res.stdout)
		}
	}

	res = runCLI(t, ctx, nil, "schedule", "resume", "nightly", "--by", "bob", "--database-url", db, "--json")
	var resumed map[string]any
	if err := json.Unmarshal([]byte(res.stdout), &resumed); err != nil || resumed["paused"] != false || resumed["by"] != "bob" {
		t.Errorf("schedule resume --json = %s (%v)", res.stdout, err)
	}

	bad := []struct {
		args []string
		want string
	}{
		{[]string{"schedule", "pause", "nightly", "--database-url", db}, "--reason is required"},
		{[]string{"schedule", "pause", "nope", "--reason", "x", "--database-url", db}, `no schedule "nope"`},
		{append([]string{"schedule", "show", "nope"}, flags...), `no schedule "nope"`},
	}
	for _, b := range bad {
		res := runCLI(t, ctx, nil, b.args...)
		if res.code != exitError || !strings.Contains(res.stderr, b.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 and %q", b.args, res.code, res.stderr, b.want)
		}
	}
}

func TestCalendar(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := scheduleDB(t)
	flags := []string{"--config", scheduleEstate, "--database-url", db}
	res := runCLI(t, ctx, nil, append([]string{"calendar", "--from", "2027-01-24", "--to", "2027-02-01"}, flags...)...)
	if res.code != exitOK {
		t.Fatalf("calendar: exit %d: %s", res.code, res.stderr)
	}
	golden(t, "calendar.txt", res.stdout)

	res = runCLI(t, ctx, nil, append([]string{"calendar", "--from", "2027-03-13", "--to", "2027-03-14", "--schedule", "weekly-ny", "--json"}, flags...)...)
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
		{[]string{"calendar", "--from", "2027-01-01", "--to", "2027-01-02", "--schedule", "nope"}, `--schedule: testdata/schedule/firedrill.hcl defines no schedule "nope"`},
	}
	for _, b := range bad {
		res := runCLI(t, ctx, nil, append(b.args, flags...)...)
		if res.code != exitError || !strings.Contains(res.stderr, b.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 and %q", b.args, res.code, res.stderr, b.want)
		}
	}
}
