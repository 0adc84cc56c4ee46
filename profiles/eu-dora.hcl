# EU: the Digital Operational Resilience Act, Regulation (EU) 2022/2554, and Commission
# Delegated Regulation (EU) 2024/1774 (the RTS on the ICT risk management framework).
profile "eu-dora" {
  title = {
    en = "Digital Operational Resilience Act: ICT business continuity testing report"
  }
  regulator = {
    en = "The management body, and the competent authority on request (Regulation (EU) 2022/2554)"
  }
  languages = ["en"]
  source    = "Regulation (EU) 2022/2554 (DORA), Articles 11 and 24; Commission Delegated Regulation (EU) 2024/1774, Article 25"
  sections  = ["cover", "summary", "services", "drills", "findings", "clauses", "participants", "lessons", "accepted_risks", "signoff"]

  frequency {
    months = 12
    source = "Regulation (EU) 2022/2554, Article 11(6) (plans tested at least yearly and after substantive changes) and Article 24(6) (systems supporting critical or important functions tested at least yearly)"
  }

  retest {
    within = "90d"
    source = "DORA sets no retest deadline; Article 24(5) requires issues to be remedied and the remedy validated. 90 days is firedrill's default: set the firm's own"
  }

  clause "art11-6" {
    title = {
      en = "Article 11(6): testing of ICT business continuity and response and recovery plans"
    }
    source = "Regulation (EU) 2022/2554, Article 11 (Response and recovery), paragraph 6"
    requirement = {
      en = "ICT business continuity plans and ICT response and recovery plans are tested at least yearly and after substantive changes to the ICT systems supporting critical or important functions; the testing includes switchover between the primary ICT infrastructure and the redundant capacity, backups and redundant facilities."
    }
    evidence = ["drill_frequency", "drill_passed", "dependencies_covered"]
    does_not_show = {
      en = "The drills show switchovers of the services they failed over. They do not show testing after a substantive change unless a drill was run for it, nor the testing of crisis-communication plans or cyber-attack scenarios."
    }
  }

  clause "art24-6" {
    title = {
      en = "Article 24(6): yearly tests of systems supporting critical or important functions"
    }
    source = "Regulation (EU) 2022/2554, Article 24 (General requirements for the performance of digital operational resilience testing), paragraph 6"
    requirement = {
      en = "Appropriate tests are conducted at least yearly on all ICT systems and applications supporting critical or important functions."
    }
    evidence = ["drill_frequency", "rto_within", "rpo_within"]
    does_not_show = {
      en = "Only the services declared in the estate are judged. The report does not show that every ICT system supporting a critical or important function is declared, nor the other tests of the testing programme (vulnerability scans, penetration tests)."
    }
  }

  clause "art24-5" {
    title = {
      en = "Article 24(5): issues prioritised, classified and remedied"
    }
    source = "Regulation (EU) 2022/2554, Article 24 (General requirements for the performance of digital operational resilience testing), paragraph 5"
    requirement = {
      en = "Issues revealed by the tests are prioritised, classified and remedied, and internal validation establishes that every weakness, deficiency or gap identified is fully addressed (firedrill records each as a finding with an owner, a root cause and a due date)."
    }
    evidence = ["findings_closed", "accepted_risks"]
    does_not_show = {
      en = "A finding counts as remedied only when a later passing drill covers it or its risk is accepted. The report does not show remediation of issues that were never recorded as findings."
    }
  }

  clause "rts25-5" {
    title = {
      en = "RTS Article 25(5): test results documented and deficiencies reported to the management body"
    }
    source = "Commission Delegated Regulation (EU) 2024/1774, Article 25 (Testing of the ICT business continuity plans), paragraph 5"
    requirement = {
      en = "The results of the testing are documented, and any deficiencies the tests identify are analysed, addressed and reported to the management body."
    }
    evidence = ["deviations", "lessons", "participants", "report_signed"]
    does_not_show = {
      en = "A signed report shows who published it and when. It does not show that the management body received or discussed it."
    }
  }
}
