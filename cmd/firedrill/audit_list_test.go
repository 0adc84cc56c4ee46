package main

import (
	"context"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/orchestrator/control"
)

// `firedrill audit list` searches the recorded operations through the API: a compliance
// officer sees the user changes an admin made; a viewer is refused.
func TestAuditList(t *testing.T) {
	t.Parallel()
	srv := startAPI(t, "")
	admin := srv.bootstrap(t, "root")
	cora := srv.person(t, admin, "cora", "compliance")
	vera := srv.person(t, admin, "vera", "viewer")
	out := srv.cli(t, cora, "audit", "list", "--actor", "root", "--operation", "user.create")
	if !strings.Contains(out.stdout, "user.create") || !strings.Contains(out.stdout, "cora") || !strings.Contains(out.stdout, "audit chain head: row ") {
		t.Errorf("audit list --actor root --operation user.create:\n%s", out.stdout)
	}
	page := decodeJSON[control.AuditList](t, srv.cli(t, cora, "audit", "list", "--outcome", "ok", "--limit", "1", "--json"))
	if len(page.Entries) != 1 || page.NextCursor == "" || page.Entries[0].AuditSeq == 0 {
		t.Errorf("audit list --limit 1 --json = %+v", page)
	}
	if res := runCLI(t, context.Background(), srv.as(vera), "audit", "list"); res.code == exitOK || !strings.Contains(res.stderr, "audit.read") {
		t.Errorf("audit list as a viewer: exit %d\n%s", res.code, res.stderr)
	}
	if res := runCLI(t, context.Background(), srv.as(cora), "audit", "list", "--since", "yesterday"); res.code == exitOK || !strings.Contains(res.stderr, "--since") {
		t.Errorf("audit list --since yesterday: exit %d\n%s", res.code, res.stderr)
	}
}
