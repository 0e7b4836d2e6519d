//! Flow loader errors name the file, line and column, and are found before anything is sent.

use presence_harness::flow::catalogue;
use presence_harness::flow::loader::load_str;
use pretty_assertions::assert_eq;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("root")
        .to_path_buf()
}

const GOOD: &str = r#"id: test-flow
title: a test flow
spec:
  - { doc: RFC 3903, clause: "6", level: must }
roles:
  ue1: { kind: ue, user: alice, path: [pcscf1] }
  pcscf1: { kind: p-cscf }
  ps: { kind: sut }
steps:
  - send: PUBLISH
    as: pub
    from: ue1
    to: ps
    uri: ${ue1.aor}
    headers: { Event: presence }
  - expect: response
    of: pub
    status: { one_of: [200], req: rfc3903-expires-in-2xx }
    headers:
      SIP-ETag: { present: true, capture: etag, req: rfc3903-etag-in-2xx }
  - send: PUBLISH
    as: refresh
    from: ue1
    to: ps
    uri: ${ue1.aor}
    headers: { SIP-If-Match: "${etag}" }
"#;

/// Loads `text` as `test.yaml` and returns the error text.
fn error_of(text: &str) -> String {
    let root = root();
    let catalogue = catalogue::load(&root).expect("catalogue loads");
    match load_str(text, Path::new("flows/test.yaml"), &root, &catalogue) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_good_flow_loads() {
    let root = root();
    let catalogue = catalogue::load(&root).expect("catalogue loads");
    let loaded = load_str(GOOD, Path::new("flows/test.yaml"), &root, &catalogue).expect("loads");
    assert_eq!(loaded.flow.steps.len(), 3);
}

#[test]
fn bad_yaml_is_located() {
    let text = GOOD.replace("  - expect: response\n", "  - expect: [response\n");
    let error = error_of(&text);
    assert!(error.starts_with("flows/test.yaml:"), "{error}");
    let line: usize = error.split(':').nth(1).unwrap().parse().unwrap();
    assert!((16..=18).contains(&line), "{error}");
}

#[test]
fn unknown_key_is_rejected_with_its_line() {
    let text = GOOD.replace("    as: refresh\n", "    as: refresh\n    sned: PUBLISH\n");
    let error = error_of(&text);
    assert!(error.contains("unknown field `sned`"), "{error}");
    assert!(error.starts_with("flows/test.yaml:23:"), "{error}");
}

#[test]
fn undefined_variable_is_located() {
    let text = GOOD.replace("${etag}", "${etga}");
    let error = error_of(&text);
    assert_eq!(
        error.split(": undefined").next().unwrap(),
        "flows/test.yaml:26:31"
    );
    assert!(error.contains("undefined variable ${etga}"), "{error}");
}

#[test]
fn a_variable_used_before_its_capture_is_undefined() {
    let text = GOOD.replace(
        "uri: ${ue1.aor}\n    headers: { Event: presence }",
        "uri: ${ue1.aor}\n    headers: { Event: \"${etag}\" }",
    );
    let error = error_of(&text);
    assert!(error.contains("undefined variable ${etag}"), "{error}");
    assert!(error.starts_with("flows/test.yaml:15:"), "{error}");
}

#[test]
fn unknown_role_label_and_requirement_are_rejected() {
    let error = error_of(&GOOD.replace(
        "    from: ue1\n    to: ps\n    uri: ${ue1.aor}\n    headers: { Event",
        "    from: ue9\n    to: ps\n    uri: ${ue1.aor}\n    headers: { Event",
    ));
    assert!(
        error.contains("`from: ue9`: no such role") && error.starts_with("flows/test.yaml:12:"),
        "{error}"
    );
    let error = error_of(&GOOD.replace("of: pub", "of: pbu"));
    assert!(
        error.contains("no earlier send has `as: pbu`") && error.starts_with("flows/test.yaml:17:"),
        "{error}"
    );
    let error = error_of(&GOOD.replace("req: rfc3903-etag-in-2xx", "req: rfc3903-no-such"));
    assert!(
        error.contains("`req: rfc3903-no-such`: no such key"),
        "{error}"
    );
}

#[test]
fn a_check_without_a_requirement_is_rejected() {
    let error = error_of(&GOOD.replace(", req: rfc3903-etag-in-2xx }", " }"));
    assert!(error.contains("names no requirement"), "{error}");
}

#[test]
fn a_wrong_type_is_located() {
    let error = error_of(&GOOD.replace("    of: pub\n", "    of: pub\n    timeout: soon\n"));
    assert!(
        error.starts_with("flows/test.yaml:18:14: steps[1].timeout: invalid type"),
        "{error}"
    );
}

#[test]
fn a_capture_used_by_its_own_step_is_undefined() {
    let error = error_of(&GOOD.replace(
        "SIP-ETag: { present: true, capture: etag",
        "SIP-ETag: { equals: \"${etag}\", capture: etag",
    ));
    assert!(
        error.starts_with("flows/test.yaml:20:28:") && error.contains("undefined variable ${etag}"),
        "{error}"
    );
}

#[test]
fn a_capture_only_a_later_step_makes_is_undefined() {
    let error = error_of(&GOOD.replace(
        "    uri: ${ue1.aor}\n    headers: { Event: presence }",
        "    uri: ${ue1.aor}\n    headers: { Event: presence, X-Later: \"${later}\" }",
    ));
    assert!(
        error.starts_with("flows/test.yaml:15:") && error.contains("undefined variable ${later}"),
        "{error}"
    );
}

#[test]
fn a_missing_fixture_is_located() {
    let error = error_of(&GOOD.replace(
        "    headers: { Event: presence }",
        "    headers: { Event: presence }\n    body: { file: fixtures/pidf/no-such.xml }",
    ));
    assert!(
        error.starts_with("flows/test.yaml:16:") && error.contains("fixtures/pidf/no-such.xml"),
        "{error}"
    );
}

#[test]
fn an_endless_fixture_is_refused_at_the_size_limit() {
    let error = error_of(&GOOD.replace(
        "    headers: { Event: presence }",
        "    headers: { Event: presence }\n    body: { file: /dev/zero }",
    ));
    assert!(
        error.starts_with("flows/test.yaml:16:") && error.contains("over the limit"),
        "{error}"
    );
}

#[test]
fn every_flow_in_the_repository_loads() {
    let root = root();
    let flows = presence_harness::flow::load_dir(&root.join("flows"), &root).expect("flows load");
    assert!(flows.len() >= 8);
}

#[test]
fn only_the_selected_flows_are_validated() {
    let root = root();
    let dir = std::env::temp_dir().join(format!(
        "presence-harness-select-{}",
        presence_harness::ids::token()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.yaml"), GOOD).unwrap();
    std::fs::write(
        dir.join("b.yaml"),
        GOOD.replace("id: test-flow", "id: \"other-flow\""),
    )
    .unwrap();
    std::fs::write(dir.join("c.yaml"), "id: broken-flow\ntitle: [unclosed\n").unwrap();
    let load = |patterns: &[&str]| {
        let patterns: Vec<String> = patterns.iter().map(|p| p.to_string()).collect();
        presence_harness::flow::loader::load_selected(&dir, &root, &patterns)
    };
    let ids = |flows: Vec<presence_harness::flow::LoadedFlow>| -> Vec<String> {
        flows.into_iter().map(|f| f.flow.id).collect()
    };
    assert_eq!(
        ids(load(&["test"]).expect("the broken file is not read")),
        ["test-flow"]
    );
    assert_eq!(ids(load(&["other"]).expect("quoted id")), ["other-flow"]);
    let error = load(&["broken"]).expect_err("the selected broken file is validated");
    assert!(error.to_string().contains("c.yaml:2:"), "{error}");
    assert!(
        load(&[]).is_err(),
        "with no pattern every file is validated"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_exemption_names_a_message_rule_and_cites_a_known_requirement() {
    let with = |exempt: &str| format!("{GOOD}exempt:\n  - {exempt}\n");
    let root = root();
    let catalogue = catalogue::load(&root).expect("catalogue loads");
    let good = with("{ rule: rfc3261-target-refresh-contact, because: rfc3903-etag-in-2xx }");
    let loaded = load_str(&good, Path::new("flows/test.yaml"), &root, &catalogue).expect("loads");
    assert_eq!(loaded.flow.exempt.len(), 1);
    let no_rule = error_of(&with(
        "{ rule: no-such-rule, because: rfc3903-etag-in-2xx }",
    ));
    assert!(
        no_rule.contains("no-such-rule is not a message rule"),
        "{no_rule}"
    );
    assert!(no_rule.starts_with("flows/test.yaml:28:"), "{no_rule}");
    let no_reason = error_of(&with(
        "{ rule: rfc3261-target-refresh-contact, because: no-such-requirement }",
    ));
    assert!(
        no_reason.contains("cites no-such-requirement"),
        "{no_reason}"
    );
}

#[test]
fn withhold_and_resend_name_earlier_labels() {
    let withhold = error_of(&format!("{GOOD}  - withhold: nothing-came\n"));
    assert!(
        withhold.contains("`withhold: nothing-came`: no earlier expected request"),
        "{withhold}"
    );
    let resend = error_of(&format!("{GOOD}  - resend: never-sent\n"));
    assert!(
        resend.contains("`resend: never-sent`: no earlier send step"),
        "{resend}"
    );
    let root = root();
    let catalogue = catalogue::load(&root).expect("catalogue loads");
    let good = format!("{GOOD}  - resend: pub\n");
    load_str(&good, Path::new("flows/test.yaml"), &root, &catalogue)
        .expect("resend of a sent label loads");
}

#[test]
fn a_status_check_names_accepted_or_refused_codes_or_any_final_one_of_them() {
    let status = |spec: &str| {
        GOOD.replace(
            "status: { one_of: [200], req: rfc3903-expires-in-2xx }",
            &format!("status: {{ {spec}req: rfc3903-expires-in-2xx }}"),
        )
    };
    for spec in [
        "one_of: [200], none_of: [500], ",
        "",
        "one_of: [200], any_final: true, ",
        "none_of: [500], any_final: true, ",
    ] {
        let error = error_of(&status(spec));
        assert!(
            error.starts_with("flows/test.yaml:18:")
                && error.contains(
                    "status needs exactly one of `one_of` codes, `none_of` codes, `any_final: true`"
                ),
            "{spec}: {error}"
        );
    }
    let refused = GOOD.replace(
        "status: { one_of: [200], req: rfc3903-expires-in-2xx }",
        "status: { none_of: [500], req: rfc3903-expires-in-2xx }",
    );
    let root = root();
    let catalogue = catalogue::load(&root).expect("catalogue loads");
    load_str(&refused, Path::new("flows/test.yaml"), &root, &catalogue).expect("loads");
    load_str(
        &status("any_final: true, "),
        Path::new("flows/test.yaml"),
        &root,
        &catalogue,
    )
    .expect("any_final loads");
}

#[test]
fn spec_steps_need_a_figure_and_one_number_per_message() {
    let numbered = GOOD.replace("    as: pub\n", "    as: pub\n    spec_steps: [1, 2]\n");
    let error = error_of(&numbered);
    assert!(
        error.contains("`spec_steps` need the flow's `figure`"),
        "{error}"
    );
    let with_figure = |text: &str| {
        text.replace(
            "roles:\n",
            "figure: { name: Figure A.4.2.1-1, release: Release 17, confirmed: [1] }\nroles:\n",
        )
    };
    let root = root();
    let catalogue = catalogue::load(&root).expect("catalogue loads");
    load_str(
        &with_figure(&numbered),
        Path::new("flows/test.yaml"),
        &root,
        &catalogue,
    )
    .expect("two hops (UE to P-CSCF, P-CSCF to the SUT) take two numbers");
    let error = error_of(&with_figure(
        &GOOD.replace("    as: pub\n", "    as: pub\n    spec_steps: [1, 2, 4]\n"),
    ));
    assert!(
        error.contains("this step puts 2 message(s) on the ladder"),
        "{error}"
    );
    let error = error_of(&with_figure(
        &GOOD.replace("    of: pub\n", "    of: pub\n    spec_steps: [5, 6]\n"),
    ));
    assert!(
        error.contains("this step puts 1 message(s) on the ladder"),
        "{error}"
    );
}

#[test]
fn via_host_is_a_domain_name_on_a_send_step() {
    let error = error_of(&GOOD.replace("    as: pub\n", "    as: pub\n    via_host: \"a b\"\n"));
    assert!(error.contains("want a domain name"), "{error}");
    let error = error_of(&GOOD.replace("    of: pub\n", "    of: pub\n    via_host: x.net\n"));
    assert!(error.contains("`via_host` is for a send step"), "{error}");
}

#[test]
fn fork_via_port_of_and_a_response_at_are_checked() {
    let fork_outside_a_dialog =
        GOOD.replace("    as: refresh\n", "    as: refresh\n    fork: true\n");
    assert!(error_of(&fork_outside_a_dialog).contains("`fork` is for a send step in a dialog"));
    let unknown_port_role = GOOD.replace(
        "    as: refresh\n",
        "    as: refresh\n    via_port_of: nobody\n",
    );
    assert!(error_of(&unknown_port_role).contains("`via_port_of: nobody`: no such role"));
    let at_without_req = GOOD.replace("    of: pub\n", "    of: pub\n    at: pcscf1\n");
    assert!(error_of(&at_without_req).contains("check on at names no requirement"));
    let root = root();
    let catalogue = catalogue::load(&root).expect("catalogue loads");
    let at_with_req = GOOD.replace(
        "    of: pub\n",
        "    of: pub\n    at: pcscf1\n    req: rfc3903-etag-in-2xx\n",
    );
    load_str(
        &at_with_req,
        Path::new("flows/test.yaml"),
        &root,
        &catalogue,
    )
    .expect("a response step with at and req loads");
}

/// Asserts that GOOD with `from` replaced by `to` is refused with an error holding `expected`.
fn refused_with(from: &str, to: &str, expected: &str) {
    let error = error_of(&GOOD.replacen(from, to, 1));
    assert!(error.contains(expected), "{error}");
}

#[test]
fn only_a_ue_without_a_user_of_its_own_is_unprovisioned() {
    refused_with(
        "ue1: { kind: ue, user: alice,",
        "ue1: { kind: ue, user: alice, provisioned: false,",
        "role ue1 is not provisioned: its user is the profile's unknown_user",
    );
    refused_with(
        "pcscf1: { kind: p-cscf }",
        "pcscf1: { kind: p-cscf, provisioned: false }",
        "role pcscf1 is not a ue: only a ue can be a user the SUT has not provisioned",
    );
    let root = root();
    let catalogue = catalogue::load(&root).expect("catalogue loads");
    let unnamed = GOOD.replace(
        "ue1: { kind: ue, user: alice,",
        "ue1: { kind: ue, provisioned: false,",
    );
    load_str(&unnamed, Path::new("flows/test.yaml"), &root, &catalogue).expect("loads");
}

#[test]
fn a_node_address_is_loopback_and_not_given_with_trusted_false() {
    let proxy = "pcscf1: { kind: p-cscf }";
    refused_with(
        proxy,
        "pcscf1: { kind: p-cscf, address: 192.0.2.1 }",
        "address 192.0.2.1 is not a loopback address",
    );
    refused_with(
        proxy,
        "pcscf1: { kind: p-cscf, address: 127.0.0.3, trusted: false }",
        "binds the profile's untrusted_address instead",
    );
    refused_with(
        "ps: { kind: sut }",
        "ps: { kind: sut, trusted: false }",
        "role ps is the SUT",
    );
    refused_with(
        "    as: pub\n",
        "    as: pub\n    maddr: true\n",
        "`maddr` names the node of the step's `via_port_of`",
    );
    refused_with(
        "    as: pub\n",
        "    as: pub\n    malformed: via-sent-by\n",
        "`malformed` is for a reply step (and `short-body` for a send step too)",
    );
}

#[test]
fn no_two_server_flows_share_a_user() {
    // Runs of different flows overlap against one SUT: two flows with a user in common would
    // see each other's publications, subscriptions and documents.
    let root = root();
    let flows = presence_harness::flow::load_dir(&root.join("flows"), &root).expect("flows load");
    let mut owner: std::collections::BTreeMap<String, String> = Default::default();
    let mut shared = Vec::new();
    for loaded in flows.iter().filter(|l| l.flow.ue_under_test().is_none()) {
        let users: std::collections::BTreeSet<&String> = loaded
            .flow
            .roles
            .values()
            .filter_map(|role| role.user.as_ref())
            .collect();
        for user in users {
            if let Some(first) = owner.insert(user.clone(), loaded.flow.id.clone()) {
                shared.push(format!("{user}: {first} and {}", loaded.flow.id));
            }
        }
    }
    assert!(
        shared.is_empty(),
        "users shared by server flows: {shared:?}"
    );
}
