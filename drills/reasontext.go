package drills

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Text words the reason as a sentence a compliance officer understands, in Korean ("ko") or
// English (any other language). An unknown code is returned as it is, with its arguments, so
// nothing a newer evaluation says is silently dropped.
func (r Reason) Text(lang string) string {
	a := r.Args
	get := func(k string) string { return a[k] }
	dur := func(k string) string { return durationText(a[k], lang) }
	period := Period{Name: get("period")}.Label(lang)
	svc := get("service")
	ko := lang == "ko"
	switch r.Code {
	case ReasonNotDrilled:
		// since is set when the frequency reaches back before the period.
		if ko {
			since := ""
			if get("since") != "" {
				since = fmt.Sprintf("으며, %s 이후의 훈련 기록도 없습니다", get("since"))
			} else {
				since = "습니다"
			}
			return fmt.Sprintf("%s 서비스는 %s 중 재해복구 훈련을 실시하지 않았%s. 최소 %s개월마다 1회 이상 훈련해야 합니다.",
				svc, period, since, get("frequency_months"))
		}
		since := ""
		if get("since") != "" {
			since = ", nor since " + get("since")
		}
		return fmt.Sprintf("%s was not drilled in %s%s: a drill is required at least every %s months",
			svc, period, since, get("frequency_months"))
	case ReasonDrilledLessThanRequired:
		if ko {
			return fmt.Sprintf("%s 서비스는 %s에 훈련을 %s회 실시하여 요구 횟수(%s회)에 미달합니다.",
				svc, period, get("run_count"), get("required"))
		}
		return fmt.Sprintf("%s was drilled %s in %s; %s required (scheduled drills due and the %s-month frequency)",
			svc, times(get("run_count")), period, drillsCount(get("required")), get("frequency_months"))
	case ReasonDrillOverdue:
		if ko {
			return fmt.Sprintf("%s 서비스의 최근 훈련일(%s, 실행 %s)이 기준일(%s)로부터 %s개월을 넘어 훈련 주기를 지키지 못했습니다.",
				svc, get("at"), get("run"), get("as_of"), get("frequency_months"))
		}
		return fmt.Sprintf("the latest drill of %s (run %s on %s) is more than %s months before %s: the drill is overdue",
			svc, get("run"), get("at"), get("frequency_months"), get("as_of"))
	case ReasonDrilledBeforePeriod:
		if ko {
			return fmt.Sprintf("%s 서비스는 %s에 훈련을 실시하지 않았으나, 최근 훈련(%s, 실행 %s)이 허용 주기(%s개월) 이내입니다.",
				svc, period, get("at"), get("run"), get("frequency_months"))
		}
		return fmt.Sprintf("%s was not drilled in %s; its latest drill (run %s on %s) is within the %s months allowed",
			svc, period, get("run"), get("at"), get("frequency_months"))
	case ReasonFiresSkipped:
		if ko {
			return fmt.Sprintf("%s 예정이던 %s 서비스 훈련(일정 %s)이 실시되지 않았습니다. 사유: %s",
				get("at"), svc, get("schedule"), get("why"))
		}
		return fmt.Sprintf("the drill of %s that schedule %s had due on %s was skipped: %s",
			svc, get("schedule"), get("at"), get("why"))
	case ReasonLatestFailed:
		if ko {
			return fmt.Sprintf("%s 서비스의 최근 훈련(%s, 실행 %s)은 통과하지 못했습니다. %s",
				svc, get("at"), get("run"), failedWhy(get("state"), get("forced") == "true", true))
		}
		return fmt.Sprintf("the latest drill of %s (run %s on %s) did not pass: %s",
			svc, get("run"), get("at"), failedWhy(get("state"), get("forced") == "true", false))
	case ReasonRTOOverObjective, ReasonRPOOverObjective:
		what := objectiveName(r.Code)
		if ko {
			return fmt.Sprintf("%s 서비스의 최근 훈련(%s, 실행 %s)에서 측정한 %s(%s)는 목표(%s)를 초과했습니다.",
				svc, get("at"), get("run"), what, dur("measured_ms"), dur("objective_ms"))
		}
		return fmt.Sprintf("the %s of %s in its latest drill (run %s on %s) was %s, over its objective of %s",
			what, svc, get("run"), get("at"), dur("measured_ms"), dur("objective_ms"))
	case ReasonRTOOverCeiling, ReasonRPOOverCeiling:
		what := objectiveName(r.Code)
		if ko {
			return fmt.Sprintf("%s 서비스의 최근 훈련(%s, 실행 %s)에서 측정한 %s(%s)는 감독기준 상한(%s)을 초과했습니다%s.",
				svc, get("at"), get("run"), what, dur("measured_ms"), dur("ceiling_ms"), sourceSuffix(get("ceiling_source"), true))
		}
		return fmt.Sprintf("the %s of %s in its latest drill (run %s on %s) was %s, over the ceiling of %s the regulator sets%s",
			what, svc, get("run"), get("at"), dur("measured_ms"), dur("ceiling_ms"), sourceSuffix(get("ceiling_source"), false))
	case ReasonRTONotEvidenced, ReasonRPONotEvidenced:
		what := objectiveName(r.Code)
		if ko {
			why := ""
			if get("why") != "" {
				why = " 사유: " + get("why")
			}
			return fmt.Sprintf("%s 서비스의 최근 훈련(%s, 실행 %s)에서 %s를 측정하지 못해 목표 달성을 입증할 수 없습니다.%s",
				svc, get("at"), get("run"), what, why)
		}
		why := ""
		if get("why") != "" {
			why = get("why") + "; "
		}
		return fmt.Sprintf("the %s of %s was not measured in its latest drill (run %s on %s): %san objective that was not measured is not shown to be met",
			what, svc, get("run"), get("at"), why)
	case ReasonRTOObjectiveOverCeiling, ReasonRPOObjectiveOverCeiling:
		what := objectiveName(r.Code)
		if ko {
			return fmt.Sprintf("%s 서비스의 %s 목표(%s)가 감독기준 상한(%s)보다 깁니다%s. 목표를 달성하더라도 상한을 충족한다고 볼 수 없습니다.",
				svc, what, dur("objective_ms"), dur("ceiling_ms"), sourceSuffix(get("ceiling_source"), true))
		}
		return fmt.Sprintf("the %s objective of %s (%s) is longer than the ceiling of %s the regulator sets%s: meeting the objective does not meet the ceiling",
			what, svc, dur("objective_ms"), dur("ceiling_ms"), sourceSuffix(get("ceiling_source"), false))
	case ReasonDependencyNotFailedOver:
		return dependencyText(a, period, ko)
	case ReasonFindingOpen, ReasonFindingOverdue:
		return findingText(r.Code, a, ko)
	}
	// A code this version does not word: say it plainly rather than drop it.
	var b strings.Builder
	b.WriteString(r.Code)
	for _, k := range sortedKeys(a) {
		fmt.Fprintf(&b, " %s=%s", k, a[k])
	}
	return b.String()
}

func objectiveName(code string) string {
	if strings.HasPrefix(code, "rpo") {
		return "RPO"
	}
	return "RTO"
}

func sourceSuffix(src string, ko bool) string {
	if src == "" {
		return ""
	}
	if ko {
		return "(근거: " + src + ")"
	}
	return " (" + src + ")"
}

func times(n string) string {
	if n == "1" {
		return "once"
	}
	return n + " times"
}

func drillsCount(n string) string {
	if n == "1" {
		return "1 drill was"
	}
	return n + " drills were"
}

// runStateKo are the run states as a Korean report names them.
var runStateKo = map[string]string{
	string(RunSucceeded):      "성공",
	string(RunFailed):         "실패",
	string(RunBlocked):        "사전점검 차단",
	string(RunAborted):        "중단",
	string(RunRolledBack):     "원복",
	string(RunRollbackFailed): "원복 실패",
}

// failedWhy says why a drill did not pass, by the one definition: it did not succeed, it was
// forced, or not every objective was measured and met.
func failedWhy(state string, forced, ko bool) string {
	switch {
	case forced && ko:
		return "강제 실행되어 훈련의 전제를 확인하는 사전점검을 건너뛰었으므로 훈련으로 인정되지 않습니다."
	case forced:
		return "it was forced, which skips the pre-flight checks that make it a drill"
	case state == string(RunSucceeded) && ko:
		return "성공으로 종료되었으나 모든 서비스의 RTO·RPO 목표가 측정되고 충족되지는 않았습니다."
	case state == string(RunSucceeded):
		return "it succeeded, but not every objective of every service was measured and met"
	case ko:
		name := runStateKo[state]
		if name == "" {
			name = state
		}
		return fmt.Sprintf("훈련 결과: %s(%s).", name, state)
	default:
		return "it ended " + strings.ReplaceAll(state, "_", " ")
	}
}

func dependencyText(a map[string]string, period string, ko bool) string {
	svc, dep, via := a["service"], a["dependency"], a["via"]
	if ko {
		depends := fmt.Sprintf("의존하는 %s 서비스", dep)
		if via != "" {
			depends = fmt.Sprintf("%s 서비스를 거쳐 의존하는 %s 서비스", via, dep)
		}
		conclusion := fmt.Sprintf("따라서 이 훈련만으로는 %s 서비스가 재해복구센터에서 정상 운영될 수 있음을 입증하지 못합니다.", svc)
		if a["when"] == "later" {
			return fmt.Sprintf("%s 서비스는 훈련(%s, 실행 %s)을 실시했으나, %s는 그 이후(실행 %s)에야 재해복구센터로 전환되었습니다. %s",
				svc, a["at"], a["run"], depends, a["later_run"], conclusion)
		}
		return fmt.Sprintf("%s 서비스는 훈련을 실시했으나, %s는 %s에 한 번도 재해복구센터로 전환되지 않았습니다. %s",
			svc, depends, period, conclusion)
	}
	depends := dep + ", which it depends on,"
	if via != "" {
		depends = fmt.Sprintf("%s, which it depends on through %s,", dep, via)
	}
	conclusion := fmt.Sprintf("the drill does not show %s can run on the DR site", svc)
	if a["when"] == "later" {
		return fmt.Sprintf("%s was drilled (run %s on %s), but %s was failed over only afterwards (run %s): %s",
			svc, a["run"], a["at"], depends, a["later_run"], conclusion)
	}
	return fmt.Sprintf("%s was drilled, but %s was never failed over in %s: %s", svc, depends, period, conclusion)
}

var severityKo = map[string]string{
	string(SeverityLow): "낮음", string(SeverityMedium): "보통", string(SeverityHigh): "높음", string(SeverityCritical): "심각",
}

var findingStatusKo = map[string]string{
	string(FindingOpen):         "미조치",
	string(FindingInProgress):   "조치 중",
	string(FindingFixed):        "조치 완료(재훈련 전)",
	string(FindingRetested):     "재훈련으로 확인",
	string(FindingRiskAccepted): "위험 수용",
}

func findingText(code string, a map[string]string, ko bool) string {
	if ko {
		details := []string{"심각도: " + orSelf(severityKo, a["severity"]), "상태: " + orSelf(findingStatusKo, a["status"])}
		if a["due"] != "" {
			details = append(details, "조치기한: "+a["due"])
		}
		lead := "종결되지 않은 지적사항이 있습니다"
		if code == ReasonFindingOverdue {
			lead = "조치기한이 지난 지적사항이 있습니다"
		}
		return fmt.Sprintf("%s: %s %q(%s).", lead, a["finding"], a["title"], strings.Join(details, ", "))
	}
	status := strings.ReplaceAll(a["status"], "_", " ")
	if code == ReasonFindingOverdue {
		return fmt.Sprintf("finding %s %q (%s, %s) is past its due date of %s", a["finding"], a["title"], a["severity"], status, a["due"])
	}
	due := ", with no due date"
	if a["due"] != "" {
		due = ", due " + a["due"]
	}
	return fmt.Sprintf("finding %s %q (%s, %s) is not closed%s", a["finding"], a["title"], a["severity"], status, due)
}

func orSelf(m map[string]string, k string) string {
	if v, ok := m[k]; ok {
		return v
	}
	return k
}

// durationText writes a duration given in milliseconds: "3h12m5.319s" in English,
// "3시간 12분 5.319초" in Korean. A value that is not a number is returned as it is.
func durationText(msText, lang string) string {
	n, err := strconv.ParseInt(msText, 10, 64)
	if err != nil {
		return msText
	}
	d := time.Duration(n) * time.Millisecond
	if lang != "ko" {
		return formatDuration(d)
	}
	if d < time.Second {
		return strconv.FormatInt(n, 10) + "밀리초"
	}
	var parts []string
	if h := d / time.Hour; h > 0 {
		parts = append(parts, strconv.FormatInt(int64(h), 10)+"시간")
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		parts = append(parts, strconv.FormatInt(int64(m), 10)+"분")
		d -= m * time.Minute
	}
	if d > 0 {
		s := strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
		parts = append(parts, s+"초")
	}
	return strings.Join(parts, " ")
}
