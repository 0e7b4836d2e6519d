//! The command line as a CI gate sees it: exit codes for pass, fail, error and the strict
//! gate; the JUnit report's counts; re-rendering reports from run.json.

use presence_harness::check::xml;
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("root")
        .to_path_buf()
}

/// Runs `presence-harness run` with `args`, reports into a fresh folder; returns the exit
/// code and that folder.
fn run(args: &[&str]) -> (i32, PathBuf) {
    let reports = std::env::temp_dir().join(format!(
        "presence-harness-cli-{}",
        presence_harness::ids::token()
    ));
    let status = Command::new(env!("CARGO_BIN_EXE_presence-harness"))
        .arg("--root")
        .arg(root())
        .arg("run")
        .arg("--quiet")
        .arg("--reports")
        .arg(&reports)
        .args(args)
        .env("CI", "true")
        .status()
        .expect("the binary runs");
    (status.code().expect("an exit code"), reports)
}

/// The `<testcase>` elements of a junit.xml and how many of them hold a `<failure>`.
fn junit_counts(reports: &Path) -> (usize, usize) {
    let text = std::fs::read(reports.join("latest/junit.xml")).expect("junit.xml written");
    let root = xml::parse(&text).expect("junit.xml is XML");
    let suites: Vec<&xml::XmlElement> = root.elements().filter(|e| e.name == "testsuite").collect();
    assert_eq!(suites.len(), 1, "one testsuite per run");
    let cases: Vec<&xml::XmlElement> = suites[0]
        .elements()
        .filter(|e| e.name == "testcase")
        .collect();
    let failures = cases
        .iter()
        .filter(|c| c.elements().any(|e| e.name == "failure"))
        .count();
    (cases.len(), failures)
}

#[test]
fn a_passing_run_exits_0_with_a_clean_junit_report() {
    let (code, reports) = run(&["--flow", "rfc3903-412"]);
    assert_eq!(code, 0);
    assert_eq!(
        junit_counts(&reports),
        (2, 0),
        "one test case per transport, none failed"
    );
    std::fs::remove_dir_all(reports).ok();
}

#[test]
fn a_broken_must_exits_1_and_junit_names_it() {
    let (code, reports) = run(&["--flow", "rfc3903-412", "--fault", "accept-stale-etag"]);
    assert_eq!(code, 1);
    assert_eq!(junit_counts(&reports), (2, 2));
    let junit = std::fs::read_to_string(reports.join("latest/junit.xml")).expect("junit");
    assert!(
        junit.contains("RFC 3903 §6 (MUST)"),
        "the failure names the requirement"
    );
    std::fs::remove_dir_all(reports).ok();
}

#[test]
fn the_harness_not_judging_exits_2() {
    assert_eq!(run(&["--sut", "/no/such/profile.yaml"]).0, 2);
    assert_eq!(run(&["--flow", "no-such-flow"]).0, 2);
    assert_eq!(run(&["--fault", "no-such-fault"]).0, 2);
}

#[test]
fn a_broken_should_breaks_only_the_strict_gate() {
    let args = ["--flow", "A.5.2.1", "--fault", "stale-notify-after-modify"];
    assert_eq!(run(&args).0, 0, "non-strict holds the must gate");
    let strict: Vec<&str> = args.iter().copied().chain(["--gate", "strict"]).collect();
    assert_eq!(run(&strict).0, 1, "non-strict breaks the strict gate");
}

#[test]
fn reports_render_again_from_run_json() {
    let (code, reports) = run(&["--flow", "rfc3903-489"]);
    assert_eq!(code, 0);
    let junit = reports.join("latest/junit.xml");
    let before = std::fs::read_to_string(&junit).expect("junit");
    std::fs::remove_file(&junit).expect("removed");
    let status = Command::new(env!("CARGO_BIN_EXE_presence-harness"))
        .arg("report")
        .arg(reports.join("latest/run.json"))
        .status()
        .expect("the binary runs");
    assert!(status.success());
    assert_eq!(
        std::fs::read_to_string(&junit).expect("rendered again"),
        before
    );
    std::fs::remove_dir_all(reports).ok();
}
