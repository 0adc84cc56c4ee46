package pages

import (
	"net/url"

	"github.com/firedrill/firedrill/orchestrator/control"
)

// A run's record beyond its steps: who took part (against the plan's intended participants)
// and the deviations and lessons noted on it, shown on the run's page and added there by
// those the table lets record them (run.record).

var runRecordMessages = map[string][2]string{
	"record.title":        {"Participants, deviations and lessons", "참여자, 계획 대비 차이, 교훈"},
	"record.participants": {"Participants", "참여자"},
	"record.intended":     {"in the plan", "계획상 참여자"},
	"record.attended":     {"took part", "참여함"},
	"record.absent":       {"did not take part", "불참"},
	"record.unrecorded":   {"not recorded", "기록 없음"},
	"record.notes":        {"Deviations and lessons", "계획 대비 차이와 교훈"},
	"record.deviation":    {"Deviation from the plan", "계획 대비 차이"},
	"record.lesson":       {"Lesson", "교훈"},
	"record.add":          {"Add a note", "기록 추가"},
	"record.kind":         {"Kind", "종류"},
	"record.text":         {"Text", "내용"},
	"record.save":         {"Add to the run's record", "훈련 기록에 추가"},
	"record.hint":         {"Notes are part of the evidence: they are audited and appear in the compliance report.", "기록은 증적의 일부입니다. 감사 기록에 남고 준수 보고서에 실립니다."},
}

func init() { addMessages(runRecordMessages) }

// runNoteAdd notes a deviation or a lesson on a run.
func (h *handler) runNoteAdd(q *req) (string, error) {
	q.need(control.OpRunRecord)
	id := pathID(q, "id")
	if _, err := h.cfg.Control.RunNoteAdd(q.ctx, q.caller, &control.RunNoteParams{RunID: id, Kind: formValue(q, "kind"), Text: formValue(q, "text")}); err != nil {
		return "", err
	}
	return withNotice("/runs/"+url.PathEscape(id), "noted"), nil
}
