package drills_test

import (
	"fmt"
	"time"

	"github.com/firedrill/firedrill/drills"
)

func ExampleEstate_NextFire() {
	estate := []byte(`
site "sangam" {
  role = "primary"
  nomad {
    address = "https://nomad.sangam.example:4646"
    region  = "kr-sangam"
  }
}
blackout "month-end" {
  reason     = "month-end closing"
  month_days = [-1]
}
schedule "nightly-failover" {
  plan      = "plans/site-loss.hcl"
  cron      = "30 2 * * *"
  time_zone = "America/New_York"
  blackouts = ["month-end"]
}
`)
	cfg, diags := drills.ParseEstate(estate, "firedrill.hcl")
	if diags.HasErrors() {
		fmt.Println(diags)
		return
	}
	s := cfg.Schedule("nightly-failover")

	// 02:30 does not exist on 14 March 2027 in New York (02:00 jumps to 03:00): it fires at
	// 03:30 instead, once. The fire of 31 March is suppressed by the month-end blackout.
	after := time.Date(2027, 3, 12, 12, 0, 0, 0, time.UTC)
	for range 3 {
		f, ok := cfg.NextFire(s, after)
		if !ok {
			break
		}
		fmt.Println(f.Local.Format("Mon 2006-01-02 15:04 MST"), "=", f.At.Format(time.RFC3339))
		after = f.At
	}
	end := time.Date(2027, 4, 1, 12, 0, 0, 0, time.UTC)
	for _, f := range cfg.Fires(s, end.Add(-48*time.Hour), end) {
		fmt.Printf("%s blackout=%q\n", f.Local.Format("2006-01-02 15:04 MST"), f.Blackout)
	}
	// Output:
	// Sat 2027-03-13 02:30 EST = 2027-03-13T07:30:00Z
	// Sun 2027-03-14 03:30 EDT = 2027-03-14T07:30:00Z
	// Mon 2027-03-15 02:30 EDT = 2027-03-15T06:30:00Z
	// 2027-03-31 02:30 EDT blackout="month-end"
	// 2027-04-01 02:30 EDT blackout=""
}
