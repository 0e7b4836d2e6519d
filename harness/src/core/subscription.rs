//! The subscriber's view of one subscription (RFC 6665 §4.1.2), driven by the NOTIFYs received
//! and the refreshes sent.

use crate::sip::SubscriptionState;

/// What the subscriber must remember to judge the next NOTIFY.
#[derive(Debug, Clone, Default)]
pub struct SubscriptionTracker {
    /// The `expires` of the latest active or pending NOTIFY since the last (re)subscription:
    /// a later NOTIFY may shorten the subscription but not lengthen it (RFC 6665 §4.2.2).
    pub last_expires: Option<u64>,
}

impl SubscriptionTracker {
    /// Applies a NOTIFY's Subscription-State.
    pub fn on_notify(&mut self, state: &SubscriptionState) {
        if state.state != "terminated" {
            self.last_expires = state.expires;
        }
    }

    /// Forgets the previous expiry after a refresh SUBSCRIBE, which may lengthen it.
    pub fn on_refresh(&mut self) {
        self.last_expires = None;
    }
}
