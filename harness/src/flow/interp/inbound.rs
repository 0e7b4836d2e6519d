//! Receiving: datagrams become parsed messages, pass the transaction layer (retransmissions
//! and provisional responses absorbed), find their dialog, and wait in `ready` for a step.

use super::select_body::body_selected;
use super::{Delivered, Delivery, DialogState, Runner};
use crate::check::headers;
use crate::check::verdict::{CheckResult, Outcome};
use crate::core::transaction::{response_target, ClientEvent, ResponseDisposition};
use crate::core::ServerEvent;
use crate::core::{Dialog, SubscriptionTracker};
use crate::flow::model::{HeaderCheckSpec, Step};
use crate::flow::vars::Vars;
use crate::net::{Direction, Inbound, Leg};
use crate::sip::typed::uri_of;
use crate::sip::SipMessage;
use std::collections::HashMap;
use std::time::Instant;

impl Runner<'_> {
    /// Waits for the next inbound datagram or transaction timer, up to `deadline`.
    /// Returns false once the deadline has passed.
    pub(super) async fn pump(&mut self, deadline: Instant) -> bool {
        let now = Instant::now();
        if now >= deadline {
            return false;
        }
        let timer = self
            .pending
            .iter()
            .filter_map(|p| p.tx.next_deadline())
            .min();
        let wake = timer.map_or(deadline, |t| t.min(deadline));
        let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(wake));
        tokio::select! {
            inbound = self.inbox.recv() => {
                if let Some(inbound) = inbound {
                    self.process(inbound).await;
                }
            }
            _ = sleep => self.fire_timers().await,
        }
        true
    }

    async fn fire_timers(&mut self) {
        let now = Instant::now();
        let mut resend = Vec::new();
        for pending in &mut self.pending {
            // A timed-out transaction just stops; the step waiting for its response reports it.
            if let Some(ClientEvent::Retransmit(bytes)) = pending.tx.on_timer(now) {
                resend.push((pending.node.clone(), pending.transport, bytes));
            }
        }
        for (node, transport, bytes) in resend {
            let note = Some("retransmission (timer E)".into());
            self.transmit(&node, self.settings.sut_addr, transport, &bytes, note)
                .await;
        }
    }

    /// Handles one message (a datagram, or one framed from a stream).
    async fn process(&mut self, inbound: Inbound) {
        if is_keepalive(&inbound.bytes) && inbound.framing_error.is_none() {
            return;
        }
        if self.trace.is_full() {
            // A flood: what the trace cannot hold is not processed either (bounded memory);
            // the run becomes an error naming it.
            self.unrecorded += 1;
            return;
        }
        let from = (self.sut_label(inbound.from), inbound.from.to_string());
        let to_addr = self
            .nodes
            .get(&inbound.node)
            .map(|n| n.addr.to_string())
            .unwrap_or_default();
        let parsed = match &inbound.framing_error {
            Some(why) => Err(crate::sip::ParseError(format!(
                "cannot frame the stream: {why}"
            ))),
            None => SipMessage::parse(&inbound.bytes),
        };
        let msg = match parsed {
            Ok(msg) => msg,
            Err(e) => {
                let leg = Leg {
                    at: inbound.at,
                    direction: Direction::Received,
                    from: (&from.0, from.1.clone()),
                    to: (&inbound.node, to_addr),
                    transport: inbound.transport,
                };
                let seq = self.trace.record(
                    leg,
                    &inbound.bytes,
                    "(unparseable)".into(),
                    Some(format!("malformed: {e}")),
                );
                self.malformed(seq, &e.to_string());
                return;
            }
        };
        let leg = Leg {
            at: inbound.at,
            direction: Direction::Received,
            from: (&from.0, from.1),
            to: (&inbound.node, to_addr.clone()),
            transport: inbound.transport,
        };
        let seq = self.trace.record(
            leg,
            &inbound.bytes,
            msg.summary(),
            (!msg.tolerated.is_empty()).then(|| format!("tolerated: {}", msg.tolerated.join(", "))),
        );
        if msg.is_request() {
            self.process_request(msg, inbound, seq).await;
        } else {
            self.process_response(msg, inbound, seq).await;
        }
    }

    fn sut_label(&self, addr: std::net::SocketAddr) -> String {
        if addr == self.settings.sut_addr {
            self.sut_name.clone()
        } else {
            self.nodes
                .values()
                .find(|n| n.addr == addr)
                .map_or_else(|| self.sut_name.clone(), |n| n.name.clone())
        }
    }

    fn malformed(&mut self, seq: usize, reason: &str) {
        let requirement = self.requirement(Some("rfc3261-message-syntax"));
        self.checks.push(CheckResult {
            step: "-".into(),
            check: "every message from the SUT is well-formed SIP".into(),
            requirement,
            outcome: Outcome::Fail,
            expected: "a SIP message per RFC 3261 §7".into(),
            actual: reason.to_string(),
            diff: None,
            message: Some(seq),
            deviation: None,
        });
    }

    async fn process_response(&mut self, msg: SipMessage, inbound: Inbound, seq: usize) {
        let Some(index) = self.pending.iter().position(|p| p.tx.matches(&msg)) else {
            self.trace.annotate(
                seq,
                "stray response: no transaction of ours matches its branch",
            );
            return;
        };
        self.acknowledge(index, &msg).await;
        let pending = &mut self.pending[index];
        match pending.tx.on_response(&msg) {
            ResponseDisposition::Provisional => {
                self.trace.annotate(seq, "provisional response, absorbed")
            }
            ResponseDisposition::Duplicate => {
                pending.answers.push(seq);
                self.trace
                    .annotate(seq, "retransmitted final response, absorbed")
            }
            ResponseDisposition::Final => {
                pending.answers.push(seq);
                let label = pending.label.clone();
                if let Some(name) = pending.dialog.clone() {
                    if msg.status().is_some_and(|c| (200..300).contains(&c)) {
                        if let Some(state) = self.dialogs.get_mut(&name) {
                            state.dialog.establish(&msg);
                        }
                    }
                }
                self.make_ready(msg, inbound, seq, Delivery::Response(label));
            }
        }
    }

    /// Sends the ACK of a non-2xx final response to an INVITE of ours, for the response and for
    /// each copy of it (RFC 3261 §17.1.1.2, §17.1.1.3), from the node that sent the INVITE.
    async fn acknowledge(&mut self, index: usize, response: &SipMessage) {
        let refused = response.status().is_some_and(|code| code >= 300);
        let invite = response
            .cseq()
            .is_some_and(|(_, method)| method == "INVITE");
        if !(refused && invite) {
            return;
        }
        let pending = &self.pending[index];
        let ack = SipMessage::parse(pending.tx.request())
            .ok()
            .and_then(|request| super::cancel_ack::ack_of(&request, response));
        if let Some(ack) = ack {
            let (node, transport) = (pending.node.clone(), pending.transport);
            let sut = self.settings.sut_addr;
            self.transmit(&node, sut, transport, &ack, None).await;
        }
    }

    async fn process_request(&mut self, msg: SipMessage, inbound: Inbound, seq: usize) {
        let event = self
            .server_tx
            .entry(inbound.node.clone())
            .or_default()
            .on_request(&msg);
        match event {
            ServerEvent::Resend(response) => {
                self.trace
                    .annotate(seq, "retransmission; our response sent again");
                let note = Some("response resent".into());
                self.transmit(
                    &inbound.node,
                    response_target(&msg, inbound.from, inbound.transport),
                    inbound.transport,
                    &response,
                    note,
                )
                .await;
                return;
            }
            ServerEvent::Absorbed => {
                self.trace.annotate(seq, "retransmission, absorbed");
                return;
            }
            ServerEvent::New => {}
        }
        let dialog = self
            .dialogs
            .iter()
            .find(|(_, s)| s.dialog.owns_request(&msg))
            .map(|(name, _)| name.clone());
        if let Some(name) = &dialog {
            if let Some(state) = self.dialogs.get_mut(name) {
                // A NOTIFY may arrive before the 2xx and establish the dialog (RFC 6665
                // §4.1.2.4); later ones refresh the remote target.
                state.dialog.establish(&msg);
            }
        }
        let method = msg.method().unwrap_or_default();
        if dialog.is_none() && !self.uas_methods.contains(&method) {
            let delivered = Delivered {
                msg,
                node: inbound.node,
                from: inbound.from,
                transport: inbound.transport,
                seq,
                kind: Delivery::Request(None),
                opens_dialog: false,
            };
            // A UE under test registers with the emulated registrar.
            if method == "REGISTER" && self.ue.is_some() {
                self.register(delivered).await;
                return;
            }
            // No step could take it (none opens a dialog with this method): a stray request,
            // answered at once rather than kept (RFC 6665 §4.1.3: 481 to a NOTIFY that
            // matches no subscription; RFC 3261 §12.2.2 for other requests).
            self.strays += 1;
            let note = Some(format!("answer to a stray {method}"));
            self.trace
                .annotate(seq, "stray: in no dialog of ours; answered 481");
            self.respond(&delivered, 481, &[], note).await;
            return;
        }
        self.make_ready(msg, inbound, seq, Delivery::Request(dialog));
    }

    /// Queues a message for the steps to take.
    fn make_ready(&mut self, msg: SipMessage, inbound: Inbound, seq: usize, kind: Delivery) {
        self.ready.push(Delivered {
            msg,
            node: inbound.node,
            from: inbound.from,
            transport: inbound.transport,
            seq,
            kind,
            opens_dialog: false,
        });
    }

    /// Removes and returns the first ready message an expect step selects.
    pub(super) fn take(&mut self, step: &Step) -> Option<Delivered> {
        let index = self.ready.iter().position(|d| {
            candidate(step, d)
                && self.opens_new_dialog_or_in_one(step, d)
                && selected(step, d, &self.vars, &self.namespaces)
        })?;
        let mut delivered = self.ready.remove(index);
        self.open_uas_dialog(step, &mut delivered);
        Some(delivered)
    }

    /// An out-of-dialog request is taken only by a step whose dialog it would open, or by a
    /// step for a request outside any dialog (a method that creates none).
    fn opens_new_dialog_or_in_one(&self, step: &Step, delivered: &Delivered) -> bool {
        delivered.kind != Delivery::Request(None)
            || step
                .dialog
                .as_ref()
                .is_none_or(|d| !self.dialogs.contains_key(d))
    }

    /// A request from the SUT that opens a dialog of ours (we are its UAS, e.g. the S-CSCF
    /// receiving a PNA's reg-event SUBSCRIBE): the dialog is created from it (RFC 3261
    /// §12.1.1) and the request now belongs to it.
    fn open_uas_dialog(&mut self, step: &Step, delivered: &mut Delivered) {
        let (Delivery::Request(None), Some(name)) = (&delivered.kind, &step.dialog) else {
            return;
        };
        let msg = &delivered.msg;
        let state = DialogState {
            dialog: Dialog::accept(msg, &crate::ids::token()),
            ue: delivered.node.clone(),
            event: msg.event(),
            tracker: SubscriptionTracker::default(),
            remote_uri: uri_of(msg.header("From").unwrap_or_default()),
            local_uri: Some(uri_of(msg.header("To").unwrap_or_default())),
            last_version: None,
            full_state_due: false,
            partial: None,
            first_carried_rlmi: None,
            watcher_ids: Default::default(),
            refreshed_target: None,
        };
        self.dialogs.insert(name.clone(), state);
        delivered.kind = Delivery::Request(Some(name.clone()));
        delivered.opens_dialog = true;
    }

    /// Like `take`, but a response must also have one of the step's status codes: in
    /// alternatives the status picks the branch.
    pub(super) fn take_for_branch(&mut self, step: &Step) -> Option<Delivered> {
        let index = self.ready.iter().position(|d| {
            candidate(step, d)
                && self.opens_new_dialog_or_in_one(step, d)
                && selected(step, d, &self.vars, &self.namespaces)
                && match (&step.status, d.msg.status()) {
                    (Some(status), Some(code)) => status.admits(code),
                    _ => true,
                }
        })?;
        let mut delivered = self.ready.remove(index);
        self.open_uas_dialog(step, &mut delivered);
        Some(delivered)
    }

    /// Requests that waiting steps with a `select` pass over: candidates of such a step that
    /// no waiting step selects. They are removed from `ready`.
    pub(super) fn take_intermediate(&mut self, waiting: &[&Step]) -> Vec<Delivered> {
        if !waiting.iter().any(|s| is_selective(s)) {
            return Vec::new();
        }
        let vars = &self.vars;
        let namespaces = &self.namespaces;
        let (passed, kept): (Vec<Delivered>, Vec<Delivered>) =
            std::mem::take(&mut self.ready).into_iter().partition(|d| {
                waiting.iter().any(|s| is_selective(s) && candidate(s, d))
                    && !waiting
                        .iter()
                        .any(|s| candidate(s, d) && selected(s, d, vars, namespaces))
            });
        self.ready = kept;
        passed
    }
}

/// Whether a ready message is one an expect step could take, before its `select`: the
/// response to its request, a request of its method in its dialog, or one that opens the
/// step's dialog at the node the step names.
fn candidate(step: &Step, delivered: &Delivered) -> bool {
    match &delivered.kind {
        Delivery::Response(label) => {
            step.expects_response() && step.of.as_deref() == Some(label.as_str())
        }
        Delivery::Request(dialog) => {
            let in_its_dialog = dialog.is_some() && dialog.as_deref() == step.dialog.as_deref();
            // A request outside our dialogs, arriving where a step opening a dialog waits.
            let opening = dialog.is_none()
                && step.dialog.is_some()
                && step.at.as_deref() == Some(delivered.node.as_str());
            // A request outside any dialog (e.g. PUBLISH) where a step without one waits.
            let standalone = dialog.is_none()
                && step.dialog.is_none()
                && step.at.as_deref() == Some(delivered.node.as_str());
            !step.expects_response()
                && delivered.msg.method().as_deref() == step.expect.as_deref()
                && (in_its_dialog || opening || standalone)
        }
    }
}

/// Whether the message satisfies every matcher of the step's `select` and `select_xml`.
fn selected(
    step: &Step,
    delivered: &Delivered,
    vars: &Vars,
    namespaces: &HashMap<String, String>,
) -> bool {
    let body_ok = step
        .select_xml
        .as_ref()
        .is_none_or(|checks| body_selected(&delivered.msg, checks, vars, namespaces));
    body_ok
        && step
            .select
            .iter()
            .flat_map(|s| s.iter())
            .all(|(name, value)| {
                serde_yaml::from_value::<HeaderCheckSpec>(value.clone()).is_ok_and(|spec| {
                    headers::eval(&delivered.msg, name, &spec, vars, &mut Vec::new())
                        .iter()
                        .all(|a| a.ok)
                })
            })
}

/// A step that chooses among the requests of its dialog (so it passes some over).
fn is_selective(step: &Step) -> bool {
    step.select.is_some() || step.select_xml.is_some()
}

/// A keep-alive, not a SIP message: line ends only (RFC 5626 §3.5.1), or a STUN message
/// (RFC 5389: the first two bits are zero; a SIP message starts with a letter).
fn is_keepalive(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| b.is_ascii_whitespace()) || bytes.first().is_some_and(|b| *b < 0x04)
}
