# UK: PRA Supervisory Statement SS1/21 "Operational resilience: Impact tolerances for
# important business services" (March 2021) with the PRA Rulebook's Operational Resilience
# Part, and the FCA Handbook's SYSC 15A (Operational resilience). The regulators set no
# recovery ceiling: each firm sets an impact tolerance per important business service, which
# a service's RTO objective stands for here.
profile "uk-pra-ss1-21" {
  title = {
    en = "Operational resilience: scenario testing against impact tolerances"
  }
  regulator = {
    en = "Prudential Regulation Authority and Financial Conduct Authority (on request)"
  }
  languages = ["en"]
  source    = "PRA SS1/21 Operational resilience: Impact tolerances for important business services (March 2021); PRA Rulebook, Operational Resilience Part; FCA Handbook SYSC 15A.5 (Scenario testing) and SYSC 15A.6 (Self-assessment and lessons learned exercise documentation)"
  sections  = ["cover", "summary", "services", "drills", "findings", "clauses", "participants", "lessons", "accepted_risks", "signoff"]

  frequency {
    months = 12
    source = "Neither SS1/21 nor SYSC 15A.5 fixes an interval: the firm's testing plan does (SYSC 15A.5.1R). 12 months is firedrill's default: set the plan's own"
  }

  retest {
    within = "90d"
    source = "No deadline is set: SYSC 15A.6.1R(7) asks for the actions taken or planned on each vulnerability and a justification of their completion time. 90 days is firedrill's default"
  }

  retention {
    years  = 6
    source = "FCA Handbook SYSC 15A.6.2R: each version of the self-assessment records retained for at least 6 years (the PRA Rulebook's Operational Resilience Part, chapter 6, asks for the current self-assessment and the versions of the preceding three years)"
  }

  clause "scenario-testing" {
    title = {
      en = "Scenario testing against impact tolerances"
    }
    source = "FCA Handbook SYSC 15A.5.3R; PRA SS1/21, scenario testing"
    requirement = {
      en = "The firm tests its ability to remain within the impact tolerance of each important business service in severe but plausible disruptions of its operations."
    }
    evidence = ["drill_frequency", "drill_passed", "rto_within", "rpo_within", "dependencies_covered"]
    does_not_show = {
      en = "An RTO measures when systems answered again on the DR site; an impact tolerance bounds the harm of a disrupted business service, which may also depend on people, premises and third parties the drill did not test."
    }
  }

  clause "lessons-learned" {
    title = {
      en = "Lessons learned"
    }
    source = "FCA Handbook SYSC 15A.5.8R (lessons learned exercise) and SYSC 15A.6.1R(6)"
    requirement = {
      en = "After each scenario test the firm identifies lessons learned and the weaknesses to address, and records the exercise."
    }
    evidence = ["lessons", "deviations", "participants"]
    does_not_show = {
      en = "Lessons and deviations are those people recorded on the runs; the report does not show lessons learned from real incidents."
    }
  }

  clause "vulnerabilities" {
    title = {
      en = "Vulnerabilities, with actions and timelines"
    }
    source = "FCA Handbook SYSC 15A.6.1R(7)"
    requirement = {
      en = "The self-assessment identifies the vulnerabilities that threaten the delivery of important business services within impact tolerance, with the actions taken or planned and a justification of their completion time."
    }
    evidence = ["findings_closed", "accepted_risks"]
    does_not_show = {
      en = "Only vulnerabilities recorded as findings are listed, with their owners and due dates; the justification of a due date is the finding's own text."
    }
  }

  clause "records" {
    title = {
      en = "Written records kept for 6 years"
    }
    source = "FCA Handbook SYSC 15A.6.1R and SYSC 15A.6.2R"
    requirement = {
      en = "The firm keeps written records of its testing plan, the scenario tests carried out and the lessons learned, and retains each version for at least 6 years."
    }
    evidence = ["report_signed", "retention"]
    does_not_show = {
      en = "The signed bundle proves what the report said when it was published. Keeping it for 6 years is the firm's own archive's job."
    }
  }
}
