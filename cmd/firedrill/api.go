package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
	"github.com/firedrill/firedrill/web/client"
)

// The commands people use to act on drills are clients of the JSON API of `firedrill serve`,
// as the Nomad CLI is of Nomad's: the server authenticates the token, authorizes the
// operation and records who did it. The CLI only translates flags to requests and replies to
// text or JSON.

// envToken holds the API token; it has no flag, so a token never shows in a process list.
const envToken = "FIREDRILL_TOKEN"

// errNoToken is what a command that needs a token says without one.
var errNoToken = &control.Error{
	Category: control.CategoryUnauthenticated,
	Message: "no API token: set FIREDRILL_TOKEN or --token-file (an admin creates one with `firedrill token create`; " +
		"the first admin gets one from `firedrill user bootstrap`)",
}

// apiFlags are the root's flags that say which server to talk to and as whom.
type apiFlags struct {
	address   string
	tokenFile string
}

func (f *apiFlags) register(cmd *cobra.Command) {
	pf := cmd.PersistentFlags()
	pf.StringVar(&f.address, "address", client.DefaultAddress, "URL of the firedrill server the API commands talk to (env FIREDRILL_ADDR)")
	pf.StringVar(&f.tokenFile, "token-file", "", "file holding the API token (env FIREDRILL_TOKEN_FILE); the token may also be given in FIREDRILL_TOKEN; a --token-file on the command line wins over FIREDRILL_TOKEN, which wins over FIREDRILL_TOKEN_FILE")
}

// token returns the API token: --token-file given on the command line, else FIREDRILL_TOKEN,
// else the file FIREDRILL_TOKEN_FILE names; "" when there is none.
func (a *app) token(cmd *cobra.Command) (string, error) {
	if f := cmd.Flag("token-file"); f != nil && f.Changed {
		return readTokenFile(a.api.tokenFile)
	}
	if t := strings.TrimSpace(a.getenv(envToken)); t != "" {
		return t, nil
	}
	if a.api.tokenFile != "" {
		return readTokenFile(a.api.tokenFile)
	}
	return "", nil
}

// readTokenFile reads a token file; the error names the file, never its content.
func readTokenFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	t := strings.TrimSpace(string(b))
	if t == "" {
		return "", fmt.Errorf("--token-file: %s is empty", path)
	}
	return t, nil
}

// apiClient returns a client of the server --address names, acting with the caller's token
// via the CLI. Every command that acts or reads through the API needs a token.
func (a *app) apiClient(cmd *cobra.Command) (*client.Client, error) {
	tok, err := a.token(cmd)
	if err != nil {
		return nil, err
	}
	if tok == "" {
		return nil, errNoToken
	}
	c, err := client.New(client.Config{Address: a.api.address, Token: tok, Via: drills.ViaCLI})
	if err != nil {
		// client's messages name Config fields; the user knows them as flags.
		msg := strings.NewReplacer("client: Config.Address", "--address", "client: Config.Token", "the API token").Replace(err.Error())
		return nil, &control.Error{Category: control.CategoryInvalid, Message: msg, Err: err}
	}
	return c, nil
}

// withAPI makes a command body that runs with a client of the API.
func (a *app) withAPI(fn func(cmd *cobra.Command, args []string, c *client.Client) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, err := a.apiClient(cmd)
		if err != nil {
			return err
		}
		return fn(cmd, args, c)
	}
}

// exitCodes maps every error category to an exit code. Whatever the server refused (bad
// input, no or a bad token, a role that does not allow it, nothing by that name, a state that
// does not allow it) or failed at is 1; 2 is kept for a drill that ran and failed.
var exitCodes = map[control.Category]int{
	control.CategoryInvalid:         exitError,
	control.CategoryUnauthenticated: exitError,
	control.CategoryForbidden:       exitError,
	control.CategoryNotFound:        exitError,
	control.CategoryConflict:        exitError,
	control.CategoryInternal:        exitError,
}

// exitCode is the one place that turns a command's error into the process's exit code.
func exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var ec *exitCodeError
	if errors.As(err, &ec) {
		return ec.code
	}
	if code, ok := exitCodes[control.CategoryOf(err)]; ok {
		return code
	}
	return exitError
}

// reportError prints a command's error to stderr: a plan's positioned problems first, one
// file:line:col: message per line, then the message.
func reportError(w io.Writer, err error) {
	var ec *exitCodeError
	if errors.As(err, &ec) && (ec.err == nil || ec.err.Error() == "") {
		return
	}
	for _, d := range client.Diagnostics(err) {
		fmt.Fprintln(w, diagnosticString(d))
	}
	fmt.Fprintln(w, "firedrill:", err)
}

// diagnosticString renders a diagnostic as the CLI prints local ones: file:line:col: message.
func diagnosticString(d control.Diagnostic) string {
	pos := drills.Pos{File: d.File, Line: d.Line, Column: d.Column}
	return drills.Diagnostic{Pos: pos, Msg: d.Message, Warning: d.Severity == "warning"}.String()
}
