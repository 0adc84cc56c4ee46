package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/actions"
)

// Promote promotes a site's streaming standby and waits until it commits a write.
//
// Its evidence times the failover of the database: promote_started_at (just before
// pg_promote), promoted_at (pg_promote returned), writable_at (the first write committed,
// known to within poll_interval_ms) and promote_ms between the first and the last. The WAL
// positions and last replayed transaction before, and the timeline after, show what the
// promoted database holds.
type Promote struct{ p *Postgres }

// Spec implements actions.Action.
func (a *Promote) Spec() drills.ActionSpec { return spec(ActionPromote) }

// standbyState is what a standby reports of its recovery.
type standbyState struct {
	inRecovery   bool
	receiveLSN   *string
	replayLSN    *string
	lastReplayAt *time.Time
	timeline     *int32
}

const standbyStateSQL = `SELECT pg_is_in_recovery(), pg_last_wal_receive_lsn()::text,
	pg_last_wal_replay_lsn()::text, pg_last_xact_replay_timestamp(),
	(SELECT timeline_id FROM pg_control_checkpoint())`

func (st *standbyState) scan(row pgx.Row) error {
	return row.Scan(&st.inRecovery, &st.receiveLSN, &st.replayLSN, &st.lastReplayAt, &st.timeline)
}

// Run implements actions.Action.
func (a *Promote) Run(ctx context.Context, req *actions.Request) (*actions.Result, error) {
	p := a.p
	t, err := p.target(req.Site, req.Instance.Step.String("database"))
	if err != nil {
		return nil, fmt.Errorf("promote: %w", err)
	}
	ev := map[string]any{"site": t.site, "database": t.database, "endpoint": t.addr}
	res := &actions.Result{Evidence: ev}

	conn, err := p.connect(ctx, t)
	if err != nil {
		return res, fmt.Errorf("promote: %w", err)
	}
	defer func() { p.closeConn(ctx, conn) }()

	var before standbyState
	callCtx, cancel := context.WithTimeout(ctx, p.cfg.CallTimeout)
	err = before.scan(conn.QueryRow(callCtx, standbyStateSQL))
	cancel()
	if err != nil {
		return res, fmt.Errorf("promote %s: read recovery state: %w", t, t.safe(err))
	}
	ev["in_recovery_before"] = before.inRecovery
	if !before.inRecovery {
		return res, fmt.Errorf("promote %s: %w: it is not in recovery, so there is no standby to promote; nothing was changed", t, ErrAlreadyPrimary)
	}
	ev["receive_lsn_before"] = nullable(before.receiveLSN)
	ev["replay_lsn_before"] = nullable(before.replayLSN)
	ev["last_replay_at_before"] = utcTime(before.lastReplayAt)
	ev["timeline_before"] = nullable(before.timeline)

	// From here on the outcome matters: pg_promote is called once and never retried.
	waitSeconds := int32(p.cfg.PromoteTimeout / time.Second)
	started := p.cfg.Clock.Now()
	ev["promote_started_at"] = started.UTC()
	var promoted bool
	callCtx, cancel = context.WithTimeout(ctx, p.cfg.PromoteTimeout+p.cfg.CallTimeout)
	err = conn.QueryRow(callCtx, "SELECT pg_promote(true, $1)", waitSeconds).Scan(&promoted)
	cancel()
	promotedAt := p.cfg.Clock.Now()
	switch {
	case sqlState(err) == "55000": // object_not_in_prerequisite_state: recovery is not in progress
		// Someone else promoted it between our check and our call.
		return res, fmt.Errorf("promote %s: %w: it left recovery before pg_promote was called; firedrill did not promote it", t, ErrAlreadyPrimary)
	case sqlState(err) == "42501": // insufficient_privilege
		return res, fmt.Errorf("promote %s: the user may not call pg_promote (it needs superuser or GRANT EXECUTE ON FUNCTION pg_promote); nothing was changed: %w", t, t.safe(err))
	case err != nil:
		return res, fmt.Errorf("promote %s: pg_promote failed, the database may or may not be promoted: %w", t, t.safe(err))
	case !promoted:
		return res, fmt.Errorf("promote %s: pg_promote did not finish within %s", t, p.cfg.PromoteTimeout)
	}
	ev["promoted_at"] = promotedAt.UTC()
	ev["pg_promote_ms"] = promotedAt.Sub(started).Milliseconds()

	// Out of recovery is not yet writable (e.g. a synchronous_standby_names copied from the
	// old primary makes every commit wait): wait for a real commit.
	writableAt, probes, err := a.waitWritable(ctx, t, &conn)
	ev["write_probes"] = probes
	ev["poll_interval_ms"] = p.cfg.PollInterval.Milliseconds()
	if err != nil {
		return res, err
	}
	ev["writable_at"] = writableAt.UTC()
	ev["promote_ms"] = writableAt.Sub(started).Milliseconds()

	// The timeline the promoted database writes on; pg_control_checkpoint's lags until the
	// first checkpoint after promotion.
	var walFile, lsnAfter string
	callCtx, cancel = context.WithTimeout(ctx, p.cfg.CallTimeout)
	err = conn.QueryRow(callCtx, "SELECT pg_walfile_name(pg_current_wal_lsn()), pg_current_wal_lsn()::text").Scan(&walFile, &lsnAfter)
	cancel()
	if err != nil {
		return res, fmt.Errorf("promote %s: promoted and writable, but reading the timeline failed: %w", t, t.safe(err))
	}
	ev["lsn_after"] = lsnAfter
	if len(walFile) >= 8 {
		if tli, perr := strconv.ParseUint(walFile[:8], 16, 32); perr == nil {
			ev["timeline_after"] = int64(tli)
		}
	}
	return res, nil
}

// waitWritable polls until the database is out of recovery and commits a write, within
// PromoteTimeout. It returns when the first write committed and how many probes it took.
// A connection that broke is replaced in *conn.
func (a *Promote) waitWritable(ctx context.Context, t *target, conn **pgx.Conn) (time.Time, int, error) {
	p := a.p
	ctx, cancel := context.WithTimeout(ctx, p.cfg.PromoteTimeout)
	defer cancel()
	var lastErr error
	for probes := 1; ; probes++ {
		var err error
		if (*conn).IsClosed() {
			var fresh *pgx.Conn
			if fresh, err = p.connect(ctx, t); err == nil {
				*conn = fresh
			}
		}
		if err == nil {
			err = a.probeWrite(ctx, *conn)
		}
		if err == nil {
			return p.cfg.Clock.Now(), probes, nil
		}
		lastErr = err
		if serr := p.sleep(ctx, p.cfg.PollInterval); serr != nil {
			return time.Time{}, probes, fmt.Errorf("promote %s: promoted, but no write committed within %s (%d probes): %w", t, p.cfg.PromoteTimeout, probes, t.safe(lastErr))
		}
	}
}

// errStillInRecovery is a probe's finding, not a failure.
var errStillInRecovery = errors.New("still in recovery")

// probeWrite commits a transaction that writes WAL (a temporary table's catalog rows).
func (a *Promote) probeWrite(ctx context.Context, conn *pgx.Conn) error {
	ctx, cancel := context.WithTimeout(ctx, a.p.cfg.CallTimeout)
	defer cancel()
	var inRecovery bool
	if err := conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil {
		return err
	}
	if inRecovery {
		return errStillInRecovery
	}
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "CREATE TEMPORARY TABLE firedrill_promote_probe (x int) ON COMMIT DROP"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "SELECT txid_current()")
		return err
	})
}
