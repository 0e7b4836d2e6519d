//! The UE's intervals and waits: the refresh of a publication or subscription before the
//! interval its server granted ends (RFC 3903 §4.3, RFC 6665 §4.1.2.2), the interval asked for
//! again after 423 (RFC 3261 §21.4.17), and the wait before a new subscription after a NOTIFY
//! ended one (RFC 6665 §4.1.3).

use super::fault::UeFault;
use std::collections::BTreeSet;
use std::time::Duration;
use tokio::time::{sleep_until, Instant};

/// The wait before re-subscribing after `probation`, or `giveup`, without `retry-after`. RFC 6665
/// §4.1.3 asks for a retry "at some later time" after probation and allows one at once after
/// giveup ("but will likely get put back into pending state"); neither gives a figure, and 30 s
/// keeps a notifier that keeps refusing from seeing a loop.
pub(super) const DEFAULT_RETRY: Duration = Duration::from_secs(30);

/// The longest wait scheduled (a year): a larger granted interval or retry-after from the
/// network must neither overflow an instant nor matter within a run.
const LONGEST_WAIT: Duration = Duration::from_secs(365 * 24 * 3600);

/// The instant `wait` from now, the wait capped at [`LONGEST_WAIT`].
pub(super) fn after(wait: Duration) -> Instant {
    Instant::now() + wait.min(LONGEST_WAIT)
}

/// Sleeps until `deadline`, or for ever without one: a `select!` branch for a timer that is
/// set only at times.
pub(super) async fn at(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// The earlier of two optional instants.
pub(super) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// How many times in a row one action is retried after 412 or 423: the faults that retry the
/// same request would otherwise go on for as long as the server refuses it.
pub(super) const MAX_RETRIES: u32 = 3;

/// The Expires to ask for when a request that asked for `asked` seconds got 423 with
/// `min_expires` (RFC 3261 §21.4.17, RFC 3903 §5): the Min-Expires when it is longer; `None`
/// (give up) when it is missing or not longer. Under `ue-ignores-423`: `asked` again.
pub(super) fn after_423(
    asked: u64,
    min_expires: Option<u64>,
    faults: &BTreeSet<UeFault>,
) -> Option<u64> {
    if faults.contains(&UeFault::Ignores423) {
        return Some(asked);
    }
    min_expires.filter(|min| *min > asked)
}

/// How long after a 2xx that granted `granted` seconds the refresh goes out: at 80 % of the
/// interval, and at least 1 s before it ends when the interval allows (granted 10 s: at 8 s;
/// 2 s: at 1 s; 1 s: at 0.8 s). `None`: no refresh (nothing granted, or `ue-no-refresh`).
/// Under `ue-refresh-late` it is 120 % of the interval, after the state lapsed.
pub(super) fn refresh_delay(granted: u64, faults: &BTreeSet<UeFault>) -> Option<Duration> {
    if granted == 0 || faults.contains(&UeFault::NoRefresh) {
        return None;
    }
    let whole = Duration::from_secs(granted).min(LONGEST_WAIT);
    if faults.contains(&UeFault::RefreshLate) {
        return Some(whole.mul_f64(1.2));
    }
    let early = whole.mul_f64(0.8);
    Some(match whole.checked_sub(Duration::from_secs(1)) {
        Some(margin) if granted >= 2 => early.min(margin),
        _ => early,
    })
}

/// When to subscribe again after a NOTIFY ended the subscription with `reason` and
/// `retry_after` (RFC 6665 §4.1.3): `Some(wait)`, or `None` for never.
/// - `deactivated`: the subscriber SHOULD retry immediately;
/// - `timeout`: it MAY re-subscribe immediately, and does;
/// - `probation`, `giveup`: not before `retry-after` seconds (SHOULD), else [`DEFAULT_RETRY`];
/// - `rejected`, `noresource`, `invariant`: it SHOULD NOT re-subscribe;
/// - no reason, or one it does not know: the RFC only allows a retry (MAY), and it does not.
pub(super) fn resubscribe_after(
    reason: Option<&str>,
    retry_after: Option<u64>,
    faults: &BTreeSet<UeFault>,
) -> Option<Duration> {
    let reason = reason.unwrap_or_default().to_ascii_lowercase();
    match reason.as_str() {
        "deactivated" if faults.contains(&UeFault::NoResubscribeDeactivated) => None,
        "timeout" if faults.contains(&UeFault::NoResubscribeTimeout) => None,
        "deactivated" | "timeout" => Some(Duration::ZERO),
        "probation" | "giveup" => match retry_after {
            Some(_) if faults.contains(&UeFault::IgnoresRetryAfter) => Some(Duration::ZERO),
            Some(seconds) => Some(Duration::from_secs(seconds).min(LONGEST_WAIT)),
            None => Some(DEFAULT_RETRY),
        },
        "rejected" | "noresource" if faults.contains(&UeFault::ResubscribeAfterRejected) => {
            Some(Duration::ZERO)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults(list: &[UeFault]) -> BTreeSet<UeFault> {
        list.iter().copied().collect()
    }

    #[test]
    fn refreshes_at_four_fifths_and_a_second_early_where_possible() {
        let none = faults(&[]);
        let ms = |granted| refresh_delay(granted, &none).map(|d| d.as_millis());
        assert_eq!(ms(10), Some(8_000));
        assert_eq!(ms(3), Some(2_000));
        assert_eq!(ms(2), Some(1_000));
        assert_eq!(ms(1), Some(800));
        assert_eq!(ms(3600), Some(2_880_000));
        assert_eq!(ms(0), None);
        // Whatever the network grants, the wait stays finite and an instant can hold it.
        let longest = refresh_delay(u64::MAX, &none).expect("a refresh");
        assert!(longest <= LONGEST_WAIT);
        let _ = after(longest);
    }

    #[test]
    fn faults_change_the_refresh_time() {
        assert_eq!(refresh_delay(10, &faults(&[UeFault::NoRefresh])), None);
        assert_eq!(
            refresh_delay(10, &faults(&[UeFault::RefreshLate])),
            Some(Duration::from_secs(12))
        );
    }

    #[test]
    fn a_423_asks_for_the_min_expires_when_longer() {
        let none = faults(&[]);
        assert_eq!(after_423(600, Some(1200), &none), Some(1200));
        assert_eq!(after_423(600, Some(600), &none), None);
        assert_eq!(after_423(600, None, &none), None);
        let ignoring = faults(&[UeFault::Ignores423]);
        assert_eq!(after_423(600, Some(1200), &ignoring), Some(600));
    }

    #[test]
    fn reasons_decide_whether_and_when_to_subscribe_again() {
        let none = faults(&[]);
        let wait = |reason, retry| resubscribe_after(reason, retry, &none);
        assert_eq!(wait(Some("deactivated"), None), Some(Duration::ZERO));
        assert_eq!(wait(Some("Timeout"), Some(9)), Some(Duration::ZERO));
        assert_eq!(
            wait(Some("probation"), Some(7)),
            Some(Duration::from_secs(7))
        );
        assert_eq!(wait(Some("giveup"), None), Some(DEFAULT_RETRY));
        for never in ["rejected", "noresource", "invariant", "made-up"] {
            assert_eq!(wait(Some(never), None), None, "{never}");
        }
        assert_eq!(wait(None, Some(1)), None);
        assert_eq!(
            wait(Some("probation"), Some(u64::MAX)),
            Some(LONGEST_WAIT),
            "capped"
        );
    }

    #[test]
    fn faults_change_the_resubscription() {
        let with = |fault, reason, retry| resubscribe_after(Some(reason), retry, &faults(&[fault]));
        let now = Some(Duration::ZERO);
        assert_eq!(
            with(UeFault::NoResubscribeDeactivated, "deactivated", None),
            None
        );
        assert_eq!(with(UeFault::NoResubscribeTimeout, "timeout", None), None);
        assert_eq!(
            with(UeFault::ResubscribeAfterRejected, "rejected", None),
            now
        );
        assert_eq!(
            with(UeFault::ResubscribeAfterRejected, "noresource", None),
            now
        );
        assert_eq!(with(UeFault::IgnoresRetryAfter, "probation", Some(30)), now);
        assert_eq!(with(UeFault::IgnoresRetryAfter, "giveup", Some(30)), now);
        assert_eq!(
            with(UeFault::IgnoresRetryAfter, "probation", None),
            Some(DEFAULT_RETRY),
            "without retry-after there is nothing to ignore"
        );
    }
}
