//! A withheld request's retransmissions judged against the SUT's non-INVITE client transaction
//! (RFC 3261 §17.1.2.2): over an unreliable transport the first comes T1 after the request
//! (timer E, MUST), the intervals double up to T2, and none comes after timer F (64*T1). When
//! the harness answered with a provisional response first, the transaction is in Proceeding:
//! timer E still fires at T1, and each time it fires it is reset to T2 (MUST).

use super::evaluate::Observed;
use super::Runner;
use crate::flow::model::Step;
use crate::net::{Direction, Transport};
use crate::sip::SipMessage;
use std::time::Duration;

/// The requirement of the first retransmission at T1.
pub(super) const TIMER_E: &str = "rfc3261-timer-e";
/// The requirement of the doubling intervals.
pub(super) const BACKOFF: &str = "rfc3261-timer-e-backoff";
/// The requirement of the end of the retransmissions by timer F.
pub(super) const TIMER_F: &str = "rfc3261-timer-f";
/// The requirement of the end of the retransmissions by timer F in the Proceeding state.
pub(super) const TIMER_F_PROCEEDING: &str = "rfc3261-timer-f-proceeding";
/// The requirement of the T2 intervals in the Proceeding state.
pub(super) const PROCEEDING: &str = "rfc3261-timer-e-proceeding";

/// Why the retransmission checks are not made on a lossy path.
pub(super) const LOSSY: &str = "the path is lossy (profile `lossy` or `chaos`): what arrives when cannot show the SUT's retransmission timers";

/// How far from its expected time a retransmission may come: a quarter of the interval and
/// 50 ms, for the SUT's timer granularity and scheduling.
fn slack(expected: Duration) -> Duration {
    expected / 4 + Duration::from_millis(50)
}

/// The times timer E fired, from the times copies of the request arrived: a copy less than
/// T1/2 after the previous one (or the request) is the network's duplicate, not a
/// retransmission (timer E never fires sooner than T1).
fn firings(t1: Duration, arrivals: &[Duration]) -> Vec<Duration> {
    let mut last = Duration::ZERO;
    let mut kept = Vec::new();
    for &at in arrivals {
        if at.saturating_sub(last) >= t1 / 2 {
            kept.push(at);
            last = at;
        }
    }
    kept
}

/// How long after the request the harness watches: past timer F by T2 and T1, so that a
/// retransmission one interval late is seen.
pub(super) fn window(t1: Duration, t2: Duration) -> Duration {
    t1 * 64 + t2 + t1
}

fn ms(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

/// The k-th interval (from 1) between retransmissions: doubling from T1 up to T2 in the Trying
/// state, T2 in the Proceeding state.
fn interval(t1: Duration, t2: Duration, k: u32, proceeding: bool) -> Duration {
    if proceeding {
        t2
    } else {
        t1.saturating_mul(1 << k.min(20)).min(t2)
    }
}

/// When the last retransmission before `timer_f` is due on the timer E schedule (zero when
/// none is).
fn last_before(t1: Duration, t2: Duration, timer_f: Duration, proceeding: bool) -> Duration {
    let (mut at, mut k, mut last) = (t1, 1, Duration::ZERO);
    while at < timer_f {
        last = at;
        at += interval(t1, t2, k, proceeding);
        k += 1;
    }
    last
}

/// The checks on the copies of the request that came after it (`arrivals`, offsets from its
/// arrival, in order), for a SUT with timers `t1` and `t2`, its transaction in Proceeding when
/// `proceeding` (a provisional response came before timer E first fired): (requirement key,
/// observation).
pub(super) fn judge(
    t1: Duration,
    t2: Duration,
    arrivals: &[Duration],
    proceeding: bool,
) -> Vec<(&'static str, Observed)> {
    let after = &firings(t1, arrivals)[..];
    let mut checks = Vec::new();
    let first = after.first().copied();
    checks.push((
        TIMER_E,
        Observed::new(
            "the request is retransmitted T1 after it was sent (timer E)",
            first.is_some_and(|f| f.abs_diff(t1) <= slack(t1)),
            format!(
                "a retransmission {} after the request (± {})",
                ms(t1),
                ms(slack(t1))
            ),
            first.map_or_else(
                || format!("none within {}", ms(window(t1, t2))),
                |f| format!("the first {} after it", ms(f)),
            ),
        ),
    ));
    if after.len() >= 2 {
        let intervals: Vec<Duration> = after.windows(2).map(|w| w[1] - w[0]).collect();
        let expected: Vec<Duration> = (1..=intervals.len() as u32)
            .map(|k| interval(t1, t2, k, proceeding))
            .collect();
        let held = intervals
            .iter()
            .zip(&expected)
            .all(|(got, want)| got.abs_diff(*want) <= slack(*want));
        let list = |ds: &[Duration]| {
            ds.iter()
                .map(|d| d.as_millis().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (key, what) = if proceeding {
            (
                PROCEEDING,
                "in Proceeding, timer E is reset to T2 each time it fires",
            )
        } else {
            (
                BACKOFF,
                "the intervals between retransmissions double up to T2",
            )
        };
        checks.push((
            key,
            Observed::new(
                what,
                held,
                format!("intervals {} ms", list(&expected)),
                format!("intervals {} ms", list(&intervals)),
            ),
        ));
    }
    let timer_f = t1 * 64;
    let last_due = last_before(t1, t2, timer_f, proceeding);
    let last = after.last().copied();
    let until_f = last.is_some_and(|l| l + slack(t2) >= last_due && l <= timer_f + slack(t1));
    checks.push((
        if proceeding {
            TIMER_F_PROCEEDING
        } else {
            TIMER_F
        },
        Observed::new(
            "the retransmissions go on until timer F (64*T1) and end there",
            until_f,
            format!(
                "the last {} after the request (± {}), none later than {}",
                ms(last_due),
                ms(slack(t2)),
                ms(timer_f)
            ),
            last.map_or_else(
                || "no retransmission".to_string(),
                |l| {
                    format!(
                        "{} retransmissions, the last {} after it",
                        after.len(),
                        ms(l)
                    )
                },
            ),
        ),
    ));
    checks
}

impl Runner<'_> {
    /// Records the step as skipped and returns false unless the run is over UDP on a path
    /// that loses nothing: only then are the SUT's retransmissions and their timing meaningful.
    pub(super) fn retransmissions_observable(&mut self, step: &Step, path: &str) -> bool {
        if self.settings.transport != Transport::Udp {
            self.record_skip(
                step,
                path,
                "a request is retransmitted over unreliable transports only (RFC 3261 §17.1.2.2)"
                    .into(),
            );
            return false;
        }
        if self.settings.lossy {
            self.record_skip(step, path, LOSSY.into());
            return false;
        }
        true
    }

    /// Leaves the request labelled `step.withhold` unanswered for [`window`] after it arrived,
    /// taking in what else comes meanwhile, then judges its retransmissions: over UDP by
    /// [`judge`]; over a reliable transport timer E does not apply and the step only waits.
    pub(super) async fn withhold(&mut self, step: &Step, path: &str) {
        let label = step.withhold.clone().unwrap_or_default();
        let Some(original) = self.received.get(&label).map(|d| (d.seq, d.msg.clone())) else {
            self.record_skip(step, path, format!("{label} never arrived"));
            return;
        };
        let (seq, request) = original;
        let timers = self.settings.timers;
        let arrived = Duration::from_micros(self.trace.entries[seq].at_us);
        let deadline = self.trace.start() + arrived + window(timers.t1, timers.t2);
        while self.pump(deadline).await {}
        if self.settings.transport != Transport::Udp {
            self.record_skip(
                step,
                path,
                "timer E retransmits over unreliable transports only (RFC 3261 §17.1.2.2)".into(),
            );
            return;
        }
        if self.settings.lossy {
            self.record_skip(step, path, LOSSY.into());
            return;
        }
        let identity = transaction_of(&request);
        // A provisional answer of ours to the request put its transaction in Proceeding.
        let proceeding = self.trace.entries[seq + 1..].iter().any(|e| {
            e.direction == Direction::Sent
                && SipMessage::parse(&e.raw()).is_ok_and(|m| {
                    m.status().is_some_and(|code| code < 200) && transaction_of(&m) == identity
                })
        });
        let after: Vec<Duration> = self.trace.entries[seq + 1..]
            .iter()
            .filter(|e| e.direction == Direction::Received)
            .filter(|e| {
                SipMessage::parse(&e.raw())
                    .is_ok_and(|m| m.is_request() && transaction_of(&m) == identity)
            })
            .map(|e| Duration::from_micros(e.at_us).saturating_sub(arrived))
            .collect();
        for (key, observed) in judge(timers.t1, timers.t2, &after, proceeding) {
            self.push(path, Some(key), seq, observed);
        }
    }
}

/// What makes a retransmission the same request: its top Via branch and its CSeq.
pub(super) fn transaction_of(msg: &SipMessage) -> (Option<String>, Option<(u32, String)>) {
    (
        msg.top_branch().map(|b| b.into_owned()),
        msg.cseq().map(|(n, m)| (n, m.to_string())),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const T1: Duration = Duration::from_millis(500);
    const T2: Duration = Duration::from_secs(4);

    fn at(ms: &[u64]) -> Vec<Duration> {
        ms.iter().map(|m| Duration::from_millis(*m)).collect()
    }

    fn failed(after: &[Duration]) -> Vec<&'static str> {
        failed_in(after, false)
    }

    fn failed_in(after: &[Duration], proceeding: bool) -> Vec<&'static str> {
        judge(T1, T2, after, proceeding)
            .into_iter()
            .filter(|(_, o)| !o.ok)
            .map(|(key, _)| key)
            .collect()
    }

    #[test]
    fn the_rfc_schedule_holds() {
        // 500 ms, 1 s, 2 s, 4 s, 4 s, ... until 64*T1 = 32 s.
        let schedule = at(&[
            500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500,
        ]);
        assert_eq!(failed(&schedule), Vec::<&str>::new());
        // A timer F that fires early (4 s) ends the transaction before 64*T1.
        assert_eq!(failed(&schedule[..3]), [TIMER_F]);
    }

    #[test]
    fn no_retransmission_breaks_timer_e_and_f() {
        assert_eq!(failed(&[]), [TIMER_E, TIMER_F]);
    }

    #[test]
    fn a_fixed_interval_breaks_the_backoff() {
        let every_t1: Vec<u64> = (1..=63).map(|k| k * 500).collect();
        assert_eq!(failed(&at(&every_t1)), [BACKOFF]);
    }

    #[test]
    fn a_duplicated_datagram_is_not_a_retransmission() {
        let schedule = [
            0, 500, 501, 1500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500,
        ];
        assert_eq!(failed(&at(&schedule)), Vec::<&str>::new());
    }

    #[test]
    fn retransmitting_past_timer_f_breaks_it() {
        let late = at(&[
            500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500, 35500,
        ]);
        assert_eq!(failed(&late), [TIMER_F]);
    }

    #[test]
    fn in_proceeding_timer_e_fires_at_t1_then_every_t2() {
        // 500 ms, then every 4 s: 4.5 s, ... 28.5 s; the next, 32.5 s, is past timer F.
        let proceeding: Vec<u64> = (0..8).map(|k| 500 + k * 4000).collect();
        assert_eq!(failed_in(&at(&proceeding), true), Vec::<&str>::new());
        // The Trying schedule is not Proceeding's.
        let trying = at(&[
            500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500,
        ]);
        assert_eq!(failed_in(&trying, true), [PROCEEDING]);
        // A timer reset to T2 by the provisional response (the first copy 4 s after it) misses T1.
        let reset: Vec<u64> = (1..8).map(|k| k * 4000).collect();
        assert!(failed_in(&at(&reset), true).contains(&TIMER_E));
    }
}
