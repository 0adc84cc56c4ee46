package drills

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// approvalSchema is the approval block, the same on a plan, a schedule and the estate:
//
//	approval {
//	  roles  = ["sre", "compliance"]
//	  within = "24h"
//	}
var approvalSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "roles"}, {Name: "within"}}}

// approvalBlock is an approval block read: its policy and where within was written (nil when
// it was not), for checks its container makes.
type approvalBlock struct {
	policy ApprovalPolicy
	within *hcl.Range
}

// approvals reads the approval blocks among blocks: at most one is allowed (owner says whose,
// for the message: `plan "p"`). The policy is empty when there is none or it is invalid.
func (s *diagSink) approvals(blocks []*hcl.Block, owner string) approvalBlock {
	var out approvalBlock
	n := 0
	for _, b := range blocks {
		if b.Type != "approval" {
			continue
		}
		if n++; n > 1 {
			s.errorf(b.DefRange, "%s: only one approval block is allowed", owner)
			continue
		}
		out = s.approval(b)
	}
	return out
}

// approval reads one approval block: roles (known roles, each once) and an optional within.
func (s *diagSink) approval(b *hcl.Block) approvalBlock {
	var out approvalBlock
	content, hd := b.Body.Content(approvalSchema)
	s.hcl(hd)
	var within ApprovalPolicy
	if a := content.Attributes["within"]; a != nil {
		if d, ok := s.positiveDuration(a); ok {
			within.Within = d
			r := a.Expr.Range()
			out.within = &r
		}
	}
	a := content.Attributes["roles"]
	if a == nil {
		s.errorf(b.DefRange, "approval: roles is required (e.g. [\"sre\", \"compliance\"]; omit the block when no approval is needed)")
		return out
	}
	l, ranges, ok := s.stringList(a)
	if !ok {
		return out
	}
	if len(l) == 0 {
		s.errorf(a.Expr.Range(), "roles: must name at least one role (omit the approval block when no approval is needed)")
		return out
	}
	for i, r := range l {
		switch {
		case strings.TrimSpace(r) == "":
			s.errorf(ranges[i], "roles: a role must not be empty")
			return out
		case !IsRole(r):
			s.errorf(ranges[i], "roles: unknown role %q (one of %s)%s", r, quoteList(Roles), suggest(r, Roles))
			return out
		}
	}
	if !s.noDuplicates(a, l, ranges) {
		return out
	}
	out.policy = ApprovalPolicy{Roles: l, Within: within.Within}
	return out
}
