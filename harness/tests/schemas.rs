//! The JSON Schemas of `fixtures/schemas/`: each is what the types give now (and what
//! `presence-harness schema` prints), each holds for real documents (the run.json of runs
//! against the embedded reference server, the load.json of a short load run, every profile of
//! fixtures/suts/), and each refuses a document with a wrong-typed or unknown field.

use presence_harness::schema::{self, Document};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// A fresh folder under the system's temporary folder.
fn scratch(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "presence-harness-schemas-{what}-{}",
        presence_harness::ids::token()
    ));
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

fn utf8(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The validator of the checked-in schema of `document`.
fn validator(document: Document) -> jsonschema::Validator {
    let path = schema::dir(&root()).join(document.file_name());
    jsonschema::draft202012::new(&read_json(&path))
        .unwrap_or_else(|e| panic!("{}: not a usable schema: {e}", path.display()))
}

/// What the schema of `document` finds wrong with `instance`, one line per error.
fn errors(document: Document, instance: &Value) -> Vec<String> {
    validator(document)
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

fn assert_valid(document: Document, instance: &Value, what: &str) {
    let errors = errors(document, instance);
    assert!(
        errors.is_empty(),
        "{what} breaks {}:\n{}",
        document.file_name(),
        errors.join("\n")
    );
}

fn assert_invalid(document: Document, instance: &Value, what: &str, at: &str) {
    let errors = errors(document, instance);
    assert!(
        errors.iter().any(|e| e.starts_with(at)),
        "{what}: {} should refuse it at {at}; errors: {errors:?}",
        document.file_name()
    );
}

/// Runs the binary with `args` from the project root; returns its exit code and output.
fn harness(args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_presence-harness"))
        .arg("--root")
        .arg(root())
        .args(args)
        .env("CI", "true")
        .output()
        .expect("the binary runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.code().expect("an exit code"), text)
}

/// `presence-harness run --quiet --reports <fresh folder>` with `args`; returns the exit
/// code and the run.json it wrote.
fn run(args: &[&str]) -> (i32, Value) {
    let reports = scratch("run");
    let mut all = vec!["run", "--quiet", "--reports", utf8(&reports)];
    all.extend(args);
    let (code, output) = harness(&all);
    let record = read_json(&reports.join("latest/run.json"));
    assert!(
        record["flows"].as_array().is_some_and(|f| !f.is_empty()),
        "the run played flows: {output}"
    );
    std::fs::remove_dir_all(&reports).ok();
    (code, record)
}

#[test]
fn the_checked_in_schemas_are_the_generated_ones() {
    for document in Document::ALL {
        let path = schema::dir(&root()).join(document.file_name());
        let regenerate = format!(
            "regenerate it: cargo run -q -- schema {name} > fixtures/schemas/{name}.schema.json",
            name = document.file_name().trim_end_matches(".schema.json")
        );
        let checked_in = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; {regenerate}", path.display()));
        // Not pretty_assertions: the schemas are long; say how to regenerate them.
        assert!(
            checked_in == document.render(),
            "{} is not what the types give; {regenerate}",
            path.display()
        );
        let name = document.file_name().trim_end_matches(".schema.json");
        let (code, printed) = harness(&["schema", name]);
        assert_eq!(code, 0, "presence-harness schema {name}: {printed}");
        assert!(
            printed == checked_in,
            "presence-harness schema {name} prints the file"
        );
        let schema = read_json(&path);
        let meta = jsonschema::meta::validate(&schema);
        assert!(
            meta.is_ok(),
            "{} is a JSON Schema: {meta:?}",
            path.display()
        );
    }
}

#[test]
fn a_passing_run_json_holds_and_a_wrong_field_breaks_it() {
    let (code, record) = run(&["--flow", "A.4.2.1"]);
    assert_eq!(code, 0, "A.4.2.1 passes against the reference server");
    assert_valid(Document::Run, &record, "a passing run's run.json");
    let flow = &record["flows"][0];
    assert!(
        flow["trace"]
            .as_array()
            .is_some_and(|t| t.iter().any(|m| m["spec_step"].is_object())),
        "the trace carries the figure's step numbers, so the schema met them"
    );

    let mut wrong = record.clone();
    wrong["flows"][0]["verdict"] = json!(42);
    assert_invalid(Document::Run, &wrong, "verdict 42", "/flows/0/verdict");
    let mut wrong = record.clone();
    wrong["flows"][0]["verdict"] = json!("excellent");
    assert_invalid(
        Document::Run,
        &wrong,
        "an unknown verdict",
        "/flows/0/verdict",
    );
    let mut unknown = record.clone();
    unknown["flows"][0]["checks"][0]["colour"] = json!("green");
    assert_invalid(
        Document::Run,
        &unknown,
        "a check with a field the harness never writes",
        "/flows/0/checks/0",
    );
    let mut missing = record.clone();
    missing["flows"][0]["trace"][0]
        .as_object_mut()
        .expect("a trace entry")
        .remove("text");
    assert_invalid(
        Document::Run,
        &missing,
        "a message without its text",
        "/flows/0/trace/0",
    );
    let mut summary = record;
    summary["summary"]["great"] = json!(1);
    assert_invalid(
        Document::Run,
        &summary,
        "a summary of no verdict",
        "/summary",
    );
}

#[test]
fn a_failing_run_json_with_deviations_holds() {
    let dir = scratch("profile");
    let profile = dir.join("broken.yaml");
    let reference = std::fs::read_to_string(root().join("fixtures/suts/reference.yaml"))
        .expect("reference.yaml");
    let text = reference.replace("faults: []", "faults: [reuse-etag]")
        + "deviations:\n  - flow: rfc3903-412\n    requirement: rfc3903-412-unknown-etag\n    reason: listed\n";
    std::fs::write(&profile, text).expect("profile written");
    let (code, record) = run(&[
        "--sut",
        utf8(&profile),
        "--flow",
        "A.4.2.1",
        "--flow",
        "rfc3903-412",
    ]);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(code, 1, "the fault breaks a MUST");
    assert_eq!(
        record["profile"]["embedded"]["faults"],
        json!(["reuse-etag"])
    );
    assert!(
        record["summary"]["fail"].as_u64() > Some(0),
        "some flow failed: {}",
        record["summary"]
    );
    let listed = |list: &str| record["deviations"][list].as_array().map_or(0, Vec::len);
    assert_eq!(
        listed("seen") + listed("stale"),
        1,
        "the listed deviation is seen or stale: {}",
        record["deviations"]
    );
    assert_valid(Document::Run, &record, "a failing run's run.json");
}

#[test]
fn a_load_json_holds_and_a_wrong_field_breaks_it() {
    let out = scratch("load");
    let (code, output) = harness(&[
        "load",
        "--presentities",
        "20",
        "--watchers",
        "1",
        "--rate",
        "40",
        "--duration",
        "1",
        "--drain",
        "1",
        "-q",
        "--out",
        utf8(&out),
    ]);
    assert_eq!(code, 0, "the load run holds: {output}");
    let result = read_json(&out.join("load.json"));
    std::fs::remove_dir_all(&out).ok();
    assert!(
        result["figures"]["publish"]["sent"].as_u64() > Some(0),
        "the run published: {}",
        result["figures"]
    );
    assert_valid(Document::Load, &result, "a load run's load.json");

    let mut wrong = result.clone();
    wrong["settled"] = json!("yes");
    assert_invalid(Document::Load, &wrong, "settled as a string", "/settled");
    let mut wrong = result.clone();
    wrong["latency"]["teleport"] = wrong["latency"]["publish"].clone();
    assert_invalid(Document::Load, &wrong, "a latency of no series", "/latency");
    let mut wrong = result;
    wrong["workload"]["colour"] = json!("green");
    assert_invalid(
        Document::Load,
        &wrong,
        "an unknown workload field",
        "/workload",
    );
}

/// The profiles of fixtures/suts/, each as JSON.
fn profiles() -> Vec<(PathBuf, Value)> {
    let dir = root().join("fixtures/suts");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures/suts")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("a profile");
            let json: Value =
                serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (path, json)
        })
        .collect()
}

#[test]
fn every_profile_holds() {
    let profiles = profiles();
    assert!(profiles.len() >= 6, "the profiles: {}", profiles.len());
    for (path, json) in &profiles {
        assert_valid(Document::Profile, json, &path.display().to_string());
    }
}

#[test]
fn a_profile_with_an_unknown_or_wrong_key_breaks_it_as_it_breaks_the_harness() {
    let (path, reference) = profiles()
        .into_iter()
        .find(|(p, _)| p.ends_with("reference.yaml"))
        .expect("reference.yaml");
    let cases = [
        ("colour", json!("blue"), ""),
        ("t1_ms", json!("fast"), "/t1_ms"),
        ("transports", json!(["sctp"]), "/transports/0"),
        ("step_timeout", json!(0), "/step_timeout"),
    ];
    let dir = scratch("bad-profile");
    for (key, value, at) in cases {
        let mut bad = reference.clone();
        bad[key] = value;
        let what = format!("{} with {key}: {}", path.display(), bad[key]);
        assert_invalid(Document::Profile, &bad, &what, at);
        let file = dir.join(format!("{key}.yaml"));
        std::fs::write(&file, serde_json::to_string(&bad).expect("JSON")).expect("written");
        assert!(
            presence_harness::sut::Profile::load(&file).is_err(),
            "the harness refuses {what} too"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
