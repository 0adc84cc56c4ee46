package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/internal/version"
)

func (a *app) versionCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print firedrill's version and the commit it was built from",
		Long: `Print firedrill's version and commit, read from the build information (vcs.revision,
with "+dirty" when the tree had uncommitted changes) or set at build time with
-ldflags "-X github.com/firedrill/firedrill/internal/version.version=... -X ...version.commit=...".
Every run records the version and commit of the firedrill that created it.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			in := version.Get()
			if asJSON {
				return writeJSON(a.stdout, map[string]string{"version": in.Version, "commit": in.Commit, "go": runtime.Version()})
			}
			fmt.Fprintf(a.stdout, "firedrill %s\ncommit %s\n%s\n", in.Version, in.Commit, runtime.Version())
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the version as JSON")
	return cmd
}
