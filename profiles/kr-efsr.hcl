# Korea: 전자금융감독규정 (Electronic Financial Supervisory Regulation), a notice of the
# Financial Services Commission (금융위원회 고시). Article numbers follow the regulation as
# amended on 2016-06-30; the 2025-02-05 amendment regrouped chapter 3 into sections, so check
# the numbering against the version in force (law.go.kr) before a report leaves the bank.
profile "kr-efsr" {
  title = {
    ko = "전자금융감독규정 비상대응훈련 결과 보고"
    en = "Electronic Financial Supervisory Regulation: emergency-response drill report"
  }
  regulator = {
    ko = "금융위원회"
    en = "Financial Services Commission (Korea)"
  }
  languages = ["ko", "en"]
  source    = "전자금융감독규정(금융위원회 고시) 제23조(비상대책 등의 수립·운용), 제24조(비상대응훈련 실시); 핵심업무 3시간 복구 기준은 금융감독원 「금융기관 IT부문 비상대응 방안」(2001년 10월)의 재해복구센터 구축기준에서 비롯된 감독 관행"
  sections  = ["cover", "summary", "services", "drills", "findings", "clauses", "participants", "lessons", "accepted_risks", "signoff"]

  frequency {
    months = 12
    source = "전자금융감독규정 제24조(비상대응훈련 실시) 제1항: 연 1회의 비상대응훈련을 실시하고 그 결과를 금융위원회에 보고"
  }

  retest {
    within = "90d"
    source = "전자금융감독규정은 재훈련 기한을 따로 정하지 않음. firedrill 기본값(지적사항 조치기한 90일)을 적용하며, 기관의 비상대책에 정한 기한이 있으면 그에 맞게 변경할 것"
  }

  ceiling {
    criticality = ["core"]
    rto         = "3h"
    source      = "핵심업무 복구목표시간 3시간: 금융감독원 「금융기관 IT부문 비상대응 방안」(2001년 10월) 재해복구센터 구축기준(은행·증권·신용카드 3시간 이내 재가동)에서 비롯되어 은행권이 인용하는 감독 관행이며, 규정 조문의 수치는 아님"
  }

  clause "art24" {
    title = {
      ko = "제24조 비상대응훈련 실시"
      en = "Article 24: emergency-response drills"
    }
    source = "전자금융감독규정 제24조(비상대응훈련 실시) 제1항"
    requirement = {
      ko = "금융회사 또는 전자금융업자는 행동매뉴얼 또는 비상대책에 따라 연 1회의 비상대응훈련을 실시하고 그 결과를 금융위원회에 보고하여야 하며, 이때 제23조제10항에 따른 재해복구전환훈련을 포함하여 실시할 수 있다."
      en = "A financial company or electronic financial business operator holds an emergency-response drill once a year under its action manual or emergency plan and reports the results to the Financial Services Commission; the drill may include the DR switchover drill of Article 23(10)."
    }
    evidence = ["drill_frequency", "drill_passed", "participants", "lessons", "report_signed"]
    does_not_show = {
      ko = "이 보고서는 firedrill로 실행한 재해복구 전환 훈련만 다룹니다. 행동매뉴얼에 따른 그 밖의 비상대응 활동(비상연락, 대체 업무처리 등)의 실시 여부와, 결과를 금융위원회에 실제로 보고했는지는 보여주지 않습니다."
      en = "This report covers only the DR switchover drills run with firedrill. It does not show whether the other emergency-response activities of the action manual (call trees, manual workarounds) took place, nor that the results were actually reported to the Financial Services Commission."
    }
  }

  clause "art23" {
    title = {
      ko = "제23조 비상대책 등의 수립·운용 (재해복구전환훈련)"
      en = "Article 23: emergency plans (DR switchover drill)"
    }
    source = "전자금융감독규정 제23조(비상대책 등의 수립·운용) 제10항(재해복구전환훈련, 제24조제1항이 인용)"
    requirement = {
      ko = "재해복구센터로의 전환훈련을 통해 주요 업무가 재해복구센터에서 목표시간 안에 재개되고 데이터가 복구됨을 확인한다(firedrill은 업무가 의존하는 시스템까지 함께 전환된 경우에만 전환이 입증된 것으로 본다)."
      en = "The switchover drill to the DR site shows that the main services resume there within their objectives with their data (firedrill counts a switchover as shown only when the systems a service depends on were switched over too)."
    }
    evidence = ["rto_within", "rpo_within", "dependencies_covered", "deviations"]
    does_not_show = {
      ko = "훈련에서 측정한 RTO·RPO는 훈련 당시의 부하와 구성에서의 값입니다. 실제 재해 시 최대 부하, 재해복구센터의 장기 운영 능력, 주전산센터로의 복귀 절차는 보여주지 않습니다."
      en = "The RTO and RPO measured in a drill hold for that drill's load and configuration. They do not show peak-load behaviour in a real disaster, how long the DR site can run the business, or the return to the primary site."
    }
  }

  clause "core-rto" {
    title = {
      ko = "핵심업무 3시간 이내 복구"
      en = "Core business back within 3 hours"
    }
    source = "금융감독원 「금융기관 IT부문 비상대응 방안」(2001년 10월) 재해복구센터 구축기준에서 비롯된 감독 관행"
    requirement = {
      ko = "핵심업무는 재해 발생 후 3시간 이내에 재해복구센터에서 재개되어야 한다."
      en = "Core business (핵심업무) resumes on the DR site within 3 hours of the disaster."
    }
    evidence = ["rto_within"]
    does_not_show = {
      ko = "RTO는 장애 주입 시점(T0)부터 재해복구센터의 모든 점검이 정상이 된 시점까지의 시간입니다. 재해를 인지하고 전환을 결정하기까지 걸리는 시간은 포함하지 않습니다."
      en = "The RTO runs from the injected failure (T0) to every check passing on the DR site. It does not include the time taken to notice a disaster and decide to switch over."
    }
  }

  clause "findings" {
    title = {
      ko = "훈련 결과 미비점 조치"
      en = "Remediation of drill findings"
    }
    source = "기관 내부 기준: 전자금융감독규정은 훈련 미비점의 조치 절차와 기한을 정하지 않으며, 이 항목은 제24조제1항의 훈련 결과 보고를 뒷받침함"
    requirement = {
      ko = "훈련에서 드러난 미비점마다 담당자, 원인, 조치기한을 정하고, 이후 훈련으로 조치 결과를 확인하거나 위험 수용을 결정하여 기록한다."
      en = "Every weakness a drill revealed has an owner, a root cause and a due date, and is closed by a later drill that shows the fix, or carried by a recorded risk acceptance."
    }
    evidence = ["findings_closed", "accepted_risks"]
    does_not_show = {
      ko = "지적사항은 firedrill에 기록된 것만 보여줍니다. 다른 경로(내부감사, 금융감독원 검사)로 지적된 사항은 직접 등록하지 않는 한 포함되지 않습니다."
      en = "Only findings recorded in firedrill are shown. Findings raised elsewhere (internal audit, a supervisory inspection) appear only if they were entered by hand."
    }
  }
}
