//! The resource list server (RFC 4662, RFC 4826): a `presence` SUBSCRIBE to the URI of a
//! `<service>` in the subscriber's rls-services documents subscribes to every member of that
//! list at once. The subscription lives in the notifier (dialog, refresh, expiry, NOTIFY
//! delivery); this module finds the list, negotiates `eventlist` and builds the multipart
//! RLMI bodies from the members' composed state in the ESC (no back-end subscriptions). Each
//! member's state is shown as that member's pres-rules let the list's subscriber see it
//! (RFC 4662 §7.2, RFC 5025): `pending` while they ask for confirmation, `terminated` with
//! reason `rejected` when they block, the neutral document under polite-block, else the
//! document as their transformations allow; without pres-rules, the whole document.
//!
//! Modules: `lists` (resolution from XCAP), `rlmi` (RLMI documents and multipart bodies).

mod lists;
mod rlmi;

use super::authz::{self, Decision, Handling, Watcher};
use super::esc::{self, Store};
use super::notifier::NotifyBody;
use super::pidf::{ComposeFaults, PIDF_MEDIA_TYPE};
use super::presentity::Presentity;
use super::shared::{lock, FirstWatchers, Shared};
use super::xcap::XcapStore;
use super::Fault;
use crate::sip::SipMessage;
use rlmi::{Deviations, Instance, InstanceState, Notification, Resource};
use std::sync::{Arc, Mutex};

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
    /// The instance id, stable for the subscription while the member does not block the
    /// subscriber.
    instance: String,
    /// The member's pres-rules decision for the subscriber when last shown.
    decision: Decision,
}

/// How a member is shown to the list's subscriber.
enum View {
    /// An active instance with this document.
    Document(String),
    /// A pending instance.
    Pending,
    /// A terminated instance (rejected).
    Rejected,
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
    /// Fault switches that change the members' composed documents.
    compose_faults: ComposeFaults,
    /// The list's subscriber, as the members' pres-rules know watchers.
    watcher: Watcher,
    /// Fault switch: pres-rules are ignored.
    ignore_rules: bool,
    /// Fault switch RlsBackendShared: the first subscriber each member was decided for, shared
    /// by every list subscription.
    first_watchers: Option<Arc<Mutex<FirstWatchers>>>,
    /// Fault switch: a politely blocked watcher gets the real document.
    reveal: bool,
    /// Fault switch: full-state documents after the first say `fullState="false"`.
    partial_after_first: bool,
    /// Fault switch: full-state documents after the first show the first member only.
    first_member_after_first: bool,
}

impl ListSubscription {
    /// The list a new SUBSCRIBE names, if its Request-URI is a service in the rls-services
    /// documents of the subscriber (RFC 4826 §4); `None` for any other SUBSCRIBE.
    pub fn for_request(
        shared: &Shared,
        xcap: &XcapStore,
        esc: &Store,
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
                bad_language_tag: shared.fault(Fault::RlmiBadLanguageTag),
                terminated_without_reason: shared.fault(Fault::RlmiTerminatedWithoutReason),
            },
            compose_faults: esc::compose_faults(shared),
            watcher: Watcher::of_request(request),
            ignore_rules: shared.fault(Fault::IgnorePresRules),
            first_watchers: shared
                .fault(Fault::RlsBackendShared)
                .then(|| Arc::clone(&shared.first_watchers)),
            first_member_after_first: shared.fault(Fault::RlsRefreshFirstOnly),
            reveal: shared.fault(Fault::PoliteBlockReveals),
            partial_after_first: shared.fault(Fault::RlmiPartialAfterSubscribe),
        };
        list.set_members(members, xcap, esc);
        Some(list)
    }

    /// Under fault switch RlsNestedLoop: does another turn of an unguarded loop of back-end
    /// subscriptions follow each answered NOTIFY (a member is one of the subscriber's own
    /// services, which leads back here)?
    pub fn loops_again(&self, xcap: &XcapStore) -> bool {
        self.members
            .iter()
            .any(|m| lists::resolve(xcap, &self.xui, &m.uri).is_some())
    }

    /// The user whose documents define the list.
    pub fn xui(&self) -> &str {
        &self.xui
    }

    /// Resolves the list again after the user's XCAP documents changed; true when its members
    /// changed (they then need a full-state notification). Members that stay keep their
    /// instance ids. A list whose service is gone keeps its last members.
    pub fn reresolve(&mut self, xcap: &XcapStore, esc: &Store) -> bool {
        let Some(members) = lists::resolve(xcap, &self.xui, &self.uri) else {
            return false;
        };
        if members.iter().eq(self.members.iter().map(|m| &m.uri)) {
            return false;
        }
        self.set_members(members, xcap, esc);
        true
    }

    /// Replaces the members, keeping the instance ids of those already members.
    fn set_members(&mut self, uris: Vec<String>, xcap: &XcapStore, esc: &Store) {
        let mut old = std::mem::take(&mut self.members);
        for uri in uris {
            let member = match old.iter().position(|m| m.uri == uri) {
                Some(index) => old.swap_remove(index),
                None => {
                    let who = Presentity::from_uri(&uri);
                    Member {
                        decision: self.decide(xcap, esc, who.as_ref()),
                        instance: self.next_instance(),
                        who,
                        uri,
                    }
                }
            };
            self.members.push(member);
        }
    }

    /// A fresh instance id.
    fn next_instance(&mut self) -> String {
        self.instances += 1;
        format!("{}.i{}", self.token, self.instances)
    }

    /// The pres-rules decision of member `who` for the subscriber (open under the
    /// `IgnorePresRules` fault, and for URIs the ESC cannot hold).
    fn decide(&self, xcap: &XcapStore, esc: &Store, who: Option<&Presentity>) -> Decision {
        match (who, &self.first_watchers) {
            (Some(_), _) if self.ignore_rules => Decision::OPEN,
            (Some(who), Some(first)) => {
                let watcher = lock(first)
                    .entry(who.clone())
                    .or_insert_with(|| self.watcher.clone())
                    .clone();
                authz::decide(xcap, esc, who, &watcher, Default::default())
            }
            (Some(who), None) => authz::decide(xcap, esc, who, &self.watcher, Default::default()),
            (None, _) => Decision::OPEN,
        }
    }

    /// How member `index` is shown under `decision`, given its composed document.
    fn view(&self, index: usize, decision: &Decision, composed: &str) -> View {
        match decision.handling {
            Handling::Block => View::Rejected,
            Handling::Confirm => View::Pending,
            Handling::PoliteBlock if !self.reveal => {
                let entity = self.members[index].who.as_ref().map(Presentity::entity);
                View::Document(authz::neutral(&entity.unwrap_or_default()))
            }
            _ => View::Document(authz::filter(composed, decision.transformations.as_ref())),
        }
    }

    /// A full-state notification: every member as its pres-rules let the subscriber see it.
    pub fn full_state(&mut self, esc: &Store, xcap: &XcapStore) -> NotifyBody {
        let mut chosen = Vec::new();
        for index in 0..self.members.len() {
            let who = self.members[index].who.clone();
            let decision = self.decide(xcap, esc, who.as_ref());
            let view =
                who.map(|w| self.view(index, &decision, &esc.compose(&w, self.compose_faults)));
            self.members[index].decision = decision;
            chosen.push((index, view));
        }
        let labelled_full = !(self.partial_after_first && self.built > 0);
        if self.first_member_after_first && self.built > 0 {
            chosen.truncate(1);
        }
        self.notification(labelled_full, chosen)
    }

    /// A partial notification after the presentity `who` changed to `document`: only the
    /// members that are `who` and whose rules let the subscriber see their state. `None` when
    /// no such member changed.
    pub fn member_changed(&mut self, who: &Presentity, document: &str) -> Option<NotifyBody> {
        let chosen: Vec<(usize, Option<View>)> = self
            .members
            .iter()
            .enumerate()
            .filter(|(_, m)| m.who.as_ref() == Some(who))
            .filter(|(_, m)| {
                m.decision.handling == Handling::Allow
                    || (m.decision.handling == Handling::PoliteBlock && self.reveal)
            })
            .map(|(index, m)| (index, Some(self.view(index, &m.decision, document))))
            .collect();
        (!chosen.is_empty()).then(|| self.notification(false, chosen))
    }

    /// The pres-rules of `who` changed: a partial notification with the members that are `who`
    /// and whose decision for the subscriber changed (RFC 4662 §5.2). A member that stops
    /// blocking gets a new instance. `None` when nothing changed for the subscriber.
    pub fn rules_changed(
        &mut self,
        who: &Presentity,
        esc: &Store,
        xcap: &XcapStore,
    ) -> Option<NotifyBody> {
        let decision = self.decide(xcap, esc, Some(who));
        let mut chosen = Vec::new();
        for index in 0..self.members.len() {
            let member = &self.members[index];
            if member.who.as_ref() != Some(who) || member.decision == decision {
                continue;
            }
            if member.decision.handling == Handling::Block {
                self.members[index].instance = self.next_instance();
            }
            let composed = esc.compose(who, self.compose_faults);
            chosen.push((index, Some(self.view(index, &decision, &composed))));
            self.members[index].decision = decision.clone();
        }
        (!chosen.is_empty()).then(|| self.notification(false, chosen))
    }

    /// Builds the next body from chosen members (by index) and their views; each body takes
    /// the next version.
    fn notification(&mut self, full_state: bool, chosen: Vec<(usize, Option<View>)>) -> NotifyBody {
        self.built += 1;
        let prefix = format!("{}.{}", self.token, self.built);
        let resources = chosen
            .into_iter()
            .filter_map(|(index, view)| {
                let member = self.members.get(index)?;
                Some(Resource {
                    uri: &member.uri,
                    instance: view.map(|view| Instance {
                        id: &member.instance,
                        state: match view {
                            View::Document(document) => InstanceState::Active {
                                cid: format!("{prefix}.{index}@rls"),
                                content_type: PIDF_MEDIA_TYPE,
                                document,
                            },
                            View::Pending => InstanceState::Pending,
                            View::Rejected => InstanceState::Terminated("rejected"),
                        },
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
