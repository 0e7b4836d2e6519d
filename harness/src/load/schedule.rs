//! Open-loop arrival times: requests are due at times fixed in advance by the target rate
//! (after a linear ramp from zero), whatever the server does. Latency counts from these
//! intended times, so a slow server cannot hide the queue it builds (no coordinated omission).

use std::time::Duration;

/// Arrival times at a constant rate after a linear ramp-up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    rate: f64,
    ramp_s: f64,
    tick_s: f64,
}

impl Schedule {
    /// `rate` arrivals per second (must be positive), reached after `ramp` of linear growth
    /// from zero.
    pub fn new(rate: f64, ramp: Duration) -> Schedule {
        Schedule {
            rate,
            ramp_s: ramp.as_secs_f64(),
            tick_s: 0.0,
        }
    }

    /// The same arrivals, each due at the next point of a grid of `tick` (zero: exactly
    /// when due). The rate is kept; arrivals come in bursts of `rate * tick`.
    pub fn on_grid(self, tick: Duration) -> Schedule {
        Schedule {
            tick_s: tick.as_secs_f64(),
            ..self
        }
    }

    /// When arrival `k` (from 0) is due, after the start. During the ramp the rate grows as
    /// `rate * t / ramp`, so `k` arrivals are due by `t = sqrt(2 * ramp * k / rate)`.
    pub fn due(&self, k: u64) -> Duration {
        let k = k as f64;
        let ramp_arrivals = self.rate * self.ramp_s / 2.0;
        let seconds = if k < ramp_arrivals {
            (2.0 * self.ramp_s * k / self.rate).sqrt()
        } else {
            self.ramp_s + (k - ramp_arrivals) / self.rate
        };
        let seconds = if self.tick_s > 0.0 {
            // The small allowance keeps a time already on the grid from moving a tick on.
            ((seconds / self.tick_s) - 1e-9).ceil().max(0.0) * self.tick_s
        } else {
            seconds
        };
        Duration::from_secs_f64(seconds)
    }

    /// How many arrivals are due in the first `duration`.
    pub fn count_within(&self, duration: Duration) -> u64 {
        let t = duration.as_secs_f64();
        let due = if t < self.ramp_s {
            self.rate * t * t / (2.0 * self.ramp_s)
        } else {
            self.rate * self.ramp_s / 2.0 + self.rate * (t - self.ramp_s)
        };
        due.ceil().max(0.0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_constant_rate_spaces_arrivals_evenly() {
        let s = Schedule::new(1000.0, Duration::ZERO);
        assert_eq!(s.due(0), Duration::ZERO);
        assert_eq!(s.due(1000), Duration::from_secs(1));
        assert_eq!(s.count_within(Duration::from_secs(10)), 10_000);
    }

    #[test]
    fn on_a_grid_arrivals_come_in_bursts_at_the_same_rate() {
        let s = Schedule::new(2000.0, Duration::ZERO).on_grid(Duration::from_millis(1));
        let due: Vec<u128> = (0..6).map(|k| s.due(k).as_micros()).collect();
        assert_eq!(due, [0, 1000, 1000, 2000, 2000, 3000]);
        assert_eq!(s.due(2000), Duration::from_secs(1));
    }

    #[test]
    fn the_ramp_reaches_the_rate_at_its_end() {
        let s = Schedule::new(1000.0, Duration::from_secs(2));
        // 1000 arrivals during the 2 s ramp (half of 2 s at full rate), then 1000 per second.
        assert!((s.due(1000).as_secs_f64() - 2.0).abs() < 1e-9);
        assert!((s.due(2000).as_secs_f64() - 3.0).abs() < 1e-9);
        assert!((s.due(250).as_secs_f64() - 1.0).abs() < 1e-9);
        assert_eq!(s.count_within(Duration::from_secs(3)), 2000);
        let gaps: Vec<f64> = (1..1000)
            .map(|k| (s.due(k + 1) - s.due(k)).as_secs_f64())
            .collect();
        assert!(
            gaps.windows(2).all(|w| w[1] <= w[0] + 1e-12),
            "arrivals come faster"
        );
    }
}
