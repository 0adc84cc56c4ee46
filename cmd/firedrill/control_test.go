package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
)

// approvalEstate is the example estate, whose default approval policy (sre and compliance)
// makes every run wait for two people, neither the requester.
const approvalEstate = "../../examples/firedrill.hcl"

// sitePlan is the example plan, submitted as a user would.
const sitePlan = "../../examples/plans/site-loss.hcl"

// noToken is what a command that needs a token says without one.
const noToken = "no API token: set FIREDRILL_TOKEN or --token-file (an admin creates one with `firedrill token create`; the first admin gets one from `firedrill user bootstrap`)"

func decodeJSON[T any](t *testing.T, res cliResult) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(res.stdout), &v); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, res.stdout)
	}
	return v
}

// TestFourEyesThroughTheCLI: an SRE submits a run through the CLI; the same SRE's approval is
// refused; a second SRE and a compliance officer make it pending.
func TestFourEyesThroughTheCLI(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := startAPI(t, approvalEstate)
	admin := srv.bootstrap(t, "root")
	alice := srv.person(t, admin, "alice", "sre")
	bob := srv.person(t, admin, "bob", "sre")
	carol := srv.person(t, admin, "carol", "compliance")
	audrey := srv.person(t, admin, "audrey", "auditor")
	victor := srv.person(t, admin, "victor", "viewer")

	res := srv.cli(t, alice, "submit", sitePlan)
	runID := strings.TrimSpace(res.stdout)
	if runID == "" || strings.Contains(runID, "\n") {
		t.Fatalf("submit printed %q; want the run ID alone", res.stdout)
	}
	if !strings.Contains(res.stderr, "awaits approval by sre, compliance") {
		t.Errorf("submit said %q; want it to say the run awaits sre and compliance", res.stderr)
	}

	// What waits for whom.
	waiting := decodeJSON[struct{ Approvals []control.ApprovalWaiting }](t, srv.cli(t, bob, "approvals", "--json"))
	if len(waiting.Approvals) != 1 || waiting.Approvals[0].Run.ID != runID || !waiting.Approvals[0].CanApprove ||
		waiting.Approvals[0].Run.RequestedBy.Name != "alice" || waiting.Approvals[0].Deadline == nil {
		t.Errorf("bob's approvals = %+v; want the run, which bob can approve, asked by alice, with a deadline", waiting.Approvals)
	}
	if res := srv.cli(t, alice, "approvals"); !strings.Contains(res.stdout, runID) || !strings.Contains(res.stdout, "alice (via cli)") ||
		!strings.Contains(res.stdout, "sre, compliance") || !strings.HasSuffix(strings.TrimSpace(res.stdout), "no") {
		t.Errorf("alice's approvals:\n%s\nwant the run, asked by alice via cli, missing sre and compliance, which she cannot approve", res.stdout)
	}

	// The requester never approves; nor does a role the policy does not name.
	for name, tok := range map[string]string{"alice": alice, "audrey": audrey} {
		res := runCLI(t, ctx, srv.as(tok), "approve", runID)
		if res.code != exitError || !strings.Contains(res.stderr, "firedrill: ") {
			t.Errorf("%s approves: exit %d, stderr %q; want refused with the server's message", name, res.code, res.stderr)
		}
	}
	res = srv.cli(t, bob, "approve", runID, "--comment", "change ticket CHG-1")
	if !strings.Contains(res.stdout, "still needs compliance") {
		t.Errorf("bob approves: %q; want it to still need compliance", res.stdout)
	}
	if res := runCLI(t, ctx, srv.as(bob), "approve", runID); res.code != exitError {
		t.Errorf("bob approves twice: exit %d, want refused", res.code)
	}
	out := decodeJSON[control.ApprovalOutcome](t, srv.cli(t, carol, "approve", runID, "--json"))
	if !out.PolicyMet || out.Run.State != drills.RunPending || len(out.MissingRoles) != 0 {
		t.Errorf("carol approves --json = %+v; want the policy met and the run pending", out)
	}

	view := decodeJSON[control.RunView](t, srv.cli(t, alice, "runs", "show", runID, "--json"))
	if view.Run.State != drills.RunPending || view.Run.RequestedBy.Name != "alice" || view.Run.RequestedBy.Via != drills.ViaCLI || len(view.Approvals) != 2 {
		t.Errorf("runs show --json = %+v; want pending, asked by alice via cli, two approvals", view.Run)
	}
	res = srv.cli(t, alice, "runs", "show", runID)
	for _, want := range []string{"requested by alice (via cli)", "by bob (via cli) as sre", "CHG-1", "by carol (via cli) as compliance", "Drill IN PROGRESS: run pending, no verdict yet"} {
		if !strings.Contains(res.stdout, want) {
			t.Errorf("runs show lacks %q:\n%s", want, res.stdout)
		}
	}
	if strings.Contains(res.stdout, "FAILED") || strings.Contains(res.stdout, "\nEvents (") {
		t.Errorf("runs show of a pending run says FAILED or prints the raw events unasked:\n%s", res.stdout)
	}
	// --events prints the raw timeline: every event, with its kind and data.
	res = srv.cli(t, alice, "runs", "show", runID, "--events")
	if want := fmt.Sprintf("\nEvents (%d, UTC)\n", len(view.Timeline)); !strings.Contains(res.stdout, want) || !strings.Contains(res.stdout, "run_created") {
		t.Errorf("runs show --events lacks %q and run_created:\n%s", want, res.stdout)
	}
	list := decodeJSON[control.RunList](t, srv.cli(t, victor, "runs", "list", "--requested-by", "alice", "--state", "pending", "--json"))
	if len(list.Runs) != 1 || list.Runs[0].ID != runID {
		t.Errorf("a viewer's runs list = %+v; want the run", list.Runs)
	}
	// An auditor reads only the runs a published report covers: none yet.
	if list := decodeJSON[control.RunList](t, srv.cli(t, audrey, "runs", "list", "--json")); len(list.Runs) != 0 {
		t.Errorf("an auditor's runs list before any published report = %+v; want none", list.Runs)
	}
}

func TestApproveWithoutATokenSaysHowToGetOne(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// No server is needed to refuse: nothing is sent without a token.
	for _, args := range [][]string{
		{"approve", "some-run"},
		{"submit", sitePlan},
		{"runs", "list"},
		{"token", "create", "--user", "alice"},
	} {
		res := runCLI(t, ctx, map[string]string{"FIREDRILL_ADDR": "http://127.0.0.1:1"}, args...)
		if res.code != exitError || strings.TrimSpace(res.stderr) != "firedrill: "+noToken {
			t.Errorf("%v without a token: exit %d, stderr %q; want 1 and %q", args, res.code, res.stderr, noToken)
		}
	}
	empty := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res := runCLI(t, ctx, nil, "approve", "some-run", "--token-file", empty)
	if res.code != exitError || !strings.Contains(res.stderr, "--token-file: "+empty+" is empty") {
		t.Errorf("an empty token file: exit %d, stderr %q", res.code, res.stderr)
	}
}

func TestTokenSourcesAndPrecedence(t *testing.T) {
	t.Parallel()
	srv := startAPI(t, "")
	admin := srv.bootstrap(t, "root")
	alice := srv.person(t, admin, "alice", "sre")
	dir := t.TempDir()
	aliceFile, adminFile := filepath.Join(dir, "alice.token"), filepath.Join(dir, "root.token")
	for path, tok := range map[string]string{aliceFile: alice + "\n", adminFile: admin} {
		if err := os.WriteFile(path, []byte(tok), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	whoami := func(env map[string]string, args ...string) string {
		t.Helper()
		env["FIREDRILL_ADDR"] = srv.url
		res := runCLI(t, context.Background(), env, append([]string{"whoami", "--json"}, args...)...)
		if res.code != exitOK {
			t.Fatalf("whoami %v: exit %d: %s", env, res.code, res.stderr)
		}
		return decodeJSON[control.Whoami](t, res).Actor.Name
	}
	if got := whoami(map[string]string{"FIREDRILL_TOKEN_FILE": aliceFile}); got != "alice" {
		t.Errorf("FIREDRILL_TOKEN_FILE: whoami = %s, want alice", got)
	}
	if got := whoami(map[string]string{"FIREDRILL_TOKEN": admin, "FIREDRILL_TOKEN_FILE": aliceFile}); got != "root" {
		t.Errorf("FIREDRILL_TOKEN and FIREDRILL_TOKEN_FILE: whoami = %s, want root (the token wins over the env's file)", got)
	}
	if got := whoami(map[string]string{"FIREDRILL_TOKEN": admin}, "--token-file", aliceFile); got != "alice" {
		t.Errorf("--token-file and FIREDRILL_TOKEN: whoami = %s, want alice (the command line wins)", got)
	}
	// --address wins over FIREDRILL_ADDR.
	res := runCLI(t, context.Background(), map[string]string{"FIREDRILL_ADDR": "http://127.0.0.1:1", "FIREDRILL_TOKEN": alice}, "whoami", "--address", srv.url)
	if res.code != exitOK || !strings.Contains(res.stdout, "alice (via cli), acting as sre") {
		t.Errorf("whoami --address: exit %d, %q %q", res.code, res.stdout, res.stderr)
	}
}

func TestBootstrapOnlyOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := startAPI(t, "")
	res := runCLI(t, ctx, nil, "user", "bootstrap", "root", "--database-url", srv.dsn)
	if res.code != exitOK {
		t.Fatalf("user bootstrap: exit %d: %s", res.code, res.stderr)
	}
	tok := strings.TrimSpace(res.stdout)
	if !strings.HasPrefix(tok, "fdt_") || strings.Count(res.stdout, "\n") != 1 {
		t.Errorf("user bootstrap printed %q; want the token alone on stdout", res.stdout)
	}
	if !strings.Contains(res.stderr, "will not be shown again") || strings.Contains(res.stderr, tok) {
		t.Errorf("user bootstrap said %q; want a note that the token will not be shown again, without the token", res.stderr)
	}
	who := decodeJSON[control.Whoami](t, srv.cli(t, tok, "whoami", "--json"))
	if who.Actor.Name != "root" || len(who.Roles) != 1 || who.Roles[0] != drills.RoleAdmin {
		t.Errorf("the bootstrap token stands for %+v as %v; want root, admin", who.Actor, who.Roles)
	}

	res = runCLI(t, ctx, nil, "user", "bootstrap", "eve", "--database-url", srv.dsn)
	if res.code != exitError || res.stdout != "" || !strings.Contains(res.stderr, "admin") {
		t.Errorf("a second bootstrap: exit %d, stdout %q, stderr %q; want refused because an admin exists", res.code, res.stdout, res.stderr)
	}
	users := decodeJSON[struct{ Users []control.UserView }](t, srv.cli(t, tok, "user", "list", "--json"))
	if len(users.Users) != 1 || users.Users[0].Name != "root" {
		t.Errorf("users after a refused bootstrap = %+v; want root alone", users.Users)
	}
}

func TestTokenCreateListRevoke(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := startAPI(t, "")
	admin := srv.bootstrap(t, "root")
	srv.cli(t, admin, "user", "add", "alice", "--role", "sre,compliance")

	res := srv.cli(t, admin, "token", "create", "--user", "alice", "--role", "sre", "--expires-in", "720h", "--description", "laptop")
	alice := strings.TrimSpace(res.stdout)
	if !strings.HasPrefix(alice, "fdt_") || !strings.Contains(res.stderr, "will not be shown again") || !strings.Contains(res.stderr, "for alice (roles sre,") {
		t.Fatalf("token create: stdout %q stderr %q", res.stdout, res.stderr)
	}
	if who := decodeJSON[control.Whoami](t, srv.cli(t, alice, "whoami", "--json")); who.Actor.Name != "alice" || len(who.Roles) != 1 || who.Roles[0] != "sre" {
		t.Errorf("alice's token acts as %+v %v; want alice, sre only", who.Actor, who.Roles)
	}
	// An SRE does not manage tokens.
	if res := runCLI(t, ctx, srv.as(alice), "token", "create", "--user", "alice"); res.code != exitError || !strings.Contains(res.stderr, "token.manage") {
		t.Errorf("an SRE creates a token: exit %d, stderr %q; want forbidden with the server's message", res.code, res.stderr)
	}

	list := srv.cli(t, admin, "token", "list", "--user", "alice")
	if strings.Contains(list.stdout, alice) || !strings.Contains(list.stdout, "laptop") || !strings.Contains(list.stdout, "active") {
		t.Errorf("token list:\n%s\nwant the token, active, without its secret", list.stdout)
	}
	toks := decodeJSON[struct{ Tokens []control.TokenView }](t, srv.cli(t, admin, "token", "list", "--json"))
	var id string
	for _, tk := range toks.Tokens {
		if tk.User == "alice" {
			id = tk.ID
		}
	}
	if id == "" {
		t.Fatalf("token list --json = %+v; want alice's token", toks.Tokens)
	}
	if res := srv.cli(t, admin, "token", "revoke", id); !strings.Contains(res.stdout, "token "+id+" of alice revoked") {
		t.Errorf("token revoke: %q", res.stdout)
	}
	res = runCLI(t, ctx, srv.as(alice), "runs", "list")
	if res.code != exitError || !strings.Contains(res.stderr, "firedrill: ") || strings.Contains(res.stderr, alice) {
		t.Errorf("a revoked token: exit %d, stderr %q; want refused with the server's message, never the token", res.code, res.stderr)
	}
	if list := srv.cli(t, admin, "token", "list", "--user", "alice"); !strings.Contains(list.stdout, "revoked") {
		t.Errorf("token list after revoke:\n%s", list.stdout)
	}
}

func TestUsersRolesAndADisabledUsersToken(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := startAPI(t, "")
	admin := srv.bootstrap(t, "root")
	alice := srv.person(t, admin, "alice", "sre")

	if res := runCLI(t, ctx, srv.as(admin), "user", "add", "eve", "--role", "god"); res.code != exitError || !strings.Contains(res.stderr, "god") {
		t.Errorf("user add with an unknown role: exit %d, %q", res.code, res.stderr)
	}
	if res := runCLI(t, ctx, srv.as(alice), "user", "add", "mallory", "--role", "admin"); res.code != exitError || !strings.Contains(res.stderr, "user.manage") {
		t.Errorf("an SRE adds an admin: exit %d, %q; want forbidden", res.code, res.stderr)
	}
	srv.cli(t, admin, "user", "grant", "alice", "compliance")
	if res := srv.cli(t, admin, "user", "list"); !strings.Contains(res.stdout, "compliance,sre") && !strings.Contains(res.stdout, "sre,compliance") {
		t.Errorf("user list after the grant:\n%s", res.stdout)
	}
	srv.cli(t, admin, "user", "revoke", "alice", "compliance")
	hist := decodeJSON[struct{ Grants []control.RoleGrantView }](t, srv.cli(t, admin, "user", "roles-history", "alice", "--json"))
	var changes []string
	for _, g := range hist.Grants {
		if g.Role == "compliance" {
			changes = append(changes, g.Change+" by "+g.By.Name)
		}
	}
	if len(changes) != 2 {
		t.Errorf("roles-history of alice = %+v; want the grant and the revocation of compliance, by root", hist.Grants)
	}
	if res := srv.cli(t, admin, "user", "roles-history"); !strings.Contains(res.stdout, "alice") || !strings.Contains(res.stdout, "root") {
		t.Errorf("roles-history:\n%s", res.stdout)
	}

	srv.cli(t, alice, "freeze", "status")
	if res := srv.cli(t, admin, "user", "disable", "alice"); !strings.Contains(res.stderr, "user alice disabled") {
		t.Errorf("user disable said %q", res.stderr)
	}
	res := runCLI(t, ctx, srv.as(alice), "freeze", "status")
	if res.code != exitError || !strings.Contains(res.stderr, "firedrill: ") || strings.Contains(res.stderr, alice) {
		t.Errorf("a disabled user's token: exit %d, stderr %q; want refused", res.code, res.stderr)
	}
	if res := srv.cli(t, admin, "user", "list", "--json"); !strings.Contains(res.stdout, `"disabled": true`) {
		t.Errorf("user list --json after disable:\n%s", res.stdout)
	}
}

func TestFreezeAndAbortThroughTheServer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := startAPI(t, approvalEstate)
	admin := srv.bootstrap(t, "root")
	alice := srv.person(t, admin, "alice", "sre")
	audrey := srv.person(t, admin, "audrey", "auditor")
	runID := strings.TrimSpace(srv.cli(t, alice, "submit", sitePlan).stdout)

	// An auditor reads; they do not pull the lever.
	for _, args := range [][]string{{"freeze", "on", "--reason", "x"}, {"abort", runID, "--reason", "x"}} {
		if res := runCLI(t, ctx, srv.as(audrey), args...); res.code != exitError || !strings.Contains(res.stderr, "audrey may not") {
			t.Errorf("an auditor runs %v: exit %d, stderr %q; want forbidden", args, res.code, res.stderr)
		}
	}
	if res := runCLI(t, ctx, srv.as(alice), "freeze", "on"); res.code != exitError || !strings.Contains(res.stderr, "reason") {
		t.Errorf("freeze on without a reason: exit %d, %q", res.code, res.stderr)
	}
	if res := srv.cli(t, alice, "freeze", "status"); !strings.Contains(res.stdout, "no freeze is on") {
		t.Fatalf("refused freezes changed something: %q", res.stdout)
	}

	f := decodeJSON[control.FreezeView](t, srv.cli(t, alice, "freeze", "on", "--reason", "market turmoil", "--abort-running", "--json"))
	if !f.Active || len(f.AbortedRuns) != 1 || f.AbortedRuns[0] != runID {
		t.Errorf("freeze on --abort-running = %+v; want active, the run aborted", f)
	}
	view := decodeJSON[control.RunView](t, srv.cli(t, alice, "runs", "show", runID, "--json"))
	if by := view.Run.AbortRequestedBy; by == nil || by.Name != "alice" || !strings.Contains(view.Run.AbortReason, "market turmoil") {
		t.Errorf("the run's abort request = %v %q; want by alice, for the freeze", view.Run.AbortRequestedBy, view.Run.AbortReason)
	}
	if res := srv.cli(t, alice, "freeze", "status"); !strings.Contains(res.stdout, "set by alice (via cli): market turmoil") {
		t.Errorf("freeze status = %q", res.stdout)
	}
	if res := runCLI(t, ctx, srv.as(alice), "freeze", "on", "--reason", "again"); res.code != exitError {
		t.Errorf("a second freeze: exit %d, %q; want refused", res.code, res.stderr)
	}
	if res := srv.cli(t, alice, "freeze", "off"); !strings.Contains(res.stdout, "lifted by alice (via cli)") {
		t.Errorf("freeze off = %q", res.stdout)
	}

	// A second run, aborted by hand.
	runID = strings.TrimSpace(srv.cli(t, alice, "submit", sitePlan).stdout)
	if res := runCLI(t, ctx, srv.as(alice), "abort", runID); res.code != exitError || !strings.Contains(res.stderr, "reason") {
		t.Errorf("abort without a reason: exit %d, %q", res.code, res.stderr)
	}
	run := decodeJSON[control.RunSummary](t, srv.cli(t, alice, "abort", runID, "--reason", "no longer needed", "--json"))
	if run.AbortReason != "no longer needed" || run.AbortRequestedBy == nil || run.AbortRequestedBy.Name != "alice" {
		t.Errorf("abort --json = %+v", run)
	}
	if res := runCLI(t, ctx, srv.as(alice), "abort", "no-such-run", "--reason", "x"); res.code != exitError || !strings.Contains(res.stderr, "no-such-run") {
		t.Errorf("abort of an unknown run: exit %d, %q", res.code, res.stderr)
	}

	// Two runs, a page at a time.
	res := srv.cli(t, alice, "runs", "list", "--limit", "1")
	_, cursor, ok := strings.Cut(strings.TrimSpace(res.stderr), "more runs: --cursor ")
	if !ok || strings.Count(res.stdout, "\n") != 2 {
		t.Fatalf("runs list --limit 1: stdout %q stderr %q; want one run and the next page's cursor", res.stdout, res.stderr)
	}
	first := decodeJSON[control.RunList](t, srv.cli(t, alice, "runs", "list", "--limit", "1", "--json"))
	second := decodeJSON[control.RunList](t, srv.cli(t, alice, "runs", "list", "--limit", "1", "--cursor", cursor, "--json"))
	if len(first.Runs) != 1 || len(second.Runs) != 1 || first.Runs[0].ID == second.Runs[0].ID || second.NextCursor != "" || first.NextCursor != cursor {
		t.Errorf("pages = %+v then %+v; want the two runs, one each, and no third page", first, second)
	}
}

func TestSubmitAnInvalidPlanPrintsPositions(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := startAPI(t, "testdata/broken/good-estate.hcl")
	admin := srv.bootstrap(t, "root")
	alice := srv.person(t, admin, "alice", "sre")
	res := runCLI(t, ctx, srv.as(alice), "submit", "testdata/broken/plan.hcl", "--config", "testdata/broken/good-estate.hcl")
	if res.code != exitError {
		t.Fatalf("submit of a broken plan: exit %d, want 1\n%s", res.code, res.stderr)
	}
	// Exactly the problems plan validate finds locally, at the same positions, naming the
	// file as given here.
	local := runCLI(t, ctx, nil, "plan", "validate", "--config", "testdata/broken/good-estate.hcl", "testdata/broken/plan.hcl")
	var problems []string
	for _, line := range strings.Split(strings.TrimSpace(res.stderr), "\n") {
		if !strings.HasPrefix(line, "firedrill: ") {
			problems = append(problems, line)
		}
	}
	if got, want := strings.Join(problems, "\n"), strings.TrimSpace(local.stdout); got != want {
		t.Errorf("submit printed the problems\n%s\nwant those plan validate prints\n%s", got, want)
	}
	if runs := decodeJSON[control.RunList](t, srv.cli(t, alice, "runs", "list", "--json")); len(runs.Runs) != 0 {
		t.Errorf("an invalid plan recorded runs: %+v", runs.Runs)
	}
}
