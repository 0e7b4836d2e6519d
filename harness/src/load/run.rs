//! One load run, phase by phase: the idle probe (one presentity with one of each kind of
//! subscriber, one request at a time), the resource lists stored over XCAP, the
//! subscriptions, the publications at the target rate, the drain, and the teardown.

use super::conformance::{Conformance, Counter, Phase};
use super::driver::{drive, NoArrivals, Paced, Socket, Ticker};
use super::engine::{Engine, EngineConfig};
use super::figures::Figures;
use super::metrics::{Interval, Series};
use super::provision::XcapAccess;
use super::schedule::Schedule;
use super::workload::{publish_arrivals, Shard, Workload};
use crate::core::Timers;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// What a run plays against what.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// The workload (the same for every shard).
    pub workload: Workload,
    /// The slice this process plays.
    pub shard: Shard,
    /// The SUT's SIP address over UDP.
    pub sut: SocketAddr,
    /// RFC 3261 T1 and T2 for the harness's retransmissions.
    pub timers: Timers,
    /// How long the idle probe waits for a NOTIFY that should follow a request.
    pub notify_wait: Duration,
    /// The SUT's XCAP server, where list subscribers' rls-services documents go (needed
    /// only when the workload has lists).
    pub xcap: Option<XcapAccess>,
}

/// A snapshot for the live progress line.
#[derive(Debug, Clone)]
pub struct Progress {
    /// The phase running.
    pub phase: &'static str,
    /// Seconds since the load engine started.
    pub elapsed_s: f64,
    /// PUBLISHes sent so far.
    pub publishes: u64,
    /// SUBSCRIBEs sent so far.
    pub subscribes: u64,
    /// Error responses and timeouts so far.
    pub errors: u64,
    /// p99 PUBLISH latency of the current second, in microseconds.
    pub publish_p99_us: u64,
    /// p99 end-to-end presence latency of the current second, in microseconds.
    pub presence_p99_us: u64,
}

/// What a run measured.
#[derive(Debug)]
pub struct LoadOutcome {
    /// Counters.
    pub figures: Figures,
    /// Latencies, one interval per series and second, from the load engine's start.
    pub intervals: Vec<Interval>,
    /// Message checks, idle and under load.
    pub conformance: Conformance,
    /// Seconds from the load engine's start to the first PUBLISH arrival.
    pub publish_start_s: f64,
    /// Length of the publish phase (arrivals), in seconds.
    pub publish_duration_s: f64,
    /// PUBLISH arrivals of the publish phase.
    pub publish_arrivals: u64,
    /// CPU seconds of the generator's thread during the publish phase and its drain.
    pub publish_cpu_s: f64,
    /// CPU seconds of the generator's thread in the whole run.
    pub cpu_s: f64,
    /// How far, at most, the generator sent behind the intended times, in microseconds.
    pub max_send_lag_us: u64,
    /// Whether the drain saw every accepted state reach every watcher in time.
    pub settled: bool,
}

fn thread_cpu_s() -> f64 {
    // SAFETY: getrusage fills the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) };
    if rc != 0 {
        return 0.0;
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

fn io_error(what: &str) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("{what}: {e}")
}

/// Stores the engine's resource lists on the SUT's XCAP server.
fn store_lists(plan: &LoadPlan, engine: &Engine) -> Result<(), String> {
    let documents = engine.list_documents();
    if documents.is_empty() {
        return Ok(());
    }
    let xcap = plan.xcap.as_ref().ok_or(
        "list subscriptions need the SUT's XCAP server (xcap_root in the profile) to store the lists",
    )?;
    xcap.put_all(&documents)
}

/// Deletes the engine's resource lists from the SUT's XCAP server; returns how many stayed.
fn delete_lists(plan: &LoadPlan, engine: &Engine) -> u64 {
    let documents = engine.list_documents();
    match (&plan.xcap, documents.is_empty()) {
        (Some(xcap), false) => match xcap.delete_all(&documents) {
            Ok(failures) => {
                for why in failures.iter().take(3) {
                    tracing::warn!("a resource list stayed on the XCAP server: {why}");
                }
                failures.len() as u64
            }
            Err(why) => {
                tracing::warn!("the resource lists stayed on the XCAP server: {why}");
                documents.len() as u64
            }
        },
        _ => 0,
    }
}

/// Plays the idle probe: the subscriptions (of each kind the workload has), three
/// publications, the unsubscribes and the removal, one at a time. Each request must get a final response, or the SUT cannot be
/// judged; the NOTIFYs that should follow are waited for up to `plan.notify_wait` (their
/// absence is the SUT's to answer for, not a reason to stop).
fn idle_probe(plan: &LoadPlan, socket: &mut Socket, local: SocketAddr) -> Result<Counter, String> {
    let workload = Workload {
        run: format!("{}i{}", plan.workload.run, plan.shard.index),
        presentities: 1,
        watchers: 1,
        check_every: 1,
        ..plan.workload.clone()
    };
    let config = EngineConfig {
        local,
        sut: plan.sut,
        timers: plan.timers,
        phase: Phase::Idle,
    };
    let mut engine = Engine::new(&workload, 0, 1, config);
    store_lists(plan, &engine)?;
    let answer_wait = plan.timers.transaction_timeout() + Duration::from_secs(1);
    let mut play = |engine: &mut Engine,
                    what: &str,
                    act: &dyn Fn(&mut Engine, Instant),
                    then: &dyn Fn(&Engine) -> bool|
     -> Result<(), String> {
        let now = Instant::now();
        act(engine, now);
        let failed = |e| format!("the load socket failed: {e}");
        drive(
            socket,
            engine,
            &mut NoArrivals,
            &Engine::quiet,
            now + answer_wait,
            &mut [],
        )
        .map_err(failed)?;
        let timeouts = engine.figures.publish.timeouts
            + engine.figures.subscribe.timeouts
            + engine.figures.teardown.timeouts;
        if timeouts > 0 || !engine.quiet() {
            return Err(format!(
                "the SUT did not answer the idle probe's {what} (RFC 3261 timer F), so the load cannot be judged"
            ));
        }
        let until = Instant::now() + plan.notify_wait;
        drive(socket, engine, &mut NoArrivals, then, until, &mut []).map_err(failed)?;
        Ok(())
    };
    for w in 0..engine.watchers() {
        play(
            &mut engine,
            "SUBSCRIBE",
            &|e, now| e.subscribe(w, now, now),
            &Engine::subscribed,
        )?;
    }
    for n in 1..=3 {
        play(
            &mut engine,
            &format!("PUBLISH {n}"),
            &|e, now| e.publish(0, now, now),
            &Engine::settled,
        )?;
    }
    for w in 0..engine.watchers() {
        play(
            &mut engine,
            "unsubscribe",
            &|e, now| e.unsubscribe(w, now),
            &|e| e.ended(w),
        )?;
    }
    play(
        &mut engine,
        "removal",
        &|e, now| e.unpublish(0, now),
        &Engine::quiet,
    )?;
    delete_lists(plan, &engine);
    if engine.figures.publish.errors() > 0 || engine.figures.subscribe.errors() > 0 {
        return Err(format!(
            "the SUT refused the idle probe (PUBLISH {:?}, SUBSCRIBE {:?}), so the load cannot be judged",
            engine.figures.publish.by_status, engine.figures.subscribe.by_status
        ));
    }
    Ok(engine.conformance)
}

/// Plays the run; `progress` is called four times a second.
pub fn run(plan: &LoadPlan, mut progress: impl FnMut(&Progress)) -> Result<LoadOutcome, String> {
    plan.workload.validate()?;
    let slice = plan.shard.slice(plan.workload.presentities);
    let share = plan.workload.share(&slice);
    plan.workload.fits(plan.shard)?;
    let cpu_at_start = thread_cpu_s();
    let mut socket =
        Socket::bind_toward(plan.sut).map_err(io_error("cannot bind the load socket"))?;
    let local = socket
        .local_addr()
        .map_err(io_error("cannot bind the load socket"))?;
    let idle = idle_probe(plan, &mut socket, local)?;

    let config = EngineConfig {
        local,
        sut: plan.sut,
        timers: plan.timers,
        phase: Phase::Load,
    };
    let mut engine = Engine::new(&plan.workload, slice.start, slice.end - slice.start, config);
    engine.conformance = idle;
    store_lists(plan, &engine)?;
    let started = Instant::now();
    let phase = std::cell::Cell::new("subscribe");
    let mut max_lag = Duration::ZERO;
    let drain = Duration::from_secs_f64(plan.workload.drain_s);
    let tick = Duration::from_micros(u64::from(plan.workload.tick_us));
    {
        let mut tickers = [
            Ticker {
                every: Duration::from_secs(1),
                next: started + Duration::from_secs(1),
                action: Box::new(|engine: &mut Engine, now: Instant| {
                    engine.recorder.roll((now - started).as_secs_f64());
                }),
            },
            Ticker {
                every: Duration::from_millis(250),
                next: started,
                action: Box::new(|engine: &mut Engine, now: Instant| {
                    let f = &engine.figures;
                    progress(&Progress {
                        phase: phase.get(),
                        elapsed_s: (now - started).as_secs_f64(),
                        publishes: f.publish.sent,
                        subscribes: f.subscribe.sent,
                        errors: f.publish.errors()
                            + f.subscribe.errors()
                            + f.publish.timeouts
                            + f.subscribe.timeouts,
                        publish_p99_us: engine
                            .recorder
                            .current(Series::Publish)
                            .value_at_quantile(0.99),
                        presence_p99_us: engine
                            .recorder
                            .current(Series::Presence)
                            .value_at_quantile(0.99),
                    });
                }),
            },
        ];
        let watchers = engine.watchers() as u64;
        if watchers > 0 {
            let rate = plan.workload.subscribe_rate * share;
            let schedule = Schedule::new(rate, Duration::ZERO).on_grid(tick);
            let mut arrivals = Paced::new(
                schedule,
                Instant::now(),
                Some(watchers),
                None,
                |e: &mut Engine, k, due, now| e.subscribe(k as usize, due, now),
            );
            let deadline = Instant::now()
                + Duration::from_secs_f64(watchers as f64 / rate)
                + drain
                + plan.timers.transaction_timeout();
            drive(
                &mut socket,
                &mut engine,
                &mut arrivals,
                &Engine::subscribed,
                deadline,
                &mut tickers,
            )
            .map_err(io_error("the load socket failed"))?;
        }

        phase.set("publish");
        let presentities = engine.presentities() as u64;
        let (duration_s, count) = publish_arrivals(&plan.workload, share);
        let publish_start = Instant::now();
        let cpu_before_publish = thread_cpu_s();
        let schedule = Schedule::new(
            plan.workload.rate * share,
            Duration::from_secs_f64(plan.workload.ramp_s),
        )
        .on_grid(tick);
        let mut arrivals = Paced::new(
            schedule,
            publish_start,
            count,
            Some(publish_start + Duration::from_secs_f64(duration_s)),
            |e: &mut Engine, k, due, now| {
                max_lag = max_lag.max(now.saturating_duration_since(due));
                e.publish((k % presentities) as usize, due, now)
            },
        );
        let end = publish_start + Duration::from_secs_f64(duration_s) + drain;
        drive(
            &mut socket,
            &mut engine,
            &mut arrivals,
            &|_| true,
            end + drain,
            &mut tickers,
        )
        .map_err(io_error("the load socket failed"))?;
        let publish_arrivals = arrivals.fired();
        let publish_duration_s = (Instant::now() - publish_start)
            .as_secs_f64()
            .min(duration_s);

        phase.set("drain");
        drive(
            &mut socket,
            &mut engine,
            &mut NoArrivals,
            &Engine::drained,
            Instant::now() + drain,
            &mut tickers,
        )
        .map_err(io_error("the load socket failed"))?;
        let settled = engine.settled();
        let publish_cpu_s = thread_cpu_s() - cpu_before_publish;
        engine.figures.notify.states_missing = engine.states_behind();
        engine.figures.notify.watchers_unlisted = engine.watchers_unlisted();

        if plan.workload.teardown {
            phase.set("teardown");
            let rate = plan.workload.subscribe_rate.max(plan.workload.rate) * share;
            let total = engine.watchers() + engine.presentities();
            let watchers = engine.watchers();
            let schedule = Schedule::new(rate, Duration::ZERO).on_grid(tick);
            let mut arrivals = Paced::new(
                schedule,
                Instant::now(),
                Some(total as u64),
                None,
                |e: &mut Engine, k, _, now| {
                    let k = k as usize;
                    if k < watchers {
                        e.unsubscribe(k, now)
                    } else {
                        e.unpublish(k - watchers, now)
                    }
                },
            );
            let deadline = Instant::now() + Duration::from_secs_f64(total as f64 / rate) + drain;
            drive(
                &mut socket,
                &mut engine,
                &mut arrivals,
                &Engine::all_ended,
                deadline,
                &mut tickers,
            )
            .map_err(io_error("the load socket failed"))?;
            engine.figures.lists_left = delete_lists(plan, &engine);
        }
        let publish_start_s = (publish_start - started).as_secs_f64();
        let intervals_end = (Instant::now() - started).as_secs_f64();
        drop(tickers);
        let figures = engine.figures.clone();
        let conformance = engine.conformance.conformance();
        let intervals = std::mem::take(&mut engine.recorder).into_intervals(intervals_end);
        Ok(LoadOutcome {
            figures,
            intervals,
            conformance,
            publish_start_s,
            publish_duration_s,
            publish_arrivals,
            publish_cpu_s,
            cpu_s: thread_cpu_s() - cpu_at_start,
            max_send_lag_us: max_lag.as_micros() as u64,
            settled,
        })
    }
}
