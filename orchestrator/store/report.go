package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/firedrill/firedrill/drills"
)

// ErrReportPublished: the report is published, and a published report never changes.
var ErrReportPublished = errors.New("report is published")

// ReportChunkSize is how much of a bundle one report_chunks row holds.
const ReportChunkSize = 1 << 20

// Report states.
const (
	ReportDraft     = "draft"
	ReportPublished = "published"
)

type reportModel struct {
	ID                    string     `gorm:"column:id;primaryKey"`
	Version               int        `gorm:"column:version"`
	ReplacesID            *string    `gorm:"column:replaces_id"`
	Profile               string     `gorm:"column:profile"`
	Period                string     `gorm:"column:period"`
	PeriodStart           time.Time  `gorm:"column:period_start"`
	PeriodEnd             time.Time  `gorm:"column:period_end"`
	Lang                  string     `gorm:"column:lang"`
	State                 string     `gorm:"column:state"`
	CreatedBy             actorCols  `gorm:"embedded;embeddedPrefix:created_by_"`
	CreatedAt             time.Time  `gorm:"column:created_at"`
	PublishedBy           actorCols  `gorm:"embedded;embeddedPrefix:published_by_"`
	PublishedAt           *time.Time `gorm:"column:published_at"`
	ManifestSHA256        string     `gorm:"column:manifest_sha256"`
	Size                  int64      `gorm:"column:size"`
	SigningKeyFingerprint string     `gorm:"column:signing_key_fingerprint"`
}

func (reportModel) TableName() string { return "reports" }

type reportChunkModel struct {
	ReportID string `gorm:"column:report_id;primaryKey"`
	N        int    `gorm:"column:n;primaryKey;autoIncrement:false"`
	Data     []byte `gorm:"column:data"`
}

func (reportChunkModel) TableName() string { return "report_chunks" }

// Report is a stored report bundle's record (its bytes are read with ReportBundleCopy).
type Report struct {
	ID         string
	Version    int
	ReplacesID string
	Profile    string
	Period     string
	// PeriodStart and PeriodEnd bound the period, [start, end).
	PeriodStart, PeriodEnd time.Time
	Lang                   string
	State                  string
	CreatedBy              drills.Actor
	CreatedAt              time.Time
	// PublishedBy and PublishedAt are zero on a draft.
	PublishedBy           drills.Actor
	PublishedAt           *time.Time
	ManifestSHA256        string
	Size                  int64
	SigningKeyFingerprint string
}

func reportOf(m *reportModel) *Report {
	r := &Report{
		ID: m.ID, Version: m.Version, Profile: m.Profile, Period: m.Period, PeriodStart: m.PeriodStart.UTC(),
		PeriodEnd: m.PeriodEnd.UTC(), Lang: m.Lang, State: m.State, CreatedBy: m.CreatedBy.actor(), CreatedAt: m.CreatedAt.UTC(),
		PublishedBy: m.PublishedBy.actor(), ManifestSHA256: m.ManifestSHA256, Size: m.Size, SigningKeyFingerprint: m.SigningKeyFingerprint,
	}
	if m.ReplacesID != nil {
		r.ReplacesID = *m.ReplacesID
	}
	if m.PublishedAt != nil {
		t := m.PublishedAt.UTC()
		r.PublishedAt = &t
	}
	return r
}

// ReportInsertParams are the arguments of ReportInsertTx.
type ReportInsertParams struct {
	ID      string
	Version int
	// ReplacesID names the published report this one corrects; empty for a first version.
	ReplacesID             string
	Profile, Period, Lang  string
	PeriodStart, PeriodEnd time.Time
	CreatedBy              drills.Actor
	// At defaults to the clock's now.
	At                    time.Time
	ManifestSHA256        string
	SigningKeyFingerprint string
	// Bundle is read to its end into the report's chunks.
	Bundle io.Reader
}

// ReportInsertTx stores a draft report and its bundle, read from p.Bundle a chunk at a time.
// A correction (ReplacesID set) must name a published report.
func (s *Store) ReportInsertTx(ctx context.Context, tx *Tx, p *ReportInsertParams) (*Report, error) {
	switch {
	case p == nil || p.ID == "":
		return nil, errors.New("report insert: ID is required")
	case p.Version < 1:
		return nil, fmt.Errorf("report insert %s: version %d is not 1 or more", p.ID, p.Version)
	case p.Profile == "" || p.Period == "" || p.Lang == "":
		return nil, fmt.Errorf("report insert %s: profile, period and language are required", p.ID)
	case !p.PeriodStart.Before(p.PeriodEnd):
		return nil, fmt.Errorf("report insert %s: the period does not end after it starts", p.ID)
	case p.ManifestSHA256 == "" || p.SigningKeyFingerprint == "" || p.Bundle == nil:
		return nil, fmt.Errorf("report insert %s: the bundle, its manifest hash and key fingerprint are required", p.ID)
	}
	if err := checkPerson("report insert "+p.ID, p.CreatedBy); err != nil {
		return nil, err
	}
	db := tx.with(ctx)
	if p.ReplacesID != "" {
		var old reportModel
		if err := db.Where("id = ?", p.ReplacesID).Take(&old).Error; err != nil {
			return nil, fmt.Errorf("report insert %s: the report it replaces, %s: %w", p.ID, p.ReplacesID, translate(err))
		}
		if old.State != ReportPublished {
			return nil, fmt.Errorf("report insert %s: %s is a draft, which is exported again rather than corrected: %w", p.ID, p.ReplacesID, ErrInvalidTransition)
		}
	}
	m := reportModel{
		ID: p.ID, Version: p.Version, Profile: p.Profile, Period: p.Period, PeriodStart: utcMS(p.PeriodStart), PeriodEnd: utcMS(p.PeriodEnd),
		Lang: p.Lang, State: ReportDraft, CreatedBy: colsOf(p.CreatedBy), CreatedAt: s.now(p.At),
		ManifestSHA256: p.ManifestSHA256, SigningKeyFingerprint: p.SigningKeyFingerprint,
	}
	if p.ReplacesID != "" {
		m.ReplacesID = &p.ReplacesID
	}
	if err := db.Create(&m).Error; err != nil {
		return nil, fmt.Errorf("report insert %s: %w", p.ID, translate(err))
	}
	size, err := writeChunks(db, p.ID, p.Bundle)
	if err != nil {
		return nil, fmt.Errorf("report insert %s: %w", p.ID, err)
	}
	if err := db.Model(&reportModel{}).Where("id = ?", p.ID).UpdateColumn("size", size).Error; err != nil {
		return nil, fmt.Errorf("report insert %s: %w", p.ID, translate(err))
	}
	m.Size = size
	return reportOf(&m), nil
}

// writeChunks stores r as the report's chunks, numbered from 0, and returns its size.
func writeChunks(db *gorm.DB, reportID string, r io.Reader) (int64, error) {
	buf := make([]byte, ReportChunkSize)
	var size int64
	for n := 0; ; n++ {
		k, err := io.ReadFull(r, buf)
		if k > 0 {
			if cerr := db.Create(&reportChunkModel{ReportID: reportID, N: n, Data: buf[:k]}).Error; cerr != nil {
				return 0, fmt.Errorf("chunk %d: %w", n, translate(cerr))
			}
			size += int64(k)
		}
		switch {
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return size, nil
		case err != nil:
			return 0, fmt.Errorf("read bundle: %w", err)
		}
	}
}

// ReportPublishParams are the arguments of ReportPublishTx.
type ReportPublishParams struct {
	ID string
	By drills.Actor
	// At defaults to the clock's now.
	At time.Time
	// The published bundle (with its sign-off) replaces the draft's.
	ManifestSHA256 string
	Bundle         io.Reader
}

// ReportPublishTx publishes a draft: its bundle becomes the signed-off one and the row
// records who published it. From then on neither changes (ErrReportPublished).
func (s *Store) ReportPublishTx(ctx context.Context, tx *Tx, p *ReportPublishParams) (*Report, error) {
	if p == nil || p.ID == "" {
		return nil, errors.New("report publish: ID is required")
	}
	if p.ManifestSHA256 == "" || p.Bundle == nil {
		return nil, fmt.Errorf("report publish %s: the published bundle and its manifest hash are required", p.ID)
	}
	if err := checkPerson("report publish "+p.ID, p.By); err != nil {
		return nil, err
	}
	db := tx.with(ctx)
	q := db.Where("id = ?", p.ID)
	if !isSQLite(db) {
		q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
	}
	var m reportModel
	if err := q.Take(&m).Error; err != nil {
		return nil, fmt.Errorf("report publish %s: %w", p.ID, translate(err))
	}
	if m.State == ReportPublished {
		return nil, fmt.Errorf("report publish %s: %w", p.ID, ErrReportPublished)
	}
	if err := db.Where("report_id = ?", p.ID).Delete(&reportChunkModel{}).Error; err != nil {
		return nil, fmt.Errorf("report publish %s: %w", p.ID, translate(err))
	}
	size, err := writeChunks(db, p.ID, p.Bundle)
	if err != nil {
		return nil, fmt.Errorf("report publish %s: %w", p.ID, err)
	}
	at := s.now(p.At)
	set := setActor(map[string]any{
		"state": ReportPublished, "published_at": at, "manifest_sha256": p.ManifestSHA256, "size": size,
	}, "published_by_", p.By)
	if err := db.Model(&reportModel{}).Where("id = ?", p.ID).UpdateColumns(set).Error; err != nil {
		return nil, fmt.Errorf("report publish %s: %w", p.ID, translate(err))
	}
	m.State, m.PublishedAt, m.PublishedBy, m.ManifestSHA256, m.Size = ReportPublished, &at, colsOf(p.By), p.ManifestSHA256, size
	return reportOf(&m), nil
}

// ReportGet returns the report id, or ErrNotFound.
func (s *Store) ReportGet(ctx context.Context, id string) (*Report, error) {
	var m reportModel
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&m).Error; err != nil {
		return nil, fmt.Errorf("report get %s: %w", id, translate(err))
	}
	return reportOf(&m), nil
}

// ReportGetTx is ReportGet in tx.
func (s *Store) ReportGetTx(ctx context.Context, tx *Tx, id string) (*Report, error) {
	var m reportModel
	if err := tx.with(ctx).Where("id = ?", id).Take(&m).Error; err != nil {
		return nil, fmt.Errorf("report get %s: %w", id, translate(err))
	}
	return reportOf(&m), nil
}

// ReportListParams filter ReportList.
type ReportListParams struct {
	// State, when set, keeps the reports in that state (auditors list published ones).
	State string
	// Profile and Period, when set, keep the reports of that profile and period.
	Profile, Period string
	// Limit defaults to 100, at most 1000.
	Limit int
}

// ReportList returns reports, newest first.
func (s *Store) ReportList(ctx context.Context, p *ReportListParams) ([]*Report, error) {
	if p == nil {
		p = &ReportListParams{}
	}
	limit := pageLimit(p.Limit, 100, 1000)
	q := s.db.WithContext(ctx).Model(&reportModel{})
	if p.State != "" {
		q = q.Where("state = ?", p.State)
	}
	if p.Profile != "" {
		q = q.Where("profile = ?", p.Profile)
	}
	if p.Period != "" {
		q = q.Where("period = ?", p.Period)
	}
	var ms []reportModel
	if err := q.Order("created_at DESC, id DESC").Limit(limit).Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("list reports: %w", translate(err))
	}
	out := make([]*Report, len(ms))
	for i := range ms {
		out[i] = reportOf(&ms[i])
	}
	return out, nil
}

// ReportBundleCopy writes the report's bundle to w, one chunk in memory at a time, and
// returns how many bytes it wrote.
func (s *Store) ReportBundleCopy(ctx context.Context, id string, w io.Writer) (int64, error) {
	db := s.db.WithContext(ctx)
	if _, err := s.ReportGet(ctx, id); err != nil {
		return 0, err
	}
	var total int64
	for n := 0; ; n++ {
		var chunks []reportChunkModel
		if err := db.Where("report_id = ? AND n = ?", id, n).Limit(1).Find(&chunks).Error; err != nil {
			return total, fmt.Errorf("report bundle %s: chunk %d: %w", id, n, translate(err))
		}
		if len(chunks) == 0 {
			return total, nil
		}
		k, err := w.Write(chunks[0].Data)
		total += int64(k)
		if err != nil {
			return total, fmt.Errorf("report bundle %s: %w", id, err)
		}
	}
}
