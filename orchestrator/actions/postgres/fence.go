package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/actions"
)

// Fence makes a site's database (the old primary, once the DR standby is promoted) read-only,
// so that a drill never leaves two writable primaries.
//
// How, and why this way: ALTER SYSTEM SET default_transaction_read_only = on and
// pg_reload_conf() make every new transaction of every session read-only by default (the
// sessions that did not SET it themselves re-read it on the reload), then the other client
// sessions are terminated, because a transaction already open keeps its write access. A fresh
// connection then proves that a write is refused (SQLSTATE 25006).
//
// The trade-off: default_transaction_read_only is a default, not a privilege. A client that
// runs SET default_transaction_read_only = off (or BEGIN READ WRITE) can still write; the fence
// stops applications that reconnect and write, which is what a drill leaves behind, and it
// keeps the database readable (the canary's rows, a DBA comparing the two sides) and is undone
// by one RESET. Revoking LOGIN or CONNECT from the application roles would hold against a
// deliberate writer too, but it also cuts reads and monitoring, needs the list of roles to be
// right, and fails applications with login errors rather than read-only errors; stopping the
// cluster (what a real fence, STONITH, does) is not something a SQL connection can undo. A
// role or database setting (ALTER ROLE ... SET default_transaction_read_only = off) would
// defeat the fence for that role: the step refuses before changing anything.
type Fence struct{ p *Postgres }

// Spec implements actions.Action.
func (a *Fence) Spec() drills.ActionSpec { return spec(ActionFence) }

// Unfence is the reverse of Fence, for rollback: ALTER SYSTEM RESET
// default_transaction_read_only, pg_reload_conf(), and a fresh connection proves a write
// commits.
type Unfence struct{ p *Postgres }

// Spec implements actions.Action.
func (a *Unfence) Spec() drills.ActionSpec { return spec(ActionUnfence) }

// readOnlyState is what a session sees of default_transaction_read_only.
type readOnlyState struct {
	inRecovery bool
	readOnly   string
	source     string
	user       string
	superuser  bool
}

const readOnlyStateSQL = `SELECT pg_is_in_recovery(), current_setting('default_transaction_read_only'),
	(SELECT source FROM pg_settings WHERE name = 'default_transaction_read_only'),
	current_user::text, coalesce((SELECT rolsuper FROM pg_roles WHERE rolname = current_user), false)`

func (p *Postgres) readOnlyState(ctx context.Context, t *target, conn *pgx.Conn) (*readOnlyState, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.CallTimeout)
	defer cancel()
	var st readOnlyState
	if err := conn.QueryRow(ctx, readOnlyStateSQL).Scan(&st.inRecovery, &st.readOnly, &st.source, &st.user, &st.superuser); err != nil {
		return nil, fmt.Errorf("read the state of %s: %w", t, t.safe(err))
	}
	return &st, nil
}

// readOnlyOverrides lists the role and database settings that turn
// default_transaction_read_only off: the fence would not hold for their sessions.
func (p *Postgres) readOnlyOverrides(ctx context.Context, t *target, conn *pgx.Conn) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.CallTimeout)
	defer cancel()
	rows, err := conn.Query(ctx, `SELECT coalesce(r.rolname::text, 'every role'), coalesce(d.datname::text, 'every database'), c
		FROM pg_db_role_setting s
		LEFT JOIN pg_roles r ON r.oid = s.setrole
		LEFT JOIN pg_database d ON d.oid = s.setdatabase,
		unnest(s.setconfig) c
		WHERE lower(c) LIKE 'default_transaction_read_only=%'`)
	if err != nil {
		return nil, fmt.Errorf("read the role and database settings of %s: %w", t, t.safe(err))
	}
	var out []string
	for rows.Next() {
		var role, db, setting string
		if err := rows.Scan(&role, &db, &setting); err != nil {
			return nil, fmt.Errorf("read the role and database settings of %s: %w", t, t.safe(err))
		}
		_, v, _ := strings.Cut(setting, "=")
		switch strings.ToLower(strings.Trim(v, `"' `)) {
		case "on", "true", "yes", "1", "t", "y":
		default:
			out = append(out, fmt.Sprintf("%s in %s: %s", role, db, setting))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the role and database settings of %s: %w", t, t.safe(err))
	}
	return out, nil
}

// freshWrite opens a new session (the reload reaches new sessions first) and tries to commit
// a write (a temporary table: a read-only transaction refuses every CREATE). It returns the
// session's default_transaction_read_only and the write's error (nil: it committed).
func (p *Postgres) freshWrite(ctx context.Context, t *target) (string, error, error) {
	conn, err := p.connect(ctx, t)
	if err != nil {
		return "", nil, err
	}
	defer p.closeConn(ctx, conn)
	ctx, cancel := context.WithTimeout(ctx, p.cfg.CallTimeout)
	defer cancel()
	var ro string
	if err := conn.QueryRow(ctx, "SELECT current_setting('default_transaction_read_only')").Scan(&ro); err != nil {
		return "", nil, fmt.Errorf("read the setting on %s: %w", t, t.safe(err))
	}
	werr := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, "CREATE TEMPORARY TABLE firedrill_fence_probe (x int) ON COMMIT DROP")
		return err
	})
	if werr != nil && sqlState(werr) != "25006" { // read_only_sql_transaction is the finding
		return ro, nil, fmt.Errorf("write probe on %s: %w", t, t.safe(werr))
	}
	return ro, werr, nil
}

// waitWrites polls fresh sessions until writes are refused (wantRefused) or commit, within
// CallTimeout: pg_reload_conf only signals the postmaster, which re-reads the files soon after.
func (p *Postgres) waitWrites(ctx context.Context, t *target, wantRefused bool, ev map[string]any) error {
	deadline := p.cfg.Clock.Now().Add(p.cfg.CallTimeout)
	for probes := 1; ; probes++ {
		ro, werr, err := p.freshWrite(ctx, t)
		if err != nil {
			return err
		}
		ev["verify_probes"] = probes
		ev["read_only_after"] = ro
		if refused := werr != nil; refused == wantRefused {
			ev["verified_at"] = p.cfg.Clock.Now().UTC()
			if refused {
				ev["write_refused"] = t.safe(werr).Error()
			} else {
				ev["write_committed"] = true
			}
			return nil
		}
		if !p.cfg.Clock.Now().Before(deadline) {
			if wantRefused {
				return fmt.Errorf("%s: %w: a new session's write still committed %s after the reload (default_transaction_read_only = %s)", t, ErrFenceDoesNotHold, p.cfg.CallTimeout, ro)
			}
			return fmt.Errorf("%s: %w: a new session's write is still refused %s after the reset (default_transaction_read_only = %s): %w", t, ErrFenceDoesNotHold, p.cfg.CallTimeout, ro, t.safe(werr))
		}
		if err := p.sleep(ctx, p.cfg.PollInterval); err != nil {
			return fmt.Errorf("verify %s: %w", t, err)
		}
	}
}

// setReadOnly runs ALTER SYSTEM (SET or RESET) and reloads the configuration.
func (p *Postgres) setReadOnly(ctx context.Context, t *target, conn *pgx.Conn, stmt string) error {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.CallTimeout)
	defer cancel()
	if _, err := conn.Exec(ctx, stmt); err != nil {
		if sqlState(err) == "42501" {
			return fmt.Errorf("%s: the user may not %s (it needs superuser or, from PostgreSQL 15, GRANT ALTER SYSTEM ON PARAMETER default_transaction_read_only); nothing was changed: %w", t, stmt, t.safe(err))
		}
		return fmt.Errorf("%s: %s: %w", t, stmt, t.safe(err))
	}
	var reloaded bool
	if err := conn.QueryRow(ctx, "SELECT pg_reload_conf()").Scan(&reloaded); err != nil {
		return fmt.Errorf("%s: %s is written to postgresql.auto.conf but pg_reload_conf failed, so it is not in effect: %w", t, stmt, t.safe(err))
	}
	if !reloaded {
		return fmt.Errorf("%s: %s is written but pg_reload_conf could not signal the server", t, stmt)
	}
	return nil
}

// FencedSession is a client session the fence terminated (or failed to).
type FencedSession struct {
	PID           int32  `json:"pid"`
	User          string `json:"user"`
	Database      string `json:"database"`
	Application   string `json:"application_name"`
	InTransaction bool   `json:"in_transaction"`
	Terminated    bool   `json:"terminated"`
	Error         string `json:"error,omitempty"`
}

// terminateTimeoutMS is how long pg_terminate_backend waits for a session to end.
const terminateTimeoutMS = 5000

// terminate ends every other client session (of roles, when given) and waits for each to go.
func (p *Postgres) terminate(ctx context.Context, t *target, conn *pgx.Conn, roles []string) ([]FencedSession, error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.CallTimeout+terminateTimeoutMS*time.Millisecond)
	defer cancel()
	var roleFilter any
	if len(roles) > 0 {
		roleFilter = roles
	}
	rows, err := conn.Query(ctx, `SELECT pid, coalesce(usename::text, ''), coalesce(datname::text, ''),
		coalesce(application_name, ''), xact_start IS NOT NULL
		FROM pg_stat_activity
		WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()
		AND ($1::text[] IS NULL OR usename = ANY($1::text[]))
		ORDER BY pid`, roleFilter)
	if err != nil {
		return nil, fmt.Errorf("list the sessions of %s: %w", t, t.safe(err))
	}
	sessions, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (FencedSession, error) {
		var s FencedSession
		err := r.Scan(&s.PID, &s.User, &s.Database, &s.Application, &s.InTransaction)
		return s, err
	})
	if err != nil {
		return nil, fmt.Errorf("list the sessions of %s: %w", t, t.safe(err))
	}
	var failed []string
	for i := range sessions {
		s := &sessions[i]
		var ok bool
		err := conn.QueryRow(ctx, "SELECT pg_terminate_backend($1, $2)", s.PID, terminateTimeoutMS).Scan(&ok)
		switch {
		case err != nil:
			s.Error = t.safe(err).Error()
		case !ok:
			// false: gone already, or not gone within the timeout (a warning says which).
			var alive bool
			if e := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $1)", s.PID).Scan(&alive); e == nil && !alive {
				s.Terminated = true
			} else {
				s.Error = fmt.Sprintf("still running %dms after pg_terminate_backend", terminateTimeoutMS)
			}
		default:
			s.Terminated = true
		}
		if s.Error != "" {
			failed = append(failed, fmt.Sprintf("pid %d (%s): %s", s.PID, s.User, s.Error))
		}
	}
	if len(failed) > 0 {
		return sessions, fmt.Errorf("%s is read-only for new transactions, but %d session(s) that could still write were not terminated: %s", t, len(failed), strings.Join(failed, "; "))
	}
	return sessions, nil
}

// Run implements actions.Action.
func (a *Fence) Run(ctx context.Context, req *actions.Request) (*actions.Result, error) {
	p := a.p
	step := req.Instance.Step
	t, err := p.target(req.Site, step.String("database"))
	if err != nil {
		return nil, fmt.Errorf("fence: %w", err)
	}
	ev := map[string]any{"site": t.site, "database": t.database, "endpoint": t.addr}
	res := &actions.Result{Evidence: ev}
	conn, err := p.connect(ctx, t)
	if err != nil {
		return res, fmt.Errorf("fence: %w", err)
	}
	defer func() { p.closeConn(ctx, conn) }()

	before, err := p.readOnlyState(ctx, t, conn)
	if err != nil {
		return res, fmt.Errorf("fence: %w", err)
	}
	ev["user"] = before.user
	ev["in_recovery"] = before.inRecovery
	ev["read_only_before"] = before.readOnly
	ev["read_only_source_before"] = before.source
	if before.inRecovery {
		return res, fmt.Errorf("fence %s: it is in recovery, a standby and not the old primary; nothing was changed", t)
	}
	overrides, err := p.readOnlyOverrides(ctx, t, conn)
	if err != nil {
		return res, fmt.Errorf("fence: %w", err)
	}
	if len(overrides) > 0 {
		ev["overrides"] = overrides
		return res, fmt.Errorf("fence %s: %w: role or database settings turn default_transaction_read_only off (%s); nothing was changed", t, ErrFenceDoesNotHold, strings.Join(overrides, "; "))
	}

	const stmt = "ALTER SYSTEM SET default_transaction_read_only = on"
	if err := p.setReadOnly(ctx, t, conn, stmt); err != nil {
		return res, fmt.Errorf("fence %w", err)
	}
	ev["set"] = stmt + "; SELECT pg_reload_conf()"
	ev["fenced_at"] = p.cfg.Clock.Now().UTC()

	// New sessions first: a client that reconnects once its session is terminated must find
	// the database read-only.
	if err := p.waitWrites(ctx, t, true, ev); err != nil {
		return res, fmt.Errorf("fence %w", err)
	}
	terminateSessions := true
	if _, set := step.Params["terminate_sessions"]; set {
		terminateSessions = step.Bool("terminate_sessions")
	}
	ev["terminate_sessions"] = terminateSessions
	if terminateSessions {
		roles := step.Strings("roles")
		if len(roles) > 0 {
			ev["roles"] = roles
		}
		sessions, err := p.terminate(ctx, t, conn, roles)
		ev["sessions_terminated"] = sessions
		if sessions == nil {
			ev["sessions_terminated"] = []FencedSession{}
		}
		if err != nil {
			return res, fmt.Errorf("fence %w", err)
		}
	}
	return res, nil
}

// Run implements actions.Action.
func (a *Unfence) Run(ctx context.Context, req *actions.Request) (*actions.Result, error) {
	p := a.p
	t, err := p.target(req.Site, req.Instance.Step.String("database"))
	if err != nil {
		return nil, fmt.Errorf("unfence: %w", err)
	}
	ev := map[string]any{"site": t.site, "database": t.database, "endpoint": t.addr}
	res := &actions.Result{Evidence: ev}
	conn, err := p.connect(ctx, t)
	if err != nil {
		return res, fmt.Errorf("unfence: %w", err)
	}
	defer func() { p.closeConn(ctx, conn) }()

	before, err := p.readOnlyState(ctx, t, conn)
	if err != nil {
		return res, fmt.Errorf("unfence: %w", err)
	}
	ev["user"] = before.user
	ev["in_recovery"] = before.inRecovery
	ev["read_only_before"] = before.readOnly
	ev["read_only_source_before"] = before.source
	if before.inRecovery {
		return res, fmt.Errorf("unfence %s: it is in recovery (a standby accepts no writes whatever its settings); nothing was changed", t)
	}
	const stmt = "ALTER SYSTEM RESET default_transaction_read_only"
	if err := p.setReadOnly(ctx, t, conn, stmt); err != nil {
		return res, fmt.Errorf("unfence %w", err)
	}
	ev["set"] = stmt + "; SELECT pg_reload_conf()"
	ev["unfenced_at"] = p.cfg.Clock.Now().UTC()
	if err := p.waitWrites(ctx, t, false, ev); err != nil {
		return res, fmt.Errorf("unfence %w", err)
	}
	return res, nil
}
