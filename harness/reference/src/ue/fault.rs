//! Fault switches of the reference UE: each breaks one requirement of RFC 3903 (publication)
//! or RFC 6665 (subscription) on purpose, so the harness can show that it notices.

use std::fmt;
use std::str::FromStr;

/// A requirement the reference UE breaks on purpose (kebab-case names, prefixed `ue-`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UeFault {
    /// Never refreshes a publication or a subscription.
    NoRefresh,
    /// A PUBLISH refresh carries the PIDF body again.
    RefreshWithBody,
    /// Refreshes at 1.2 times the granted interval, after the state lapsed.
    RefreshLate,
    /// After 423 retries with the Expires it asked before.
    Ignores423,
    /// After 412 retries the same conditional PUBLISH with the stale entity-tag.
    Ignores412,
    /// A status change goes out as an initial PUBLISH though a publication exists.
    ModifyWithoutEtag,
    /// Stopping sends no PUBLISH with Expires 0.
    NoUnpublish,
    /// Stopping sends no SUBSCRIBE with Expires 0.
    NoUnsubscribe,
    /// The PIDF `entity` names another URI than the UE's address-of-record.
    WrongEntity,
    /// The SUBSCRIBE's Accept lists only application/xpidf+xml.
    NoAcceptPidf,
    /// NOTIFYs are never answered.
    NotifyUnanswered,
    /// A NOTIFY of an unknown dialog gets 200 instead of 481.
    Notify200Unknown,
    /// Re-subscribes at once after `terminated;reason=rejected` or `noresource`.
    ResubscribeAfterRejected,
    /// Does not re-subscribe after `terminated;reason=deactivated`.
    NoResubscribeDeactivated,
    /// Re-subscribes at once after probation or giveup, whatever the retry-after.
    IgnoresRetryAfter,
    /// A status change goes out at once, while the previous PUBLISH waits for its answer.
    PublishOverlap,
    /// Requests outside a dialog leave out the Service-Route of the registration.
    IgnoresServiceRoute,
    /// A NOTIFY that comes before the 2xx to its SUBSCRIBE gets 481.
    NotifyBefore2xx481,
    /// A subscription a NOTIFY terminated is kept: later NOTIFYs of its dialog get 200.
    KeepsTerminated,
    /// A 401 or 407 to its REGISTER is not answered with credentials.
    IgnoresChallenge,
    /// A 401 or 407 to its REGISTER is answered with a Digest response made with another
    /// password.
    WrongDigest,
    /// The Record-Route of the 2xx to its SUBSCRIBE is not taken as the dialog's route set.
    IgnoresRecordRoute,
    /// A NOTIFY is answered only after 3 s, as by a UE that waits for its user.
    NotifyLate,
    /// Does not re-subscribe after `terminated;reason=timeout`.
    NoResubscribeTimeout,
}

/// Every fault, in declaration order.
const ALL: &[UeFault] = &[
    UeFault::NoRefresh,
    UeFault::RefreshWithBody,
    UeFault::RefreshLate,
    UeFault::Ignores423,
    UeFault::Ignores412,
    UeFault::ModifyWithoutEtag,
    UeFault::NoUnpublish,
    UeFault::NoUnsubscribe,
    UeFault::WrongEntity,
    UeFault::NoAcceptPidf,
    UeFault::NotifyUnanswered,
    UeFault::Notify200Unknown,
    UeFault::ResubscribeAfterRejected,
    UeFault::NoResubscribeDeactivated,
    UeFault::IgnoresRetryAfter,
    UeFault::PublishOverlap,
    UeFault::IgnoresServiceRoute,
    UeFault::NotifyBefore2xx481,
    UeFault::KeepsTerminated,
    UeFault::IgnoresChallenge,
    UeFault::WrongDigest,
    UeFault::IgnoresRecordRoute,
    UeFault::NotifyLate,
    UeFault::NoResubscribeTimeout,
];

impl UeFault {
    /// Every fault, in declaration order.
    pub fn all() -> &'static [UeFault] {
        ALL
    }

    /// The kebab-case name, e.g. `ue-no-refresh`.
    pub fn name(self) -> &'static str {
        match self {
            UeFault::NoRefresh => "ue-no-refresh",
            UeFault::RefreshWithBody => "ue-refresh-with-body",
            UeFault::RefreshLate => "ue-refresh-late",
            UeFault::Ignores423 => "ue-ignores-423",
            UeFault::Ignores412 => "ue-ignores-412",
            UeFault::ModifyWithoutEtag => "ue-modify-without-etag",
            UeFault::NoUnpublish => "ue-no-unpublish",
            UeFault::NoUnsubscribe => "ue-no-unsubscribe",
            UeFault::WrongEntity => "ue-wrong-entity",
            UeFault::NoAcceptPidf => "ue-no-accept-pidf",
            UeFault::NotifyUnanswered => "ue-notify-unanswered",
            UeFault::Notify200Unknown => "ue-notify-200-unknown",
            UeFault::ResubscribeAfterRejected => "ue-resubscribe-after-rejected",
            UeFault::NoResubscribeDeactivated => "ue-no-resubscribe-deactivated",
            UeFault::IgnoresRetryAfter => "ue-ignores-retry-after",
            UeFault::PublishOverlap => "ue-publish-overlap",
            UeFault::IgnoresServiceRoute => "ue-ignores-service-route",
            UeFault::NotifyBefore2xx481 => "ue-notify-before-2xx-481",
            UeFault::KeepsTerminated => "ue-keeps-terminated",
            UeFault::IgnoresChallenge => "ue-ignores-challenge",
            UeFault::WrongDigest => "ue-wrong-digest",
            UeFault::IgnoresRecordRoute => "ue-ignores-record-route",
            UeFault::NotifyLate => "ue-notify-late",
            UeFault::NoResubscribeTimeout => "ue-no-resubscribe-timeout",
        }
    }

    /// One line: what the fault breaks, naming the RFC section.
    pub fn description(self) -> &'static str {
        match self {
            UeFault::NoRefresh => {
                "never refreshes a publication or a subscription, which lapses (RFC 3903 §4.3, RFC 6665 §4.1.2.2)"
            }
            UeFault::RefreshWithBody => {
                "a PUBLISH refresh carries the PIDF body again, though a refresh has none (RFC 3903 §4.3)"
            }
            UeFault::RefreshLate => {
                "refreshes at 1.2 times the granted interval, after the publication or subscription expired (RFC 3903 §4.3, RFC 6665 §4.1.2.2)"
            }
            UeFault::Ignores423 => {
                "after 423 Interval Too Brief retries with the Expires it asked before, not Min-Expires (RFC 3903 §5, RFC 3261 §21.4.17)"
            }
            UeFault::Ignores412 => {
                "after 412 Conditional Request Failed retries the same PUBLISH with the stale SIP-If-Match, not an initial one (RFC 3903 §5)"
            }
            UeFault::ModifyWithoutEtag => {
                "a status change goes out as an initial PUBLISH without SIP-If-Match though its publication exists (RFC 3903 §4.4)"
            }
            UeFault::NoUnpublish => {
                "when the user quits, sends no PUBLISH with Expires 0 to remove its publication (RFC 3903 §4.5)"
            }
            UeFault::NoUnsubscribe => {
                "when the user quits, sends no SUBSCRIBE with Expires 0 to end its subscriptions (RFC 6665 §4.1.2.3)"
            }
            UeFault::WrongEntity => {
                "the PIDF entity attribute names another URI than the publishing address-of-record (RFC 3863 §4.1.1, RFC 3903 §4.1)"
            }
            UeFault::NoAcceptPidf => {
                "the SUBSCRIBE's Accept lists only application/xpidf+xml, not application/pidf+xml (RFC 3856 §6.2)"
            }
            UeFault::NotifyUnanswered => {
                "never answers a NOTIFY, though a subscriber returns a response to each (RFC 6665 §4.1.3)"
            }
            UeFault::Notify200Unknown => {
                "answers 200 instead of 481 to a NOTIFY that matches none of its subscriptions (RFC 6665 §4.1.3)"
            }
            UeFault::ResubscribeAfterRejected => {
                "re-subscribes at once after terminated;reason=rejected or noresource, which say not to (RFC 6665 §4.1.3)"
            }
            UeFault::NotifyBefore2xx481 => {
                "a NOTIFY that comes before the 2xx to its SUBSCRIBE gets 481, though a subscriber must be prepared for it (RFC 6665 §4.1.2.4)"
            }
            UeFault::NoResubscribeTimeout => {
                "does not re-subscribe after terminated;reason=timeout, after which a client MAY re-subscribe at once (RFC 6665 §4.1.3)"
            }
            UeFault::NotifyLate => {
                "answers a NOTIFY only after 3 s, reading nothing meanwhile, as a UE that waits for its user (RFC 6665 §4.1.3)"
            }
            UeFault::IgnoresRecordRoute => {
                "takes no route set from the Record-Route of the 2xx to its SUBSCRIBE: its requests in the dialog carry no Route (RFC 3261 §12.1.2, §12.2.1.1)"
            }
            UeFault::IgnoresChallenge => {
                "does not retry a REGISTER answered 401 or 407 with credentials (RFC 3261 §8.1.3.5)"
            }
            UeFault::WrongDigest => {
                "retries a REGISTER answered 401 or 407 with a Digest response made with another password (RFC 3261 §8.1.3.5, §22.2; RFC 2617 §3.2.2)"
            }
            UeFault::KeepsTerminated => {
                "keeps a subscription a NOTIFY terminated: a later NOTIFY of its dialog gets 200, not 481 (RFC 6665 §4.1.3)"
            }
            UeFault::IgnoresServiceRoute => {
                "requests outside a dialog carry only the P-CSCF's Route, not the Service-Route of the 2xx to REGISTER (RFC 3608 §6, TS 24.229 §5.1.2A.1)"
            }
            UeFault::PublishOverlap => {
                "a status change goes out at once as a new PUBLISH while the previous one has no final response (RFC 3903 §4)"
            }
            UeFault::NoResubscribeDeactivated => {
                "does not re-subscribe after terminated;reason=deactivated, which asks for a new subscription at once (RFC 6665 §4.1.3)"
            }
            UeFault::IgnoresRetryAfter => {
                "re-subscribes at once after probation or giveup, before their retry-after has passed (RFC 6665 §4.1.3)"
            }
        }
    }
}

impl fmt::Display for UeFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A UE fault name that is not one of [`UeFault::all`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownUeFault(pub String);

impl fmt::Display for UnknownUeFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<&str> = ALL.iter().map(|f| f.name()).collect();
        write!(
            f,
            "unknown UE fault '{}'; known UE faults: {}",
            self.0,
            known.join(", ")
        )
    }
}

impl std::error::Error for UnknownUeFault {}

impl FromStr for UeFault {
    type Err = UnknownUeFault;

    /// Parses a kebab-case name (`ue-no-refresh`); case and surrounding spaces are ignored.
    fn from_str(s: &str) -> Result<UeFault, UnknownUeFault> {
        let wanted = s.trim();
        ALL.iter()
            .copied()
            .find(|f| f.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownUeFault(wanted.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_errors_list_known_names() {
        for fault in UeFault::all() {
            assert_eq!(fault.name().parse::<UeFault>(), Ok(*fault));
            assert!(fault.name().starts_with("ue-"), "{fault}");
            assert!(fault.description().contains("RFC "), "{fault}");
        }
        let names: std::collections::BTreeSet<&str> =
            UeFault::all().iter().map(|f| f.name()).collect();
        assert_eq!(names.len(), UeFault::all().len(), "fault names are unique");
        let mut sorted = ALL.to_vec();
        sorted.sort();
        assert_eq!(sorted, ALL, "the list is in declaration order");
        assert_eq!(" UE-No-Refresh ".parse(), Ok(UeFault::NoRefresh));
        let err = "ue-nope".parse::<UeFault>().unwrap_err().to_string();
        assert!(
            err.contains("'ue-nope'")
                && err.contains("ue-no-refresh")
                && err.contains("ue-ignores-retry-after"),
            "{err}"
        );
    }
}
