package main

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/examples"
	"github.com/firedrill/firedrill/internal/sitesim"
	"github.com/firedrill/firedrill/orchestrator"
	"github.com/firedrill/firedrill/orchestrator/secret"
)

// Files of the embedded example that the demo runs.
const (
	demoEstateFile = "examples/firedrill.hcl"
	demoPlanFile   = "examples/plans/site-loss.hcl"
)

func (a *app) demoCommand() *cobra.Command {
	var databaseURL string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the example whole-site failover drill against simulated sites",
		Long: `Run the example drill end to end with nothing else installed: two simulated sites
(sangam, the primary, and yatap, the DR site), each with a Nomad API emulator and a toy
service, start in this process; the plan examples/plans/site-loss.hcl fails auth, payments
and remittance over from sangam to yatap; every step is recorded in an embedded SQLite file
(or --database-url), and the timeline and the measured RTO of each service are printed.

Exit 0 when the drill passed, 2 when it failed or missed an objective, 1 on error.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			estateSrc, err := examples.FS.ReadFile("firedrill.hcl")
			if err != nil {
				return err
			}
			planSrc, err := examples.FS.ReadFile("plans/site-loss.hcl")
			if err != nil {
				return err
			}
			estate, diags := drills.ParseEstate(estateSrc, demoEstateFile)
			if diags.HasErrors() {
				return diags
			}
			plan, diags := drills.ParsePlan(planSrc, demoPlanFile)
			if diags.HasErrors() {
				return diags
			}

			// Every simulated site enforces an ACL token, as a real cluster would; the demo
			// makes them up and hands them to the Nomad actions in memory only.
			tokens := map[string]string{}
			for _, s := range estate.Sites {
				if s.Nomad != nil && s.Nomad.TokenEnv != "" {
					tokens[s.Nomad.TokenEnv] = randomToken()
				}
			}
			lookup := func(k string) (string, bool) { v, ok := tokens[k]; return v, ok }
			simCfg, err := sitesim.FromEstate(estate, true, lookup)
			if err != nil {
				return fmt.Errorf("simulate sites: %w", err)
			}
			simCfg.Logger = a.logger
			sim, err := sitesim.Start(ctx, simCfg)
			if err != nil {
				return fmt.Errorf("simulate sites: %w", err)
			}
			defer sim.Close()
			for _, s := range estate.Sites {
				ss := sim.Site(s.Name)
				if ss == nil {
					return fmt.Errorf("simulate sites: site %s did not start", s.Name)
				}
				s.Nomad.Address = ss.NomadAddress()
				s.Ingress = ss.IngressAddress()
				if !asJSON {
					fmt.Fprintf(a.stderr, "simulated site %-8s nomad %s  ingress %s\n", s.Name, ss.NomadAddress(), ss.IngressAddress())
				}
			}

			if databaseURL == "" {
				dir, err := os.MkdirTemp("", "firedrill-demo-")
				if err != nil {
					return err
				}
				databaseURL = "sqlite:" + filepath.Join(dir, "firedrill.db")
			}
			st, err := a.openStore(ctx, databaseURL, true)
			if err != nil {
				return err
			}
			defer st.Close()
			return a.runDrill(ctx, st, &secret.Resolver{LookupEnv: lookup}, &orchestrator.Drill{
				Estate: estate, EstateSource: estateSrc, Plan: plan, PlanSource: planSrc, RequestedBy: localActor(),
			}, asJSON, databaseURL)
		},
	}
	cmd.Flags().StringVar(&databaseURL, "database-url", "", "postgres://... or sqlite:PATH (env FIREDRILL_DATABASE_URL); default: a new SQLite file in a temporary directory")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func randomToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
