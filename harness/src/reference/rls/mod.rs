//! The resource list server (RFC 4662, RFC 4826): a `presence` SUBSCRIBE to the URI of a
//! `<service>` in the subscriber's rls-services documents subscribes to every member of that
//! list at once. The subscription lives in the notifier (dialog, refresh, expiry, NOTIFY
//! delivery); this module finds the list, negotiates `eventlist` and builds the multipart
//! RLMI bodies from the members' composed state in the ESC (no back-end subscriptions).
//!
//! Modules: `lists` (resolution from XCAP), `rlmi` (RLMI documents and multipart bodies).

mod lists;
mod rlmi;

use super::esc::Store;
use super::notifier::NotifyBody;
use super::pidf::PIDF_MEDIA_TYPE;
use super::presentity::Presentity;
use super::shared::Shared;
use super::xcap::XcapStore;
use super::Fault;
use crate::sip::SipMessage;
use rlmi::{Deviations, Instance, Notification, Resource};

/// The option tag of event lists (RFC 4662 §4.1).
pub(super) const EVENTLIST: &str = "eventlist";

/// Does the request say it supports event lists (`Supported: eventlist`)?
pub(super) fn supports_eventlist(request: &SipMessage) -> bool {
    request.tokens("Supported").iter().any(|t| t == EVENTLIST)
}

/// One member of a subscribed list.
struct Member {
    /// The URI as the list names it.
    uri: String,
    /// Its presentity in the ESC; `None` for URIs the ESC cannot hold (no instance then).
    who: Option<Presentity>,
    /// The instance id, stable for the subscription.
    instance: String,
}

/// The list side of a list subscription: the list, its members and the RLMI version counter.
pub(super) struct ListSubscription {
    /// The list URI: the SUBSCRIBE's Request-URI.
    uri: String,
    /// The subscriber's XCAP user (XUI) whose documents define the list.
    xui: String,
    /// The members, in list order.
    members: Vec<Member>,
    /// The version of the next RLMI document (RFC 4662 §5.2).
    version: u64,
    /// Unique per subscription: prefix of Content-IDs and boundaries.
    token: String,
    /// Bodies built so far, for unique Content-IDs.
    built: u64,
    /// Instance ids handed out so far.
    instances: u64,
    /// Fault switches that change the bodies.
    deviations: Deviations,
    /// Fault switch: composed documents in a wrong namespace.
    wrong_namespace: bool,
}

impl ListSubscription {
    /// The list a new SUBSCRIBE names, if its Request-URI is a service in the rls-services
    /// documents of the subscriber (RFC 4826 §4); `None` for any other SUBSCRIBE.
    pub fn for_request(
        shared: &Shared,
        xcap: &XcapStore,
        request: &SipMessage,
    ) -> Option<ListSubscription> {
        let uri = request.request_uri()?;
        let xui = lists::subscriber(request)?;
        let members = lists::resolve(xcap, &xui, uri)?;
        let mut list = ListSubscription {
            uri: uri.to_string(),
            xui,
            members: Vec::new(),
            version: u64::from(shared.fault(Fault::RlmiVersionFromOne)),
            token: shared.token(),
            built: 0,
            instances: 0,
            deviations: Deviations {
                dangling_cid: shared.fault(Fault::RlmiDanglingCid),
                start_at_instance: shared.fault(Fault::RlsPidfRoot),
            },
            wrong_namespace: shared.fault(Fault::WrongPidfNamespace),
        };
        list.set_members(members);
        Some(list)
    }

    /// The user whose documents define the list.
    pub fn xui(&self) -> &str {
        &self.xui
    }

    /// Resolves the list again after the user's XCAP documents changed; true when its members
    /// changed (they then need a full-state notification). Members that stay keep their
    /// instance ids. A list whose service is gone keeps its last members.
    pub fn reresolve(&mut self, xcap: &XcapStore) -> bool {
        let Some(members) = lists::resolve(xcap, &self.xui, &self.uri) else {
            return false;
        };
        if members.iter().eq(self.members.iter().map(|m| &m.uri)) {
            return false;
        }
        self.set_members(members);
        true
    }

    /// Replaces the members, keeping the instance ids of those already members.
    fn set_members(&mut self, uris: Vec<String>) {
        let mut old = std::mem::take(&mut self.members);
        for uri in uris {
            let member = match old.iter().position(|m| m.uri == uri) {
                Some(index) => old.swap_remove(index),
                None => {
                    self.instances += 1;
                    Member {
                        who: Presentity::from_uri(&uri),
                        instance: format!("{}.i{}", self.token, self.instances),
                        uri,
                    }
                }
            };
            self.members.push(member);
        }
    }

    /// A full-state notification: every member with its composed document.
    pub fn full_state(&mut self, esc: &Store) -> NotifyBody {
        let documents: Vec<Option<String>> = self
            .members
            .iter()
            .map(|m| m.who.as_ref().map(|w| esc.compose(w, self.wrong_namespace)))
            .collect();
        let chosen = (0..self.members.len()).zip(documents).collect();
        self.notification(true, chosen)
    }

    /// A partial notification after the presentity `who` changed to `document`: only the
    /// members that are `who`. `None` when `who` is not a member.
    pub fn member_changed(&mut self, who: &Presentity, document: &str) -> Option<NotifyBody> {
        let chosen: Vec<(usize, Option<String>)> = self
            .members
            .iter()
            .enumerate()
            .filter(|(_, m)| m.who.as_ref() == Some(who))
            .map(|(index, _)| (index, Some(document.to_string())))
            .collect();
        (!chosen.is_empty()).then(|| self.notification(false, chosen))
    }

    /// Builds the next body from chosen members (by index) and their documents; each body
    /// takes the next version.
    fn notification(
        &mut self,
        full_state: bool,
        chosen: Vec<(usize, Option<String>)>,
    ) -> NotifyBody {
        self.built += 1;
        let prefix = format!("{}.{}", self.token, self.built);
        let resources = chosen
            .into_iter()
            .filter_map(|(index, document)| {
                let member = self.members.get(index)?;
                Some(Resource {
                    uri: &member.uri,
                    instance: document.map(|document| Instance {
                        id: &member.instance,
                        cid: format!("{prefix}.{index}@rls"),
                        content_type: PIDF_MEDIA_TYPE,
                        document,
                    }),
                })
            })
            .collect();
        let notification = Notification {
            list_uri: &self.uri,
            version: self.version,
            full_state,
            resources,
        };
        let built = notification.build(&format!("{prefix}.root@rls"), &prefix, self.deviations);
        self.version += 1;
        NotifyBody {
            content_type: built.content_type,
            text: built.body,
        }
    }
}
