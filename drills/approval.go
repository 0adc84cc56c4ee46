package drills

import "slices"

// Approver is a person who approved a run, with the roles they held when they did.
type Approver struct {
	Name  string
	Roles []string
}

// MatchApprovers decides whether approvers satisfy a policy that needs one approval per
// role in roles, each from a different person, none of them the requester (who cannot approve
// their own drill, alone or in part). It returns the roles still missing when not satisfied.
//
// One person holding two roles covers only one of them: the point of the policy is two
// people. The assignment is found by augmenting paths, so it is right whatever order the
// approvals came in.
func MatchApprovers(roles []string, approvers []Approver, requester string) (ok bool, missing []string) {
	eligible := make([]Approver, 0, len(approvers))
	seen := map[string]bool{}
	for _, a := range approvers {
		if a.Name == requester || seen[a.Name] {
			continue
		}
		seen[a.Name] = true
		eligible = append(eligible, a)
	}
	// assigned[i] is the role index person i covers, or -1.
	assigned := make([]int, len(eligible))
	for i := range assigned {
		assigned[i] = -1
	}
	holder := make([]int, len(roles)) // person covering role r, or -1
	for r := range holder {
		holder[r] = -1
	}
	var augment func(r int, visited []bool) bool
	augment = func(r int, visited []bool) bool {
		for p, a := range eligible {
			if visited[p] || !slices.Contains(a.Roles, roles[r]) {
				continue
			}
			visited[p] = true
			if assigned[p] == -1 || augment(assigned[p], visited) {
				assigned[p], holder[r] = r, p
				return true
			}
		}
		return false
	}
	for r := range roles {
		augment(r, make([]bool, len(eligible)))
	}
	for r, p := range holder {
		if p == -1 {
			missing = append(missing, roles[r])
		}
	}
	return len(missing) == 0, missing
}
