package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/firedrill/firedrill/drills"
)

// EstateSave records the estate: a snapshot of its source (once per digest) and the current row
// of every site and service, in one transaction. Sites and services keep only references to
// credentials ("env:NAME" or "file:/path"), never a secret. Rows of sites or services that left
// the estate stay, marked by an older estate_sha256.
func (s *Store) EstateSave(ctx context.Context, cfg *drills.Estate, source []byte) error {
	return s.InTx(ctx, func(tx *Tx) error { return s.EstateSaveTx(ctx, tx, cfg, source) })
}

// EstateSaveTx is EstateSave in tx.
func (s *Store) EstateSaveTx(ctx context.Context, tx *Tx, cfg *drills.Estate, source []byte) error {
	if cfg == nil {
		return errors.New("estate save: config is nil")
	}
	sum := sha256.Sum256(source)
	digest := hex.EncodeToString(sum[:])
	if cfg.SHA256 != "" && cfg.SHA256 != digest {
		return fmt.Errorf("estate save %s: config SHA256 %s does not match the source's %s", cfg.File, cfg.SHA256, digest)
	}
	now := s.now(time.Time{})
	err := func(tx *gorm.DB) error {
		snap := estateSnapshotModel{SHA256: digest, File: cfg.File, Source: string(source), CreatedAt: now}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&snap).Error; err != nil {
			return fmt.Errorf("snapshot: %w", err)
		}
		for _, site := range cfg.Sites {
			if site == nil {
				continue
			}
			m := siteModelOf(site, digest, now)
			if err := tx.Clauses(clause.OnConflict{
				Columns:   []clause.Column{{Name: "name"}},
				UpdateAll: true,
			}).Create(&m).Error; err != nil {
				return fmt.Errorf("site %s: %w", site.Name, err)
			}
		}
		for _, svc := range cfg.Services {
			if svc == nil {
				continue
			}
			m := serviceModelOf(svc, digest, now)
			if err := tx.Clauses(clause.OnConflict{
				Columns:   []clause.Column{{Name: "name"}},
				UpdateAll: true,
			}).Create(&m).Error; err != nil {
				return fmt.Errorf("service %s: %w", svc.Name, err)
			}
		}
		return nil
	}(tx.with(ctx))
	if err != nil {
		return fmt.Errorf("estate save %s: %w", cfg.File, translate(err))
	}
	return nil
}

// secretRef is how a credential's location is stored: "env:NAME", "file:/path" or "".
func secretRef(env, file string) string {
	switch {
	case env != "":
		return "env:" + env
	case file != "":
		return "file:" + file
	}
	return ""
}

type siteDatabaseDoc struct {
	Name   string `json:"name"`
	DSNRef string `json:"dsn_ref"`
}

func siteModelOf(site *drills.Site, digest string, now time.Time) siteModel {
	m := siteModel{
		Name:         site.Name,
		Role:         string(site.Role),
		Ingress:      site.Ingress,
		EstateSHA256: digest,
		UpdatedAt:    now,
	}
	if n := site.Nomad; n != nil {
		m.NomadAddress = n.Address
		m.NomadRegion = n.Region
		m.NomadDatacenter = n.Datacenter
		m.NomadNamespace = n.Namespace
		m.TokenRef = secretRef(n.TokenEnv, n.TokenFile)
	}
	dbs := make([]siteDatabaseDoc, 0, len(site.Databases))
	for _, d := range site.Databases {
		if d != nil {
			dbs = append(dbs, siteDatabaseDoc{Name: d.Name, DSNRef: secretRef(d.DSNEnv, d.DSNFile)})
		}
	}
	m.Databases = mustJSON(dbs)
	return m
}

type checkDoc struct {
	Kind         string `json:"kind"`
	URL          string `json:"url"`
	ExpectStatus int    `json:"expect_status,omitempty"`
	ExpectBody   string `json:"expect_body,omitempty"`
	IntervalMS   int64  `json:"interval_ms,omitempty"`
}

type canaryDoc struct {
	Database   string `json:"database"`
	Table      string `json:"table"`
	IntervalMS int64  `json:"interval_ms,omitempty"`
}

func serviceModelOf(svc *drills.Service, digest string, now time.Time) serviceModel {
	deps := svc.DependsOn
	if deps == nil {
		deps = []string{}
	}
	checks := make([]checkDoc, 0, len(svc.Checks))
	for _, c := range svc.Checks {
		if c != nil {
			checks = append(checks, checkDoc{
				Kind: string(c.Kind), URL: c.URL, ExpectStatus: c.ExpectStatus,
				ExpectBody: c.ExpectBody, IntervalMS: msOf(c.Interval),
			})
		}
	}
	m := serviceModel{
		Name:         svc.Name,
		Description:  svc.Description,
		Owner:        svc.Owner,
		Criticality:  string(svc.Criticality),
		RTOMS:        msOf(svc.RTO),
		RPOMS:        msOf(svc.RPO),
		DependsOn:    mustJSON(deps),
		NomadJob:     svc.NomadJob,
		Checks:       mustJSON(checks),
		EstateSHA256: digest,
		UpdatedAt:    now,
	}
	if c := svc.Canary; c != nil {
		d := mustJSON(canaryDoc{Database: c.Database, Table: c.Table, IntervalMS: msOf(c.Interval)})
		m.Canary = &d
	}
	return m
}
