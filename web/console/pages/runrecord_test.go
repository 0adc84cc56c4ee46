package pages_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/firedrill/firedrill/drills"
)

// A lesson noted on a run's page is in its record, shown on the page; the roles that may not
// record are neither shown the form nor get through, and a bad kind is refused naming it.
func TestRunNotesFromTheRunPage(t *testing.T) {
	t.Parallel()
	c := setup(t)
	id := c.runDrill(t, "", 8*time.Minute)
	path := "/runs/" + id
	if body := c.get(t, drills.RoleViewer, path).body; strings.Contains(body, `action="`+path+`/notes"`) {
		t.Errorf("the viewer is shown the form to note a lesson")
	}
	lesson := url.Values{"csrf_token": {csrfToken}, "kind": {"lesson"}, "text": {"The VAN operator's number in the runbook was out of date"}}
	if got := c.post(t, drills.RoleViewer, path+"/notes", lesson); got.status != http.StatusForbidden {
		t.Errorf("a note by a viewer: %d, want 403", got.status)
	}
	bad := url.Values{"csrf_token": {csrfToken}, "kind": {"gossip"}, "text": {"x"}}
	if got := c.post(t, drills.RoleSRE, path+"/notes", bad); got.status != http.StatusBadRequest || !strings.Contains(got.body, "kind") {
		t.Errorf("a note of a bad kind: %d, want 400 naming kind:\n%s", got.status, excerpt(got.body))
	}
	if got := c.post(t, drills.RoleSRE, path+"/notes", lesson); got.status != http.StatusSeeOther || !strings.HasPrefix(got.header.Get("Location"), path) {
		t.Fatalf("a note by an SRE: %d %s", got.status, got.header.Get("Location"))
	}
	v, err := c.ctl.RunGet(context.Background(), c.callers[drills.RoleAdmin], id)
	if err != nil || len(v.Notes) != 1 || v.Notes[0].Kind != "lesson" || v.Notes[0].By.Name != drills.RoleSRE {
		t.Fatalf("the run's notes after the SRE's lesson = %+v, %v", v.Notes, err)
	}
	body := c.get(t, drills.RoleCompliance, path, "Accept-Language", "ko").body
	if !strings.Contains(body, "The VAN operator&#39;s number in the runbook was out of date") || !strings.Contains(body, "교훈") {
		t.Errorf("the run page does not show the lesson, in Korean:\n%s", excerpt(body))
	}
}
