package control

import (
	"context"
	"crypto/sha256"
	"slices"
	"sync"

	"github.com/firedrill/firedrill/drills"
	"github.com/firedrill/firedrill/orchestrator/store"
)

// recordedPlan is what a run's views read from the plan version the run recorded: the people
// it intended and each manual step's instructions. nil fields when the plan no longer parses
// (recorded by an older version).
type recordedPlan struct {
	participants []*drills.Participant
	// instructions are the manual steps' by step name.
	instructions map[string]string
}

// recordedPlans keeps each plan text parsed: a run's page reads its plan on every view, and
// parsing HCL costs more than reading the row. The key is the digest of the text read on
// this view (file name and source), so a plan row altered in place is parsed anew, never
// answered from what it held before. Bounded: past maxRecordedPlans texts it starts over.
var recordedPlans = struct {
	sync.Mutex
	byDigest map[[sha256.Size]byte]*recordedPlan
}{byDigest: map[[sha256.Size]byte]*recordedPlan{}}

const maxRecordedPlans = 256

// recordedPlanOf reads and parses the plan run recorded. The values returned are shared:
// callers only read them.
func recordedPlanOf(ctx context.Context, st *store.Store, run *store.Run) (*recordedPlan, error) {
	rec, err := st.PlanGet(ctx, run.PlanID)
	if err != nil {
		return nil, err
	}
	return recordedPlanFrom(rec), nil
}

// recordedPlanFrom is recordedPlanOf of the plan record rec, already read.
func recordedPlanFrom(rec *store.PlanRecord) *recordedPlan {
	h := sha256.New()
	h.Write([]byte(rec.File))
	h.Write([]byte{0})
	h.Write(rec.Source)
	var key [sha256.Size]byte
	h.Sum(key[:0])
	recordedPlans.Lock()
	p, ok := recordedPlans.byDigest[key]
	recordedPlans.Unlock()
	if ok {
		return p
	}
	p = parseRecordedPlan(rec)
	recordedPlans.Lock()
	if len(recordedPlans.byDigest) >= maxRecordedPlans {
		clear(recordedPlans.byDigest)
	}
	recordedPlans.byDigest[key] = p
	recordedPlans.Unlock()
	return p
}

func parseRecordedPlan(rec *store.PlanRecord) *recordedPlan {
	plan, diags := drills.ParsePlan(rec.Source, rec.File)
	if plan == nil || diags.HasErrors() {
		return &recordedPlan{}
	}
	out := &recordedPlan{participants: plan.Participants}
	for _, s := range slices.Concat(plan.Steps, plan.Rollback, plan.Cleanup) {
		if s.Action != drills.ActionManual {
			continue
		}
		if out.instructions == nil {
			out.instructions = map[string]string{}
		}
		if _, seen := out.instructions[s.Name]; !seen {
			out.instructions[s.Name] = s.String("instructions")
		}
	}
	return out
}
