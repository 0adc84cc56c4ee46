package main

import (
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/internal/sitesim"
)

func (a *app) simCommand() *cobra.Command {
	var configPath string
	var ephemeral, asJSON bool
	var replicationLag time.Duration
	cmd := &cobra.Command{
		Use:   "sim",
		Short: "Serve simulated sites (Nomad API emulator and toy services) for the estate",
		Long: `Serve one simulated site per site of the estate: a Nomad HTTP API emulator on the
address of the site's nomad block and a toy service on its ingress, until interrupted.
Services run on primary sites and are registered but stopped (a pilot light) elsewhere.
A site whose nomad block names token_env requires that token when the variable is set.

With --ephemeral every listener takes a free port instead; the addresses are printed
(as JSON with --json), one site a line, so that a test can start the sites in a process
of their own and kill the orchestrator while the sites live on.

The toy services replicate what is written to them (canary markers) to the other sites
asynchronously, --replication-lag behind (default 300ms; negative: synchronous); writes not
yet shipped when a service goes down are lost, as a drill's HTTP canary then measures.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			path, err := findConfig(configPath, nil)
			if err != nil {
				return err
			}
			estate, _, err := loadEstate(path)
			if err != nil {
				return err
			}
			simCfg, err := sitesim.FromEstate(estate, ephemeral, os.LookupEnv)
			if err != nil {
				return err
			}
			simCfg.Logger = a.logger
			simCfg.ReplicationLag = replicationLag
			sim, err := sitesim.Start(ctx, simCfg)
			if err != nil {
				return err
			}
			defer sim.Close()
			type siteJSON struct {
				Name    string `json:"name"`
				Nomad   string `json:"nomad"`
				Ingress string `json:"ingress"`
			}
			var sites []siteJSON
			for _, s := range sim.Sites() {
				sites = append(sites, siteJSON{Name: s.Name(), Nomad: s.NomadAddress(), Ingress: s.IngressAddress()})
			}
			if asJSON {
				if err := writeJSON(a.stdout, map[string]any{"sites": sites}); err != nil {
					return err
				}
			} else {
				for _, s := range sites {
					fmt.Fprintf(a.stdout, "site %s nomad %s ingress %s\n", s.Name, s.Nomad, s.Ingress)
				}
			}
			fmt.Fprintln(a.stderr, "simulated sites are up; interrupt to stop")
			<-ctx.Done()
			return nil
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "estate file (env FIREDRILL_CONFIG); default: firedrill.hcl in the working directory or above")
	cmd.Flags().BoolVar(&ephemeral, "ephemeral", false, "listen on free ports instead of the estate's addresses (env FIREDRILL_EPHEMERAL)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the addresses as JSON")
	cmd.Flags().DurationVar(&replicationLag, "replication-lag", sitesim.DefaultReplicationLag, "how far behind the toy services replicate writes to the other sites; negative: synchronous (env FIREDRILL_REPLICATION_LAG)")
	return cmd
}
