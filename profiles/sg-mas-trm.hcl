# Singapore: the MAS Notices on Technology Risk Management (MAS Notice 644 for banks; each
# kind of institution has its own notice number) and the Technology Risk Management
# Guidelines (January 2021). A service of criticality "core" stands for a critical system.
profile "sg-mas-trm" {
  title = {
    en = "MAS Technology Risk Management: critical system recovery testing report"
  }
  regulator = {
    en = "Monetary Authority of Singapore"
  }
  languages = ["en"]
  source    = "MAS Notice on Technology Risk Management (MAS Notice 644 for banks), requirements on critical systems; MAS Technology Risk Management Guidelines (January 2021), section 8 (IT Resilience)"
  sections  = ["cover", "summary", "services", "drills", "findings", "clauses", "lessons", "accepted_risks", "signoff"]

  frequency {
    months = 12
    source = "MAS Notice on Technology Risk Management (MAS Notice 644 for banks): the recovery plan of each critical system is tested at least once every 12 months"
  }

  retest {
    within = "90d"
    source = "MAS sets no retest deadline; 90 days is firedrill's default: set the institution's own"
  }

  ceiling {
    criticality = ["core"]
    rto         = "4h"
    source      = "MAS Notice on Technology Risk Management (MAS Notice 644 for banks): a recovery time objective of not more than 4 hours for each critical system"
  }

  clause "critical-rto" {
    title = {
      en = "Critical systems recovered within 4 hours"
    }
    source = "MAS Notice on Technology Risk Management (MAS Notice 644 for banks), recovery of critical systems"
    requirement = {
      en = "Each critical system has a recovery time objective of not more than 4 hours, and its recovery is tested at least once every 12 months."
    }
    evidence = ["drill_frequency", "drill_passed", "rto_within", "rpo_within", "dependencies_covered"]
    does_not_show = {
      en = "Only services of criticality core are held to the 4-hour ceiling: the report does not show that every system MAS would see as critical is declared core."
    }
  }

  clause "unscheduled-downtime" {
    title = {
      en = "At most 4 hours of unscheduled downtime in 12 months"
    }
    source = "MAS Notice on Technology Risk Management (MAS Notice 644 for banks), availability of critical systems"
    requirement = {
      en = "The total unscheduled downtime of each critical system does not exceed 4 hours within any period of 12 months."
    }
    evidence = ["rto_within"]
    does_not_show = {
      en = "Drills measure recovery in planned exercises. They do not measure unscheduled downtime in production, which this limit is about: the incident records must show it."
    }
  }

  clause "dr-testing" {
    title = {
      en = "TRM Guidelines section 8: disaster recovery testing and remediation"
    }
    source = "MAS Technology Risk Management Guidelines (January 2021), section 8 (IT Resilience)"
    requirement = {
      en = "Disaster recovery plans are tested regularly under realistic conditions, and the gaps the tests reveal are addressed."
    }
    evidence = ["findings_closed", "accepted_risks", "lessons"]
    does_not_show = {
      en = "The report shows the gaps recorded as findings and how each was closed. It does not show testing done outside firedrill, such as industry-wide exercises."
    }
  }
}
