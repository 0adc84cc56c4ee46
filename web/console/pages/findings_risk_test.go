package pages_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/control"
)

// A compliance officer accepts a finding's risk from the findings page, with a required
// reason; nobody else is offered the form, and a post from another role is refused.
func TestFindingAcceptRisk(t *testing.T) {
	t.Parallel()
	c := setup(t)
	ctx := context.Background()
	f, err := c.ctl.FindingAdd(ctx, c.callers[drills.RoleSRE], &control.FindingAddParams{Title: "Standby VIP undocumented", Severity: "medium", Service: "payments"})
	if err != nil {
		t.Fatal(err)
	}
	id := f.Finding.ID
	action := `action="/findings/` + id + `/accept-risk"`
	page := c.get(t, drills.RoleCompliance, "/findings", "Accept-Language", "en").body
	if !strings.Contains(page, action) || !strings.Contains(page, `name="reason" rows="2" required`) {
		t.Fatalf("compliance's findings page has no accept-risk form:\n%s", excerpt(page))
	}
	requireCSRF(t, "findings page", page)
	if sre := c.get(t, drills.RoleSRE, "/findings").body; strings.Contains(sre, action) {
		t.Errorf("an SRE is offered to accept a risk")
	}
	for _, role := range []string{drills.RoleSRE, drills.RoleAdmin, drills.RoleViewer} {
		if got := c.post(t, role, "/findings/"+id+"/accept-risk", url.Values{"csrf_token": {csrfToken}, "reason": {"fine"}}); got.status != http.StatusForbidden {
			t.Errorf("accept risk as %s: %d, want 403", role, got.status)
		}
	}
	if got := c.post(t, drills.RoleCompliance, "/findings/"+id+"/accept-risk", url.Values{"csrf_token": {csrfToken}, "reason": {"  "}}); got.status != http.StatusBadRequest || !strings.Contains(got.body, "reason") {
		t.Errorf("accept risk without a reason: %d, want 400 naming reason", got.status)
	}
	if got := c.post(t, drills.RoleCompliance, "/findings/F-999999/accept-risk", url.Values{"csrf_token": {csrfToken}, "reason": {"x"}}); got.status != http.StatusNotFound {
		t.Errorf("accept risk of no finding: %d, want 404", got.status)
	}
	if d, _ := c.ctl.FindingGet(ctx, c.callers[drills.RoleCompliance], id); d.Finding.Status != drills.FindingOpen {
		t.Fatalf("the refused posts changed the finding: %s", d.Finding.Status)
	}
	got := c.post(t, drills.RoleCompliance, "/findings/"+id+"/accept-risk", url.Values{"csrf_token": {csrfToken}, "reason": {"VIP moves with the Q3 network change"}})
	if got.status != http.StatusSeeOther || !strings.HasPrefix(got.location, "/findings?") {
		t.Fatalf("accept risk: %d to %q\n%s", got.status, got.location, excerpt(got.body))
	}
	d, err := c.ctl.FindingGet(ctx, c.callers[drills.RoleCompliance], id)
	if err != nil || d.Finding.Status != drills.FindingRiskAccepted || d.Finding.RiskReason != "VIP moves with the Q3 network change" {
		t.Fatalf("after accepting: %+v, %v", d, err)
	}
	after := c.get(t, drills.RoleViewer, "/findings", "Accept-Language", "en").body
	if !strings.Contains(after, "Risk accepted by compliance on ") || !strings.Contains(after, "VIP moves with the Q3 network change") {
		t.Errorf("the findings page does not say who accepted the risk and why:\n%s", excerpt(after))
	}
	if strings.Contains(c.get(t, drills.RoleCompliance, "/findings").body, action) {
		t.Errorf("an accepted finding still offers to accept its risk")
	}
}
