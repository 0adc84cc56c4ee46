package main

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/serverconfig"
	"github.com/firedrill/firedrill/profiles"
	"github.com/firedrill/firedrill/web/console"
)

func (a *app) configCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check firedrill serve's server configuration file",
	}
	cmd.AddCommand(a.configCheckCommand())
	return cmd
}

func (a *app) configCheckCommand() *cobra.Command {
	var asJSON bool
	// config check takes every serve flag, so it shows what serve would run with.
	serve := a.serveCommand()
	cmd := &cobra.Command{
		Use:   "check [FILE]",
		Short: "Validate a server configuration and print the effective configuration, secrets redacted",
		Long: `Validate a server configuration file (FILE, else --server-config, env
FIREDRILL_SERVER_CONFIG) and print every problem as file:line:col: message; then the
effective configuration serve would run with, after the environment and any serve flag
given here, each setting with where it came from. A secret is never printed: only the
variable or file it comes from. Exit 0 when valid, 1 on any problem.

` + precedenceDoc,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := cmd.Flag(serverConfigFlag).Value.String()
			if len(args) == 1 {
				path = args[0]
			}
			if path == "" {
				return errors.New("no server configuration: give FILE, --server-config or " + serverconfig.EnvServerConfig)
			}
			src, err := readInput(path, "config check")
			if err != nil {
				return err
			}
			cfg, diags := serverconfig.Parse(src, path)
			var resolved []resolvedSetting
			if !diags.HasErrors() {
				var applied drills.Diagnostics
				resolved, applied = a.applyServerConfig(cmd, cfg)
				diags = append(diags, applied...)
				diags = append(diags, checkServeSettings(cmd, cfg, resolved)...)
				if !diags.HasErrors() {
					a.serverConfig = cfg
					a.showRetestProfile(cmd, resolved)
				}
				diags.Sort()
			}
			if asJSON {
				if err := writeJSON(a.stdout, configCheckJSON(path, cfg, diags, resolved)); err != nil {
					return err
				}
			} else {
				a.printConfigCheck(path, cfg, diags, resolved)
			}
			if diags.HasErrors() {
				return &exitCodeError{code: exitError, err: fmt.Errorf("%d problem(s) found", len(diags))}
			}
			return nil
		},
	}
	cmd.Flags().AddFlagSet(serve.Flags())
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

// checkServeSettings checks, on the effective values, what serve refuses at start-up beyond
// each flag's own type, at the file's setting when the value came from the file.
func checkServeSettings(cmd *cobra.Command, cfg *serverconfig.Config, resolved []resolvedSetting) drills.Diagnostics {
	var diags drills.Diagnostics
	val := func(flag string) string {
		if f := cmd.Flag(flag); f != nil {
			return f.Value.String()
		}
		return ""
	}
	// at is where to point: the first of keys the file gave, else the file itself.
	at := func(keys ...string) drills.Pos {
		for _, k := range keys {
			i := slices.IndexFunc(resolved, func(r resolvedSetting) bool { return r.Key == k })
			if v, ok := cfg.Value(k); ok && i >= 0 && resolved[i].Source == sourceFile {
				return v.Pos
			}
		}
		return drills.Pos{File: cfg.File}
	}
	add := func(pos drills.Pos, err error) {
		if err != nil {
			diags = append(diags, drills.Diagnostic{Pos: pos, Msg: err.Error()})
		}
	}
	_, err := tlsOptions{certFile: val("tls-cert-file"), keyFile: val("tls-key-file")}.load()
	add(at("tls.cert_file", "tls.key_file"), err)
	// serve migrates only when asked; the owner role's URL is for that only.
	if cmd.Flag("migrate") != nil && val("migrate-database-url") != "" && val("migrate") != "true" {
		add(at("database.migration_url"), errors.New("--migrate-database-url (database.migration_url) is used only with --migrate (database.migrate)"))
	}
	if val("signing-key") != "" && strings.TrimSpace(val("institution")) == "" {
		add(at("signing_key_file"), errors.New("--institution (institution) is required with --signing-key (signing_key_file): it is the name on every report's cover"))
	}
	if p := val("retest-profile"); p != "" {
		if _, err := profiles.Load(p); err != nil {
			add(at("findings.retest_profile"), fmt.Errorf("--retest-profile (findings.retest_profile): %w", err))
		}
	}
	if val("oidc-issuer") != "" {
		roleMap, _ := cmd.Flags().GetStringArray("oidc-role-map")
		for _, need := range []struct{ flag, key string }{{"oidc-client-id", "oidc.client_id"}, {"oidc-redirect-url", "oidc.redirect_url"}} {
			if val(need.flag) == "" {
				add(at("oidc.issuer"), fmt.Errorf("--%s (%s) is required with an identity provider (oidc.issuer)", need.flag, need.key))
			}
		}
		if _, err := console.ParseRoleMap(roleMap); err != nil || len(roleMap) == 0 {
			if err == nil {
				err = errors.New("map the provider's groups to firedrill roles")
			}
			add(at("oidc.role_map", "oidc.issuer"), fmt.Errorf("--oidc-role-map (oidc.role_map): %w", err))
		}
	}
	return diags
}

// showRetestProfile gives findings.due the retest profile's deadline, as serve does after
// the file (applyRetestProfile), saying so.
func (a *app) showRetestProfile(cmd *cobra.Command, resolved []resolvedSetting) {
	due := slices.IndexFunc(resolved, func(r resolvedSetting) bool { return r.Key == "findings.due" })
	profile := slices.IndexFunc(resolved, func(r resolvedSetting) bool { return r.Key == "findings.retest_profile" })
	if due < 0 || profile < 0 || resolved[due].Source != sourceDefault || a.applyRetestProfile(cmd) != nil {
		return
	}
	if v := cmd.Flag("finding-due").Value.String(); v != resolved[due].Value {
		p := resolved[profile]
		resolved[due].Value, resolved[due].Source, resolved[due].From = v, p.Source, p.From+" (retest_profile "+p.Value+")"
	}
}

// shown is a setting's value as config check prints it: never a secret's.
func (r resolvedSetting) shown() string {
	switch {
	case r.Secret && r.Source == sourceFile && r.Ref != "":
		return "(secret, from " + r.Ref + ")"
	case r.Secret && r.Source == sourceFile:
		return "(secret, written in the file without a password)"
	case r.Secret && r.Source == sourceEnv:
		return "(secret, from env " + r.From + ")"
	case r.Secret && r.Source == sourceFlag:
		return "(secret, from flag " + r.From + ")"
	case r.Value == "" || r.Value == "[]":
		return "-"
	}
	return r.Value
}

// origin is where a setting's value came from, as config check prints it.
func (r resolvedSetting) origin() string {
	if r.Source == sourceDefault {
		return sourceDefault
	}
	return r.Source + " " + r.From
}

func (a *app) printConfigCheck(path string, cfg *serverconfig.Config, diags drills.Diagnostics, resolved []resolvedSetting) {
	for _, d := range diags {
		fmt.Fprintln(a.stdout, d.String())
	}
	if diags.HasErrors() {
		return
	}
	fmt.Fprintf(a.stdout, "%s: valid. Effective configuration (flag > env > file > default):\n", path)
	tw := tabwriter.NewWriter(a.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SETTING\tVALUE\tFROM")
	for _, r := range resolved {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Key, r.shown(), r.origin())
	}
	_ = tw.Flush()
	if len(cfg.Notify) > 0 {
		fmt.Fprintln(a.stdout, "Notification targets (file only, besides the estate's):")
		for _, n := range cfg.Notify {
			fmt.Fprintf(a.stdout, "  notify %q at %s: %s\n", n.Name, n.Pos, notifyTarget(n))
		}
	}
}

// notifyTarget describes a notification target without its credentials, only their references.
func notifyTarget(n *drills.NotifyChannel) string {
	ref := func(env, file string) string {
		if env != "" {
			return "env " + env
		}
		if file != "" {
			return "file " + file
		}
		return "none"
	}
	events := "all events"
	if len(n.Events) > 0 {
		events = strings.Join(n.Events, ",")
	}
	switch n.Kind {
	case "webhook":
		return fmt.Sprintf("webhook %s (key from %s; %s)", n.URL, ref(n.KeyEnv, n.KeyFile), events)
	case "slack":
		return fmt.Sprintf("slack (URL from %s; %s)", ref(n.URLEnv, n.URLFile), events)
	}
	return fmt.Sprintf("email via %s from %s to %s (password from %s; %s)", n.SMTP, n.From, strings.Join(n.To, ","), ref(n.PasswordEnv, n.PasswordFile), events)
}

// settingJSON is one setting in config check --json.
type settingJSON struct {
	Key    string `json:"key"`
	Flag   string `json:"flag"`
	Env    string `json:"env"`
	Secret bool   `json:"secret"`
	// Value is absent for a secret not at its default.
	Value  *string `json:"value,omitempty"`
	Source string  `json:"source"`
	From   string  `json:"from,omitempty"`
	Ref    string  `json:"ref,omitempty"`
}

type notifyJSON struct {
	Name   string   `json:"name"`
	Kind   string   `json:"kind"`
	Events []string `json:"events"`
	Target string   `json:"target"`
	Pos    string   `json:"position"`
}

func configCheckJSON(path string, cfg *serverconfig.Config, diags drills.Diagnostics, resolved []resolvedSetting) any {
	out := struct {
		File     string        `json:"file"`
		Valid    bool          `json:"valid"`
		Problems []problemJSON `json:"problems"`
		Settings []settingJSON `json:"settings"`
		Notify   []notifyJSON  `json:"notify"`
	}{File: path, Valid: !diags.HasErrors(), Problems: []problemJSON{}, Settings: []settingJSON{}, Notify: []notifyJSON{}}
	for _, d := range diags {
		out.Problems = append(out.Problems, problemJSON{File: d.Pos.File, Line: d.Pos.Line, Column: d.Pos.Column, Message: d.Msg})
	}
	if !out.Valid {
		return out
	}
	for _, r := range resolved {
		s := settingJSON{Key: r.Key, Flag: "--" + r.Flag, Env: r.Env, Secret: r.Secret, Source: r.Source, From: r.From, Ref: r.Ref}
		if !r.Secret || r.Source == sourceDefault {
			v := r.Value
			s.Value = &v
		}
		out.Settings = append(out.Settings, s)
	}
	for _, n := range cfg.Notify {
		out.Notify = append(out.Notify, notifyJSON{Name: n.Name, Kind: n.Kind, Events: append([]string{}, n.Events...), Target: notifyTarget(n), Pos: n.Pos.String()})
	}
	return out
}
