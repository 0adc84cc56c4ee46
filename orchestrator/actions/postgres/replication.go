package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/actions"
)

// CheckReplication measures a standby's lag behind its primary: the step's site holds the
// standby, the plan's from site the primary, both under the same database name.
//
// Lag in bytes is the WAL the primary has written that the standby has not replayed. Lag in
// time is zero when the standby has replayed everything, else the standby's now() minus the
// commit time of the last transaction it replayed; it is unknown when the standby has not
// replayed a transaction since it started. The standby is read first, then the primary, so
// the lag is never understated.
type CheckReplication struct{ p *Postgres }

// Spec implements actions.Action.
func (a *CheckReplication) Spec() drills.ActionSpec { return spec(ActionCheckReplication) }

// walReceiver is a row of pg_stat_wal_receiver. Its fields are NULL for a user without
// pg_read_all_stats.
type walReceiver struct {
	status        *string
	receivedTLI   *int32
	latestEndLSN  *string
	lastMessageAt *time.Time
}

// Run implements actions.Action.
func (a *CheckReplication) Run(ctx context.Context, req *actions.Request) (*actions.Result, error) {
	p := a.p
	step := req.Instance.Step
	name := step.String("database")
	if req.Site == nil {
		return nil, fmt.Errorf("check replication of database %s: no site given", name)
	}
	if req.Plan == nil || req.Plan.From == "" || req.Config == nil {
		return nil, fmt.Errorf("check replication of database %s on site %s: the plan names no from site to compare with", name, req.Site.Name)
	}
	if req.Plan.From == req.Site.Name {
		return nil, fmt.Errorf("check replication of database %s on site %s: the step's site is the plan's from site; run the check on the standby's site", name, req.Site.Name)
	}
	fromSite := req.Config.Site(req.Plan.From)
	if fromSite == nil {
		return nil, fmt.Errorf("check replication of database %s on site %s: the plan's from site %s is not in the configuration", name, req.Site.Name, req.Plan.From)
	}
	standby, err := p.target(req.Site, name)
	if err != nil {
		return nil, fmt.Errorf("check replication: %w", err)
	}
	primary, err := p.target(fromSite, name)
	if err != nil {
		return nil, fmt.Errorf("check replication of %s: primary: %w", standby, err)
	}
	maxLag := step.Duration("max_lag")
	maxLagBytes, checkBytes := step.Int("max_lag_bytes")
	requireStreaming := true
	if _, set := step.Params["require_streaming"]; set {
		requireStreaming = step.Bool("require_streaming")
	}
	if maxLag < 0 || maxLagBytes < 0 {
		return nil, fmt.Errorf("check replication of %s: max_lag and max_lag_bytes must not be negative", standby)
	}

	ev := map[string]any{
		"site": standby.site, "database": name, "endpoint": standby.addr,
		"primary_site": primary.site, "primary_endpoint": primary.addr,
	}
	if maxLag > 0 {
		ev["max_lag_ms"] = maxLag.Milliseconds()
	}
	if checkBytes {
		ev["max_lag_bytes"] = maxLagBytes
	}
	res := &actions.Result{Evidence: ev}

	// Connect to both first, so that the two readings are taken close together.
	sconn, err := p.connect(ctx, standby)
	if err != nil {
		return res, fmt.Errorf("check replication: standby: %w", err)
	}
	defer p.closeConn(ctx, sconn)
	pconn, err := p.connect(ctx, primary)
	if err != nil {
		return res, fmt.Errorf("check replication: primary: %w", err)
	}
	defer p.closeConn(ctx, pconn)

	var st standbyState
	var standbyNow time.Time
	callCtx, cancel := context.WithTimeout(ctx, p.cfg.CallTimeout)
	err = sconn.QueryRow(callCtx, `SELECT pg_is_in_recovery(), pg_last_wal_receive_lsn()::text,
		pg_last_wal_replay_lsn()::text, pg_last_xact_replay_timestamp(), now()`).
		Scan(&st.inRecovery, &st.receiveLSN, &st.replayLSN, &st.lastReplayAt, &standbyNow)
	cancel()
	if err != nil {
		return res, fmt.Errorf("check replication of %s: read recovery state: %w", standby, standby.safe(err))
	}
	var primaryInRecovery bool
	var primaryLSN *string
	callCtx, cancel = context.WithTimeout(ctx, p.cfg.CallTimeout)
	err = pconn.QueryRow(callCtx, `SELECT pg_is_in_recovery(),
		CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END`).
		Scan(&primaryInRecovery, &primaryLSN)
	cancel()
	if err != nil {
		return res, fmt.Errorf("check replication of %s: read the primary's WAL position: %w", primary, primary.safe(err))
	}
	ev["measured_at"] = standbyNow.UTC()
	ev["in_recovery"] = st.inRecovery
	ev["receive_lsn"] = nullable(st.receiveLSN)
	ev["replay_lsn"] = nullable(st.replayLSN)
	ev["last_replay_at"] = utcTime(st.lastReplayAt)
	ev["primary_in_recovery"] = primaryInRecovery
	ev["primary_current_lsn"] = nullable(primaryLSN)

	wr, err := readWALReceiver(ctx, p, sconn)
	if err != nil {
		return res, fmt.Errorf("check replication of %s: read pg_stat_wal_receiver: %w", standby, standby.safe(err))
	}
	if wr == nil {
		ev["wal_receiver_status"] = "none"
	} else {
		ev["wal_receiver_status"] = nullable(wr.status)
		ev["received_tli"] = nullable(wr.receivedTLI)
		ev["latest_end_lsn"] = nullable(wr.latestEndLSN)
		ev["last_msg_receipt_at"] = utcTime(wr.lastMessageAt)
	}

	if !st.inRecovery {
		return res, fmt.Errorf("check replication of %s: %w", standby, ErrNotStandby)
	}
	if primaryInRecovery || primaryLSN == nil {
		return res, fmt.Errorf("check replication of %s: the primary %s is itself in recovery", standby, primary)
	}
	if st.replayLSN == nil {
		return res, fmt.Errorf("check replication of %s: the standby reports no replay position", standby)
	}
	pLSN, err := parseLSN(*primaryLSN)
	if err != nil {
		return res, fmt.Errorf("check replication of %s: primary: %w", standby, err)
	}
	rLSN, err := parseLSN(*st.replayLSN)
	if err != nil {
		return res, fmt.Errorf("check replication of %s: %w", standby, err)
	}
	lagBytes := int64(0)
	if pLSN > rLSN {
		lagBytes = int64(pLSN - rLSN)
	}
	ev["lag_bytes"] = lagBytes
	if st.receiveLSN != nil {
		if recv, err := parseLSN(*st.receiveLSN); err == nil {
			ev["receive_lag_bytes"] = max(int64(pLSN)-int64(recv), 0)
		}
	}
	caughtUp := rLSN >= pLSN
	ev["caught_up"] = caughtUp
	var lag time.Duration
	lagKnown := true
	switch {
	case caughtUp:
	case st.lastReplayAt != nil:
		lag = max(standbyNow.Sub(*st.lastReplayAt), 0)
	default:
		lagKnown = false
	}
	if lagKnown {
		ev["lag_ms"] = lag.Milliseconds()
	} else {
		ev["lag_ms"] = nil
	}

	var breaches []string
	var sentinels []error
	if requireStreaming {
		switch {
		case wr == nil:
			breaches = append(breaches, "it has no WAL receiver")
			sentinels = append(sentinels, ErrNotStreaming)
		case wr.status != nil && *wr.status != "streaming":
			breaches = append(breaches, fmt.Sprintf("its WAL receiver is %s", *wr.status))
			sentinels = append(sentinels, ErrNotStreaming)
		}
	}
	if checkBytes && lagBytes > maxLagBytes {
		breaches = append(breaches, fmt.Sprintf("replay lag is %d bytes, over max_lag_bytes %d", lagBytes, maxLagBytes))
		sentinels = append(sentinels, ErrLagExceeded)
	}
	if maxLag > 0 {
		switch {
		case !lagKnown:
			breaches = append(breaches, fmt.Sprintf("replay lag in time is unknown (no transaction replayed since the standby started, %d bytes behind), max_lag is %s", lagBytes, maxLag))
			sentinels = append(sentinels, ErrLagExceeded)
		case lag > maxLag:
			breaches = append(breaches, fmt.Sprintf("replay lag is %s, over max_lag %s", lag.Round(time.Millisecond), maxLag))
			sentinels = append(sentinels, ErrLagExceeded)
		}
	}
	if len(breaches) > 0 {
		ev["breaches"] = breaches
		return res, &checkError{msg: fmt.Sprintf("check replication of %s: %s", standby, strings.Join(breaches, "; ")), errs: sentinels}
	}
	return res, nil
}

// checkError reports every breach in one message; errors.Is finds each breach's sentinel.
type checkError struct {
	msg  string
	errs []error
}

func (e *checkError) Error() string   { return e.msg }
func (e *checkError) Unwrap() []error { return e.errs }

// readWALReceiver returns the standby's WAL receiver, or nil when it has none.
func readWALReceiver(ctx context.Context, p *Postgres, conn *pgx.Conn) (*walReceiver, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.CallTimeout)
	defer cancel()
	var wr walReceiver
	err := conn.QueryRow(ctx, `SELECT status, received_tli, latest_end_lsn::text, last_msg_receipt_time
		FROM pg_stat_wal_receiver`).Scan(&wr.status, &wr.receivedTLI, &wr.latestEndLSN, &wr.lastMessageAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &wr, nil
}
