package pages

import "github.com/firedrill/firedrill/orchestrator/control"

var findingsRiskMessages = map[string][2]string{
	"findings.accept":         {"Accept the risk", "위험 수용"},
	"findings.accept_reason":  {"Reason (required; recorded and shown on reports)", "사유 (필수, 기록되며 보고서에 표시됨)"},
	"findings.accept_do":      {"Accept risk", "위험 수용 결정"},
	"findings.accept_note":    {"A compliance decision: the finding stops counting against the service, with your name and this reason.", "준수 책임자의 결정입니다. 이 발견 사항은 귀하의 이름과 사유와 함께 서비스 평가에서 제외됩니다."},
	"findings.accepted_by":    {"Risk accepted by %s on %s: %s", "%s이(가) %s에 위험 수용: %s"},
	"findings.accept_heading": {"Risk", "위험"},
}

func init() { addMessages(findingsRiskMessages) }

// findingAcceptRisk carries a finding by an accepted risk: compliance's decision, with a
// reason, recorded by control.
func (h *handler) findingAcceptRisk(q *req) (string, error) {
	q.need(control.OpFindingAccept)
	id := pathID(q, "id")
	if _, err := h.cfg.Control.FindingAcceptRisk(q.ctx, q.caller, &control.FindingAcceptRiskParams{ID: id, Reason: formValue(q, "reason")}); err != nil {
		return "", err
	}
	return withNotice("/findings", "risk accepted "+id), nil
}
