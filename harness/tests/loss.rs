//! Verdicts survive a lossy path. Every flow runs over UDP against the embedded reference
//! server with chaos in the harness's own transport (`fixtures/suts/reference-lossy.yaml`:
//! T1 50 ms and T2 400 ms for the harness and the server alike): 20% of the datagrams lost
//! under three fixed seeds, and duplication with reordering and delay. RFC 3261
//! retransmissions (timers E and F on both sides, the server transactions' stored responses)
//! must carry every flow to the verdict it has without chaos. With every datagram lost, each
//! flow that speaks SIP must end, within a bounded time, with a verdict that is not a pass.

#[allow(dead_code)]
mod common;

use common::{explain, root, run_once, server_flows};
use libtest_mimic::{Arguments, Failed, Trial};
use presence_harness::check::verdict::{Outcome, Verdict};
use presence_harness::flow::LoadedFlow;
use presence_harness::net::{Chaos, Transport};
use presence_harness::report::RunRecord;
use presence_harness::sut::Profile;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The seeds of the 20%-loss trials.
const SEEDS: [u64; 3] = [1, 2, 3];
/// The longest a suite with every datagram lost may take: far above the longest flow's sum
/// of step timeouts, far below a hang.
const ALL_LOST_LIMIT: Duration = Duration::from_secs(120);

fn lossy_profile() -> Result<Profile, String> {
    Profile::load(&root().join("fixtures/suts/reference-lossy.yaml"))
}

/// The profile with other chaos settings (`None`: a clean path).
fn with_chaos(profile: &Profile, chaos: Option<Chaos>) -> Profile {
    Profile {
        chaos,
        ..profile.clone()
    }
}

/// Every run's verdict, by run name.
fn verdicts(record: &RunRecord) -> BTreeMap<String, Verdict> {
    record
        .flows
        .iter()
        .map(|f| (f.outcome.id.clone(), f.outcome.verdict))
        .collect()
}

/// How many trace entries of the run carry a note containing `text`.
fn notes(record: &RunRecord, text: &str) -> usize {
    record
        .flows
        .iter()
        .flat_map(|f| &f.outcome.trace)
        .filter(|m| m.note.as_deref().is_some_and(|n| n.contains(text)))
        .count()
}

/// The verdicts without chaos, computed once for every trial that compares with them.
fn baseline(profile: &Profile, flows: &[LoadedFlow]) -> Result<BTreeMap<String, Verdict>, String> {
    static BASELINE: OnceLock<Result<BTreeMap<String, Verdict>, String>> = OnceLock::new();
    BASELINE
        .get_or_init(|| {
            let record = run_once(&with_chaos(profile, None), flows)?;
            let verdicts = verdicts(&record);
            let not_pass: Vec<String> = record
                .flows
                .iter()
                .filter(|f| f.outcome.verdict != Verdict::Pass)
                .map(|f| explain(&f.outcome))
                .collect();
            if not_pass.is_empty() {
                Ok(verdicts)
            } else {
                Err(format!(
                    "without chaos every flow must pass first:\n{}",
                    not_pass.join("\n")
                ))
            }
        })
        .clone()
}

/// A trial that plays the suite with `chaos` and wants every run's verdict unchanged, and
/// the chaos visible in the trace (`evidence`: notes that must occur), so it cannot pass
/// on a clean path by mistake.
fn survives(
    name: String,
    chaos: Chaos,
    evidence: &'static [&'static str],
    profile: Arc<Profile>,
    flows: Arc<Vec<LoadedFlow>>,
) -> Trial {
    Trial::test(name, move || {
        let expected = baseline(&profile, &flows)?;
        let started = Instant::now();
        let record = run_once(&with_chaos(&profile, Some(chaos.clone())), &flows)?;
        let mut problems = Vec::new();
        for flow in &record.flows {
            let outcome = &flow.outcome;
            if expected.get(&outcome.id) != Some(&outcome.verdict) {
                problems.push(format!(
                    "verdict {} without chaos, {} with it:\n{}",
                    expected.get(&outcome.id).map_or("(no run)", |v| v.name()),
                    outcome.verdict.name(),
                    explain(outcome)
                ));
            }
        }
        for text in evidence {
            if notes(&record, text) == 0 {
                problems.push(format!(
                    "no trace note says {text:?}: the chaos did nothing"
                ));
            }
        }
        println!(
            "    {} runs kept their verdict with {chaos:?} in {:.1} s ({} datagrams lost, {} retransmissions by timer E)",
            record.flows.len(),
            started.elapsed().as_secs_f64(),
            notes(&record, "chaos: dropped"),
            notes(&record, "retransmission (timer E)")
        );
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Failed::from(problems.join("\n")))
        }
    })
}

/// With every datagram lost, each flow that sends SIP ends, in bounded time, and does not
/// pass: a missing message fails its step. Flows that only speak XCAP (HTTP over TCP) have
/// no datagram to lose; they are listed, by name, as not concerned.
fn all_lost(profile: Arc<Profile>, flows: Arc<Vec<LoadedFlow>>) -> Trial {
    Trial::test("loss::every-datagram-lost-ends-without-pass", move || {
        let chaos = Chaos {
            seed: 1,
            drop: 1.0,
            duplicate: 0.0,
            reorder: 0.0,
            delay_ms: 0,
        };
        let profile = with_chaos(&profile, Some(chaos));
        let started = Instant::now();
        let (done, finished) = std::sync::mpsc::channel();
        let runner_flows = flows.clone();
        std::thread::spawn(move || {
            let _ = done.send(run_once(&profile, &runner_flows));
        });
        let record = match finished.recv_timeout(ALL_LOST_LIMIT) {
            Ok(record) => record?,
            Err(_) => {
                return Err(format!(
                    "the suite with every datagram lost did not end within {ALL_LOST_LIMIT:?}"
                )
                .into())
            }
        };
        let elapsed = started.elapsed();
        let mut problems = Vec::new();
        for flow in &record.flows {
            let outcome = &flow.outcome;
            let over_udp = outcome.trace.iter().any(|m| m.transport == Transport::Udp);
            if !over_udp {
                println!(
                    "    not concerned: {} sends no SIP, only XCAP over TCP ({})",
                    outcome.id,
                    outcome.verdict.name()
                );
                continue;
            }
            let nothing_arrived = outcome
                .checks
                .iter()
                .any(|c| c.outcome == Outcome::Fail && c.actual.contains("nothing arrived"));
            if outcome.verdict == Verdict::Pass || !nothing_arrived {
                problems.push(format!(
                    "with every datagram lost, want a non-pass verdict with a step where nothing arrived:\n{}",
                    explain(outcome)
                ));
            }
        }
        println!(
            "    {} runs ended in {:.1} s with every datagram lost",
            record.flows.len(),
            elapsed.as_secs_f64()
        );
        if problems.is_empty() {
            Ok(())
        } else {
            Err(Failed::from(problems.join("\n")))
        }
    })
}

fn main() {
    let args = Arguments::from_args();
    let trials = match (server_flows(), lossy_profile()) {
        (Ok(flows), Ok(profile)) => {
            let (flows, profile) = (Arc::new(flows), Arc::new(profile));
            let mut trials: Vec<Trial> = SEEDS
                .iter()
                .map(|&seed| {
                    let chaos = Chaos {
                        seed,
                        drop: 0.2,
                        duplicate: 0.0,
                        reorder: 0.0,
                        delay_ms: 0,
                    };
                    survives(
                        format!("loss::drop-20-percent::seed-{seed}"),
                        chaos,
                        &[
                            "chaos: dropped",
                            "retransmission (timer E)",
                            "our response sent again",
                        ],
                        profile.clone(),
                        flows.clone(),
                    )
                })
                .collect();
            let shuffle = Chaos {
                seed: 4,
                drop: 0.0,
                duplicate: 0.2,
                reorder: 0.2,
                delay_ms: 20,
            };
            trials.push(survives(
                "loss::duplicate-reorder-delay::seed-4".into(),
                shuffle,
                &["duplicated", "held back (reordered)", "delayed", "absorbed"],
                profile.clone(),
                flows.clone(),
            ));
            trials.push(all_lost(profile, flows));
            trials
        }
        (Err(e), _) | (_, Err(e)) => vec![Trial::test("loss::load", move || Err(e.into()))],
    };
    libtest_mimic::run(&args, trials).exit();
}
