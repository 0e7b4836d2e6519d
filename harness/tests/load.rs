//! Load mode against the embedded reference server: a clean run holds every requirement and
//! delivers every state, to watchers, list subscribers (through the RLS) and
//! watcher-information subscribers alike; each load control's fault switch breaks exactly the requirement it
//! names (and the under-load one only under load); shards played by separate processes merge
//! into one result whose histograms are those of all their samples.

#[path = "common/load_controls.rs"]
mod load_controls;

use load_controls::LOAD_CONTROLS;
use presence_harness::core::Timers;
use presence_harness::load::metrics::{self, Series};
use presence_harness::load::provision::XcapAccess;
use presence_harness::load::result::LoadResult;
use presence_harness::load::run::{run, LoadOutcome, LoadPlan};
use presence_harness::load::workload::{Shard, Stop, Workload};
use presence_harness::reference::{Fault, ReferenceConfig, ReferenceServer};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("root")
        .to_path_buf()
}

fn workload(presentities: u64, watchers: u32, rate: f64, seconds: f64) -> Workload {
    Workload {
        run: presence_harness::ids::token()[..8].to_string(),
        domain: "home1.net".into(),
        presentities,
        watchers,
        rate,
        subscribe_rate: rate.max(200.0),
        ramp_s: 0.0,
        tick_us: 1000,
        stop: Stop::Duration(seconds),
        expires: 3600,
        refresh_every: 0,
        drain_s: 2.0,
        teardown: true,
        check_every: 1,
        list_size: 0,
        list_watchers: 0,
        winfo: false,
    }
}

/// Plays `workload` against a reference server with `faults` on.
fn play(faults: &[&str], workload: Workload) -> LoadOutcome {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let config = ReferenceConfig {
        faults: faults
            .iter()
            .map(|f| f.parse::<Fault>().expect("fault"))
            .collect(),
        t1: Duration::from_millis(100),
        ..ReferenceConfig::default()
    };
    let server = runtime
        .block_on(ReferenceServer::start(config))
        .expect("server");
    let plan = LoadPlan {
        workload,
        shard: Shard::default(),
        sut: server.udp_addr(),
        timers: Timers {
            t1: Duration::from_millis(100),
            t2: Duration::from_millis(400),
        },
        notify_wait: Duration::from_secs(2),
        xcap: Some(XcapAccess {
            root: server.xcap_root(),
            credentials: None,
        }),
    };
    let outcome = run(&plan, |_| {}).expect("the load run");
    runtime.block_on(server.stop());
    outcome
}

#[test]
fn a_conformant_server_holds_every_requirement_and_every_state_arrives() {
    let w = workload(50, 2, 200.0, 2.0);
    let outcome = play(&[], w.clone());
    let failed: Vec<(&String, u64, u64)> = outcome
        .conformance
        .rules
        .iter()
        .filter(|(_, t)| t.idle.failed + t.load.failed > 0)
        .map(|(k, t)| (k, t.idle.failed, t.load.failed))
        .collect();
    assert!(failed.is_empty(), "requirements broken: {failed:?}");
    let f = &outcome.figures;
    assert_eq!(
        f.subscribe.by_status.get(&200),
        Some(&100),
        "{:?}",
        f.subscribe
    );
    assert_eq!(f.publish.sent, outcome.publish_arrivals);
    assert_eq!(
        f.publish.by_status.get(&200).copied(),
        Some(f.publish.sent),
        "{:?}",
        f.publish
    );
    assert!(
        outcome.settled,
        "every accepted state reaches every watcher"
    );
    assert_eq!(f.notify.states_missing, 0);
    // Two watchers per presentity: every state published is seen twice (once each).
    let presence = metrics::total(&outcome.intervals, Series::Presence).len();
    assert_eq!(presence, 2 * f.publish.sent, "{:?}", f.notify);
    assert_eq!(
        metrics::total(&outcome.intervals, Series::Publish).len(),
        f.publish.sent
    );
    let rules = outcome.conformance.rules.len();
    assert!(
        rules >= 11,
        "the rules applied: {:?}",
        outcome.conformance.rules.keys()
    );
    assert!(
        f.notify.terminated >= 100,
        "the teardown ends each subscription: {:?}",
        f.notify
    );
}

/// Lists of 4 presentities with 2 subscribers each, and every presentity watching its own
/// watcher information.
fn lists_and_winfo(presentities: u64) -> Workload {
    Workload {
        list_size: 4,
        list_watchers: 2,
        winfo: true,
        ..workload(presentities, 1, 100.0, 1.0)
    }
}

#[test]
fn list_subscribers_get_every_state_and_every_watcher_is_listed() {
    let w = lists_and_winfo(10);
    let outcome = play(&[], w);
    let failed: Vec<&String> = outcome
        .conformance
        .rules
        .iter()
        .filter(|(_, t)| t.idle.failed + t.load.failed > 0)
        .map(|(k, _)| k)
        .collect();
    assert!(failed.is_empty(), "requirements broken: {failed:?}");
    let f = &outcome.figures;
    // 10 winfo subscriptions, 10 watchers, 3 lists (4, 4, 2) with 2 subscribers each.
    assert_eq!(
        f.subscribe.by_status.get(&200),
        Some(&26),
        "{:?}",
        f.subscribe
    );
    assert!(outcome.settled, "{:?}", f.notify);
    assert_eq!(f.notify.states_missing, 0);
    // Every state published reaches its watcher once and each of its list's two subscribers.
    let timed = |series| metrics::total(&outcome.intervals, series).len();
    assert_eq!(timed(Series::Presence), f.publish.sent, "{:?}", f.notify);
    assert_eq!(timed(Series::List), 2 * f.publish.sent, "{:?}", f.notify);
    assert_eq!(f.notify.watchers_listed, 10);
    assert_eq!(timed(Series::Winfo), 10);
    assert_eq!(f.notify.watchers_unlisted, 0);
    assert_eq!(f.lists_left, 0, "the teardown deletes the lists");
}

/// The list figures can fail: a notifier that sends the state before a modify leaves list
/// subscribers with states missing.
#[test]
fn a_stale_rls_leaves_list_subscribers_behind() {
    let outcome = play(
        &["stale-notify-after-modify"],
        Workload {
            watchers: 0,
            winfo: false,
            teardown: false,
            drain_s: 1.0,
            ..lists_and_winfo(4)
        },
    );
    assert!(!outcome.settled);
    assert!(
        outcome.figures.notify.states_missing > 0,
        "{:?}",
        outcome.figures.notify
    );
}

#[test]
fn every_load_control_breaks_its_requirement() {
    let mut missed = Vec::new();
    let mut faults: Vec<&str> = LOAD_CONTROLS.iter().map(|c| c.0).collect();
    faults.dedup();
    for fault in faults {
        let outcome = play(
            &[fault],
            Workload {
                teardown: false,
                drain_s: 1.0,
                ..workload(20, 1, 200.0, 1.0)
            },
        );
        for (_, key, only_under_load) in LOAD_CONTROLS.iter().filter(|c| c.0 == fault) {
            let tallies = outcome
                .conformance
                .rules
                .get(*key)
                .cloned()
                .unwrap_or_default();
            let held_idle = tallies.idle.checked > 0 && tallies.idle.failed == 0;
            let caught = tallies.load.failed > 0 && (!only_under_load || held_idle);
            let idle_caught = *only_under_load || tallies.idle.failed > 0;
            if !caught || !idle_caught {
                missed.push(format!("{fault} → {key}: {tallies:?}"));
            }
            if *only_under_load && !outcome.conformance.broke_under_load().contains(key) {
                missed.push(format!("{fault}: {key} not reported as broken under load"));
            }
        }
    }
    assert!(
        missed.is_empty(),
        "controls not caught:\n{}",
        missed.join("\n")
    );
}

/// `presence-harness serve` on ephemeral ports; returns the child and its UDP address.
fn serve() -> (std::process::Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_presence-harness"))
        .args([
            "serve",
            "--udp",
            "127.0.0.1:0",
            "--xcap",
            "127.0.0.1:0",
            "--xcap-tls",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("serve starts");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    std::io::BufReader::new(stdout)
        .read_line(&mut line)
        .expect("serve says where it listens");
    let udp = line
        .split_whitespace()
        .skip_while(|w| *w != "udp")
        .nth(1)
        .expect("udp address")
        .to_string();
    (child, udp)
}

#[test]
fn shards_in_separate_processes_merge_into_the_histograms_of_all_samples() {
    let dir = std::env::temp_dir().join(format!(
        "presence-harness-shards-{}",
        presence_harness::ids::token()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (mut server, udp) = serve();
    let profile = dir.join("serve.yaml");
    std::fs::write(
        &profile,
        format!("name: serve\naddress: {udp}\ncapabilities: [publish, subscribe, open-policy]\ntransports: [udp]\nt1_ms: 100\nt2_ms: 400\n"),
    )
    .unwrap();
    let shards = 3;
    let children: Vec<_> = (0..shards)
        .map(|i| {
            Command::new(env!("CARGO_BIN_EXE_presence-harness"))
                .current_dir(root())
                .args(["load", "--sut"])
                .arg(&profile)
                .args([
                    "--presentities",
                    "60",
                    "--watchers",
                    "1",
                    "--rate",
                    "150",
                    "--duration",
                    "2",
                    "--drain",
                    "2",
                ])
                .args([
                    "--run-id",
                    "shardtest",
                    "--shard",
                    &format!("{i}/{shards}"),
                    "-q",
                    "--out",
                ])
                .arg(dir.join(format!("shard{i}")))
                .stdout(Stdio::piped())
                .spawn()
                .expect("a shard starts")
        })
        .collect();
    let outputs: Vec<_> = children
        .into_iter()
        .map(|c| c.wait_with_output().expect("a shard ends"))
        .collect();
    let merged = Command::new(env!("CARGO_BIN_EXE_presence-harness"))
        .current_dir(root())
        .args(["load", "merge"])
        .args((0..shards).map(|i| dir.join(format!("shard{i}/load.json"))))
        .arg("--out")
        .arg(dir.join("merged"))
        .output()
        .expect("merge runs");
    let _ = server.kill();
    let _ = server.wait();
    for (i, output) in outputs.iter().enumerate() {
        assert!(
            output.status.success(),
            "shard {i}: {}",
            String::from_utf8_lossy(&output.stdout)
        );
    }
    assert!(
        merged.status.success(),
        "merge: {}{}",
        String::from_utf8_lossy(&merged.stdout),
        String::from_utf8_lossy(&merged.stderr)
    );
    let parts: Vec<_> = (0..shards)
        .map(|i| LoadResult::read(&dir.join(format!("shard{i}/load.json"))).expect("shard result"))
        .collect();
    let (result, intervals) =
        LoadResult::read(&dir.join("merged/load.json")).expect("merged result");
    assert_eq!(result.shards.len(), shards);
    for series in Series::ALL {
        let mut combined = metrics::histogram();
        for (_, part_intervals) in &parts {
            for interval in part_intervals.iter().filter(|i| i.series == series) {
                combined.add(&interval.histogram).unwrap();
            }
        }
        assert_eq!(metrics::total(&intervals, series), combined, "{series:?}");
        assert_eq!(result.latency[&series].count, combined.len());
    }
    let sent: u64 = parts.iter().map(|(p, _)| p.figures.publish.sent).sum();
    assert_eq!(result.figures.publish.sent, sent);
    assert!(sent > 250, "three shards at 50/s each for 2 s: {sent}");
    // Each shard played its own slice: 20 presentities, 20 watchers.
    for (part, _) in &parts {
        assert_eq!(part.figures.subscribe.sent, 20);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
