//! Latency histograms of a load run: HDR histograms per series, one per second of the run,
//! kept in HdrHistogram's interval log format (tagged by series). The totals are the sums of
//! the intervals, so a merge of shards (more intervals) has exactly the histograms of the
//! combined samples.

use hdrhistogram::serialization::interval_log::{
    IntervalLogIterator, IntervalLogWriterBuilder, LogEntry, Tag,
};
use hdrhistogram::serialization::{Deserializer, V2DeflateSerializer};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::time::{Duration, SystemTime};

/// Lowest latency tracked, in microseconds.
const LOWEST_US: u64 = 1;
/// Highest latency tracked, in microseconds (an hour); longer ones saturate.
const HIGHEST_US: u64 = 3_600_000_000;
/// Significant decimal digits kept.
const SIGNIFICANT_DIGITS: u8 = 3;

/// What a latency measures.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Series {
    /// PUBLISH, from its intended send time to its final response.
    Publish,
    /// SUBSCRIBE, from its intended send time to its final response.
    Subscribe,
    /// A published state, from its PUBLISH's intended send time until a watcher's NOTIFY
    /// carries it (or a newer state).
    Presence,
    /// The same for a list subscriber: until the RLS's NOTIFY of the list carries it.
    List,
    /// A watcher's subscription, from its SUBSCRIBE's intended send time until the
    /// presentity's watcher-information NOTIFY lists that watcher.
    Winfo,
}

impl Series {
    /// Every series, in report order.
    pub const ALL: [Series; 5] = [
        Series::Publish,
        Series::Subscribe,
        Series::Presence,
        Series::List,
        Series::Winfo,
    ];

    /// The tag of its intervals in the log.
    pub fn tag(self) -> &'static str {
        match self {
            Series::Publish => "publish",
            Series::Subscribe => "subscribe",
            Series::Presence => "presence",
            Series::List => "list",
            Series::Winfo => "winfo",
        }
    }

    fn from_tag(tag: &str) -> Option<Series> {
        Series::ALL.into_iter().find(|s| s.tag() == tag)
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// An empty histogram with the bounds every load histogram has.
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)
        .expect("static histogram bounds are valid")
}

/// One series' latencies over one interval of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    /// Start, in seconds since the run (shard) started.
    pub start_s: f64,
    /// Length in seconds.
    pub duration_s: f64,
    /// What it measures.
    pub series: Series,
    /// Latencies in microseconds.
    pub histogram: Histogram<u64>,
}

/// Records latencies into the current interval of each series.
#[derive(Debug)]
pub struct Recorder {
    current: [Histogram<u64>; Series::ALL.len()],
    current_start_s: f64,
    intervals: Vec<Interval>,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder {
            current: std::array::from_fn(|_| histogram()),
            current_start_s: 0.0,
            intervals: Vec::new(),
        }
    }
}

impl Recorder {
    /// Records one latency (saturating at an hour).
    pub fn record(&mut self, series: Series, latency: Duration) {
        let us = latency.as_micros().clamp(1, u128::from(HIGHEST_US)) as u64;
        self.current[series.index()].saturating_record(us);
    }

    /// Latencies of the current interval so far.
    pub fn current(&self, series: Series) -> &Histogram<u64> {
        &self.current[series.index()]
    }

    /// Closes the current interval at `now_s` (seconds since the start) and starts the next;
    /// empty series leave no interval.
    pub fn roll(&mut self, now_s: f64) {
        let duration_s = (now_s - self.current_start_s).max(0.0);
        for series in Series::ALL {
            let slot = &mut self.current[series.index()];
            if slot.is_empty() {
                continue;
            }
            let histogram = std::mem::replace(slot, histogram());
            self.intervals.push(Interval {
                start_s: self.current_start_s,
                duration_s,
                series,
                histogram,
            });
        }
        self.current_start_s = now_s;
    }

    /// The closed intervals.
    pub fn into_intervals(mut self, now_s: f64) -> Vec<Interval> {
        self.roll(now_s);
        self.intervals
    }
}

/// Every interval of one series added up.
pub fn total(intervals: &[Interval], series: Series) -> Histogram<u64> {
    let mut sum = histogram();
    for interval in intervals.iter().filter(|i| i.series == series) {
        // Same bounds everywhere, so the addition cannot fail; a log from elsewhere with
        // wider values saturates instead.
        if sum.add(&interval.histogram).is_err() {
            for value in interval.histogram.iter_recorded() {
                sum.saturating_record_n(value.value_iterated_to(), value.count_at_value());
            }
        }
    }
    sum
}

/// Percentiles of a histogram, in microseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Percentiles {
    /// Number of samples.
    pub count: u64,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest sample.
    pub max_us: u64,
    /// Mean.
    pub mean_us: f64,
}

impl Percentiles {
    /// The percentiles of `h` (all zero when it is empty).
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles {
                count: 0,
                p50_us: 0,
                p90_us: 0,
                p99_us: 0,
                p999_us: 0,
                max_us: 0,
                mean_us: 0.0,
            };
        }
        Percentiles {
            count: h.len(),
            p50_us: h.value_at_quantile(0.5),
            p90_us: h.value_at_quantile(0.9),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
            mean_us: h.mean(),
        }
    }
}

/// The intervals as an HdrHistogram interval log (V2, deflated), tagged by series, with
/// `start` as the log's start and base time.
pub fn write_log(intervals: &[Interval], start: SystemTime) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    let mut writer = IntervalLogWriterBuilder::new()
        .add_comment("presence-harness load: latencies in microseconds")
        .with_start_time(start)
        .with_base_time(start)
        .begin_log_with(&mut bytes, &mut serializer)
        .map_err(|e| format!("cannot write the interval log: {e}"))?;
    for interval in intervals {
        writer
            .write_histogram(
                &interval.histogram,
                Duration::from_secs_f64(interval.start_s),
                Duration::from_secs_f64(interval.duration_s),
                Tag::new(interval.series.tag()),
            )
            .map_err(|e| format!("cannot write the interval log: {e:?}"))?;
    }
    drop(writer);
    Ok(bytes)
}

/// Reads an interval log written by [`write_log`]; intervals with other tags are refused.
pub fn read_log(bytes: &[u8]) -> Result<Vec<Interval>, String> {
    let mut deserializer = Deserializer::new();
    let mut intervals = Vec::new();
    for entry in IntervalLogIterator::new(bytes) {
        let entry = entry.map_err(|e| format!("not an interval log: {e:?}"))?;
        let LogEntry::Interval(logged) = entry else {
            continue;
        };
        let tag = logged.tag().map(|t| t.as_str()).unwrap_or("");
        let series =
            Series::from_tag(tag).ok_or_else(|| format!("interval with unknown tag {tag:?}"))?;
        use base64::Engine;
        let compressed = base64::engine::general_purpose::STANDARD
            .decode(logged.encoded_histogram())
            .map_err(|e| format!("interval histogram is not base64: {e}"))?;
        let histogram: Histogram<u64> = deserializer
            .deserialize(&mut compressed.as_slice())
            .map_err(|e| format!("interval histogram cannot be read: {e:?}"))?;
        intervals.push(Interval {
            start_s: logged.start_timestamp().as_secs_f64(),
            duration_s: logged.duration().as_secs_f64(),
            series,
            histogram,
        });
    }
    Ok(intervals)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_reads_back_to_the_same_intervals() {
        let mut recorder = Recorder::default();
        for us in [120, 250, 900, 15_000] {
            recorder.record(Series::Publish, Duration::from_micros(us));
        }
        recorder.roll(1.0);
        recorder.record(Series::Presence, Duration::from_millis(3));
        let intervals = recorder.into_intervals(2.0);
        let log = write_log(&intervals, SystemTime::UNIX_EPOCH).unwrap();
        let back = read_log(&log).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[0].series, Series::Publish);
        assert_eq!(back[0].histogram, intervals[0].histogram);
        assert_eq!(back[1].series, Series::Presence);
        assert!((back[1].start_s - 1.0).abs() < 1e-3);
        assert_eq!(total(&back, Series::Publish).len(), 4);
    }
}
