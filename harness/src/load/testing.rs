//! A small load outcome and workload for the unit tests of the result and its page.

use super::conformance::Conformance;
use super::figures::Figures;
use super::metrics::{Recorder, Series};
use super::run::LoadOutcome;
use super::workload::{Stop, Workload};
use std::time::Duration;

/// A one-PUBLISH workload.
pub fn workload() -> Workload {
    Workload {
        run: "r".into(),
        domain: "home1.net".into(),
        presentities: 1,
        watchers: 0,
        rate: 1.0,
        subscribe_rate: 1.0,
        ramp_s: 0.0,
        tick_us: 1000,
        stop: Stop::Count(1),
        expires: 3600,
        refresh_every: 0,
        drain_s: 1.0,
        teardown: false,
        check_every: 1,
        list_size: 0,
        list_watchers: 0,
        winfo: false,
    }
}

/// The outcome of one answered PUBLISH (300 µs), with no checks.
pub fn outcome() -> LoadOutcome {
    let mut recorder = Recorder::default();
    recorder.record(Series::Publish, Duration::from_micros(300));
    let mut figures = Figures::default();
    figures.publish.sent = 1;
    figures.publish.by_status.insert(200, 1);
    LoadOutcome {
        figures,
        intervals: recorder.into_intervals(1.0),
        conformance: Conformance::default(),
        publish_start_s: 0.0,
        publish_duration_s: 1.0,
        publish_arrivals: 1,
        publish_cpu_s: 0.0,
        cpu_s: 0.0,
        max_send_lag_us: 0,
        settled: true,
    }
}
