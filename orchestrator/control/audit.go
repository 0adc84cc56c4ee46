package control

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// Audit list limits.
const (
	DefaultAuditListLimit = store.DefaultAuditListLimit
	MaxAuditListLimit     = store.MaxAuditListLimit
	// maxAuditFilter bounds a filter's text.
	maxAuditFilter = 200
)

// AuditOutcomes are the outcomes a recorded operation has.
var AuditOutcomes = []string{store.OutcomeOK, store.OutcomeDenied, store.OutcomeFailed}

// AuditListParams filter and page the audit log, newest first. Every filter is optional.
type AuditListParams struct {
	// Actor is the name of who acted; Operation the operation's name ("run.submit"); Target
	// what it acted on (a run ID, a user, a token ID); Outcome ok, denied or failed.
	Actor     string `json:"actor,omitempty"`
	Operation string `json:"operation,omitempty"`
	Target    string `json:"target,omitempty"`
	Outcome   string `json:"outcome,omitempty"`
	// Since and Until keep the records at or after Since and before Until.
	Since *time.Time `json:"since,omitempty"`
	Until *time.Time `json:"until,omitempty"`
	// Text keeps the records whose message contains it (ignoring ASCII case); it needs Since.
	Text string `json:"text,omitempty"`
	// Cursor continues a list: a page's NextCursor.
	Cursor string `json:"cursor,omitempty"`
	// Limit defaults to DefaultAuditListLimit, at most MaxAuditListLimit.
	Limit int `json:"limit,omitempty"`
}

// AuditList is a page of the audit log with the chain's head.
type AuditList struct {
	Entries []AuditEntryView `json:"entries"`
	// NextCursor continues the list; empty on its last page.
	NextCursor string `json:"next_cursor,omitempty"`
	// HeadSeq and HeadHash are the chain's last row (`firedrill audit verify` walks it).
	HeadSeq  int64  `json:"head_seq"`
	HeadHash string `json:"head_hash"`
}

// AuditEntryView is one recorded operation and its row in the audit chain.
type AuditEntryView struct {
	ID        int64           `json:"id"`
	At        time.Time       `json:"at"`
	Actor     drills.Actor    `json:"actor"`
	Operation string          `json:"operation"`
	Target    string          `json:"target,omitempty"`
	Outcome   string          `json:"outcome"`
	Message   string          `json:"message,omitempty"`
	Detail    json.RawMessage `json:"detail,omitempty"`
	// AuditSeq and AuditHash are its audit row; absent for an operation recorded before the
	// log began.
	AuditSeq  int64  `json:"audit_seq,omitempty"`
	AuditHash string `json:"audit_hash,omitempty"`
}

// AuditListGet lists recorded operations, newest first, with the chain's head.
func (c *Control) AuditListGet(ctx context.Context, caller *Caller, p *AuditListParams) (*AuditList, error) {
	if p == nil {
		p = &AuditListParams{}
	}
	if err := c.authorize(ctx, caller, OpAuditRead, "", ""); err != nil {
		return nil, err
	}
	q := &store.AuditListParams{ActorName: p.Actor, Operation: p.Operation, Target: p.Target, Outcome: p.Outcome,
		Since: p.Since, Until: p.Until, Text: p.Text, Limit: p.Limit}
	for _, f := range []struct{ name, v string }{{"actor", p.Actor}, {"operation", p.Operation}, {"target", p.Target}, {"text", p.Text}} {
		if len(f.v) > maxAuditFilter {
			return nil, invalidf(f.name, "%s is longer than %d characters", f.name, maxAuditFilter)
		}
	}
	switch {
	case p.Outcome != "" && !slices.Contains(AuditOutcomes, p.Outcome):
		return nil, invalidf("outcome", "outcome %q is not one of ok, denied, failed", p.Outcome)
	case p.Limit < 0 || p.Limit > MaxAuditListLimit:
		return nil, invalidf("limit", "limit %d is not from 1 to %d", p.Limit, MaxAuditListLimit)
	case p.Text != "" && p.Since == nil:
		// The text is matched row by row: a window keeps the scan to the at index's range.
		return nil, invalidf("since", "searching the messages needs since: the text is matched row by row within the period")
	case p.Since != nil && p.Until != nil && !p.Until.After(*p.Since):
		return nil, invalidf("until", "until %s is not after since %s", p.Until.Format(time.RFC3339), p.Since.Format(time.RFC3339))
	}
	if p.Cursor != "" {
		id, err := strconv.ParseInt(p.Cursor, 10, 64)
		if err != nil || id <= 0 {
			return nil, invalidf("cursor", "cursor %q is not one a page of the audit log gave", p.Cursor)
		}
		q.Before = id
	}
	// The head first: reading it chains what is pending, so the page's operations have
	// their audit rows.
	head, err := c.cfg.Store.AuditHeadGet(ctx)
	if err != nil {
		return nil, internal(err)
	}
	page, err := c.cfg.Store.AuditList(ctx, q)
	if err != nil {
		return nil, internal(err)
	}
	out := &AuditList{Entries: make([]AuditEntryView, 0, len(page.Entries)), HeadSeq: head.Seq, HeadHash: head.Hash}
	if page.Next > 0 {
		out.NextCursor = strconv.FormatInt(page.Next, 10)
	}
	for _, e := range page.Entries {
		out.Entries = append(out.Entries, AuditEntryView{ID: e.ID, At: e.At, Actor: e.Actor, Operation: e.Operation.Operation, Target: e.Target,
			Outcome: e.Outcome, Message: e.Message, Detail: e.Detail, AuditSeq: e.Seq, AuditHash: e.Hash})
	}
	return out, nil
}

// AuditVerifyView is the outcome of walking the whole audit chain.
type AuditVerifyView struct {
	Verified bool  `json:"verified"`
	Rows     int64 `json:"rows"`
	// Pending counts the facts committed while the walk ran, checked but not yet chained.
	Pending  int64               `json:"pending,omitempty"`
	HeadSeq  int64               `json:"head_seq"`
	HeadHash string              `json:"head_hash"`
	Problem  *store.AuditProblem `json:"problem,omitempty"`
}

// AuditVerify walks the whole audit chain, as `firedrill audit verify` does, and names the
// first row missing or altered. It reads every row: the console runs it when asked, not on
// every page.
func (c *Control) AuditVerify(ctx context.Context, caller *Caller) (*AuditVerifyView, error) {
	if err := c.authorize(ctx, caller, OpAuditRead, "audit.verify", ""); err != nil {
		return nil, err
	}
	rep, err := c.cfg.Store.AuditVerify(ctx, nil)
	if err != nil {
		return nil, internal(err)
	}
	return &AuditVerifyView{Verified: rep.Problem == nil, Rows: rep.Rows, Pending: rep.Pending, HeadSeq: rep.HeadSeq, HeadHash: rep.HeadHash, Problem: rep.Problem}, nil
}
