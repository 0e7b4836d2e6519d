//! Legal variations: the whole suite runs against the embedded reference server once without
//! variation switches (the baseline) and once under each switch, over UDP, TCP and TLS. Every flow
//! run must keep its verdict and the requirement keys of its failed checks
//! (`variation::<name>`): a switch only does what the RFCs allow, so a change means the harness
//! objects to something legal. `variation::<name>::shows` proves the switch really acted in
//! that run (its trace shows the variation), so a switch that does nothing cannot pass.

// Shares the flow-playing helpers; the trial builders for whole-run gates are not needed here.
#[allow(dead_code)]
mod common;

use common::{root, run_once, server_flows};
use libtest_mimic::{Arguments, Failed, Trial};
use presence_harness::check::verdict::Outcome;
use presence_harness::flow::LoadedFlow;
use presence_harness::net::trace::{Direction, TraceEntry};
use presence_harness::reference::Variation;
use presence_harness::report::RunRecord;
use presence_harness::sut::profile::{Embedded, Parallel};
use presence_harness::sut::Profile;
use regex::Regex;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

/// Per flow run: its verdict and the requirement keys of its failed checks.
type Verdicts = BTreeMap<String, (String, BTreeSet<String>)>;

/// One run of the suite, kept for both trials of a switch.
struct Run {
    verdicts: Verdicts,
    record: RunRecord,
}

fn summarise(record: &RunRecord) -> Verdicts {
    record
        .flows
        .iter()
        .map(|f| {
            let failed = f
                .outcome
                .checks
                .iter()
                .filter(|c| c.outcome == Outcome::Fail)
                .map(|c| c.requirement.key.clone())
                .collect();
            (
                f.outcome.id.clone(),
                (f.outcome.verdict.name().to_string(), failed),
            )
        })
        .collect()
}

fn run(flows: &[LoadedFlow], variation: Option<Variation>) -> Result<Run, String> {
    let mut profile = Profile::load(&root().join("fixtures/suts/reference.yaml"))?;
    profile.embedded = Some(Embedded {
        variations: variation.iter().map(|v| v.name().to_string()).collect(),
        ..Default::default()
    });
    // One transport's runs at a time: two suites run side by side on this test's threads,
    // and with all three transports at once (over 300 runs in one process) the reference's
    // timer E ran 75 ms late under load, failing the timer flows' T1 check by jitter alone.
    profile.parallel = Parallel::PerTransport;
    let record = run_once(&profile, flows)?;
    Ok(Run {
        verdicts: summarise(&record),
        record,
    })
}

/// What a run under one switch found, computed once and shared by its trials.
type Cached = Arc<OnceLock<Result<Run, String>>>;

/// The differences between the baseline and a run under `variation`, one line each.
fn differences(baseline: &Run, varied: &Run, variation: Variation) -> Vec<String> {
    let mut out = Vec::new();
    for (id, (verdict, failed)) in &baseline.verdicts {
        let Some((got, got_failed)) = varied.verdicts.get(id) else {
            out.push(format!("{id}: not run under {variation}"));
            continue;
        };
        if got != verdict || got_failed != failed {
            let outcome = varied.record.flows.iter().find(|f| &f.outcome.id == id);
            let detail = outcome
                .map(|f| common::explain(&f.outcome))
                .unwrap_or_default();
            out.push(format!(
                "{id}: verdict {verdict} -> {got}; failed checks {failed:?} -> {got_failed:?}\n{detail}"
            ));
        }
    }
    out
}

/// The messages the SUT sent in a run, per flow run.
fn received(run: &Run) -> impl Iterator<Item = (&str, Vec<&TraceEntry>)> {
    run.record.flows.iter().map(|f| {
        (
            f.outcome.id.as_str(),
            f.outcome
                .trace
                .iter()
                .filter(|e| e.direction == Direction::Received)
                .collect(),
        )
    })
}

fn any_text(run: &Run, pattern: &str) -> bool {
    let re = Regex::new(pattern).expect("detector regex");
    received(run).any(|(_, entries)| entries.iter().any(|e| re.is_match(&e.text)))
}

fn call_id(text: &str) -> Option<String> {
    let re = Regex::new(r"(?mi)^(?:call-id|i)\s*:\s*(\S+)").expect("regex");
    re.captures(text).map(|c| c[1].to_string())
}

/// A NOTIFY from the SUT before the 2xx to the SUBSCRIBE of the same dialog (Call-ID).
fn notify_first(run: &Run) -> bool {
    received(run).any(|(_, entries)| {
        entries.iter().enumerate().any(|(i, e)| {
            e.summary.starts_with("NOTIFY")
                && entries.iter().skip(i + 1).any(|later| {
                    later.summary.starts_with('2')
                        && later.summary.ends_with("(SUBSCRIBE)")
                        && call_id(&later.text) == call_id(&e.text)
                })
        })
    })
}

fn tuple_ids(text: &str) -> Vec<String> {
    let re = Regex::new(r#"<(?:\w+:)?tuple\s+id="([^"]+)""#).expect("regex");
    re.captures_iter(text).map(|c| c[1].to_string()).collect()
}

/// Some flow run whose SUT messages list two or more tuples in the reverse of the baseline's
/// order.
fn tuples_reversed(baseline: &Run, varied: &Run) -> bool {
    let orders = |run: &Run| -> BTreeMap<String, Vec<Vec<String>>> {
        received(run)
            .map(|(id, entries)| {
                let lists = entries
                    .iter()
                    .map(|e| tuple_ids(&e.text))
                    .filter(|ids| ids.len() > 1)
                    .collect();
                (id.to_string(), lists)
            })
            .collect()
    };
    let before = orders(baseline);
    orders(varied).iter().any(|(id, lists)| {
        lists.iter().any(|ids| {
            let reversed: Vec<String> = ids.iter().rev().cloned().collect();
            reversed != *ids && before.get(id).is_some_and(|old| old.contains(&reversed))
        })
    })
}

/// Whether the trace of a run under `variation` shows it.
fn shows(variation: Variation, baseline: &Run, varied: &Run) -> bool {
    use Variation::*;
    match variation {
        CompactHeaders => any_text(varied, r"\r\ni: \S"),
        LowerCaseHeaders => any_text(varied, r"\r\ncall-id: "),
        FoldedHeaders => any_text(varied, r"\r\nCSeq:\r\n "),
        ReorderedHeaders => any_text(varied, r"(?s)\r\nTo: .*\r\nFrom: "),
        CombinedHeaders => any_text(varied, r"\r\nVia: [^\r]*, SIP/2\.0/"),
        SplitHeaders => any_text(varied, r"(?s)\r\nAllow-Events: [^\r,]*\r\nAllow-Events: "),
        SpacedParameters => any_text(varied, r" ; tag = "),
        ExtensionHeaders => any_text(varied, r"\r\nX-Reference-Trace: "),
        InformationalHeaders => any_text(varied, r"\r\nDate: \w{3}, \d{2} \w{3} \d{4} "),
        PaddedContentLength => any_text(varied, r"\r\nContent-Length: 0\d"),
        DisplayNames => any_text(varied, r#"\r\nContact: "Presence Server" <"#),
        MediaTypeCase => any_text(varied, r"\r\nContent-Type: APPLICATION/PIDF\+XML;charset="),
        PrefixedXml => any_text(varied, r"<v0:presence xmlns:v0="),
        ForeignXml => any_text(varied, r"<vx:trace "),
        ReversedTuples => tuples_reversed(baseline, varied),
        NoXmlDeclaration => any_text(varied, r"\r\n\r\n<presence "),
        CrlfXml => any_text(varied, r"\r\n  <tuple "),
        MultipartNoStart => any_text(varied, r"multipart/related") && !any_text(varied, r"start="),
        NotifyBefore200 => notify_first(varied),
        DuplicateNotify => received(varied).any(|(_, entries)| {
            entries.iter().any(|e| {
                e.summary.starts_with("NOTIFY")
                    && e.note
                        .as_deref()
                        .is_some_and(|n| n.contains("retransmission"))
            })
        }),
        PnaNoAccept => {
            any_text(varied, r"\r\nEvent: reg\r\n")
                && !any_text(varied, r"\r\nAccept: application/reginfo\+xml")
        }
        ShorterExpires => any_text(varied, r"\r\nExpires: 3000\r\n"),
        XcapDigest => any_text(varied, r"(?i)\r\nwww-authenticate: digest "),
    }
}

fn get<'a>(
    cell: &'a Cached,
    flows: &[LoadedFlow],
    variation: Option<Variation>,
) -> Result<&'a Run, Failed> {
    cell.get_or_init(|| run(flows, variation))
        .as_ref()
        .map_err(|e| Failed::from(e.clone()))
}

fn main() {
    let args = Arguments::from_args();
    let flows = match server_flows() {
        Ok(flows) => Arc::new(flows),
        Err(e) => {
            let trial = Trial::test("load-flows", move || Err(e.clone().into()));
            libtest_mimic::run(&args, vec![trial]).exit();
        }
    };
    let baseline: Cached = Arc::default();
    let mut trials = Vec::new();
    for &variation in Variation::all() {
        let cell: Cached = Arc::default();
        for evidence in [false, true] {
            let (flows, baseline, cell) = (flows.clone(), baseline.clone(), cell.clone());
            let name = if evidence {
                format!("variation::{variation}::shows")
            } else {
                format!("variation::{variation}")
            };
            trials.push(Trial::test(name, move || {
                let base = get(&baseline, &flows, None)?;
                let varied = get(&cell, &flows, Some(variation))?;
                if evidence {
                    return if shows(variation, base, varied) {
                        Ok(())
                    } else {
                        Err(format!(
                            "no flow run's trace shows {variation}: {}",
                            variation.description()
                        )
                        .into())
                    };
                }
                let diffs = differences(base, varied, variation);
                if diffs.is_empty() {
                    Ok(())
                } else {
                    Err(format!(
                        "{variation} ({}) changed {} flow run(s):\n{}",
                        variation.description(),
                        diffs.len(),
                        diffs.join("\n")
                    )
                    .into())
                }
            }));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
