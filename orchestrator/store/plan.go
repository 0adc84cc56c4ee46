package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/firedrill/firedrill/drills"
)

// PlanSaveParams are the arguments of PlanSave.
type PlanSaveParams struct {
	Name   string
	File   string
	Source []byte
	// SHA256 is the hex digest of Source; computed when empty, checked when set.
	SHA256 string
}

// PlanSave stores a plan version. It is idempotent on (Name, SHA256): saving the same source
// again returns the row stored first.
func (s *Store) PlanSave(ctx context.Context, p PlanSaveParams) (*PlanRecord, error) {
	return inTx(ctx, s, p, s.PlanSaveTx)
}

// PlanSaveTx is PlanSave in tx.
func (s *Store) PlanSaveTx(ctx context.Context, tx *Tx, p PlanSaveParams) (*PlanRecord, error) {
	if p.Name == "" {
		return nil, errors.New("plan save: Name is required")
	}
	sum := sha256.Sum256(p.Source)
	digest := hex.EncodeToString(sum[:])
	if p.SHA256 != "" && !strings.EqualFold(p.SHA256, digest) {
		return nil, fmt.Errorf("plan save %s: SHA256 %s does not match the source's %s", p.Name, p.SHA256, digest)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, fmt.Errorf("plan save %s: %w", p.Name, err)
	}
	m := planModel{
		ID: id.String(), Name: p.Name, File: p.File, SHA256: digest,
		Source: string(p.Source), CreatedAt: s.now(time.Time{}),
	}
	var got planModel
	err = func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "name"}, {Name: "sha256"}},
			DoNothing: true,
		}).Create(&m).Error; err != nil {
			return err
		}
		return tx.Where("name = ? AND sha256 = ?", p.Name, digest).Take(&got).Error
	}(tx.with(ctx))
	if err != nil {
		return nil, fmt.Errorf("plan save %s: %w", p.Name, translate(err))
	}
	return planRecordOf(&got), nil
}

// RunSubmitParams are the arguments of RunSubmit.
type RunSubmitParams struct {
	// Estate and EstateSource are what the run executes against (EstateSave).
	Estate       *drills.Estate
	EstateSource []byte
	// Plan and PlanSource are the plan it executes (PlanSave, named Plan.Name, file Plan.File).
	Plan       *drills.Plan
	PlanSource []byte
	// Run is the run to create; its PlanID, PlanName, EstateSHA256, FromSite and ToSite are
	// set from the estate and plan.
	Run RunInsertParams
}

// RunSubmit records what a run needs to execute from the store alone, in one transaction:
// the estate snapshot, the plan version, and the run itself. Validating the plan is the
// caller's business (drills.ValidatePlanWith).
func (s *Store) RunSubmit(ctx context.Context, p *RunSubmitParams) (*Run, error) {
	return inTx(ctx, s, p, s.RunSubmitTx)
}

// RunSubmitTx is RunSubmit in tx.
func (s *Store) RunSubmitTx(ctx context.Context, tx *Tx, p *RunSubmitParams) (*Run, error) {
	if p == nil || p.Estate == nil || p.Plan == nil {
		return nil, errors.New("run submit: Estate and Plan are required")
	}
	if err := s.EstateSaveTx(ctx, tx, p.Estate, p.EstateSource); err != nil {
		return nil, fmt.Errorf("submit run of %s: %w", p.Plan.Name, err)
	}
	plan, err := s.PlanSaveTx(ctx, tx, PlanSaveParams{Name: p.Plan.Name, File: p.Plan.File, Source: p.PlanSource, SHA256: p.Plan.SHA256})
	if err != nil {
		return nil, fmt.Errorf("submit run of %s: %w", p.Plan.Name, err)
	}
	sum := sha256.Sum256(p.EstateSource)
	run := p.Run
	run.PlanID, run.PlanName, run.EstateSHA256 = plan.ID, plan.Name, hex.EncodeToString(sum[:])
	run.FromSite, run.ToSite = p.Plan.From, p.Plan.To
	out, err := s.RunInsertTx(ctx, tx, &run)
	if err != nil {
		return nil, fmt.Errorf("submit run of %s: %w", p.Plan.Name, err)
	}
	return out, nil
}

// PlanGet returns the plan version id, or ErrNotFound.
func (s *Store) PlanGet(ctx context.Context, id string) (*PlanRecord, error) {
	var m planModel
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&m).Error; err != nil {
		return nil, fmt.Errorf("plan get %s: %w", id, translate(err))
	}
	return planRecordOf(&m), nil
}
