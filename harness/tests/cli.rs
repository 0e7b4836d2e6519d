//! The command line as a CI gate sees it: exit codes for pass, fail, error and the strict
//! gate; the JUnit report's counts; re-rendering reports from run.json; bad flow and profile
//! files refused with one located line and exit 2.

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
        (3, 0),
        "one test case per transport (UDP, TCP, TLS), none failed"
    );
    std::fs::remove_dir_all(reports).ok();
}

#[test]
fn a_broken_must_exits_1_and_junit_names_it() {
    let (code, reports) = run(&["--flow", "rfc3903-412", "--fault", "accept-stale-etag"]);
    assert_eq!(code, 1);
    assert_eq!(junit_counts(&reports), (3, 3));
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
    let args = [
        "--flow",
        "rfc6665-event-id",
        "--fault",
        "stale-notify-after-modify",
    ];
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

/// A project root of its own: the real fixtures and a `flows/` folder holding only `name`
/// with `text` (or, with `sparse`, a file of that many zero bytes that takes no disk space).
fn root_with_flow(name: &str, text: &str, sparse: Option<u64>) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "presence-harness-flowfile-{}",
        presence_harness::ids::token()
    ));
    std::fs::create_dir_all(dir.join("flows")).expect("flows folder");
    std::os::unix::fs::symlink(root().join("fixtures"), dir.join("fixtures")).expect("fixtures");
    let file = dir.join("flows").join(name);
    match sparse {
        Some(len) => std::fs::File::create(&file)
            .and_then(|f| f.set_len(len))
            .expect("sparse file"),
        None => std::fs::write(&file, text).expect("flow file"),
    }
    dir
}

/// Runs `presence-harness` with `args`; returns the exit code and standard error.
fn run_for_error(args: &[&std::ffi::OsStr]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_presence-harness"))
        .args(args)
        .env("CI", "true")
        .output()
        .expect("the binary runs");
    let code = output.status.code().expect("an exit code");
    (code, String::from_utf8_lossy(&output.stderr).into_owned())
}

/// Asserts exit 2 and one line `error: <file>:<line>:<col>: ...` containing `words`.
fn assert_located(code: i32, stderr: &str, file: &str, words: &str) {
    assert_eq!(code, 2, "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    let line = lines[0];
    let rest = line
        .strip_prefix("error: ")
        .and_then(|l| l.split_once(file))
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("no `error: ...{file}` in {line}"));
    let mut fields = rest.splitn(4, ':');
    assert_eq!(fields.next(), Some(""), "{line}");
    for what in ["line", "column"] {
        let number = fields.next().unwrap_or_default();
        assert!(
            number.parse::<usize>().is_ok_and(|n| n > 0),
            "no {what} in {line}"
        );
    }
    assert!(line.contains(words), "{words:?} not in {line}");
}

/// Plays `run` on a root whose only flow is `text`; asserts the located error.
fn bad_flow(text: &str, words: &str) {
    let dir = root_with_flow("bad.yaml", text, None);
    let (code, stderr) = run_for_error(&[
        "--root".as_ref(),
        dir.as_os_str(),
        "run".as_ref(),
        "--quiet".as_ref(),
    ]);
    std::fs::remove_dir_all(&dir).ok();
    assert_located(code, &stderr, "bad.yaml", words);
}

const FLOW_HEAD: &str = r#"id: t
title: t
spec:
  - { doc: RFC 3903, clause: "6", level: must }
roles:
  ue1: { kind: ue, user: alice, path: [] }
  ps: { kind: sut }
steps:
  - send: PUBLISH
    as: p
    from: ue1
    to: ps
    uri: sip:x@home1.net
"#;

#[test]
fn malformed_yaml_exits_2_with_its_location() {
    bad_flow("id: t\ntitle: \"unclosed\nspec: []\n", "unexpected end");
    bad_flow("id: t\n\tx: 1\n", "tab character");
}

#[test]
fn a_wrong_type_exits_2_with_its_location() {
    let text = format!("{FLOW_HEAD}  - expect: response\n    of: p\n    timeout: soon\n");
    bad_flow(&text, "steps[1].timeout: invalid type");
}

#[test]
fn an_unknown_key_exits_2_with_its_location() {
    bad_flow(
        &format!("{FLOW_HEAD}    colour: red\n"),
        "unknown field `colour`",
    );
}

#[test]
fn circular_and_undefined_captures_exit_2_with_their_location() {
    let own = format!(
        "{FLOW_HEAD}  - expect: response\n    of: p\n    status: {{ one_of: [200], req: rfc3903-expires-in-2xx }}\n    headers:\n      SIP-ETag: {{ equals: \"${{etag}}\", capture: etag, req: rfc3903-etag-in-2xx }}\n"
    );
    bad_flow(&own, "undefined variable ${etag}");
    let later = FLOW_HEAD.replace("uri: sip:x@home1.net", "uri: sip:${later}@home1.net");
    bad_flow(&later, "undefined variable ${later}");
}

#[test]
fn a_missing_fixture_exits_2_with_its_location() {
    let text = format!("{FLOW_HEAD}    body: {{ file: fixtures/pidf/no-such.xml }}\n");
    bad_flow(&text, "fixtures/pidf/no-such.xml");
}

#[test]
fn a_100_mb_flow_file_is_refused_before_it_is_read() {
    let dir = root_with_flow("big.yaml", "", Some(100 * 1024 * 1024));
    let (code, stderr) = run_for_error(&[
        "--root".as_ref(),
        dir.as_os_str(),
        "run".as_ref(),
        "--quiet".as_ref(),
    ]);
    std::fs::remove_dir_all(&dir).ok();
    assert_located(code, &stderr, "big.yaml", "over the limit of 1048576 bytes");
}

#[test]
fn a_malformed_profile_exits_2_with_its_location() {
    let dir = root_with_flow("unused.yaml", "", None);
    let profile = dir.join("bad-profile.yaml");
    std::fs::write(&profile, "name: x\naddress: [oops\n").expect("profile");
    let (code, stderr) = run_for_error(&[
        "--root".as_ref(),
        root().as_os_str(),
        "run".as_ref(),
        "--quiet".as_ref(),
        "--sut".as_ref(),
        profile.as_os_str(),
    ]);
    std::fs::remove_dir_all(&dir).ok();
    assert_located(code, &stderr, "bad-profile.yaml", "address");
}

/// Runs one flow with RUST_LOG set; returns the exit code and standard error.
fn run_with_rust_log(filter: &str) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_presence-harness"))
        .arg("--root")
        .arg(root())
        .args(["run", "--quiet", "--flow", "rfc3903-412", "--reports"])
        .arg(std::env::temp_dir().join(format!(
            "presence-harness-cli-{}",
            presence_harness::ids::token()
        )))
        .env("RUST_LOG", filter)
        .output()
        .expect("the binary runs");
    let code = output.status.code().expect("an exit code");
    (code, String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn rust_log_asks_for_debug_logs_and_a_bad_filter_is_named() {
    let (code, stderr) = run_with_rust_log("presence_harness=debug");
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("starting the SUT"), "debug logs: {stderr}");
    let (code, stderr) = run_with_rust_log("presence_harness=loudly");
    assert_eq!(code, 0, "a bad filter does not stop the run: {stderr}");
    assert!(
        stderr.contains("RUST_LOG=\"presence_harness=loudly\" is not a log filter"),
        "{stderr}"
    );
    assert!(!stderr.contains("starting the SUT"), "no logs: {stderr}");
}

/// A free loopback port (bound once and let go).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

#[test]
fn a_managed_sut_that_dies_is_named_in_its_run_and_started_again() {
    // `presence-harness serve` as a managed SUT process that lives four seconds each time it
    // starts: it dies in the middle of rfc4662-nested-loop (eight seconds of waiting), and the
    // short rfc4825-409 after it runs against a fresh one.
    let (sip, xcap) = (free_port(), free_port());
    let serve = format!(
        "exec timeout 4 {} --root {} serve --udp 127.0.0.1:{sip} --xcap 127.0.0.1:{xcap}",
        env!("CARGO_BIN_EXE_presence-harness"),
        root().display()
    );
    let profile = std::env::temp_dir().join(format!(
        "presence-harness-dying-{}.yaml",
        presence_harness::ids::token()
    ));
    let text = format!(
        "name: dying\naddress: 127.0.0.1:{sip}\nxcap_root: http://127.0.0.1:{xcap}/xcap-root\n\
         capabilities: [publish, subscribe, open-policy, xcap, rls]\ntransports: [tcp]\n\
         parallel: none\nxcap_credentials: {{ username: \"${{aor}}\", password: presence }}\n\
         t1_ms: 100\nprocess:\n  start: [sh, -c, {serve:?}]\n  ready_timeout: 10\n  stop_timeout: 2\n"
    );
    std::fs::write(&profile, text).expect("profile written");
    let sut = profile.to_string_lossy().to_string();
    let (code, reports) = run(&[
        "--sut",
        &sut,
        "--flow",
        "rfc4662-nested-loop",
        "--flow",
        "rfc4825-409",
    ]);
    let record: serde_json::Value = serde_json::from_slice(
        &std::fs::read(reports.join("latest/run.json")).expect("run.json written"),
    )
    .expect("run.json is JSON");
    let flow = |id: &str| {
        record["flows"]
            .as_array()
            .and_then(|flows| flows.iter().find(|f| f["id"] == id))
            .cloned()
            .unwrap_or_else(|| panic!("no run {id} in {record}"))
    };
    let died = flow("rfc4662-nested-loop@tcp");
    let reason = died["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("the SUT process was down after this run") && reason.contains("exited"),
        "the run the SUT died in names it: {reason:?}"
    );
    assert_eq!(died["verdict"], "fail", "a dead server fails the flow");
    assert_eq!(
        flow("rfc4825-409@tcp")["verdict"],
        "pass",
        "the next run has a fresh SUT"
    );
    assert_eq!(code, 1);
    let _ = std::fs::remove_file(profile);
}
