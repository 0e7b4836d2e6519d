//! `load.html`: a page a person reads. The figures, the latency percentiles, the requirements
//! checked idle and under load, and two plots drawn as inline SVG: p50 and p99 latency over
//! the run's seconds, and the whole percentile distribution of each series.
//!
//! The template is minijinja's, compiled when the page is rendered and reading the serialized
//! result: a load run renders it once, after seconds of load, so the run report's reason for
//! askama (a page compiled into the binary, for runs of a few milliseconds) does not apply.

use super::metrics::{self, Interval, Series};
use super::result::LoadResult;
use hdrhistogram::Histogram;
use serde::Serialize;
use std::collections::BTreeMap;

const TEMPLATE: &str = include_str!("templates/load.html");
/// Plot size in pixels (inside the axes).
const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 240.0;
/// Percentiles plotted: from 0 to 99.999, on the 1/(1-q) scale.
const PLOTTED_NINES: f64 = 5.0;

#[derive(Serialize)]
struct Line {
    series: &'static str,
    label: String,
    points: String,
    dashed: bool,
}

#[derive(Serialize)]
struct Plot {
    lines: Vec<Line>,
    x_ticks: Vec<(f64, String)>,
    y_ticks: Vec<(f64, String)>,
    x_label: &'static str,
}

/// Latency axis: log10 of milliseconds from 0.01 ms up to the largest value seen.
struct LatencyAxis {
    low: f64,
    high: f64,
}

impl LatencyAxis {
    fn new(max_us: u64) -> LatencyAxis {
        let high = ((max_us.max(10) as f64) / 1000.0).log10().ceil().max(-1.0);
        LatencyAxis { low: -2.0, high }
    }

    fn y(&self, us: u64) -> f64 {
        let v = ((us.max(1) as f64) / 1000.0)
            .log10()
            .clamp(self.low, self.high);
        HEIGHT - (v - self.low) / (self.high - self.low) * HEIGHT
    }

    fn ticks(&self) -> Vec<(f64, String)> {
        (self.low as i32..=self.high as i32)
            .map(|e| {
                let ms = 10f64.powi(e);
                (self.y((ms * 1000.0) as u64), format!("{ms} ms"))
            })
            .collect()
    }
}

/// Adds up the intervals of each series that start in the same second (the shards' ones).
fn per_second(intervals: &[Interval]) -> BTreeMap<(Series, u64), Histogram<u64>> {
    let mut out: BTreeMap<(Series, u64), Histogram<u64>> = BTreeMap::new();
    for interval in intervals {
        let slot = out
            .entry((interval.series, interval.start_s.round() as u64))
            .or_insert_with(metrics::histogram);
        let _ = slot.add(&interval.histogram);
    }
    out
}

fn over_time(intervals: &[Interval]) -> Plot {
    let seconds = per_second(intervals);
    let last = seconds.keys().map(|(_, s)| *s).max().unwrap_or(1).max(1) as f64;
    let max_us = seconds.values().map(|h| h.max()).max().unwrap_or(1);
    let axis = LatencyAxis::new(max_us);
    let mut lines = Vec::new();
    for series in [
        Series::Publish,
        Series::Presence,
        Series::List,
        Series::Winfo,
        Series::Subscribe,
    ] {
        for (quantile, label, dashed) in [(0.5, "p50", true), (0.99, "p99", false)] {
            let points: Vec<String> = seconds
                .iter()
                .filter(|((s, _), _)| *s == series)
                .map(|((_, second), h)| {
                    format!(
                        "{:.1},{:.1}",
                        *second as f64 / last * WIDTH,
                        axis.y(h.value_at_quantile(quantile))
                    )
                })
                .collect();
            if !points.is_empty() {
                lines.push(Line {
                    series: series.tag(),
                    label: format!("{} {label}", series.tag()),
                    points: points.join(" "),
                    dashed,
                });
            }
        }
    }
    let step = (last / 8.0).ceil().max(1.0);
    let x_ticks = (0..=(last / step) as u64)
        .map(|i| {
            let s = i as f64 * step;
            (s / last * WIDTH, format!("{s:.0} s"))
        })
        .collect();
    Plot {
        lines,
        x_ticks,
        y_ticks: axis.ticks(),
        x_label: "seconds since the start",
    }
}

fn distribution(intervals: &[Interval]) -> Plot {
    let totals: Vec<(Series, Histogram<u64>)> = Series::ALL
        .into_iter()
        .map(|s| (s, metrics::total(intervals, s)))
        .filter(|(_, h)| !h.is_empty())
        .collect();
    let max_us = totals.iter().map(|(_, h)| h.max()).max().unwrap_or(1);
    let axis = LatencyAxis::new(max_us);
    let x = |nines: f64| nines / PLOTTED_NINES * WIDTH;
    let lines = totals
        .iter()
        .map(|(series, h)| {
            let points: Vec<String> = (0..=100)
                .map(|i| {
                    let nines = i as f64 / 100.0 * PLOTTED_NINES;
                    let quantile = 1.0 - 10f64.powf(-nines);
                    format!(
                        "{:.1},{:.1}",
                        x(nines),
                        axis.y(h.value_at_quantile(quantile))
                    )
                })
                .collect();
            Line {
                series: series.tag(),
                label: series.tag().to_string(),
                points: points.join(" "),
                dashed: false,
            }
        })
        .collect();
    let x_ticks = ["0", "90", "99", "99.9", "99.99", "99.999"]
        .iter()
        .enumerate()
        .map(|(i, label)| (x(i as f64), format!("{label} %")))
        .collect();
    Plot {
        lines,
        x_ticks,
        y_ticks: axis.ticks(),
        x_label: "percentile",
    }
}

/// Renders the page of a result.
pub fn render(result: &LoadResult, intervals: &[Interval]) -> Result<String, String> {
    let mut env = minijinja::Environment::new();
    env.add_template("load.html", TEMPLATE)
        .map_err(|e| format!("load page template: {e}"))?;
    let template = env
        .get_template("load.html")
        .map_err(|e| format!("load page template: {e}"))?;
    template
        .render(minijinja::context! {
            result => minijinja::Value::from(minijinja::value::Serde(result)),
            over_time => minijinja::Value::from(minijinja::value::Serde(over_time(intervals))),
            distribution => minijinja::Value::from(minijinja::value::Serde(distribution(intervals))),
            width => WIDTH,
            height => HEIGHT,
        })
        .map_err(|e| format!("cannot render the load page: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::conformance::{FailureSample, RuleTallies, Tally};
    use crate::load::testing;
    use crate::load::workload::Shard;
    use std::collections::BTreeMap;
    use std::time::SystemTime;

    /// What the SUT sent is shown as text: a failure sample holding markup is escaped.
    #[test]
    fn what_the_sut_sent_is_escaped() {
        let hostile = "<script>alert(1)</script>";
        let mut outcome = testing::outcome();
        outcome.conformance.rules.insert(
            "rfc3903-etag-in-2xx".into(),
            RuleTallies {
                idle: Tally::default(),
                load: Tally {
                    checked: 1,
                    failed: 1,
                    first_failure: Some(FailureSample {
                        message: format!("200 OK {hostile}"),
                        expected: "a token".into(),
                        actual: hostile.into(),
                    }),
                },
            },
        );
        let result = LoadResult::new(
            &outcome,
            &testing::workload(),
            Shard::default(),
            "p",
            SystemTime::now(),
            &BTreeMap::new(),
        );
        let html = render(&result, &outcome.intervals).unwrap();
        assert!(
            !html.contains(hostile),
            "markup from the SUT reached the page"
        );
        assert!(html.contains("&lt;script&gt;"));
        assert!(html.contains("<polyline"), "the plots are drawn");
    }
}
