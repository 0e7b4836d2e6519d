//! JUnit XML (quick-junit): one testsuite per run, one testcase per flow run (classname: the
//! flow's first clause, name: the run name). A fail is a `failure` naming the requirement and
//! expected against actual, an error an `error`, unsupported and skipped runs are `skipped`
//! with the reason; non-strict runs and runs whose failures are all expected deviations pass
//! with a property saying so.

use super::record::{FlowRecord, RunRecord};
use crate::check::verdict::{CheckResult, Outcome, Verdict};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

/// Renders the run as JUnit XML.
pub fn render(record: &RunRecord) -> Result<String, String> {
    let mut suite = TestSuite::new(format!("presence-harness against {}", profile_name(record)));
    suite.set_time(Duration::from_micros(record.duration_us));
    suite.add_property(("harness-version", record.harness_version.as_str()));
    suite.add_property(("profile", profile_name(record).as_str()));
    suite.add_test_cases(record.flows.iter().map(test_case));
    let mut report = Report::new("presence-harness");
    report.add_test_suite(suite);
    report
        .to_string()
        .map_err(|e| format!("cannot render JUnit XML: {e}"))
}

fn profile_name(record: &RunRecord) -> String {
    record
        .profile
        .get("name")
        .and_then(|n| n.as_str())
        .unwrap_or("unnamed profile")
        .to_string()
}

/// A failed check as a line: step, what, requirement, expected and actual.
fn describe(check: &CheckResult) -> String {
    let mut text = format!(
        "step {}: {}\n  requirement: {}\n  expected: {}\n  actual:   {}",
        check.step,
        check.check,
        check.requirement.cite(),
        check.expected,
        check.actual
    );
    if let Some(diff) = &check.diff {
        text.push_str(&format!("\n  diff:\n{diff}"));
    }
    if let Some(reason) = &check.deviation {
        text.push_str(&format!("\n  expected deviation: {reason}"));
    }
    text
}

fn test_case(flow: &FlowRecord) -> TestCase {
    let outcome = &flow.outcome;
    let failed: Vec<&CheckResult> = outcome
        .checks
        .iter()
        .filter(|c| c.outcome == Outcome::Fail && c.verdict() != Verdict::Pass)
        .collect();
    let unforgiven: Vec<&&CheckResult> = failed.iter().filter(|c| c.deviation.is_none()).collect();
    let details = failed
        .iter()
        .map(|c| describe(c))
        .collect::<Vec<_>>()
        .join("\n\n");
    let mut properties = vec![("verdict".to_string(), outcome.verdict.name().to_string())];
    let status = match outcome.verdict {
        Verdict::Error => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_message(
                outcome
                    .reason
                    .clone()
                    .unwrap_or_else(|| "the harness could not judge".into()),
            );
            status
        }
        Verdict::Unsupported | Verdict::Skipped => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(outcome.reason.clone().unwrap_or_default());
            status
        }
        Verdict::Fail if unforgiven.iter().any(|c| c.verdict() == Verdict::Fail) => {
            let first = unforgiven
                .iter()
                .find(|c| c.verdict() == Verdict::Fail)
                .map_or_else(String::new, |c| {
                    format!("{} breaks {}", c.check, c.requirement.cite())
                });
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_message(first);
            status.set_type(outcome.verdict.name());
            status.set_description(details.clone());
            status
        }
        _ => {
            if !failed.is_empty() {
                properties.push(("failed-checks".into(), details.clone()));
            }
            if failed.iter().any(|c| c.deviation.is_some()) {
                properties.push((
                    "expected-deviations".into(),
                    failed
                        .iter()
                        .filter_map(|c| c.deviation.clone())
                        .collect::<Vec<_>>()
                        .join("; "),
                ));
            }
            TestCaseStatus::success()
        }
    };
    let mut case = TestCase::new(outcome.id.clone(), status);
    let classname = flow.spec.first().map_or_else(
        || outcome.flow.clone(),
        |c| format!("{} {}", c.doc, c.clause),
    );
    case.set_classname(classname);
    case.set_time(Duration::from_micros(outcome.duration_us));
    for (name, value) in properties {
        case.add_property((name, value));
    }
    case
}
