package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/firedrill/firedrill/orchestrator/actions"
)

// Canary is a service's RPO canary for one run. It writes rows (run_id, service, seq,
// written_at) to the primary's database, seq 1, 2, 3, ... one per interval, written_at
// stamped by the primary's clock_timestamp(). A seq advances only once its row is
// acknowledged, so the acknowledged rows are exactly 1..Last().Seq. After the failover it
// reads the last row of the run on the DR copy: RPO is the difference of the two rows'
// written_at (both stamped by the primary, so no clock skew enters), and the lost rows are
// the difference of their seq.
type Canary struct {
	p        *Postgres
	runID    string
	service  string
	table    pgx.Identifier
	interval time.Duration
	primary  *target
	dr       *target
	logger   *slog.Logger
	loop     *actions.CanaryLoop

	// conn is the connection to the primary the writes use; only the loop touches it (its
	// first write before the loop's goroutine starts).
	conn *pgx.Conn

	mu         sync.Mutex
	cleaned    bool
	cleanupEv  map[string]any
	cleanupErr error
}

// NewCanary builds the canary of req.Service, which must have a canary block whose database
// exists on both the primary and the DR site. It implements actions.CanaryFactory.
func (p *Postgres) NewCanary(req *actions.CanaryRequest) (actions.Canary, error) {
	return p.newCanary(req)
}

func (p *Postgres) newCanary(req *actions.CanaryRequest) (*Canary, error) {
	if req == nil || req.Service == nil {
		return nil, errors.New("canary: no service given")
	}
	svc := req.Service
	if svc.Canary == nil {
		return nil, fmt.Errorf("canary of service %s: the service has no canary block", svc.Name)
	}
	if req.RunID == "" {
		return nil, fmt.Errorf("canary of service %s: no run ID given", svc.Name)
	}
	table, err := parseTable(svc.Canary.Table)
	if err != nil {
		return nil, fmt.Errorf("canary of service %s: %w", svc.Name, err)
	}
	interval := svc.Canary.Interval
	if interval == 0 {
		interval = DefaultCanaryInterval
	}
	if interval < 0 {
		return nil, fmt.Errorf("canary of service %s: interval must be positive, got %s", svc.Name, interval)
	}
	primary, err := p.target(req.Primary, svc.Canary.Database)
	if err != nil {
		return nil, fmt.Errorf("canary of service %s: primary: %w", svc.Name, err)
	}
	dr, err := p.target(req.DR, svc.Canary.Database)
	if err != nil {
		return nil, fmt.Errorf("canary of service %s: DR: %w", svc.Name, err)
	}
	clk := req.Clock
	if clk == nil {
		clk = p.cfg.Clock
	}
	logger := req.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "postgres_canary", "run_id", req.RunID, "service", svc.Name)
	c := &Canary{
		p: p, runID: req.RunID, service: svc.Name, table: table, interval: interval,
		primary: primary, dr: dr, logger: logger,
	}
	c.loop, err = actions.NewCanaryLoop(actions.CanaryLoopConfig{
		Label: "canary of service " + svc.Name, Interval: interval, Clock: clk, Logger: logger,
	}, rowWriter{c})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// identRe is an unquoted PostgreSQL identifier, at most 63 bytes.
var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// parseTable checks a canary table name, "table" or "schema.table".
func parseTable(name string) (pgx.Identifier, error) {
	parts := strings.Split(name, ".")
	if len(parts) > 2 {
		return nil, fmt.Errorf("table %q: want table or schema.table", name)
	}
	for _, part := range parts {
		if !identRe.MatchString(part) {
			return nil, fmt.Errorf("table %q: %q is not an identifier (letters, digits and _, at most 63, not starting with a digit)", name, part)
		}
	}
	return pgx.Identifier(parts), nil
}

// Start creates the table on the primary if it is missing, commits the first row and starts
// writing. ctx bounds the set-up only (at most CallTimeout); the writing goes on until Stop.
func (c *Canary) Start(ctx context.Context) error { return c.loop.Start(ctx) }

// rowWriter writes the canary's rows for its loop.
type rowWriter struct{ c *Canary }

func (w rowWriter) WriteFirst(ctx context.Context) (actions.CanaryMark, error) {
	conn, mark, err := w.c.setUp(ctx)
	w.c.conn = conn
	return mark, err
}

func (w rowWriter) Write(ctx context.Context, seq int64) (actions.CanaryMark, error) {
	return w.c.writeOnce(ctx, seq)
}

func (w rowWriter) Close() {
	w.c.p.closeConn(context.Background(), w.c.conn)
	w.c.conn = nil
}

func (c *Canary) setUp(ctx context.Context) (*pgx.Conn, actions.CanaryMark, error) {
	ctx, cancel := context.WithTimeout(ctx, c.p.cfg.CallTimeout)
	defer cancel()
	conn, err := c.p.connect(ctx, c.primary)
	if err != nil {
		return nil, actions.CanaryMark{}, fmt.Errorf("canary of service %s: %w", c.service, err)
	}
	ddl := `CREATE TABLE IF NOT EXISTS ` + c.table.Sanitize() + ` (
		run_id text NOT NULL,
		service text NOT NULL,
		seq bigint NOT NULL,
		written_at timestamptz NOT NULL DEFAULT clock_timestamp(),
		PRIMARY KEY (run_id, service, seq))`
	_, err = conn.Exec(ctx, ddl)
	if s := sqlState(err); s == "23505" || s == "42P07" {
		// Two canaries created the table at once; the loser's IF NOT EXISTS does not
		// see the winner's uncommitted catalog rows. It exists now.
		_, err = conn.Exec(ctx, ddl)
	}
	if err != nil {
		return conn, actions.CanaryMark{}, fmt.Errorf("canary of service %s: create table %s on %s: %w", c.service, c.table.Sanitize(), c.primary, c.primary.safe(err))
	}
	// Rows a run could not remove (its replica died, the copy was fenced) go once they are
	// older than the retention: the table never grows with drills.
	tag, err := conn.Exec(ctx, `DELETE FROM `+c.table.Sanitize()+` WHERE run_id <> $1 AND written_at < clock_timestamp() - make_interval(secs => $2)`,
		c.runID, c.p.cfg.CanaryRetention.Seconds())
	if err != nil {
		return conn, actions.CanaryMark{}, fmt.Errorf("canary of service %s: remove rows older than %s from %s on %s: %w", c.service, c.p.cfg.CanaryRetention, c.table.Sanitize(), c.primary, c.primary.safe(err))
	}
	if n := tag.RowsAffected(); n > 0 {
		c.logger.Info("removed old canary rows", "rows", n, "retention", c.p.cfg.CanaryRetention.String())
	}
	mark, err := c.insert(ctx, conn, 1)
	if err != nil {
		return conn, actions.CanaryMark{}, fmt.Errorf("canary of service %s: first write on %s: %w", c.service, c.primary, c.primary.safe(err))
	}
	return conn, mark, nil
}

// insert writes row seq and returns it as acknowledged. A row that an earlier, unacknowledged
// attempt did commit is acknowledged with its original time.
func (c *Canary) insert(ctx context.Context, conn *pgx.Conn, seq int64) (actions.CanaryMark, error) {
	var at time.Time
	err := conn.QueryRow(ctx, `INSERT INTO `+c.table.Sanitize()+` AS c (run_id, service, seq, written_at)
		VALUES ($1, $2, $3, clock_timestamp())
		ON CONFLICT (run_id, service, seq) DO UPDATE SET written_at = c.written_at
		RETURNING written_at`, c.runID, c.service, seq).Scan(&at)
	if err != nil {
		return actions.CanaryMark{}, err
	}
	return actions.CanaryMark{Seq: seq, At: at.UTC()}, nil
}

// writeTimeout bounds one canary write: long enough for a loaded primary, short enough that
// a hung one costs few intervals.
func (c *Canary) writeTimeout() time.Duration {
	return min(max(c.interval, time.Second), c.p.cfg.CallTimeout)
}

// writeOnce writes row seq, reconnecting first when the last write failed. Failed writes
// (the primary is dying) drop the connection, so it is rebuilt at the next tick.
func (c *Canary) writeOnce(ctx context.Context, seq int64) (actions.CanaryMark, error) {
	ctx, cancel := context.WithTimeout(ctx, c.writeTimeout())
	defer cancel()
	if c.conn == nil {
		fresh, err := pgx.ConnectConfig(ctx, c.primary.cfg)
		if err != nil {
			return actions.CanaryMark{}, fmt.Errorf("reconnect to %s: %w", c.primary, c.primary.safe(err))
		}
		c.conn = fresh
	}
	mark, err := c.insert(ctx, c.conn, seq)
	if err != nil {
		c.p.closeConn(ctx, c.conn)
		c.conn = nil
		return actions.CanaryMark{}, fmt.Errorf("write seq %d on %s: %w", seq, c.primary, c.primary.safe(err))
	}
	return mark, nil
}

// Last returns the last acknowledged row (Seq 0 before Start).
func (c *Canary) Last() actions.CanaryMark {
	_, last := c.loop.Progress()
	return last
}

// Progress returns the first and last acknowledged rows (Seq 0 before Start), so the runner
// can wait before the disaster until the RPO figure has its minimum evidence.
func (c *Canary) Progress() (first, last actions.CanaryMark) { return c.loop.Progress() }

// WriteErrors returns how many writes failed since Start.
func (c *Canary) WriteErrors() int64 { return c.loop.WriteErrors() }

// Stop ends the writing, waits for it and returns the last acknowledged row. It may be
// called more than once.
func (c *Canary) Stop() (actions.CanaryMark, error) { return c.loop.Stop() }

// Measure reads the run's last canary row on the DR copy (a promoted database or a standby
// still in recovery: both can be read) and compares it with the last acknowledged row. It
// must follow Stop.
//
// When the DR copy holds none of the run's rows (or not even the table), every row counts as
// lost and RPO is the time between the first and the last acknowledged row: a lower bound,
// marked rpo_lower_bound in the evidence.
func (c *Canary) Measure(ctx context.Context) (*actions.RPOMeasurement, error) {
	stats, err := c.loop.Stopped()
	if err != nil {
		return nil, err
	}
	first, last := stats.First, stats.Last
	writes, writeErrors, lastErr := stats.Writes, stats.WriteErrors, stats.LastError
	ev := map[string]any{
		"table":             c.table.Sanitize(),
		"database":          c.dr.database,
		"primary_site":      c.primary.site,
		"primary_endpoint":  c.primary.addr,
		"dr_site":           c.dr.site,
		"dr_endpoint":       c.dr.addr,
		"interval_ms":       c.interval.Milliseconds(),
		"primary_first_seq": first.Seq,
		"primary_first_at":  first.At,
		"primary_last_seq":  last.Seq,
		"primary_last_at":   last.At,
		"writes":            writes,
		"write_errors":      writeErrors,
		"last_write_error":  lastErr,
	}
	if lastErr == "" {
		ev["last_write_error"] = nil
	}

	conn, err := c.p.connect(ctx, c.dr)
	if err != nil {
		return nil, fmt.Errorf("measure canary of service %s: %w", c.service, err)
	}
	defer c.p.closeConn(ctx, conn)
	callCtx, cancel := context.WithTimeout(ctx, c.p.cfg.CallTimeout)
	defer cancel()
	var inRecovery bool
	if err := conn.QueryRow(callCtx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil {
		return nil, fmt.Errorf("measure canary of service %s: %s: %w", c.service, c.dr, c.dr.safe(err))
	}
	ev["dr_in_recovery"] = inRecovery

	var dr actions.CanaryMark
	var drRows int64
	err = conn.QueryRow(callCtx, `SELECT seq, written_at, count(*) OVER ()
		FROM `+c.table.Sanitize()+` WHERE run_id = $1 AND service = $2
		ORDER BY seq DESC LIMIT 1`, c.runID, c.service).Scan(&dr.Seq, &dr.At, &drRows)
	switch {
	case err == nil:
		dr.At = dr.At.UTC()
	case errors.Is(err, pgx.ErrNoRows):
	case sqlState(err) == "42P01": // undefined_table: replication never delivered it
		ev["dr_table_missing"] = true
	default:
		return nil, fmt.Errorf("measure canary of service %s: read %s on %s: %w", c.service, c.table.Sanitize(), c.dr, c.dr.safe(err))
	}
	ev["dr_last_seq"] = dr.Seq
	ev["dr_rows"] = drRows
	if dr.Seq > 0 {
		ev["dr_last_at"] = dr.At
	} else {
		ev["dr_last_at"] = nil
	}

	m := &actions.RPOMeasurement{
		Service:      c.service,
		FirstPrimary: first,
		LastPrimary:  last,
		LastDR:       dr,
		Resolution:   c.interval,
		Evidence:     ev,
	}
	switch {
	case dr.Seq >= last.Seq:
		// Nothing acknowledged was lost. A DR copy ahead holds rows whose acknowledgement
		// the disaster cut off.
		if dr.Seq > last.Seq {
			ev["dr_unacknowledged_rows"] = dr.Seq - last.Seq
		}
	case dr.Seq == 0:
		m.LostRows = last.Seq
		m.RPO = last.At.Sub(first.At)
		ev["rpo_lower_bound"] = true
		ev["dr_note"] = "the DR copy holds none of the run's canary rows"
	default:
		m.LostRows = last.Seq - dr.Seq
		m.RPO = last.At.Sub(dr.At)
	}
	ev["lost_rows"] = m.LostRows
	ev["rpo_ms"] = m.RPO.Milliseconds()
	ev["rpo_us"] = m.RPO.Microseconds()
	return m, nil
}

// Cleanup implements actions.CanaryCleaner: it deletes the run's rows of this service from the
// primary and from the DR copy, each where it may write. A copy in recovery gets the primary's
// delete by replication; a read-only copy (the old primary, fenced by postgres.fence) is not
// written to, so its rows are left and counted: they go when it is rebuilt from the new
// primary, or with the retention at the next canary's start once it is writable again. An
// unreachable copy is left the same way, and is the only error.
func (c *Canary) Cleanup(ctx context.Context) (map[string]any, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cleaned {
		return c.cleanupEv, c.cleanupErr
	}
	c.cleaned = true
	ev := map[string]any{"table": c.table.Sanitize()}
	var errs []error
	for _, t := range []*target{c.primary, c.dr} {
		res, err := c.cleanupOne(ctx, t)
		ev[t.site] = res
		if err != nil {
			errs = append(errs, err)
		}
	}
	c.cleanupEv, c.cleanupErr = ev, errors.Join(errs...)
	return c.cleanupEv, c.cleanupErr
}

func (c *Canary) cleanupOne(ctx context.Context, t *target) (map[string]any, error) {
	res := map[string]any{"endpoint": t.addr}
	conn, err := c.p.connect(ctx, t)
	if err != nil {
		res["left"] = "unknown"
		res["reason"] = "unreachable"
		return res, fmt.Errorf("remove canary rows of service %s: %w", c.service, err)
	}
	defer c.p.closeConn(ctx, conn)
	ctx, cancel := context.WithTimeout(ctx, c.p.cfg.CallTimeout)
	defer cancel()
	var inRecovery bool
	if err := conn.QueryRow(ctx, "SELECT pg_is_in_recovery()").Scan(&inRecovery); err != nil {
		return res, fmt.Errorf("remove canary rows of service %s: %s: %w", c.service, t, t.safe(err))
	}
	if inRecovery {
		res["reason"] = "standby: the primary's delete replicates to it"
		return res, nil
	}
	tag, err := conn.Exec(ctx, `DELETE FROM `+c.table.Sanitize()+` WHERE run_id = $1 AND service = $2`, c.runID, c.service)
	switch sqlState(err) {
	case "":
		res["deleted"] = tag.RowsAffected()
		return res, nil
	case "42P01": // undefined_table: nothing to remove
		res["deleted"] = int64(0)
		return res, nil
	case "25006": // read_only_sql_transaction: fenced; firedrill does not override the fence
		var left int64
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+c.table.Sanitize()+` WHERE run_id = $1 AND service = $2`, c.runID, c.service).Scan(&left); err == nil {
			res["left"] = left
		}
		res["reason"] = "read-only (fenced): left until it is rebuilt from the new primary, or removed by the retention once writable"
		return res, nil
	}
	return res, fmt.Errorf("remove canary rows of service %s from %s: %w", c.service, t, t.safe(err))
}

var _ actions.CanaryCleaner = (*Canary)(nil)
