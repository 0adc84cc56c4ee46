package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Audit list limits.
const (
	DefaultAuditListLimit = 50
	MaxAuditListLimit     = 500
)

// AuditEntry is a recorded operation with its row in the audit chain.
type AuditEntry struct {
	Operation
	// Seq and Hash are the operation's audit row; zero for an operation recorded before the
	// log began (migration 00007), which the chain does not cover, or one whose row is still
	// pending (committed moments ago: read the head first, AuditHead, to have it chained).
	Seq  int64
	Hash string
}

// AuditListParams filter and page AuditList. Every filter is optional; they combine.
type AuditListParams struct {
	// ActorName, Operation, Target and Outcome keep the records equal to them.
	ActorName string
	Operation string
	Target    string
	Outcome   string
	// Since and Until keep the records at or after Since and before Until.
	Since, Until *time.Time
	// Text keeps the records whose message contains it, ignoring ASCII case.
	Text string
	// Before continues a list: the records older than the operation with this ID (a page's
	// Next). Zero starts from the newest.
	Before int64
	// Limit defaults to DefaultAuditListLimit, at most MaxAuditListLimit.
	Limit int
}

// AuditPage is one page of AuditList.
type AuditPage struct {
	Entries []*AuditEntry
	// Next is the Before of the next page; zero on the last.
	Next int64
}

// AuditList returns recorded operations, newest (highest ID) first, each with its audit row.
// The page walks the operations' primary key backwards (the cursor is an index condition);
// Since and Until can use operations_at_idx and Target operations_target_idx. The page's audit
// rows are then read through audit_log's (source, run_id, ref) key.
func (s *Store) AuditList(ctx context.Context, p *AuditListParams) (*AuditPage, error) {
	if p == nil {
		p = &AuditListParams{}
	}
	limit := pageLimit(p.Limit, DefaultAuditListLimit, MaxAuditListLimit)
	db := s.db.WithContext(ctx)
	q := db.Model(&operationModel{})
	for _, f := range []struct{ col, v string }{
		{"actor_name", p.ActorName}, {"operation", p.Operation}, {"target", p.Target}, {"outcome", p.Outcome},
	} {
		if f.v != "" {
			q = q.Where(f.col+" = ?", f.v)
		}
	}
	if p.Since != nil {
		q = q.Where("at >= ?", utcMS(*p.Since))
	}
	if p.Until != nil {
		q = q.Where("at < ?", utcMS(*p.Until))
	}
	if p.Text != "" {
		q = q.Where(`LOWER(message) LIKE ? ESCAPE '\'`, "%"+likeEscape(strings.ToLower(p.Text))+"%")
	}
	if p.Before > 0 {
		q = q.Where("id < ?", p.Before)
	}
	var ms []operationModel
	if err := q.Order("id DESC").Limit(limit + 1).Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("list audit: %w", translate(err))
	}
	page := &AuditPage{}
	if len(ms) > limit {
		ms = ms[:limit]
		page.Next = ms[limit-1].ID
	}
	refs := make([]int64, len(ms))
	for i := range ms {
		refs[i] = ms[i].ID
	}
	var rows []auditModel
	if len(refs) > 0 {
		if err := db.Select("seq", "ref", "hash").Where("source = ? AND run_id = '' AND ref IN ?", AuditSourceOperation, refs).
			Find(&rows).Error; err != nil {
			return nil, fmt.Errorf("list audit: rows: %w", translate(err))
		}
	}
	byRef := make(map[int64]*auditModel, len(rows))
	for i := range rows {
		byRef[rows[i].Ref] = &rows[i]
	}
	page.Entries = make([]*AuditEntry, len(ms))
	for i := range ms {
		e := &AuditEntry{Operation: *operationOf(&ms[i])}
		if r := byRef[ms[i].ID]; r != nil {
			e.Seq, e.Hash = r.Seq, r.Hash
		}
		page.Entries[i] = e
	}
	return page, nil
}

// likeEscape escapes LIKE's wildcards (and its escape character) in s.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// AuditHead is the chain's last row as the head records it: cheap, unlike AuditVerify,
// which walks the whole chain.
type AuditHead struct {
	Seq  int64
	Hash string
}

// AuditHeadGet returns the audit chain's head (AuditHead).
func (s *Store) AuditHeadGet(ctx context.Context) (*AuditHead, error) {
	seq, hash, err := s.AuditHead(ctx)
	if err != nil {
		return nil, err
	}
	return &AuditHead{Seq: seq, Hash: hash}, nil
}
