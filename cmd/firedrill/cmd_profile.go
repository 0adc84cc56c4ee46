package main

import (
	"fmt"
	"io"
	"regexp"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/profiles"
)

// langFlag is what --lang accepts: a two-letter language code.
var langFlag = regexp.MustCompile(`^[a-z]{2}$`)

func (a *app) profileCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "profile",
		Short: "Read the regulator profiles reports are judged against",
		Long: `Read the regulator profiles firedrill ships: each one a regulator's rules (how often every
service must be drilled, RTO/RPO ceilings, the retest deadline after a failure, how long
reports are kept, the report's sections and languages) and the clauses a report answers,
each with the instrument and article it comes from and what the evidence does not show.

The profiles are built into firedrill: these commands need no server. The server's
GET /api/v1/profiles gives the same.`,
	}
	cmd.AddCommand(a.profileListCommand(), a.profileShowCommand())
	return cmd
}

func checkLang(lang string) error {
	if lang != "" && !langFlag.MatchString(lang) {
		return fmt.Errorf("--lang: %q is not a two-letter language code (e.g. ko, en)", lang)
	}
	return nil
}

func (a *app) profileListCommand() *cobra.Command {
	var asJSON bool
	var lang string
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the regulator profiles",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			if err := checkLang(lang); err != nil {
				return err
			}
			all, err := profiles.All()
			if err != nil {
				return err
			}
			if asJSON {
				list := make([]control.ProfileSummary, 0, len(all))
				for _, p := range all {
					list = append(list, control.ProfileSummaryOf(p))
				}
				return writeJSON(a.stdout, map[string]any{"profiles": list})
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tREGULATOR\tEVERY\tLANGUAGES\tTITLE")
			for _, p := range all {
				fmt.Fprintf(tw, "%s\t%s\t%dmo\t%s\t%s\n", p.ID, p.Regulator.Get(lang), p.FrequencyMonths,
					strings.Join(p.Languages, ","), p.Title.Get(lang))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the profiles as JSON")
	cmd.Flags().StringVar(&lang, "lang", "en", "language of the titles (env FIREDRILL_LANG)")
	return cmd
}

func (a *app) profileShowCommand() *cobra.Command {
	var asJSON bool
	var lang string
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a regulator profile: its rules, clauses and their sources",
		Long: `Show a regulator profile: its rules, clauses and the source of each. --lang picks the
language of its texts (default: the profile's own report language, e.g. ko for kr-efsr);
--json prints every language.`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			if err := checkLang(lang); err != nil {
				return err
			}
			p, err := profiles.Load(args[0])
			if err != nil {
				return err
			}
			if asJSON {
				return writeJSON(a.stdout, control.ProfileViewOf(p))
			}
			if lang == "" && len(p.Languages) > 0 {
				lang = p.Languages[0]
			}
			return writeProfile(a.stdout, p, lang)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the profile as JSON, with every language")
	cmd.Flags().StringVar(&lang, "lang", "", "language of the texts (env FIREDRILL_LANG; default the profile's report language)")
	return cmd
}

// writeProfile prints a profile for a person: the rules first, then each clause.
func writeProfile(w io.Writer, p *drills.Profile, lang string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", p.ID, p.Title.Get(lang))
	fmt.Fprintf(&b, "  regulator:  %s\n", p.Regulator.Get(lang))
	fmt.Fprintf(&b, "  languages:  %s (reports default to %s)\n", strings.Join(p.Languages, ", "), p.Languages[0])
	fmt.Fprintf(&b, "  frequency:  a drill of every service at least every %d months\n", p.FrequencyMonths)
	fmt.Fprintf(&b, "              source: %s\n", p.FrequencySource)
	fmt.Fprintf(&b, "  retest:     a failed drill's findings are due within %s\n", drills.FormatDuration(p.RetestWithin))
	if p.RetestSource != "" {
		fmt.Fprintf(&b, "              source: %s\n", p.RetestSource)
	}
	if p.RetentionYears > 0 {
		fmt.Fprintf(&b, "  retention:  reports kept %d years\n", p.RetentionYears)
		fmt.Fprintf(&b, "              source: %s\n", p.RetentionSource)
	} else {
		fmt.Fprintf(&b, "  retention:  none set by the profile\n")
	}
	if len(p.Ceilings) == 0 {
		fmt.Fprintf(&b, "  ceilings:   none: each service is held to its own objectives\n")
	}
	for _, c := range p.Ceilings {
		who := "every service"
		if len(c.Criticality) > 0 {
			who = strings.Join(c.Criticality, ", ") + " services"
		}
		var bounds []string
		if c.RTO != nil {
			bounds = append(bounds, "RTO "+drills.FormatDuration(*c.RTO))
		}
		if c.RPO != nil {
			bounds = append(bounds, "RPO "+drills.FormatDuration(*c.RPO))
		}
		fmt.Fprintf(&b, "  ceiling:    %s at most, for %s\n", strings.Join(bounds, " and "), who)
		fmt.Fprintf(&b, "              source: %s\n", c.Source)
	}
	fmt.Fprintf(&b, "  sections:   %s\n", strings.Join(p.Sections, ", "))
	fmt.Fprintf(&b, "  source:     %s\n", p.Source)
	for _, c := range p.Clauses {
		fmt.Fprintf(&b, "\nclause %s: %s\n", c.ID, c.Title.Get(lang))
		fmt.Fprintf(&b, "  source:        %s\n", c.Source)
		fmt.Fprintf(&b, "  requirement:   %s\n", c.Requirement.Get(lang))
		fmt.Fprintf(&b, "  evidence:      %s\n", strings.Join(c.Evidence, ", "))
		fmt.Fprintf(&b, "  does not show: %s\n", c.DoesNotShow.Get(lang))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
