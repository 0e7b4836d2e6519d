//! Kamailio 5.6 as the system under test, in three configurations: `fixtures/suts/kamailio.yaml`
//! (open policy, XCAP, RLS), `fixtures/suts/kamailio-xcapauth.yaml` (authorization by
//! pres-rules, watcher information) and `fixtures/suts/kamailio-pna.yaml` (the PNA of A.7,
//! by pua_reginfo). For each, the harness starts it from the profile, plays
//! every flow once, stops it, and judges each flow by the gate with the profile's expected
//! deviations. Two more runs prove the gate: without a listed deviation the run breaks it;
//! with a deviation that does not occur, it is reported. The configurations use the same
//! fixed ports, so they run one after the other. Without `kamailio` on PATH every test here is
//! ignored and the reason printed.

mod common;

use common::{explain, flows, recorded_trials, root, run_once, stale_trial};
use libtest_mimic::{Arguments, Trial};
use presence_harness::check::verdict::Gate;
use presence_harness::sut::deviations::{Deviation, EVERY_FLOW};
use presence_harness::sut::process::on_path;
use presence_harness::sut::Profile;

/// The fixed trial names; the others are `kamailio::<flow id>`.
const FIXED: &[&str] = &[
    "kamailio::deviations-none-stale",
    "kamailio::gate-breaks-without-a-listed-deviation",
    "kamailio::stale-deviation-is-reported",
    "kamailio-xcapauth::deviations-none-stale",
    "kamailio-pna::deviations-none-stale",
];

/// The other configurations: profile, prefix of their trial names, name of their stale trial.
const OTHERS: &[(&str, &str, &str)] = &[
    (
        "fixtures/suts/kamailio-xcapauth.yaml",
        "kamailio-xcapauth::",
        FIXED[3],
    ),
    (
        "fixtures/suts/kamailio-pna.yaml",
        "kamailio-pna::",
        FIXED[4],
    ),
];

/// True when a filtered `cargo test` selects any trial of this file, so that a filter that
/// selects none does not start Kamailio.
fn wanted(args: &Arguments, flows: &[presence_harness::flow::LoadedFlow]) -> bool {
    let Some(filter) = &args.filter else {
        return true;
    };
    let matches = |name: &str| {
        if args.exact {
            name == filter
        } else {
            name.contains(filter.as_str())
        }
    };
    FIXED.iter().any(|n| matches(n))
        || flows.iter().any(|f| {
            matches(&format!("kamailio::{}", f.flow.id))
                || OTHERS
                    .iter()
                    .any(|(_, prefix, _)| matches(&format!("{prefix}{}", f.flow.id)))
        })
}

fn gate_trials(profile: &Profile, flows: &[presence_harness::flow::LoadedFlow]) -> Vec<Trial> {
    let mut trials = Vec::new();
    // One listed deviation of one flow removed: the same failure now breaks the gate.
    let mut without = profile.clone();
    let first_of_a_flow = without
        .deviations
        .iter()
        .position(|d| d.flow != EVERY_FLOW)
        .unwrap_or_default();
    let removed = without.deviations.remove(first_of_a_flow);
    let flow: Vec<_> = flows
        .iter()
        .filter(|f| f.flow.id == removed.flow)
        .cloned()
        .collect();
    let result = run_once(&without, &flow).map(|record| {
        let breaking: Vec<String> = record
            .breaking(Gate::Must)
            .iter()
            .map(|f| f.outcome.flow.clone())
            .collect();
        (record.gate_holds(Gate::Must), breaking)
    });
    trials.push(Trial::test(FIXED[1], move || match result {
        Ok((false, breaking)) if !breaking.is_empty() && breaking.iter().all(|f| *f == removed.flow) => Ok(()),
        Ok((holds, breaking)) => Err(format!(
            "without the deviation for {} the gate should break on that flow only; holds={holds}, breaking={breaking:?}",
            removed.flow
        )
        .into()),
        Err(e) => Err(e.into()),
    }));
    // A deviation listed for a check that passes: reported stale, and the gate breaks.
    let mut extra = profile.clone();
    let phantom = Deviation {
        flow: "A.4.2.1".into(),
        requirement: "rfc3903-etag-in-2xx".into(),
        check: None,
        reason: "listed on purpose: Kamailio does send SIP-ETag".into(),
    };
    extra.deviations.push(phantom.clone());
    let flow: Vec<_> = flows
        .iter()
        .filter(|f| f.flow.id == phantom.flow)
        .cloned()
        .collect();
    let result = run_once(&extra, &flow).map(|record| {
        let details: Vec<String> = record.flows.iter().map(|f| explain(&f.outcome)).collect();
        (
            record.deviations.stale.clone(),
            record.gate_holds(Gate::Must),
            details.join("\n"),
        )
    });
    trials.push(Trial::test(FIXED[2], move || match result {
        Ok((stale, false, _)) if stale == vec![phantom.clone()] => Ok(()),
        Ok((stale, holds, details)) => Err(format!(
            "expected only the phantom deviation stale and the gate broken; stale={stale:?}, holds={holds}\n{details}"
        )
        .into()),
        Err(e) => Err(e.into()),
    }));
    trials
}

fn main() {
    let args = Arguments::from_args();
    let root = root();
    let mut trials = Vec::new();
    if !on_path("kamailio") {
        eprintln!(
            "\n*** SKIPPED: kamailio is not on PATH, so no flow runs against Kamailio. Install it with\n***   apt-get install kamailio kamailio-presence-modules kamailio-sqlite-modules kamailio-xml-modules kamailio-utils-modules kamailio-tls-modules\n"
        );
        trials.push(Trial::test("kamailio::not-installed", || Ok(())).with_ignored_flag(true));
    } else {
        match (
            Profile::load(&root.join("fixtures/suts/kamailio.yaml")),
            flows(),
        ) {
            (Ok(_), Ok(flows)) if !wanted(&args, &flows) => {}
            (Ok(profile), Ok(flows)) => {
                match run_once(&profile, &flows) {
                    Ok(record) => {
                        trials.extend(recorded_trials("kamailio::", &record));
                        trials.push(stale_trial(FIXED[0], &record));
                        trials.extend(gate_trials(&profile, &flows));
                    }
                    Err(e) => {
                        trials.push(Trial::test("kamailio::run", move || Err(e.clone().into())))
                    }
                }
                for (path, prefix, stale) in OTHERS {
                    let other = Profile::load(&root.join(path))
                        .and_then(|profile| run_once(&profile, &flows));
                    match other {
                        Ok(record) => {
                            trials.extend(recorded_trials(prefix, &record));
                            trials.push(stale_trial(stale, &record));
                        }
                        Err(e) => trials.push(Trial::test(format!("{prefix}run"), move || {
                            Err(e.clone().into())
                        })),
                    }
                }
            }
            (Err(e), _) | (_, Err(e)) => {
                trials.push(Trial::test("kamailio::load", move || Err(e.clone().into())))
            }
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
