//! Helpers shared by the integration tests that play flows.

use libtest_mimic::{Failed, Trial};
use presence_harness::check::verdict::{Gate, Outcome, Verdict};
use presence_harness::flow::interp::FlowOutcome;
use presence_harness::flow::{load_dir, LoadedFlow};
use presence_harness::report::RunRecord;
use presence_harness::runner::run_suite;
use presence_harness::sut::Profile;
use std::path::{Path, PathBuf};

/// The project root (the workspace folder).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Every flow of the project.
pub fn flows() -> Result<Vec<LoadedFlow>, String> {
    let root = root();
    load_dir(&root.join("flows"), &root).map_err(|e| e.to_string())
}

/// The flows that judge a presence server (not a UE under test): those the reference server's
/// profiles play. (Not every test binary that includes this module calls it.)
#[allow(dead_code)]
pub fn server_flows() -> Result<Vec<LoadedFlow>, String> {
    Ok(flows()?
        .into_iter()
        .filter(|f| f.flow.ue_under_test().is_none())
        .collect())
}

/// A flow's verdict with its failed checks: requirement, expected and actual, or the diff.
pub fn explain(outcome: &FlowOutcome) -> String {
    let mut text = format!(
        "{} {}: {}\n",
        outcome.id,
        outcome.title,
        outcome.verdict.name()
    );
    if let Some(reason) = &outcome.reason {
        text.push_str(&format!("  {reason}\n"));
    }
    for check in outcome.checks.iter().filter(|c| c.outcome == Outcome::Fail) {
        text.push_str(&format!(
            "  step {}: {}\n    requirement: {}\n",
            check.step,
            check.check,
            check.requirement.cite()
        ));
        match &check.diff {
            Some(diff) => text.push_str(&format!("    diff:\n{diff}\n")),
            None => text.push_str(&format!(
                "    expected: {}\n    actual:   {}\n",
                check.expected, check.actual
            )),
        }
        if let Some(reason) = &check.deviation {
            text.push_str(&format!("    expected deviation: {reason}\n"));
        }
    }
    text
}

/// Runs the whole suite once against a profile's SUT (one at a time: a managed SUT has fixed
/// ports).
pub fn run_once(profile: &Profile, flows: &[LoadedFlow]) -> Result<RunRecord, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    Ok(runtime.block_on(run_suite(profile, flows, &root(), |_| {})))
}

/// One trial per flow of a finished run, named `<prefix><flow id>`: it fails when the flow
/// errored or broke the gate (an expected deviation does not); unsupported flows are ignored.
pub fn recorded_trials(prefix: &str, record: &RunRecord) -> Vec<Trial> {
    let breaking: Vec<String> = record
        .breaking(Gate::Must)
        .iter()
        .map(|f| f.outcome.id.clone())
        .collect();
    record
        .flows
        .iter()
        .map(|flow| {
            let outcome = flow.outcome.clone();
            let fails = outcome.verdict == Verdict::Error || breaking.contains(&outcome.id);
            let unsupported = outcome.verdict == Verdict::Unsupported;
            Trial::test(format!("{prefix}{}", outcome.id), move || {
                if fails {
                    Err(Failed::from(explain(&outcome)))
                } else {
                    Ok(())
                }
            })
            .with_ignored_flag(unsupported)
        })
        .collect()
}

/// A trial that fails when the profile lists deviations that did not occur.
pub fn stale_trial(name: &str, record: &RunRecord) -> Trial {
    let stale: Vec<String> = record
        .deviations
        .stale
        .iter()
        .map(|d| format!("{} {}: {}", d.flow, d.requirement, d.reason))
        .collect();
    Trial::test(name, move || {
        if stale.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "listed deviations that did not occur (remove them from the profile):\n{}",
                stale.join("\n")
            )
            .into())
        }
    })
}
