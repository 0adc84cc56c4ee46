package postgres_test

import (
	"github.com/firedrill/firedrill/orchestrator/actions"
	"github.com/firedrill/firedrill/orchestrator/actions/postgres"
)

// The runner waits before the disaster for canaries that report their progress, so a
// PostgreSQL canary's RPO figure gets its minimum evidence too.
var _ interface {
	Progress() (first, last actions.CanaryMark)
} = (*postgres.Canary)(nil)
