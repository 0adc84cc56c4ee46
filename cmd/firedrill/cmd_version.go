package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/internal/version"
)

func (a *app) versionCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print firedrill's version, the commit it was built from, when, and by which Go",
		Long: `Print firedrill's version, commit, build date and Go version, read from the build
information (vcs.revision, with "+dirty" when the tree had uncommitted changes, and vcs.time)
or set at build time, as the release build (scripts/build-release.sh) does, with
-ldflags "-X github.com/firedrill/firedrill/internal/version.version=... -X ...version.commit=...
-X ...version.buildDate=...". Every run records the version and commit of the firedrill that
created it.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			in := version.Get()
			if asJSON {
				return writeJSON(a.stdout, map[string]string{"version": in.Version, "commit": in.Commit, "build_date": in.BuildDate, "go": in.GoVersion})
			}
			fmt.Fprintf(a.stdout, "firedrill %s\ncommit %s\nbuilt %s\n%s\n", in.Version, in.Commit, in.BuildDate, in.GoVersion)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the version as JSON")
	return cmd
}
