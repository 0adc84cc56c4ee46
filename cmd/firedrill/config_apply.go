package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/internal/serverconfig"
)

// serverConfigFlag is serve's flag naming the server configuration file (env
// FIREDRILL_SERVER_CONFIG). It is not --config, which names the estate.
const serverConfigFlag = "server-config"

// precedenceDoc states the order serve's settings are taken in; serve and config check print it.
const precedenceDoc = `Every setting is taken, first found: the flag on the command line, then its FIREDRILL_*
environment variable, then the server configuration file (--server-config, env
FIREDRILL_SERVER_CONFIG), then the default. The server configuration (HCL, like the estate)
says how this process runs; the estate (--config, firedrill.hcl) says what is drilled.
Secrets are never written in the file: a database URL is url_env (the variable holding it)
or url_file, written literally only without a password; the OIDC client secret is
client_secret_env or client_secret_file; notify credentials are *_env or *_file as in the
estate. Relative paths in the file are taken from the file's directory.`

// serverConfigFlags registers --server-config.
func serverConfigFlags(fs *pflag.FlagSet, path *string) {
	fs.StringVar(path, serverConfigFlag, "", "the server configuration file (HCL; see above) (env "+serverconfig.EnvServerConfig+"); not the estate, which is --config")
}

// Sources of a setting's effective value.
const (
	sourceFlag    = "flag"
	sourceEnv     = "env"
	sourceFile    = "file"
	sourceDefault = "default"
)

// resolvedSetting is where one setting's effective value comes from.
type resolvedSetting struct {
	serverconfig.Setting
	// Source is flag, env, file or default; From names it: the flag, the variable, the
	// file's position.
	Source, From string
	// Ref is a secret's reference in the file: "env PG_URL", "file /run/secrets/db".
	Ref string
	// Value is the flag's effective value; empty for a secret, which is never shown.
	Value string
}

// loadServerConfig reads and parses the server configuration at path; nil without one.
func loadServerConfig(path string) (*serverconfig.Config, error) {
	if path == "" {
		return nil, nil
	}
	src, err := readInput(path, "--"+serverConfigFlag)
	if err != nil {
		return nil, err
	}
	cfg, diags := serverconfig.Parse(src, path)
	if diags.HasErrors() {
		return nil, diags
	}
	return cfg, nil
}

// applyServerConfig gives every setting of cfg (nil: none) to its flag in cmd where neither
// the command line nor the environment gave it, resolving the file's secret references, and
// returns where each setting of serve then comes from. A setting whose flag cmd lacks is
// skipped, with a warning. The problems are positioned at the file's setting.
func (a *app) applyServerConfig(cmd *cobra.Command, cfg *serverconfig.Config) ([]resolvedSetting, drills.Diagnostics) {
	var diags drills.Diagnostics
	var out []resolvedSetting
	for _, s := range serverconfig.Settings() {
		f := cmd.Flag(s.Flag)
		if f == nil {
			if v, ok := cfg.Value(s.Key); ok {
				diags = append(diags, drills.Diagnostic{Pos: v.Pos, Warning: true, Msg: fmt.Sprintf("%s: this firedrill's serve has no --%s: the setting is not used", s.Key, s.Flag)})
			}
			continue
		}
		r := resolvedSetting{Setting: s, Source: sourceDefault}
		var v serverconfig.Value
		inFile := false
		if cfg != nil {
			v, inFile = cfg.Value(s.Key)
		}
		switch {
		case f.Changed:
			r.Source, r.From = sourceFlag, "--"+s.Flag
		case a.overriddenByEnv(s) != "":
			r.Source, r.From = sourceEnv, a.overriddenByEnv(s)
		case inFile:
			r.Source, r.From = sourceFile, v.Pos.String()
			args, ref, err := a.resolveValue(v)
			if err != nil {
				diags = append(diags, drills.Diagnostic{Pos: v.Pos, Msg: s.Key + ": " + err.Error()})
				break
			}
			r.Ref = ref
			for _, arg := range args {
				if err := f.Value.Set(arg); err != nil {
					diags = append(diags, drills.Diagnostic{Pos: v.Pos, Msg: fmt.Sprintf("%s: --%s refuses %q: %v", s.Key, s.Flag, redactArg(s, arg), err)})
				}
			}
		}
		if !s.Secret || r.Source == sourceDefault {
			r.Value = f.Value.String()
		}
		out = append(out, r)
	}
	diags.Sort()
	return out, diags
}

// overriddenByEnv names the environment variable that overrides s's file value, if one is set.
func (a *app) overriddenByEnv(s serverconfig.Setting) string {
	for _, name := range append([]string{s.Env}, s.AlsoEnv...) {
		if a.getenv(name) != "" {
			return name
		}
	}
	return ""
}

// resolveValue returns what the file's setting gives its flag, reading a secret's reference,
// and the reference as config check shows it.
func (a *app) resolveValue(v serverconfig.Value) (args []string, ref string, err error) {
	switch {
	case v.RefEnv != "":
		val := a.getenv(v.RefEnv)
		if strings.TrimSpace(val) == "" {
			return nil, "", fmt.Errorf("the environment variable %s it names is not set", v.RefEnv)
		}
		return []string{strings.TrimSpace(val)}, "env " + v.RefEnv, nil
	case v.RefFile != "":
		b, err := os.ReadFile(v.RefFile)
		if err != nil {
			return nil, "", fmt.Errorf("read %s: %w", v.RefFile, unwrapPathError(err))
		}
		val := strings.TrimSpace(string(b))
		if val == "" {
			return nil, "", fmt.Errorf("%s is empty", v.RefFile)
		}
		return []string{val}, "file " + v.RefFile, nil
	}
	return v.Args, "", nil
}

// unwrapPathError drops the path an *os.PathError repeats.
func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// redactArg is a flag value as an error may show it: never a secret's.
func redactArg(s serverconfig.Setting, arg string) string {
	if s.Secret {
		return "(secret)"
	}
	return arg
}

// annotationServerConfig marks the command (serve) whose settings the server configuration
// file gives.
const annotationServerConfig = "firedrill/server-config"

// applyServeConfig reads serve's --server-config and gives its settings to the flags neither
// the command line nor the environment set; other commands are left alone.
func (a *app) applyServeConfig(cmd *cobra.Command) error {
	f := cmd.Flag(serverConfigFlag)
	if cmd.Annotations[annotationServerConfig] == "" || f == nil || f.Value.String() == "" {
		return nil
	}
	cfg, err := loadServerConfig(f.Value.String())
	if err == nil {
		_, diags := a.applyServerConfig(cmd, cfg)
		for _, d := range diags {
			if d.Warning {
				fmt.Fprintln(a.stderr, d.String())
			}
		}
		err = diags.Err()
	}
	if err != nil {
		return fmt.Errorf("server configuration (firedrill config check %s shows it all):\n%w", f.Value.String(), err)
	}
	a.serverConfig = cfg
	return nil
}
