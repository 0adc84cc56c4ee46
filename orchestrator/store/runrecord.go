package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/firedrill/firedrill/drills"
)

// What a drill records besides its steps: who took part, against the plan's intended
// participants, and the deviations and lessons people note. Both tables are append-only: a
// correction is a later row (for a participant, the latest row of a name is what holds).

// Run note kinds.
const (
	NoteDeviation = "deviation"
	NoteLesson    = "lesson"
)

// RunParticipant is what was recorded, last, about one person's part in a run.
type RunParticipant struct {
	RunID string
	Name  string
	// Role is the part they played ("incident commander", "dba").
	Role string
	// Intended: the plan named them; Attended: they took part.
	Intended, Attended bool
	RecordedBy         drills.Actor
	At                 time.Time
}

// RunNote is a deviation from the plan or a lesson learned, noted on a run.
type RunNote struct {
	ID    int64
	RunID string
	// Kind is NoteDeviation or NoteLesson.
	Kind string
	Text string
	By   drills.Actor
	At   time.Time
}

type runParticipantModel struct {
	ID         int64     `gorm:"column:id;primaryKey;autoIncrement"`
	RunID      string    `gorm:"column:run_id"`
	Name       string    `gorm:"column:name"`
	Role       string    `gorm:"column:role"`
	Intended   bool      `gorm:"column:intended"`
	Attended   bool      `gorm:"column:attended"`
	RecordedBy actorCols `gorm:"embedded;embeddedPrefix:recorded_by_"`
	At         time.Time `gorm:"column:at"`
}

func (runParticipantModel) TableName() string { return "run_participants" }

type runNoteModel struct {
	ID    int64     `gorm:"column:id;primaryKey;autoIncrement"`
	RunID string    `gorm:"column:run_id"`
	Kind  string    `gorm:"column:kind"`
	Text  string    `gorm:"column:text"`
	By    actorCols `gorm:"embedded;embeddedPrefix:by_"`
	At    time.Time `gorm:"column:at"`
}

func (runNoteModel) TableName() string { return "run_notes" }

// ParticipantInput is one participant to record.
type ParticipantInput struct {
	Name, Role         string
	Intended, Attended bool
}

// RunParticipantsRecordParams are the arguments of RunParticipantsRecord.
type RunParticipantsRecordParams struct {
	RunID        string
	Participants []ParticipantInput
	// By is who records them; required.
	By drills.Actor
	At time.Time
}

// RunParticipantsRecord appends participants of a run (ErrNotFound for an unknown run).
func (s *Store) RunParticipantsRecord(ctx context.Context, p *RunParticipantsRecordParams) error {
	_, err := inTx(ctx, s, p, func(ctx context.Context, tx *Tx, p *RunParticipantsRecordParams) (struct{}, error) {
		return struct{}{}, s.RunParticipantsRecordTx(ctx, tx, p)
	})
	return err
}

// RunParticipantsRecordTx is RunParticipantsRecord in tx.
func (s *Store) RunParticipantsRecordTx(ctx context.Context, tx *Tx, p *RunParticipantsRecordParams) error {
	if p == nil || p.RunID == "" {
		return errors.New("run participants record: RunID is required")
	}
	if len(p.Participants) == 0 {
		return fmt.Errorf("run participants record %s: no participant given", p.RunID)
	}
	if err := checkActor("run participants record "+p.RunID, p.By); err != nil {
		return err
	}
	at := s.now(p.At)
	ms := make([]runParticipantModel, 0, len(p.Participants))
	for i, in := range p.Participants {
		if strings.TrimSpace(in.Name) == "" || strings.TrimSpace(in.Role) == "" {
			return fmt.Errorf("run participants record %s: participant %d: Name and Role are required", p.RunID, i)
		}
		ms = append(ms, runParticipantModel{RunID: p.RunID, Name: in.Name, Role: in.Role, Intended: in.Intended,
			Attended: in.Attended, RecordedBy: colsOf(p.By), At: at})
	}
	if err := tx.with(ctx).Create(&ms).Error; err != nil {
		return fmt.Errorf("run participants record %s: %w", p.RunID, translate(err))
	}
	return nil
}

// RunParticipantsList returns the participants of a run as last recorded, one per name, in
// the order they were first recorded. An unknown run has none.
func (s *Store) RunParticipantsList(ctx context.Context, runID string) ([]*RunParticipant, error) {
	byRun, err := s.RunParticipantsListRuns(ctx, []string{runID})
	if err != nil {
		return nil, err
	}
	return byRun[runID], nil
}

// RunNoteAddParams are the arguments of RunNoteAdd.
type RunNoteAddParams struct {
	RunID string
	// Kind is NoteDeviation or NoteLesson.
	Kind string
	Text string
	By   drills.Actor
	At   time.Time
}

// RunNoteAdd appends a note to a run (ErrNotFound for an unknown run).
func (s *Store) RunNoteAdd(ctx context.Context, p *RunNoteAddParams) (*RunNote, error) {
	return inTx(ctx, s, p, s.RunNoteAddTx)
}

// RunNoteAddTx is RunNoteAdd in tx.
func (s *Store) RunNoteAddTx(ctx context.Context, tx *Tx, p *RunNoteAddParams) (*RunNote, error) {
	if p == nil || p.RunID == "" {
		return nil, errors.New("run note add: RunID is required")
	}
	if p.Kind != NoteDeviation && p.Kind != NoteLesson {
		return nil, fmt.Errorf("run note add %s: kind %q is not %s or %s", p.RunID, p.Kind, NoteDeviation, NoteLesson)
	}
	if strings.TrimSpace(p.Text) == "" {
		return nil, fmt.Errorf("run note add %s: Text is required", p.RunID)
	}
	if err := checkActor("run note add "+p.RunID, p.By); err != nil {
		return nil, err
	}
	m := runNoteModel{RunID: p.RunID, Kind: p.Kind, Text: p.Text, By: colsOf(p.By), At: s.now(p.At)}
	if err := tx.with(ctx).Create(&m).Error; err != nil {
		return nil, fmt.Errorf("run note add %s: %w", p.RunID, translate(err))
	}
	return runNoteOf(&m), nil
}

func runNoteOf(m *runNoteModel) *RunNote {
	return &RunNote{ID: m.ID, RunID: m.RunID, Kind: m.Kind, Text: m.Text, By: m.By.actor(), At: m.At.UTC()}
}

// RunNotesList returns the notes of a run, oldest first. An unknown run has none.
func (s *Store) RunNotesList(ctx context.Context, runID string) ([]*RunNote, error) {
	byRun, err := s.RunNotesListRuns(ctx, []string{runID})
	if err != nil {
		return nil, err
	}
	if byRun[runID] == nil {
		return []*RunNote{}, nil
	}
	return byRun[runID], nil
}

// RunParticipantsListRuns is RunParticipantsList for many runs in one read, by run ID.
func (s *Store) RunParticipantsListRuns(ctx context.Context, runIDs []string) (map[string][]*RunParticipant, error) {
	out := make(map[string][]*RunParticipant, len(runIDs))
	if len(runIDs) == 0 {
		return out, nil
	}
	var ms []runParticipantModel
	if err := s.db.WithContext(ctx).Where("run_id IN ?", runIDs).Order("id").Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("participants of %d runs: %w", len(runIDs), translate(err))
	}
	for id, ps := range participantsOf(ms) {
		out[id] = ps
	}
	return out, nil
}

// participantsOf is the participants of participant records ms (by id), by run ID.
func participantsOf(ms []runParticipantModel) map[string][]*RunParticipant {
	out := map[string][]*RunParticipant{}
	for i := range ms {
		m := &ms[i]
		p := &RunParticipant{RunID: m.RunID, Name: m.Name, Role: m.Role, Intended: m.Intended, Attended: m.Attended,
			RecordedBy: m.RecordedBy.actor(), At: m.At.UTC()}
		list := out[m.RunID]
		if j := slices.IndexFunc(list, func(o *RunParticipant) bool { return o.Name == m.Name }); j >= 0 {
			// A later record corrects an earlier one; whether the plan intended them stays
			// true once it was.
			p.Intended = p.Intended || list[j].Intended
			list[j] = p
			continue
		}
		out[m.RunID] = append(list, p)
	}
	return out
}

// RunNotesListRuns is RunNotesList for many runs in one read, by run ID.
func (s *Store) RunNotesListRuns(ctx context.Context, runIDs []string) (map[string][]*RunNote, error) {
	out := make(map[string][]*RunNote, len(runIDs))
	if len(runIDs) == 0 {
		return out, nil
	}
	var ms []runNoteModel
	if err := s.db.WithContext(ctx).Where("run_id IN ?", runIDs).Order("id").Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("notes of %d runs: %w", len(runIDs), translate(err))
	}
	for i := range ms {
		n := runNoteOf(&ms[i])
		out[n.RunID] = append(out[n.RunID], n)
	}
	return out, nil
}
