# US: FFIEC IT Examination Handbook, Business Continuity Management booklet (November 2019),
# section VII (Exercises and Tests),
# https://ithandbook.ffiec.gov/it-booklets/business-continuity-management/vii-exercises-and-tests/
profile "us-ffiec-bcm" {
  title = {
    en = "FFIEC Business Continuity Management: exercise and test results"
  }
  regulator = {
    en = "Board of directors and senior management (FFIEC BCM booklet VII.K), and the institution's examiners"
  }
  languages = ["en"]
  source    = "FFIEC IT Examination Handbook, Business Continuity Management booklet (November 2019), VII.A (Exercise and Test Program), VII.C (Exercise and Test Strategies), VII.K (Post-Exercise and Post-Test Actions)"
  sections  = ["cover", "summary", "services", "drills", "findings", "clauses", "participants", "lessons", "accepted_risks", "signoff"]

  frequency {
    months = 12
    source = "The BCM booklet fixes no interval: exercises and tests occur at appropriate intervals, when new risks are identified or after significant changes (VII.A). 12 months is firedrill's default, the annual enterprise-wide testing of the Business Continuity Planning booklet the BCM booklet replaced"
  }

  retest {
    within = "365d"
    source = "FFIEC BCM booklet VII.K: corrective actions for a failed recovery objective or a major issue are tested; management may retest during or before the next regularly scheduled exercise, depending on the issue's severity. With yearly exercises, that is within 365 days"
  }

  clause "vii-k-results" {
    title = {
      en = "VII.K: results compared with objectives and success criteria"
    }
    source = "FFIEC BCM booklet VII.K (Post-Exercise and Post-Test Actions)"
    requirement = {
      en = "Exercise and test results are analysed and compared with the objectives and success criteria of the exercise and test plans, and reported to appropriate levels of management."
    }
    evidence = ["drill_frequency", "drill_passed", "rto_within", "rpo_within"]
    does_not_show = {
      en = "The success criteria judged are the services' RTO and RPO objectives and the plan's checks. Other criteria of the exercise plan (transaction volumes, customer communication) are not judged."
    }
  }

  clause "vii-k-deviations" {
    title = {
      en = "VII.K: material deviations, including intended participation"
    }
    source = "FFIEC BCM booklet VII.K (Post-Exercise and Post-Test Actions)"
    requirement = {
      en = "Results document material deviations from the plans, including whether intended participation was achieved, and the problems identified and lessons learned."
    }
    evidence = ["deviations", "participants", "lessons"]
    does_not_show = {
      en = "Attendance is as recorded on the run against the plan's intended participants; the report does not show whether those who attended could perform their roles."
    }
  }

  clause "vii-k-actions" {
    title = {
      en = "VII.K: action plans, accepted risks and retesting"
    }
    source = "FFIEC BCM booklet VII.K (Post-Exercise and Post-Test Actions)"
    requirement = {
      en = "Issues have action plans with target dates and assigned responsibility; decisions to accept risks that are not remediated are documented; corrective actions for a failed recovery objective or a major issue are retested."
    }
    evidence = ["findings_closed", "accepted_risks"]
    does_not_show = {
      en = "A finding is closed only by a later passing drill that covers it, which is the retest; the report does not show fixes that were never retested."
    }
  }

  clause "vii-c-dependencies" {
    title = {
      en = "VII.C: testing encompasses internal and external dependencies"
    }
    source = "FFIEC BCM booklet VII.C (Exercise and Test Strategies)"
    requirement = {
      en = "Testing strategies encompass internal and external dependencies, including activities outsourced to third-party service providers."
    }
    evidence = ["dependencies_covered"]
    does_not_show = {
      en = "Dependencies are those declared between services of the estate; dependencies on third parties outside it are not judged."
    }
  }

  clause "vii-k-board" {
    title = {
      en = "VII.K: regular reports to the board"
    }
    source = "FFIEC BCM booklet VII.K (Post-Exercise and Post-Test Actions)"
    requirement = {
      en = "Management submits regular reports to the board on the exercise and testing activities and whether the plan meets the entity's recovery and resilience objectives."
    }
    evidence = ["report_signed"]
    does_not_show = {
      en = "A signed report shows who published it and when. It does not show that the board received or reviewed it."
    }
  }
}
