//! Every flow in `flows/` is its own test, named by flow id (`cargo test A.4` filters), played
//! against the embedded reference server or the SUT named by `PRESENCE_SUT`. Flows the
//! profile lacks capabilities for are ignored (reported as such), never passed.
//!
//! Negative controls (`fault::<name>`): the reference server with one fault switch on must
//! make the flows that cover it fail on the check naming the broken requirement.

use libtest_mimic::{Arguments, Failed, Trial};
use presence_harness::check::verdict::{Outcome, Verdict};
use presence_harness::flow::interp::FlowOutcome;
use presence_harness::flow::{load_dir, LoadedFlow};
use presence_harness::reference::Fault;
use presence_harness::runner::{play, settings_for, start_sut};
use presence_harness::sut::Profile;
use std::path::{Path, PathBuf};

/// Fault switch → (flow that must catch it, requirement key its failing check must name).
/// A fault no flow catches is a missing flow: `fault::every-switch-has-a-control` guards that.
const CONTROLS: &[(&str, &str, &str)] = &[
    ("no-sip-etag", "A.4.2.1", "rfc3903-etag-in-2xx"),
    ("reuse-etag", "A.4.2.1", "rfc3903-new-etag"),
    ("no-expires-in-2xx", "A.4.2.1", "rfc3903-expires-in-2xx"),
    ("no-expires-in-2xx", "A.3.2.1", "rfc6665-2xx-expires"),
    (
        "subscription-state-without-expires",
        "A.3.2.1",
        "rfc6665-substate-expires",
    ),
    (
        "subscription-state-without-expires",
        "A.5.2.1",
        "rfc6665-substate-expires",
    ),
    (
        "notify-ignores-route-set",
        "A.3.2.1",
        "rfc3261-loose-route-send",
    ),
    (
        "notify-ignores-route-set",
        "A.3.2.1",
        "rfc3261-route-set-use",
    ),
    ("wrong-pidf-namespace", "A.3.2.1", "rfc3863-namespace"),
    (
        "no-final-notify",
        "rfc6665-unsubscribe",
        "rfc6665-immediate-notify",
    ),
    (
        "accept-stale-etag",
        "rfc3903-412",
        "rfc3903-412-unknown-etag",
    ),
    ("accept-stale-etag", "A.4.2.1", "rfc3903-412-unknown-etag"),
    (
        "stale-notify-after-modify",
        "A.5.2.1",
        "rfc3856-notify-current-state",
    ),
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn profile(root: &Path) -> Result<Profile, String> {
    let path = match std::env::var("PRESENCE_SUT") {
        Ok(p) if !p.is_empty() => {
            let p = PathBuf::from(p);
            if p.is_absolute() {
                p
            } else {
                root.join(p)
            }
        }
        _ => root.join("fixtures/suts/reference.yaml"),
    };
    Profile::load(&path)
}

/// Plays one flow against a freshly started SUT (embedded: one server per test).
fn play_one(loaded: &LoadedFlow, profile: &Profile, root: &Path) -> Result<FlowOutcome, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let sut = start_sut(profile).await?;
        let settings = settings_for(profile, sut.addr, root);
        let outcome = play(loaded, profile, &settings).await;
        sut.stop().await;
        Ok(outcome)
    })
}

fn explain(outcome: &FlowOutcome) -> String {
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
            "  step {}: {}\n    requirement: {}\n    expected: {}\n    actual:   {}\n",
            check.step,
            check.check,
            check.requirement.cite(),
            check.expected,
            check.actual
        ));
        if let Some(diff) = &check.diff {
            text.push_str(&format!("    diff:\n{diff}\n"));
        }
    }
    text
}

fn flow_trial(loaded: LoadedFlow, profile: Profile, root: PathBuf) -> Trial {
    let unsupported = !profile
        .missing_capabilities(&loaded.flow.requires)
        .is_empty();
    Trial::test(loaded.flow.id.clone(), move || {
        let outcome = play_one(&loaded, &profile, &root)?;
        match outcome.verdict {
            Verdict::Pass => Ok(()),
            _ => Err(Failed::from(explain(&outcome))),
        }
    })
    .with_ignored_flag(unsupported)
}

fn control_trial(
    fault: &'static str,
    flow_id: &'static str,
    key: &'static str,
    flows: &[LoadedFlow],
    root: PathBuf,
) -> Trial {
    let loaded = flows.iter().find(|f| f.flow.id == flow_id).cloned();
    Trial::test(format!("fault::{fault}::{flow_id}::{key}"), move || {
        let loaded = loaded.ok_or_else(|| format!("no flow {flow_id}"))?;
        let mut profile = Profile::load(&root.join("fixtures/suts/reference.yaml"))?;
        profile.embedded = Some(presence_harness::sut::profile::Embedded {
            faults: vec![fault.to_string()],
        });
        let outcome = play_one(&loaded, &profile, &root)?;
        // The flow's verdict is graded by the broken requirement's level: fail for a MUST,
        // non-strict for a SHOULD.
        let caught = outcome.checks.iter().find(|c| {
            c.outcome == Outcome::Fail && c.requirement.key == key && c.verdict() != Verdict::Pass
        });
        if caught.is_some_and(|c| outcome.verdict >= c.verdict()) {
            Ok(())
        } else {
            Err(format!(
                "fault {fault} was not caught by {flow_id} on requirement {key}\n{}",
                explain(&outcome)
            )
            .into())
        }
    })
}

fn main() {
    let args = Arguments::from_args();
    let root = root();
    let mut trials = Vec::new();
    match (load_dir(&root.join("flows"), &root), profile(&root)) {
        (Ok(flows), Ok(profile)) => {
            for loaded in &flows {
                trials.push(flow_trial(loaded.clone(), profile.clone(), root.clone()));
            }
            if profile.embedded.is_some() {
                for (fault, flow, key) in CONTROLS {
                    trials.push(control_trial(fault, flow, key, &flows, root.clone()));
                }
                trials.push(Trial::test("fault::every-switch-has-a-control", || {
                    let missing: Vec<&str> = Fault::all()
                        .iter()
                        .map(|f| f.name())
                        .filter(|n| !CONTROLS.iter().any(|(f, _, _)| f == n))
                        .collect();
                    if missing.is_empty() {
                        Ok(())
                    } else {
                        Err(format!("fault switches no flow is shown to catch: {missing:?}").into())
                    }
                }));
            }
        }
        (Err(e), _) => trials.push(Trial::test("load-flows", move || Err(e.to_string().into()))),
        (_, Err(e)) => trials.push(Trial::test("load-profile", move || Err(e.clone().into()))),
    }
    libtest_mimic::run(&args, trials).exit();
}
