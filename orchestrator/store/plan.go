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
	err = s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Clauses(clause.OnConflict{
			Columns:   []clause.Column{{Name: "name"}, {Name: "sha256"}},
			DoNothing: true,
		}).Create(&m).Error; err != nil {
			return err
		}
		return tx.Where("name = ? AND sha256 = ?", p.Name, digest).Take(&got).Error
	})
	if err != nil {
		return nil, fmt.Errorf("plan save %s: %w", p.Name, translate(err))
	}
	return planRecordOf(&got), nil
}

// PlanGet returns the plan version id, or ErrNotFound.
func (s *Store) PlanGet(ctx context.Context, id string) (*PlanRecord, error) {
	var m planModel
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&m).Error; err != nil {
		return nil, fmt.Errorf("plan get %s: %w", id, translate(err))
	}
	return planRecordOf(&m), nil
}
