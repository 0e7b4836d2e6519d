//! Sending: requests built for a UE and passed through its emulated proxies, and responses
//! to requests from the SUT.

use super::{Delivered, Delivery, DialogState, Pending, Runner, StepError};
use crate::core::transaction::{response_target, sent_by_address};
use crate::core::{ClientTransaction, Dialog, SubscriptionTracker};
use crate::flow::loader::scalar_text;
use crate::flow::model::{RoleKind, Step};
use crate::ids;
use crate::ims::{forward, transport_param, uri_scheme, Hop, NextHop, OutRequest};
use crate::net::{Direction, Leg, Transport};
use crate::sip::typed::{uri_equivalent, uri_of, uri_socket_addr};
use crate::sip::{MessageBuilder, SipMessage};
use std::net::SocketAddr;
use std::time::Instant;

/// Methods whose initial request creates a dialog (and so is record-routed).
const DIALOG_FORMING: &[&str] = &["SUBSCRIBE", "INVITE", "REFER"];

impl Runner<'_> {
    /// Substitutes variables; one an earlier failed step did not capture makes the step a
    /// dependency skip.
    pub(super) fn var(&self, text: &str) -> Result<String, StepError> {
        self.vars
            .substitute(text)
            .map_err(|e| StepError::Dependency(format!("{e}: the step that captures it did not")))
    }

    /// The step's headers to send, variables substituted.
    pub(super) fn headers_to_send(&self, step: &Step) -> Result<Vec<(String, String)>, StepError> {
        let mut headers = Vec::new();
        for (name, value) in step.headers.iter().flat_map(|h| h.iter()) {
            headers.push((
                name.clone(),
                self.var(&scalar_text(value).unwrap_or_default())?,
            ));
        }
        Ok(headers)
    }

    /// The step's body (a fixture file or inline text), variables substituted.
    pub(super) fn body_to_send(&self, step: &Step) -> Result<Vec<u8>, StepError> {
        let Some(body) = &step.body else {
            return Ok(Vec::new());
        };
        let text = match (&body.file, &body.text) {
            (Some(file), _) => self
                .loaded
                .read_fixture(file)
                .map_err(|e| format!("body file {file}: {e}"))?,
            (None, Some(text)) => text.clone(),
            (None, None) => String::new(),
        };
        let text = self.var(&text)?;
        body.encoding
            .encode(&text)
            .map_err(|e| StepError::Harness(format!("body: {e}")))
    }

    fn hop(&self, name: &str, transport: Transport) -> Result<Hop, String> {
        let role = self
            .loaded
            .flow
            .roles
            .get(name)
            .ok_or_else(|| format!("no role {name}"))?;
        let node = self
            .nodes
            .get(name)
            .ok_or_else(|| format!("no node {name}"))?;
        Ok(Hop {
            name: name.to_string(),
            kind: role.kind,
            addr: node.addr,
            domain: self
                .vars
                .get(&format!("{name}.domain"))
                .unwrap_or_default()
                .to_string(),
            record_route: role.record_route.unwrap_or(role.kind != RoleKind::ICscf),
            strict: role.strict_route,
            transport,
        })
    }

    /// Sends a request from a UE through its proxies to the SUT.
    pub(super) async fn send_request(&mut self, step: &Step) -> Result<(), StepError> {
        let ue = step.from.clone().unwrap_or_default();
        let method = step.send.clone().unwrap_or_default();
        let transport = step.transport.unwrap_or(self.settings.transport);
        let label = step
            .label
            .clone()
            .unwrap_or_else(|| format!("{method}-{}", ids::token()));
        let ue_addr = self
            .nodes
            .get(&ue)
            .map(|n| n.addr)
            .ok_or_else(|| format!("no node {ue}"))?;

        let aor = self.var(&format!("${{{ue}.aor}}"))?;
        let contact = self.var(&format!("${{{ue}.contact}}"))?;
        let in_dialog = step
            .dialog
            .as_ref()
            .and_then(|d| self.dialogs.get(d))
            .is_some_and(|s| s.dialog.remote_tag.is_some());

        if !in_dialog && step.uri.is_none() {
            let name = step.dialog.clone().unwrap_or_default();
            return Err(StepError::Dependency(format!(
                "dialog {name} was never established"
            )));
        }
        let mut request = OutRequest {
            method: method.clone(),
            uri: String::new(),
            headers: Vec::new(),
            body: Vec::new(),
        };
        request.headers.push((
            "Via".into(),
            format!(
                "SIP/2.0/{} {ue_addr};branch={}",
                transport.via_name(),
                ids::branch()
            ),
        ));
        request.headers.push(("Max-Forwards".into(), "70".into()));
        let path: Vec<String>;
        let initial = !in_dialog;
        if in_dialog {
            let name = step.dialog.clone().unwrap_or_default();
            let state = self
                .dialogs
                .get_mut(&name)
                .ok_or_else(|| "dialog vanished".to_string())?;
            // A fork leaves the dialog as it is: its own tag, its own first CSeq.
            let (cseq, local_tag) = if step.fork {
                (1, ids::token())
            } else {
                state.tracker.on_refresh();
                (state.dialog.next_cseq(), state.dialog.local_tag.clone())
            };
            request.uri = state
                .dialog
                .remote_target
                .clone()
                .unwrap_or_else(|| state.remote_uri.clone());
            if !state.dialog.route_set.is_empty() {
                request
                    .headers
                    .push(("Route".into(), state.dialog.route_set.join(", ")));
            }
            let local_uri = state.local_uri.clone().unwrap_or_else(|| aor.clone());
            request
                .headers
                .push(("From".into(), with_tag(&local_uri, &local_tag)));
            request.headers.push((
                "To".into(),
                format!(
                    "<{}>;tag={}",
                    state.remote_uri,
                    state.dialog.remote_tag.clone().unwrap_or_default()
                ),
            ));
            request
                .headers
                .push(("Call-ID".into(), state.dialog.call_id.clone()));
            request
                .headers
                .push(("CSeq".into(), format!("{cseq} {method}")));
            let routes = state.dialog.route_set.clone();
            // In a dialog the request visits the emulated proxies its route set names, in order.
            path = routes
                .iter()
                .filter_map(|r| {
                    let addr = uri_socket_addr(&uri_of(r));
                    self.nodes
                        .iter()
                        .find(|(_, n)| Some(n.addr) == addr)
                        .map(|(name, _)| name.clone())
                })
                .collect();
        } else {
            let uri = self.var(step.uri.as_deref().unwrap_or_default())?;
            request.uri = uri.clone();
            let role = self
                .loaded
                .flow
                .roles
                .get(&ue)
                .ok_or_else(|| "no UE role".to_string())?;
            path = role.path.clone();
            // The UE's initial route: its P-CSCF and the S-CSCF learned as Service-Route.
            let mut route = Vec::new();
            for hop in &path {
                let hop = self.hop(hop, transport)?;
                route.push(format!("<{};lr>", hop.uri()));
                if hop.kind == RoleKind::SCscf {
                    break;
                }
            }
            if !route.is_empty() {
                request.headers.push(("Route".into(), route.join(", ")));
            }
            request
                .headers
                .push(("From".into(), format!("<{aor}>;tag={}", ids::token())));
            request.headers.push(("To".into(), format!("<{uri}>")));
            request.headers.push((
                "Call-ID".into(),
                format!("{}@{}", ids::token(), ue_addr.ip()),
            ));
            request.headers.push(("CSeq".into(), format!("1 {method}")));
        }
        request
            .headers
            .push(("Contact".into(), format!("<{contact}>")));
        for (name, value) in self.headers_to_send(step)? {
            request.set(&name, value);
        }
        request.body = self.body_to_send(step)?;

        // Pass the emulated proxies in order, recording each internal hop.
        let dialog_forming = initial && DIALOG_FORMING.contains(&method.as_str());
        let icid = ids::token();
        let sut_uri = format!(
            "{}:{}{}",
            uri_scheme(transport),
            self.settings.sut_addr,
            transport_param(transport)
        );
        let mut previous = (ue.clone(), ue_addr);
        for (i, name) in path.iter().enumerate() {
            let hop = self.hop(name, transport)?;
            let bytes = request.to_bytes();
            let leg = Leg {
                at: Instant::now(),
                direction: Direction::Internal,
                from: (&previous.0, previous.1.to_string()),
                to: (name, hop.addr.to_string()),
                transport,
            };
            self.trace
                .record(leg, &bytes, format!("{method} {}", request.uri), None);
            let next_hop = match path.get(i + 1) {
                Some(next) => Some(self.hop(next, transport)?),
                None => None,
            };
            let next = match &next_hop {
                Some(h) => NextHop::Proxy(h),
                None => NextHop::Sut(&sut_uri),
            };
            forward(
                &mut request,
                &hop,
                &next,
                dialog_forming,
                initial,
                &icid,
                &ids::branch(),
            );
            previous = (name.clone(), hop.addr);
        }
        if let Some(role) = &step.via_port_of {
            let node = self
                .nodes
                .get(role)
                .ok_or_else(|| format!("no node {role}"))?;
            request.set_top_via_port(node.addr.port());
            if step.maddr {
                request.set_top_via_maddr(node.addr.ip());
            }
        }
        if let Some(host) = &step.via_host {
            request.rename_top_via_host(host);
        }
        let bytes = request.to_bytes();
        let sent = SipMessage::parse(&bytes)
            .map_err(|e| format!("the harness built an unreadable {method}: {e}"))?;
        let branch = sent.top_branch().unwrap_or_default();

        if let Some(name) = &step.dialog {
            if !in_dialog && !self.dialogs.contains_key(name) {
                let dialog = Dialog::new(
                    sent.call_id().unwrap_or_default(),
                    &sent.from_tag().unwrap_or_default(),
                    1,
                    sent.header_values("Record-Route"),
                );
                self.dialogs.insert(
                    name.clone(),
                    DialogState {
                        dialog,
                        ue: ue.clone(),
                        event: sent.event(),
                        tracker: SubscriptionTracker::default(),
                        remote_uri: uri_of(sent.header("To").unwrap_or_default()),
                        local_uri: None,
                        last_version: None,
                        full_state_due: false,
                        partial: None,
                        first_carried_rlmi: None,
                        watcher_ids: Default::default(),
                        refreshed_target: None,
                    },
                );
            }
        }
        if let (true, "SUBSCRIBE", Some(state)) = (
            in_dialog,
            method.as_str(),
            step.dialog.as_ref().and_then(|d| self.dialogs.get_mut(d)),
        ) {
            state.full_state_due = true;
        }
        // A Contact other than the UE's own, set by the step, refreshes the dialog's target.
        let sent_contact = sent.header("Contact").map(uri_of);
        if let (Some(state), Some(sent_contact)) = (
            step.dialog.as_ref().and_then(|d| self.dialogs.get_mut(d)),
            sent_contact,
        ) {
            if !uri_equivalent(&sent_contact, &contact) {
                state.refreshed_target = Some(sent_contact);
            }
        }
        let node = previous.0.clone();
        // A request broken on purpose goes out (and is retransmitted) broken.
        let (bytes, note) = match step.malformed {
            Some(how) => (
                super::stray::break_message(&bytes, how),
                Some(format!("sent broken ({how:?})")),
            ),
            None => (bytes, None),
        };
        self.transmit(&node, self.settings.sut_addr, transport, &bytes, note)
            .await;
        let tx = ClientTransaction::new(
            &branch,
            &method,
            bytes,
            transport.is_stream(),
            self.settings.timers,
            Instant::now(),
        );
        self.pending.push(Pending {
            label,
            tx,
            node,
            transport,
            // A fork's answers belong to no dialog of the flow.
            dialog: step.dialog.clone().filter(|_| !step.fork),
            answers: Vec::new(),
        });
        Ok(())
    }

    /// Answers a request the SUT sent (labelled by an earlier expect step).
    pub(super) async fn send_reply(&mut self, step: &Step) -> Result<(), StepError> {
        let of = step.of.clone().unwrap_or_default();
        let delivered = self
            .received
            .get(&of)
            .cloned()
            .ok_or_else(|| StepError::Dependency(format!("{of} never arrived")))?;
        let extra = self.headers_to_send(step)?;
        let code = step.reply.unwrap_or(200);
        self.record_routes_of_reply(&delivered, code, &extra);
        let over_tcp = delivered.transport.is_stream();
        match step.malformed {
            None if step.new_connection == Some(true) && over_tcp => {
                self.respond_on_new_connection(&delivered, code, &extra)
                    .await
            }
            None => self.respond(&delivered, code, &extra, None).await,
            Some(how) => {
                let bytes =
                    super::stray::break_message(&self.response(&delivered, code, &extra), how);
                let note = Some(format!(
                    "sent broken ({how:?}), not kept for retransmissions"
                ));
                self.send_to_source(&delivered, &bytes, note).await;
            }
        }
        Ok(())
    }

    /// Closes the TCP connection `delivered` came on and sends the response over a connection to
    /// its source address and top Via sent-by port (RFC 3261 §18.2.2), kept for copies of the
    /// request like any response.
    async fn respond_on_new_connection(
        &mut self,
        delivered: &Delivered,
        code: u16,
        extra: &[(String, String)],
    ) {
        if let Some(node) = self.nodes.get(&delivered.node) {
            node.close(delivered.transport, delivered.from);
        }
        let dest = sent_by_address(&delivered.msg, delivered.from).unwrap_or(delivered.from);
        let note = Some(format!(
            "the connection from {} closed; sent over a connection to {dest}",
            delivered.from
        ));
        self.respond_at(delivered, code, extra, dest, note).await;
    }

    /// A 2xx of ours to a request of the SUT that opened a dialog, with Record-Route headers
    /// (the proxies on the path recording the route): the SUT, as the UAC, takes them reversed
    /// as its route set (RFC 3261 §12.1.2), which its requests in the dialog must follow.
    fn record_routes_of_reply(
        &mut self,
        delivered: &Delivered,
        code: u16,
        extra: &[(String, String)],
    ) {
        let Delivery::Request(Some(name)) = &delivered.kind else {
            return;
        };
        if !delivered.opens_dialog || !(200..300).contains(&code) {
            return;
        }
        let recorded: Vec<String> = extra
            .iter()
            .filter(|(header, _)| header.eq_ignore_ascii_case("Record-Route"))
            .flat_map(|(_, value)| crate::sip::text::split_list(value))
            .collect();
        if let Some(state) = self.dialogs.get_mut(name) {
            state.dialog.sut_route_set = recorded.into_iter().rev().collect();
        }
    }

    /// Answers a request the SUT sent, from the node it reached, to its source (RFC 3261
    /// §18.2.2), on its transport; the response is kept for retransmissions of the request.
    pub(super) async fn respond(
        &mut self,
        delivered: &Delivered,
        code: u16,
        extra: &[(String, String)],
        note: Option<String>,
    ) {
        let dest = response_target(&delivered.msg, delivered.from, delivered.transport);
        self.respond_at(delivered, code, extra, dest, note).await;
    }

    /// Sends the response with `code` and `extra` headers to `dest`, on the request's
    /// transport, and keeps it for copies of the request.
    async fn respond_at(
        &mut self,
        delivered: &Delivered,
        code: u16,
        extra: &[(String, String)],
        dest: SocketAddr,
        note: Option<String>,
    ) {
        let bytes = self.response(delivered, code, extra);
        self.server_tx
            .entry(delivered.node.clone())
            .or_default()
            .on_response_sent(&delivered.msg, bytes.clone());
        self.transmit(&delivered.node, dest, delivered.transport, &bytes, note)
            .await;
    }

    /// The response with `code` and `extra` headers to a request the SUT sent; the To tag is
    /// the dialog's when the request opened one of ours.
    fn response(&self, delivered: &Delivered, code: u16, extra: &[(String, String)]) -> Vec<u8> {
        let our_tag = match &delivered.kind {
            Delivery::Request(Some(name)) if delivered.opens_dialog => {
                self.dialogs.get(name).map(|s| s.dialog.local_tag.clone())
            }
            _ => None,
        };
        let mut builder = MessageBuilder::response_to(&delivered.msg, code, our_tag.as_deref());
        for (name, value) in extra {
            builder.push_header(name, value.clone());
        }
        builder.build()
    }

    /// Sends a response from the node a request reached, on its transport, to where RFC 3261
    /// §18.2.2 sends it ([`response_target`]).
    async fn send_to_source(&mut self, delivered: &Delivered, bytes: &[u8], note: Option<String>) {
        self.transmit(
            &delivered.node,
            response_target(&delivered.msg, delivered.from, delivered.transport),
            delivered.transport,
            bytes,
            note,
        )
        .await;
    }

    /// A request the waiting steps passed over (see `Step::select`): the dialog rules are
    /// checked on it and it is answered 200.
    pub(super) async fn answer_intermediate(&mut self, prefix: &str, delivered: Delivered) {
        self.trace.annotate(
            delivered.seq,
            "intermediate: no waiting step selects it; answered 200",
        );
        if let Delivery::Request(Some(dialog)) = &delivered.kind {
            let dialog = dialog.clone();
            self.dialog_checks(&format!("{prefix} (intermediate)"), &delivered, &dialog);
        }
        self.respond(&delivered, 200, &[], Some("answered by the harness".into()))
            .await;
    }

    /// Puts bytes on the wire from a node's socket and records them.
    pub(super) async fn transmit(
        &mut self,
        node: &str,
        dest: SocketAddr,
        transport: Transport,
        bytes: &[u8],
        note: Option<String>,
    ) {
        let Some(socket) = self.nodes.get(node) else {
            return;
        };
        let from_addr = socket.addr.to_string();
        let summary = SipMessage::parse(bytes)
            .map(|m| m.summary())
            .unwrap_or_else(|_| "(raw)".into());
        let note = match socket.send(bytes, dest, transport).await {
            Ok(None) => note,
            Ok(Some(chaos)) => Some(note.map_or(chaos.clone(), |n| format!("{n}; {chaos}"))),
            Err(e) => Some(format!("send failed: {e}")),
        };
        let to_name = self.sut_name.clone();
        let leg = Leg {
            at: Instant::now(),
            direction: Direction::Sent,
            from: (node, from_addr),
            to: (&to_name, dest.to_string()),
            transport,
        };
        self.trace.record(leg, bytes, summary, note);
    }
}

/// A name-addr of `uri` with `tag`, or none when the tag is null (RFC 3261 §12.2.1.1).
fn with_tag(uri: &str, tag: &str) -> String {
    match tag {
        "" => format!("<{uri}>"),
        tag => format!("<{uri}>;tag={tag}"),
    }
}
