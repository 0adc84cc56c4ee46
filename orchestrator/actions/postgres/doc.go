// Package postgres implements the plan's postgres.* step actions and the RPO canary against a
// site's own PostgreSQL databases (never firedrill's store), through github.com/jackc/pgx/v5:
//
//   - postgres.promote promotes a streaming standby with pg_promote and waits until it commits
//     a write. A database that is not in recovery is refused as "already primary": the action
//     never touches a primary, and a re-run after a crash cannot tell its own promotion from
//     someone else's, so the action is not idempotent and the runner never repeats it blindly.
//   - postgres.check_replication measures a standby's lag behind the plan's from site, in bytes
//     and in time, for pre-flight checks and stop conditions.
//   - postgres.fence makes the old primary read-only after the promotion (ALTER SYSTEM SET
//     default_transaction_read_only, reload, terminate the sessions that could still write,
//     prove a write is refused), so a drill never leaves two writable primaries;
//     postgres.unfence reverses it for rollback. Both are idempotent; see Fence for the
//     trade-off against revoking logins.
//   - Canary writes sequenced rows to the primary until the disaster and reads the DR copy
//     afterwards: the data the drill lost, in time and in rows. Its Cleanup removes the run's
//     rows afterwards from every copy it may write to; a canary starting sweeps rows older
//     than Config.CanaryRetention that other runs left.
//
// Connection strings are secrets: they are resolved from the reference the configuration
// names when needed, and never appear in an error, a log line or evidence. Only a database's
// host:port is shown. Every call carries its own deadline; connecting is retried with backoff
// on transient faults (refused, reset, timed out, server starting up), and nothing else is.
package postgres
