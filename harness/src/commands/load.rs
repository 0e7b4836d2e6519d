//! `presence-harness load`: plays a presence workload against a SUT and judges it, and
//! `presence-harness load merge`: combines the results of the shards of one run.

use clap::{Args, Subcommand};
use presence_harness::check::verdict::Gate;
use presence_harness::core::Timers;
use presence_harness::flow::model::Level;
use presence_harness::load::metrics::{Interval, Series};
use presence_harness::load::page;
use presence_harness::load::provision::XcapAccess;
use presence_harness::load::result::{merge, LoadResult};
use presence_harness::load::run::{run, LoadPlan, Progress};
use presence_harness::load::workload::{default_tick_us, Shard, Stop, Workload};
use presence_harness::runner::{load_profile, start_sut};
use presence_harness::sut::probe::probe;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Arguments of `load`.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct LoadArgs {
    #[command(subcommand)]
    command: Option<LoadCommand>,
    /// SUT profile (default: fixtures/suts/reference.yaml, the embedded reference server).
    #[arg(long)]
    sut: Option<PathBuf>,
    /// Turn on a fault switch of the embedded reference server (repeatable; see
    /// `presence-harness faults`).
    #[arg(long = "fault", value_name = "NAME")]
    faults: Vec<String>,
    /// Turn on a variation switch of the embedded reference server (repeatable).
    #[arg(long = "variation", value_name = "NAME")]
    variations: Vec<String>,
    /// Presentities (over all shards); each publishes, initially and then with modifies.
    #[arg(long, value_name = "N", default_value_t = 100)]
    presentities: u64,
    /// Watchers subscribed to each presentity (distinct users).
    #[arg(long, value_name = "W", default_value_t = 0)]
    watchers: u32,
    /// Presentities per resource list (0: none): each shard's presentities, in order, form
    /// lists of this size, each subscribed to through the RLS (Supported: eventlist) by
    /// --list-watchers users, after their rls-services documents are stored over XCAP.
    /// Needs a profile with the `rls` capability.
    #[arg(long, value_name = "K", default_value_t = 0)]
    list_size: u32,
    /// List subscribers per resource list (distinct users).
    #[arg(long, value_name = "L", default_value_t = 1)]
    list_watchers: u32,
    /// Each presentity subscribes to its own watcher information (presence.winfo) before the
    /// watchers subscribe, and the time until it lists each watcher is measured. Needs a
    /// profile with the `winfo` capability.
    #[arg(long)]
    winfo: bool,
    /// PUBLISH arrivals per second over all shards (open loop: sent when due, whatever the
    /// server does; latency counts from when each was due).
    #[arg(long, value_name = "PER_SECOND", default_value_t = 100.0)]
    rate: f64,
    /// SUBSCRIBE arrivals per second while the watchers subscribe (default: --rate).
    #[arg(long, value_name = "PER_SECOND")]
    subscribe_rate: Option<f64>,
    /// Seconds over which the PUBLISH rate grows linearly from zero to --rate.
    #[arg(long, value_name = "SECONDS", default_value_t = 0.0)]
    ramp: f64,
    /// Arrivals are due on a grid of this many microseconds (those due between two points
    /// come together at the later one; 0: each exactly when due). Bursts of rate × tick, as
    /// from many clients, let the generator wake once per tick rather than per request.
    /// Default: the time in which 10 requests come due, between 1000 and 10000.
    #[arg(long, value_name = "MICROSECONDS")]
    tick_us: Option<u32>,
    /// Seconds of PUBLISH arrivals (ramp included; default 10 unless --count is given).
    #[arg(long, value_name = "SECONDS", conflicts_with = "count")]
    duration: Option<f64>,
    /// PUBLISH arrivals in all (over all shards), instead of a duration.
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// Every Nth PUBLISH of a presentity after its first is a refresh without a body
    /// (0: every one is a modify carrying a new state).
    #[arg(long, value_name = "N", default_value_t = 0)]
    refresh_every: u32,
    /// Expires of every PUBLISH and SUBSCRIBE (nothing is refreshed, so it must outlast the run).
    #[arg(long, value_name = "SECONDS", default_value_t = 3600)]
    expires: u32,
    /// Seconds to wait after the last arrival for answers and NOTIFYs still due.
    #[arg(long, value_name = "SECONDS", default_value_t = 5.0)]
    drain: f64,
    /// Leave the subscriptions and publications in the server at the end.
    #[arg(long)]
    no_teardown: bool,
    /// Check every Nth message the SUT sends (1: every message).
    #[arg(long, value_name = "N", default_value_t = 1)]
    check_every: u32,
    /// Play the I-th of N slices of the presentities (and their watchers), at 1/N-th of the
    /// rates; `load merge` combines the shards' results. Needs --run-id.
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
    /// Letters and digits naming every user of the run (default: random); the shards of
    /// one run must share it.
    #[arg(long, value_name = "ID")]
    run_id: Option<String>,
    /// Folder for load.json, histograms.hlog and load.html (default: reports/load-<run>[-<I>]).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// What fails the run: `must` (a broken MUST) or `strict` (a broken SHOULD too).
    #[arg(long, value_enum, default_value_t = Gate::Must)]
    gate: Gate,
    /// Print only the summary (no progress line).
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Subcommand)]
enum LoadCommand {
    /// Combine the results of the shards of one run (their load.json files) into one.
    Merge {
        /// The shards' load.json files.
        #[arg(required = true)]
        results: Vec<PathBuf>,
        /// Folder for the merged load.json, histograms.hlog and load.html.
        #[arg(long, value_name = "DIR", default_value = "reports/load-merged")]
        out: PathBuf,
    },
}

/// How a load command ended.
pub enum LoadEnd {
    /// No requirement broke past the gate.
    Held,
    /// A requirement broke past the gate.
    Broke,
}

/// Runs `load` or `load merge`.
pub fn load(root: &Path, args: &LoadArgs) -> Result<LoadEnd, String> {
    let catalogue = presence_harness::flow::catalogue::load(root).map_err(|e| e.to_string())?;
    if let Some(LoadCommand::Merge { results, out }) = &args.command {
        let parts = results
            .iter()
            .map(|path| LoadResult::read(path))
            .collect::<Result<Vec<_>, _>>()?;
        let (merged, intervals) = merge(&parts, &catalogue)?;
        let started = SystemTime::now();
        let path = write(&merged, &intervals, out, started)?;
        return Ok(report(&merged, &path, args.gate));
    }
    let sut = args
        .sut
        .as_deref()
        .map(|p| presence_harness::project::profile_path(root, p));
    let profile = load_profile(root, sut.as_deref(), &args.faults, &args.variations)?;
    let shard = args.shard.unwrap_or_default();
    if shard.count > 1 && args.run_id.is_none() {
        return Err(
            "--shard needs --run-id, the same for every shard, so that their results merge".into(),
        );
    }
    let run_id = args
        .run_id
        .clone()
        .unwrap_or_else(|| presence_harness::ids::token()[..8].to_string());
    let workload = Workload {
        run: run_id,
        domain: profile
            .domains
            .get("home1.net")
            .cloned()
            .unwrap_or_else(|| "home1.net".into()),
        presentities: args.presentities,
        watchers: args.watchers,
        rate: args.rate,
        subscribe_rate: args.subscribe_rate.unwrap_or(args.rate),
        ramp_s: args.ramp,
        tick_us: args.tick_us.unwrap_or_else(|| {
            default_tick_us(args.rate, args.subscribe_rate.unwrap_or(args.rate))
        }),
        stop: match (args.count, args.duration) {
            (Some(count), _) => Stop::Count(count),
            (None, duration) => Stop::Duration(duration.unwrap_or(10.0)),
        },
        expires: args.expires,
        refresh_every: args.refresh_every,
        drain_s: args.drain,
        teardown: !args.no_teardown,
        check_every: args.check_every,
        list_size: args.list_size,
        list_watchers: args.list_watchers,
        winfo: args.winfo,
    };
    for (asked, capability, flag) in [
        (args.list_size > 0, "rls", "--list-size"),
        (args.winfo, "winfo", "--winfo"),
    ] {
        if asked && !profile.capabilities.iter().any(|c| c == capability) {
            return Err(format!(
                "{flag} needs a SUT with the `{capability}` capability, which profile {} does not declare",
                profile.name
            ));
        }
    }
    workload.validate()?;
    workload.fits(shard)?;
    let out = args.out.clone().unwrap_or_else(|| {
        let mut name = format!("load-{}", workload.run);
        if shard.count > 1 {
            name.push_str(&format!("-{}", shard.index));
        }
        Path::new("reports").join(name)
    });
    let timers = Timers {
        t1: Duration::from_millis(profile.t1_ms.max(1)),
        t2: Duration::from_millis(profile.t2_ms.max(1)),
    };
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let sut = runtime.block_on(start_sut(&profile, root))?;
    let probed = runtime.block_on(probe(sut.addr, timers.t1, profile.probe_limit()));
    let started = SystemTime::now();
    let outcome = probed.and_then(|_| {
        let plan = LoadPlan {
            workload: workload.clone(),
            shard,
            sut: sut.addr,
            timers,
            notify_wait: Duration::from_secs_f64(
                (profile.step_timeout * profile.timer_scale).clamp(0.1, 600.0),
            ),
            xcap: sut.xcap_root.clone().map(|root| XcapAccess {
                root,
                credentials: profile.xcap_credentials.clone(),
            }),
        };
        let bar = (!args.quiet).then(progress_bar);
        let outcome = run(&plan, |p| {
            if let Some(bar) = &bar {
                bar.set_message(progress_line(p));
            }
        });
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
        outcome
    });
    runtime.block_on(sut.stop());
    let outcome = outcome?;
    let result = LoadResult::new(
        &outcome,
        &workload,
        shard,
        &profile.name,
        started,
        &catalogue,
    );
    let path = write(&result, &outcome.intervals, &out, started)?;
    Ok(report(&result, &path, args.gate))
}

fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.enable_steady_tick(Duration::from_millis(250));
    bar
}

fn progress_line(p: &Progress) -> String {
    format!(
        "{:>6.1} s {:<9} PUBLISH {} SUBSCRIBE {} errors {} | last second p99: PUBLISH {:.2} ms, presence {:.2} ms",
        p.elapsed_s,
        p.phase,
        p.publishes,
        p.subscribes,
        p.errors,
        p.publish_p99_us as f64 / 1000.0,
        p.presence_p99_us as f64 / 1000.0
    )
}

fn write(
    result: &LoadResult,
    intervals: &[Interval],
    out: &Path,
    started: SystemTime,
) -> Result<PathBuf, String> {
    let path = result.write(out, intervals, started)?;
    let html = page::render(result, intervals)?;
    let page_path = out.join("load.html");
    std::fs::write(&page_path, html)
        .map_err(|e| format!("cannot write {}: {e}", page_path.display()))?;
    Ok(path)
}

fn ms(us: u64) -> String {
    format!("{:.2} ms", us as f64 / 1000.0)
}

/// Prints the summary and says whether the gate held.
fn report(result: &LoadResult, path: &Path, gate: Gate) -> LoadEnd {
    let f = &result.figures;
    let shards: Vec<String> = result
        .shards
        .iter()
        .map(|s| format!("{}/{}", s.index, s.count))
        .collect();
    println!(
        "load against {} (run {}, shards {}): {} PUBLISH due in {:.1} s, {:.1} answered/s; errors {:?}, timeouts {}, retransmissions {}",
        result.profile,
        result.workload.run,
        shards.join(" "),
        result.publish_arrivals,
        result.publish_duration_s,
        result.publish_rate,
        f.publish.by_status.iter().filter(|(c, _)| !(200..300).contains(*c)).collect::<Vec<_>>(),
        f.publish.timeouts,
        f.publish.retransmissions
    );
    for series in Series::ALL {
        if let Some(p) = result.latency.get(&series).filter(|p| p.count > 0) {
            println!(
                "  {:<9} {:>8} samples  p50 {}  p90 {}  p99 {}  p99.9 {}  max {}",
                series.tag(),
                p.count,
                ms(p.p50_us),
                ms(p.p90_us),
                ms(p.p99_us),
                ms(p.p999_us),
                ms(p.max_us)
            );
        }
    }
    println!(
        "  NOTIFY {} ({:.1}/s), states delivered {}, superseded {}, missing at the end {}; SUBSCRIBE errors {}, timeouts {}",
        f.notify.received,
        result.notify_rate,
        f.notify.states_delivered,
        f.notify.states_superseded,
        f.notify.states_missing,
        f.subscribe.errors(),
        f.subscribe.timeouts
    );
    if result.workload.winfo {
        println!(
            "  watcher information: {} watchers listed, {} active ones not listed at the end",
            f.notify.watchers_listed, f.notify.watchers_unlisted
        );
    }
    if result.workload.teardown {
        println!(
            "  teardown: {} unsubscribes and removals, errors {:?}, timeouts {}; resource lists left on the XCAP server {}",
            f.teardown.sent,
            f.teardown.by_status.iter().filter(|(c, _)| !(200..300).contains(*c)).collect::<Vec<_>>(),
            f.teardown.timeouts,
            f.lists_left
        );
    }
    println!(
        "  generator: {:.1} µs CPU per PUBLISH transaction, at most {} behind the intended send times",
        result.cpu_us_per_publish,
        ms(result.max_send_lag_us)
    );
    let failed: Vec<String> = result
        .requirements
        .iter()
        .filter(|r| r.tallies.idle.failed + r.tallies.load.failed > 0)
        .map(|r| {
            format!(
                "  {} {} §{} ({:?}): idle {}/{} failed, load {}/{} failed{}",
                if r.broke_under_load {
                    "BROKE UNDER LOAD"
                } else {
                    "broken"
                },
                r.requirement.doc,
                r.requirement.clause,
                r.requirement.level,
                r.tallies.idle.failed,
                r.tallies.idle.checked,
                r.tallies.load.failed,
                r.tallies.load.checked,
                r.tallies
                    .load
                    .first_failure
                    .as_ref()
                    .or(r.tallies.idle.first_failure.as_ref())
                    .map(|s| format!(": {}: expected {}; got {}", s.message, s.expected, s.actual))
                    .unwrap_or_default()
            )
        })
        .collect();
    println!(
        "  requirements: {} checked, {} broken{}",
        result.requirements.len(),
        failed.len(),
        if result.broke_under_load.is_empty() {
            String::new()
        } else {
            format!(
                ", {} of them only under load",
                result.broke_under_load.len()
            )
        }
    );
    for line in &failed {
        println!("{line}");
    }
    println!("result: {}", path.display());
    let breaks = matches!(
        (result.worst_broken(), gate),
        (Some(Level::Must), _) | (Some(Level::Should), Gate::Strict)
    );
    if breaks {
        LoadEnd::Broke
    } else {
        LoadEnd::Held
    }
}
