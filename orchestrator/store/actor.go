package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"github.com/firedrill/firedrill/drills"
)

// actorCols is a drills.Actor as four columns: <prefix>kind, <prefix>name, <prefix>via and
// <prefix>token_id (the prefix comes from the embedding field's embeddedPrefix). An empty kind
// means "nobody" (a freeze not lifted, a run never asked to abort).
type actorCols struct {
	Kind    string `gorm:"column:kind"`
	Name    string `gorm:"column:name"`
	Via     string `gorm:"column:via"`
	TokenID string `gorm:"column:token_id"`
}

func colsOf(a drills.Actor) actorCols {
	return actorCols{Kind: string(a.Kind), Name: a.Name, Via: string(a.Via), TokenID: a.TokenID}
}

func (c actorCols) actor() drills.Actor {
	return drills.Actor{Kind: drills.ActorKind(c.Kind), Name: c.Name, Via: drills.Via(c.Via), TokenID: c.TokenID}
}

// setActor adds the columns of a under prefix to an UpdateColumns map.
func setActor(set map[string]any, prefix string, a drills.Actor) map[string]any {
	set[prefix+"kind"] = string(a.Kind)
	set[prefix+"name"] = a.Name
	set[prefix+"via"] = string(a.Via)
	set[prefix+"token_id"] = a.TokenID
	return set
}

// checkActor validates who acts: what a row records as its actor must be well formed.
func checkActor(what string, a drills.Actor) error {
	if a.IsZero() {
		return fmt.Errorf("%s: who acts is required", what)
	}
	if err := a.Validate(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// checkPerson validates an actor that must be a person (a user or a local person).
func checkPerson(what string, a drills.Actor) error {
	if err := checkActor(what, a); err != nil {
		return err
	}
	if !a.IsPerson() {
		return fmt.Errorf("%s: %s is not a person", what, a)
	}
	return nil
}

// Tx is a transaction handle for composing store operations: the ...Tx twins of the store's
// methods run in it, and all of them commit together or not at all (a freeze, the aborts it
// asks for and the record of the operation). Get one from InTx; it is valid only inside the
// function InTx calls. Inside that function use only Tx twins: a plain store method would run
// outside the transaction (and, on SQLite's single connection, wait for it forever).
type Tx struct {
	db *gorm.DB
}

func (tx *Tx) with(ctx context.Context) *gorm.DB { return tx.db.WithContext(ctx) }

// InTx runs fn in one transaction: committed when fn returns nil, rolled back otherwise (fn's
// error is returned, translated to the store's sentinels).
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	return translate(s.db.WithContext(ctx).Transaction(func(db *gorm.DB) error {
		return fn(&Tx{db: db})
	}))
}

// inTx runs one ...Tx operation in a transaction of its own: the body of every plain twin
// (TokenRevoke is inTx(ctx, s, p, s.TokenRevokeTx)).
func inTx[P, R any](ctx context.Context, s *Store, p P, op func(context.Context, *Tx, P) (R, error)) (R, error) {
	var out R
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		out, err = op(ctx, tx, p)
		return err
	})
	return out, err
}
