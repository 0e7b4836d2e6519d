//! NOTIFYs the UE receives as a subscriber (RFC 6665 §4.1.3): one in a subscription dialog of
//! its own, or in the dialog of a SUBSCRIBE still waiting for its 2xx (§4.1.2.4), for the
//! presence event, is accepted with 200 and its Subscription-State is passed to the
//! subscription's watcher; one that matches no subscription gets 481.

use super::shared::{lock, Shared};
use super::watcher::WatchEvent;
use super::UeFault;
use crate::sip::SipMessage;

/// How a NOTIFY is answered.
pub(super) struct Answer {
    /// The status code of the response.
    pub code: u16,
    /// The watcher to tell (an index into the config's `watches`) and what, once the response
    /// has gone out.
    pub news: Option<(usize, WatchEvent)>,
}

impl Answer {
    fn only(code: u16) -> Answer {
        Answer { code, news: None }
    }
}

/// Answers a NOTIFY: 200 in a dialog of its own (a `terminated` one ends the dialog), 481 when
/// no dialog matches (200 under `ue-notify-200-unknown`) or its Event is not the
/// subscription's, 400 without Subscription-State, 500 when out of order.
pub(super) fn answer(shared: &Shared, notify: &SipMessage) -> Answer {
    let unknown = match shared.fault(UeFault::Notify200Unknown) {
        true => Answer::only(200),
        false => Answer::only(481),
    };
    let (Some(call_id), Some(to_tag), Some(from_tag)) =
        (notify.call_id(), notify.to_tag(), notify.from_tag())
    else {
        return unknown;
    };
    let mut dialogs = lock(&shared.dialogs);
    let Some((id, dialog)) = dialogs.find(call_id, &to_tag, &from_tag) else {
        return unknown;
    };
    // The subscription is to `presence` without an id (RFC 6665 §8.2.1).
    if notify
        .event()
        .is_none_or(|event| !event.package.eq_ignore_ascii_case("presence") || event.id.is_some())
    {
        return Answer::only(481);
    }
    let Some(state) = notify.subscription_state() else {
        return Answer::only(400);
    };
    if !dialog.established() && shared.fault(UeFault::NotifyBefore2xx481) {
        return Answer::only(481);
    }
    if let Err(code) = dialog.on_notify(notify) {
        return Answer::only(code);
    }
    let watch = dialog.watch;
    if state.state == "terminated" && !shared.fault(UeFault::KeepsTerminated) {
        dialogs.remove(id);
    }
    Answer {
        code: 200,
        news: Some((watch, WatchEvent::Notified { dialog: id, state })),
    }
}
