package main

import (
	"bytes"
	"crypto/ed25519"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/report"
	"github.com/firedrill/firedrill/web/client"
)

// The compliance report commands. export, list, show, download and publish are clients of the
// API (the server builds, signs, stores and records); verify and public-key are local: a
// regulator verifies a bundle with nothing but the bundle and the institution's public key.

func (a *app) reportCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "report",
		Short: "Compliance reports: export a signed bundle, publish it, verify it offline",
		Long: `A compliance report rates every service of the estate against a regulator profile
over a period, with the drills that stand behind it: a signed zip bundle of report.pdf,
report.json (with its JSON Schema), runs.csv (one row per step result), junit.xml,
events.ndjson (the raw timeline and audit-log rows of every drill covered, with the audit
chain head), manifest.json (the SHA-256 of each file) and manifest.sig (the institution's
Ed25519 signature of manifest.json).

A report is a draft until a compliance officer publishes it; publishing records who signed it
off, and a published report never changes: a correction is a new version (export --replaces).
Auditors see published reports only.`,
	}
	cmd.AddCommand(a.reportExportCommand(), a.reportListCommand(), a.reportShowCommand(), a.reportDownloadCommand(),
		a.reportPublishCommand(), a.reportVerifyCommand(), a.reportPublicKeyCommand())
	return cmd
}

func (a *app) reportExportCommand() *cobra.Command {
	var p control.ReportExportParams
	var out string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "export --profile ID --period PERIOD [--lang ko|en] [--replaces REPORT] --out FILE",
		Short: "Export a draft report: the server builds, signs and stores it, and it is downloaded to --out",
		Long: `Ask the server to build a draft report of a regulator profile over a period: a year
(2026), a half (2026-H1), a quarter (2026-Q3) or a range (2026-01-01..2026-06-30). It covers
the runs created in the period that had ended by then. The server signs it with the
institution's key, stores it and records the export; the bundle is then downloaded to --out.
--replaces names the published report this draft corrects (same profile and period).`,
		Args: cobra.NoArgs,
		RunE: a.withAPI(func(cmd *cobra.Command, _ []string, c *client.Client) error {
			if out == "" {
				return &control.Error{Category: control.CategoryInvalid, Field: "out", Message: "--out FILE is required: where to write the bundle"}
			}
			v, err := c.ReportExport(cmd.Context(), &p)
			if err != nil {
				return err
			}
			if err := a.download(cmd, c, v.ID, out); err != nil {
				return fmt.Errorf("report %s was exported and stored, but not downloaded (firedrill report download %s --out %s): %w", v.ID, v.ID, out, err)
			}
			if asJSON {
				return writeJSON(a.stdout, v)
			}
			fmt.Fprintf(a.stdout, "report %s (version %d, %s %s, %s) exported as a draft: %s, %d bytes\n", v.ID, v.Version, v.Profile, v.Period, v.Lang, out, v.Size)
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVar(&p.Profile, "profile", "", "regulator profile: kr-efsr, eu-dora, sg-mas-trm, uk-pra-ss1-21, us-ffiec-bcm (required)")
	f.StringVar(&p.Period, "period", "", "2026, 2026-H1, 2026-Q3 or 2026-01-01..2026-06-30 (required)")
	f.StringVar(&p.Lang, "lang", "", "report language, one of the profile's (default its first)")
	f.StringVar(&p.Replaces, "replaces", "", "the published report this draft corrects")
	f.StringVar(&out, "out", "", "file to write the bundle to (required)")
	f.BoolVar(&asJSON, "json", false, "print the stored report as JSON")
	return cmd
}

// download writes the report's bundle to path: to a temporary file beside it first, so that
// path never holds half a bundle.
func (a *app) download(cmd *cobra.Command, c *client.Client, id, path string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := c.ReportDownload(cmd.Context(), id, tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func (a *app) printReports(list []control.ReportView) error {
	if len(list) == 0 {
		fmt.Fprintln(a.stdout, "no report")
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tVERSION\tPROFILE\tPERIOD\tLANG\tSTATE\tCREATED (UTC)\tBY\tPUBLISHED BY")
	for _, r := range list {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Version, r.Profile, r.Period, r.Lang, r.State,
			r.CreatedAt.UTC().Format("2006-01-02 15:04"), r.CreatedBy.String(), actorOrDash(r.PublishedBy))
	}
	return tw.Flush()
}

func (a *app) reportListCommand() *cobra.Command {
	var p control.ReportListParams
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--state draft|published] [--profile ID] [--period PERIOD]",
		Short: "List reports, newest first (auditors see published ones only)",
		Args:  cobra.NoArgs,
		RunE: a.withAPI(func(cmd *cobra.Command, _ []string, c *client.Client) error {
			list, err := c.ReportList(cmd.Context(), &p)
			if err != nil {
				return err
			}
			if asJSON {
				if list == nil {
					list = []control.ReportView{}
				}
				return writeJSON(a.stdout, map[string]any{"reports": list})
			}
			return a.printReports(list)
		}),
	}
	f := cmd.Flags()
	f.StringVar(&p.State, "state", "", "only reports in this state: draft or published")
	f.StringVar(&p.Profile, "profile", "", "only reports of this profile")
	f.StringVar(&p.Period, "period", "", "only reports of this period")
	f.IntVar(&p.Limit, "limit", 0, "at most this many (default 100, at most 1000)")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func (a *app) printReport(v *control.ReportView, asJSON bool) error {
	if asJSON {
		return writeJSON(a.stdout, v)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "report\t%s (version %d)\n", v.ID, v.Version)
	if v.Replaces != "" {
		fmt.Fprintf(tw, "replaces\t%s\n", v.Replaces)
	}
	fmt.Fprintf(tw, "profile\t%s\nperiod\t%s (%s to %s)\nlanguage\t%s\nstate\t%s\n", v.Profile, v.Period,
		v.PeriodStart.UTC().Format(time.DateOnly), v.PeriodEnd.UTC().Format(time.DateOnly), v.Lang, v.State)
	fmt.Fprintf(tw, "exported\t%s by %s\n", v.CreatedAt.UTC().Format(time.RFC3339), v.CreatedBy.String())
	if v.PublishedAt != nil {
		fmt.Fprintf(tw, "published\t%s by %s\n", v.PublishedAt.UTC().Format(time.RFC3339), actorOrDash(v.PublishedBy))
	}
	fmt.Fprintf(tw, "manifest sha256\t%s\nsigning key\t%s\nsize\t%d bytes\n", v.ManifestSHA256, v.SigningKeyFingerprint, v.Size)
	return tw.Flush()
}

func (a *app) reportShowCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show REPORT",
		Short: "Show a report: profile, period, state, who exported and published it, its manifest hash and key",
		Args:  cobra.ExactArgs(1),
		RunE: a.withAPI(func(cmd *cobra.Command, args []string, c *client.Client) error {
			v, err := c.ReportGet(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.printReport(v, asJSON)
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func (a *app) reportDownloadCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "download REPORT --out FILE",
		Short: "Download a report's signed bundle",
		Args:  cobra.ExactArgs(1),
		RunE: a.withAPI(func(cmd *cobra.Command, args []string, c *client.Client) error {
			if out == "" {
				return &control.Error{Category: control.CategoryInvalid, Field: "out", Message: "--out FILE is required: where to write the bundle"}
			}
			if err := a.download(cmd, c, args[0], out); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "report %s written to %s\n", args[0], out)
			return nil
		}),
	}
	cmd.Flags().StringVar(&out, "out", "", "file to write the bundle to (required)")
	return cmd
}

func (a *app) reportPublishCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "publish REPORT",
		Short: "Publish a draft report: your sign-off; from then on it never changes",
		Long: `Publish a draft report as the person your API token stands for: the server writes the
same report with its state published and your sign-off, signs it again and stores it in
place of the draft; the publication is recorded. A published report never changes: correct it
with firedrill report export --replaces REPORT.`,
		Args: cobra.ExactArgs(1),
		RunE: a.withAPI(func(cmd *cobra.Command, args []string, c *client.Client) error {
			v, err := c.ReportPublish(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			return a.printReport(v, asJSON)
		}),
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

func (a *app) reportVerifyCommand() *cobra.Command {
	var pubPath string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify BUNDLE --public-key key.pub",
		Short: "Verify a bundle offline: hashes, signature, audit chain, and every RTO and RPO recomputed",
		Long: `Verify a report bundle with nothing but the bundle and the institution's public key
(PEM, from firedrill report public-key): the Ed25519 signature of manifest.json, the SHA-256
and size of every file it lists, the audit chain segment in events.ndjson and each event
against its audit row, and every RTO and RPO figure of report.json recomputed from the raw
inputs in events.ndjson. Every mismatch is named. Exit 1 when anything does not hold.

The signature alone can be checked with stock OpenSSL:
  openssl pkeyutl -verify -pubin -inkey key.pub -rawin -in manifest.json -sigfile manifest.sig`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if pubPath == "" {
				return &control.Error{Category: control.CategoryInvalid, Field: "public-key", Message: "--public-key FILE is required: the institution's public key (PEM)"}
			}
			pb, err := os.ReadFile(pubPath)
			if err != nil {
				return &control.Error{Category: control.CategoryInvalid, Field: "public-key", Message: "--public-key: " + err.Error(), Err: err}
			}
			pub, err := report.ParsePublicKeyPEM(pb)
			if err != nil {
				return &control.Error{Category: control.CategoryInvalid, Field: "public-key", Message: fmt.Sprintf("--public-key %s: %v", pubPath, err), Err: err}
			}
			f, err := os.Open(args[0])
			if err != nil {
				return &control.Error{Category: control.CategoryInvalid, Field: "bundle", Message: err.Error(), Err: err}
			}
			defer f.Close()
			fi, err := f.Stat()
			if err != nil {
				return err
			}
			v, err := report.Verify(f, fi.Size(), pub)
			if err != nil {
				return &control.Error{Category: control.CategoryInvalid, Field: "bundle", Message: fmt.Sprintf("%s: %v", args[0], err), Err: err}
			}
			if asJSON {
				if err := writeJSON(a.stdout, v); err != nil {
					return err
				}
			} else {
				for _, p := range v.Problems {
					fmt.Fprintf(a.stdout, "FAIL %s\n", p)
				}
				if v.OK() {
					fmt.Fprintf(a.stdout, "OK report %s version %d (%s): signature valid, %d files match the manifest, %d audit rows chain to head %d, %d RTO and RPO figures recomputed from the events\n",
						v.ReportID, v.ReportVersion, v.State, v.Files, v.AuditRows, v.AuditHead.Seq, v.Figures)
				}
			}
			if !v.OK() {
				return &exitCodeError{code: exitError, err: fmt.Errorf("%s does not verify: %d problems", args[0], len(v.Problems))}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&pubPath, "public-key", "", "the institution's public key, PEM (env FIREDRILL_PUBLIC_KEY)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the verification as JSON")
	return cmd
}

func (a *app) reportPublicKeyCommand() *cobra.Command {
	var keyPath string
	var fingerprint bool
	cmd := &cobra.Command{
		Use:   "public-key --signing-key FILE [--fingerprint]",
		Short: "Print the public key (PEM) that verifies the bundles signed with the signing key",
		Long: `Print the public half of the institution's signing key as PEM (SubjectPublicKeyInfo), the
file to give regulators: firedrill report verify and openssl read it. The signing key (PKCS#8
PEM, mode 0600) is generated on first use at the path --signing-key names, as firedrill serve
does; it is never stored in the database. --fingerprint prints the key's SHA-256 fingerprint,
which every report's cover shows, instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			key, created, err := report.LoadOrCreateSigningKey(keyPath)
			if err != nil {
				return &control.Error{Category: control.CategoryInvalid, Field: "signing-key", Message: err.Error(), Err: err}
			}
			if created {
				fmt.Fprintf(a.stderr, "generated a new signing key in %s\n", keyPath)
			}
			pub := key.Public().(ed25519.PublicKey)
			if fingerprint {
				fp, err := report.Fingerprint(pub)
				if err != nil {
					return err
				}
				fmt.Fprintln(a.stdout, fp)
				return nil
			}
			pem, err := report.PublicKeyPEM(pub)
			if err != nil {
				return err
			}
			_, err = io.Copy(a.stdout, bytes.NewReader(pem))
			return err
		},
	}
	cmd.Flags().StringVar(&keyPath, "signing-key", "", "the signing key file, PKCS#8 PEM (env FIREDRILL_SIGNING_KEY)")
	cmd.Flags().BoolVar(&fingerprint, "fingerprint", false, "print the key's SHA-256 fingerprint instead")
	return cmd
}
