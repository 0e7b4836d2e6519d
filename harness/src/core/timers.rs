//! RFC 3261 timer values (§17.1.1.1, §17.1.2.2), scaled by the SUT profile.

use std::time::Duration;

/// Base timer values for one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// RTT estimate (default 500 ms).
    pub t1: Duration,
    /// Maximum retransmit interval for non-INVITE requests (default 4 s).
    pub t2: Duration,
}

impl Default for Timers {
    fn default() -> Self {
        Timers {
            t1: Duration::from_millis(500),
            t2: Duration::from_secs(4),
        }
    }
}

impl Timers {
    /// Timer F / Timer B: 64 * T1, the non-INVITE transaction timeout.
    pub fn transaction_timeout(&self) -> Duration {
        self.t1 * 64
    }
}
