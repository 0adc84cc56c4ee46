package drills_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/firedrill/firedrill/drills"
)

func TestReasonText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		reason drills.Reason
		en, ko string
	}{
		{
			drills.Reason{Code: drills.ReasonNotDrilled, Args: map[string]string{"service": "auth", "period": "2026", "frequency_months": "12"}},
			"auth was not drilled in 2026: a drill is required at least every 12 months",
			"auth 서비스는 2026년 중 재해복구 훈련을 실시하지 않았습니다. 최소 12개월마다 1회 이상 훈련해야 합니다.",
		},
		{
			drills.Reason{Code: drills.ReasonNotDrilled, Args: map[string]string{"service": "auth", "period": "2026-Q3", "frequency_months": "12", "since": "2025-10-02"}},
			"auth was not drilled in Q3 2026, nor since 2025-10-02: a drill is required at least every 12 months",
			"auth 서비스는 2026년 3분기 중 재해복구 훈련을 실시하지 않았으며, 2025-10-02 이후의 훈련 기록도 없습니다. 최소 12개월마다 1회 이상 훈련해야 합니다.",
		},
		{
			drills.Reason{Code: drills.ReasonRTOOverObjective, Args: map[string]string{"service": "payments", "run": "7f3a", "at": "2026-04-18", "measured_ms": "4325319", "objective_ms": "3600000"}},
			"the RTO of payments in its latest drill (run 7f3a on 2026-04-18) was 1h12m5.319s, over its objective of 1h",
			"payments 서비스의 최근 훈련(2026-04-18, 실행 7f3a)에서 측정한 RTO(1시간 12분 5.319초)는 목표(1시간)를 초과했습니다.",
		},
		{
			drills.Reason{Code: drills.ReasonRPOOverCeiling, Args: map[string]string{"service": "payments", "run": "7f3a", "at": "2026-04-18", "measured_ms": "319", "ceiling_ms": "0", "ceiling_source": "art. 9"}},
			"the RPO of payments in its latest drill (run 7f3a on 2026-04-18) was 319ms, over the ceiling of 0s the regulator sets (art. 9)",
			"payments 서비스의 최근 훈련(2026-04-18, 실행 7f3a)에서 측정한 RPO(319밀리초)는 감독기준 상한(0밀리초)을 초과했습니다(근거: art. 9).",
		},
		{
			drills.Reason{Code: drills.ReasonDependencyNotFailedOver, Args: map[string]string{"service": "payments", "dependency": "auth", "period": "2026-H1", "run": "r1", "at": "2026-03-01", "when": "later", "later_run": "r2"}},
			"payments was drilled (run r1 on 2026-03-01), but auth, which it depends on, was failed over only afterwards (run r2): the drill does not show payments can run on the DR site",
			"payments 서비스는 훈련(2026-03-01, 실행 r1)을 실시했으나, 의존하는 auth 서비스는 그 이후(실행 r2)에야 재해복구센터로 전환되었습니다. 따라서 이 훈련만으로는 payments 서비스가 재해복구센터에서 정상 운영될 수 있음을 입증하지 못합니다.",
		},
		{
			drills.Reason{Code: drills.ReasonLatestFailed, Args: map[string]string{"service": "auth", "run": "r2", "at": "2026-09-01", "state": "rollback_failed", "forced": "false"}},
			"the latest drill of auth (run r2 on 2026-09-01) did not pass: it ended rollback failed",
			"auth 서비스의 최근 훈련(2026-09-01, 실행 r2)은 통과하지 못했습니다. 훈련 결과: 원복 실패(rollback_failed).",
		},
		{
			drills.Reason{Code: drills.ReasonFindingOverdue, Args: map[string]string{"service": "auth", "finding": "F-12", "title": "no DR path for login", "severity": "high", "status": "in_progress", "due": "2026-06-30"}},
			`finding F-12 "no DR path for login" (high, in progress) is past its due date of 2026-06-30`,
			`조치기한이 지난 지적사항이 있습니다: F-12 "no DR path for login"(심각도: 높음, 상태: 조치 중, 조치기한: 2026-06-30).`,
		},
		{
			drills.Reason{Code: drills.ReasonRTOObjectiveOverCeiling, Args: map[string]string{"service": "ledger", "objective_ms": "14400000", "ceiling_ms": "10800000"}},
			"the RTO objective of ledger (4h) is longer than the ceiling of 3h the regulator sets: meeting the objective does not meet the ceiling",
			"ledger 서비스의 RTO 목표(4시간)가 감독기준 상한(3시간)보다 깁니다. 목표를 달성하더라도 상한을 충족한다고 볼 수 없습니다.",
		},
		{
			drills.Reason{Code: drills.ReasonRPONotEvidenced, Args: map[string]string{"service": "auth", "run": "r1", "at": "2026-03-01", "why": "too few canary rows before T0"}},
			"the RPO of auth was not measured in its latest drill (run r1 on 2026-03-01): too few canary rows before T0; an objective that was not measured is not shown to be met",
			"auth 서비스의 최근 훈련(2026-03-01, 실행 r1)에서 RPO를 측정하지 못해 목표 달성을 입증할 수 없습니다. 사유: too few canary rows before T0",
		},
		{
			drills.Reason{Code: drills.ReasonDrilledBeforePeriod, Args: map[string]string{"service": "auth", "period": "2026-Q3", "run": "r1", "at": "2026-02-01", "frequency_months": "12"}},
			"auth was not drilled in Q3 2026; its latest drill (run r1 on 2026-02-01) is within the 12 months allowed",
			"auth 서비스는 2026년 3분기에 훈련을 실시하지 않았으나, 최근 훈련(2026-02-01, 실행 r1)이 허용 주기(12개월) 이내입니다.",
		},
		{
			drills.Reason{Code: drills.ReasonFiresSkipped, Args: map[string]string{"service": "auth", "schedule": "half-yearly", "at": "2026-12-20", "why": `blackout "year-end"`}},
			`the drill of auth that schedule half-yearly had due on 2026-12-20 was skipped: blackout "year-end"`,
			`2026-12-20 예정이던 auth 서비스 훈련(일정 half-yearly)이 실시되지 않았습니다. 사유: blackout "year-end"`,
		},
		{
			drills.Reason{Code: drills.ReasonDrillOverdue, Args: map[string]string{"service": "auth", "run": "r1", "at": "2025-03-01", "frequency_months": "12", "as_of": "2026-12-31"}},
			"the latest drill of auth (run r1 on 2025-03-01) is more than 12 months before 2026-12-31: the drill is overdue",
			"auth 서비스의 최근 훈련일(2025-03-01, 실행 r1)이 기준일(2026-12-31)로부터 12개월을 넘어 훈련 주기를 지키지 못했습니다.",
		},
		{
			drills.Reason{Code: drills.ReasonDrilledLessThanRequired, Args: map[string]string{"service": "auth", "period": "2026", "run_count": "1", "required": "2", "frequency_months": "12"}},
			"auth was drilled once in 2026; 2 drills were required (scheduled drills due and the 12-month frequency)",
			"auth 서비스는 2026년에 훈련을 1회 실시하여 요구 횟수(2회)에 미달합니다.",
		},
		{
			drills.Reason{Code: drills.ReasonFindingOpen, Args: map[string]string{"service": "auth", "finding": "F-3", "title": "runbook out of date", "severity": "low", "status": "open"}},
			`finding F-3 "runbook out of date" (low, open) is not closed, with no due date`,
			`종결되지 않은 지적사항이 있습니다: F-3 "runbook out of date"(심각도: 낮음, 상태: 미조치).`,
		},
		{
			drills.Reason{Code: drills.ReasonLatestFailed, Args: map[string]string{"service": "auth", "run": "r2", "at": "2026-09-01", "state": "succeeded", "forced": "true"}},
			"the latest drill of auth (run r2 on 2026-09-01) did not pass: it was forced, which skips the pre-flight checks that make it a drill",
			"auth 서비스의 최근 훈련(2026-09-01, 실행 r2)은 통과하지 못했습니다. 강제 실행되어 훈련의 전제를 확인하는 사전점검을 건너뛰었으므로 훈련으로 인정되지 않습니다.",
		},
		{
			// A code this version does not know is said as it is, never dropped.
			drills.Reason{Code: "future_code", Args: map[string]string{"b": "2", "a": "1"}},
			"future_code a=1 b=2",
			"future_code a=1 b=2",
		},
	}
	for _, tt := range tests {
		if got := tt.reason.Text("en"); got != tt.en {
			t.Errorf("%s.Text(en) =\n%s\nwant\n%s", tt.reason.Code, got, tt.en)
		}
		if got := tt.reason.Text("ko"); got != tt.ko {
			t.Errorf("%s.Text(ko) =\n%s\nwant\n%s", tt.reason.Code, got, tt.ko)
		}
	}
}

// TestEveryReasonCodeIsWorded: a code evaluation gives must never fall back to its raw form.
func TestEveryReasonCodeIsWorded(t *testing.T) {
	t.Parallel()
	if len(drills.ReasonCodes) != 17 || len(slices.Compact(slices.Sorted(slices.Values(drills.ReasonCodes)))) != 17 {
		t.Fatalf("ReasonCodes = %v, want the 17 codes, each once", drills.ReasonCodes)
	}
	for _, code := range drills.ReasonCodes {
		if drills.ReasonEvidence(code) == "" {
			t.Errorf("%s speaks to no clause evidence", code)
		}
		r := drills.Reason{Code: code, Args: map[string]string{"service": "auth", "period": "2026"}}
		for _, lang := range []string{"en", "ko"} {
			if got := r.Text(lang); strings.HasPrefix(got, code) || strings.Contains(got, "%!") {
				t.Errorf("%s.Text(%s) = %q, want a sentence", code, lang, got)
			}
		}
	}
}

func TestTextGetFallsBack(t *testing.T) {
	t.Parallel()
	tests := []struct {
		text       drills.Text
		lang, want string
	}{
		{drills.Text{"ko": "금융위원회", "en": "FSC"}, "ko", "금융위원회"},
		{drills.Text{"ko": "금융위원회", "en": "FSC"}, "fr", "FSC"},
		{drills.Text{"ko": "금융위원회", "ja": "金融委員会"}, "fr", "金融委員会"},
		{nil, "en", ""},
	}
	for _, tt := range tests {
		if got := tt.text.Get(tt.lang); got != tt.want {
			t.Errorf("%v.Get(%q) = %q, want %q", tt.text, tt.lang, got, tt.want)
		}
	}
}
