//! Checks on a message an expect step matched: status, headers, body, XML, snapshot, and the
//! dialog rules every in-dialog request from the SUT must follow.

use super::{Delivered, Delivery, Runner};
use crate::check::headers;
use crate::check::snapshot::{self, SnapshotOutcome};
use crate::check::verdict::{CheckResult, Outcome};
use crate::check::{digest, xml, xpath};
use crate::flow::model::{DigestCheck, HeaderCheckSpec, Step, XmlCheck, XmlEquals};
use crate::sip::text::param_of;
use crate::sip::typed::{uri_equivalent, uri_of, uri_socket_addr};

/// An XML body to check, and where its checks are reported.
pub(super) struct XmlTarget<'a> {
    /// The XML bytes.
    pub body: &'a [u8],
    /// Step path for the report.
    pub path: &'a str,
    /// Trace sequence number of the message.
    pub seq: usize,
    /// The step's default requirement key.
    pub step_req: Option<&'a str>,
}

/// The outcome of one assertion before it is tied to a requirement.
pub(super) struct Observed {
    check: String,
    pub(super) ok: bool,
    expected: String,
    actual: String,
    diff: Option<String>,
}

impl Observed {
    pub(super) fn new(
        check: impl Into<String>,
        ok: bool,
        expected: impl Into<String>,
        actual: impl Into<String>,
    ) -> Self {
        Observed {
            check: check.into(),
            ok,
            expected: expected.into(),
            actual: actual.into(),
            diff: None,
        }
    }
}

impl Runner<'_> {
    /// Whether a request's Authorization answers the harness's Digest challenge (`nonce`) with
    /// the credentials the SUT holds for the UE of the request's dialog (profile
    /// `notify_credentials`).
    fn digest_answer(&self, check: &DigestCheck, delivered: &Delivered) -> Observed {
        // Whose credentials: a UE under test's own, else the watcher's, the UE of the request's
        // dialog (the node it reached may be a proxy).
        let ue_under_test = self
            .loaded
            .flow
            .ue_under_test()
            .map(|(name, _)| name.to_string());
        let role = match (&ue_under_test, &delivered.kind) {
            (Some(ue), _) => Some(ue.clone()),
            (None, Delivery::Request(Some(dialog))) => {
                self.dialogs.get(dialog).map(|d| d.ue.clone())
            }
            _ => None,
        }
        .unwrap_or_else(|| delivered.node.clone());
        let user = self.vars.get(&format!("{role}.user")).unwrap_or_default();
        let aor = self.vars.get(&format!("{role}.aor")).unwrap_or_default();
        // The loader checked every variable they use.
        let substituted = |text: &str| self.vars.substitute(text).unwrap_or_default();
        let (realm, nonce) = (substituted(&check.realm), substituted(&check.nonce));
        let what = format!("Authorization answers the Digest challenge (nonce {nonce})");
        let credentials = match (&ue_under_test, &self.settings.notify_credentials) {
            // A UE under test is given UE_PASSWORD, as the user part of its AoR.
            (Some(_), _) => crate::net::http::Credentials {
                username: user.to_string(),
                password: crate::sut::ue::UE_PASSWORD.to_string(),
            },
            (None, Some(template)) => template.resolve(user, aor),
            (None, None) => {
                return Observed::new(what, false, "notify_credentials in the profile", "none")
            }
        };
        // An answer to a 401 is an Authorization, to a 407 a Proxy-Authorization (RFC 3261 §22).
        let authorization = delivered
            .msg
            .header("Authorization")
            .or_else(|| delivered.msg.header("Proxy-Authorization"));
        let method = delivered.msg.method().unwrap_or_default();
        let uri = delivered.msg.request_uri().unwrap_or_default();
        let expected = digest::Expected {
            realm: &realm,
            nonce: &nonce,
            username: &credentials.username,
            password: &credentials.password,
        };
        let verdict = match authorization {
            Some(value) => digest::verify(value, &method, uri, expected),
            None => Err("no Authorization or Proxy-Authorization header".into()),
        };
        Observed::new(
            what,
            verdict.is_ok(),
            format!(
                "a Digest answer for user {:?} over {method} {uri}",
                credentials.username
            ),
            verdict.err().unwrap_or_else(|| "it does".into()),
        )
    }

    pub(super) fn push(&mut self, path: &str, req: Option<&str>, seq: usize, observed: Observed) {
        let requirement = self.requirement(req);
        self.checks.push(CheckResult {
            step: path.to_string(),
            check: observed.check,
            requirement,
            outcome: if observed.ok {
                Outcome::Pass
            } else {
                Outcome::Fail
            },
            expected: observed.expected,
            actual: observed.actual,
            diff: observed.diff,
            message: Some(seq),
            deviation: None,
        });
    }

    /// Records the outcomes of a header-style check (a header's or the body text's), each
    /// under its own requirement or the step's, and keeps what it captured.
    fn record_assertions(
        &mut self,
        path: &str,
        step: &Step,
        seq: usize,
        assertions: Vec<headers::Assertion>,
        captures: Vec<(String, String)>,
    ) {
        for a in assertions {
            let req = a.req.clone().or(step.req.clone());
            self.push(
                path,
                req.as_deref(),
                seq,
                Observed::new(a.what, a.ok, a.expected, a.actual),
            );
        }
        for (var, value) in captures {
            self.vars.set(&var, value);
        }
    }

    /// Runs a header-style check (`spec`, as the flow wrote it; the loader validated it) on a
    /// text of the message that is not a header: its body, its Request-URI (`name`, `text`).
    fn check_text(
        &mut self,
        path: &str,
        step: &Step,
        seq: usize,
        (name, text): (&str, &str),
        spec: &serde_yaml::Value,
    ) {
        let Ok(spec) = serde_yaml::from_value::<HeaderCheckSpec>(spec.clone()) else {
            return;
        };
        let mut captures = Vec::new();
        let assertions = headers::eval_text(name, text, &spec, &self.vars, &mut captures);
        self.record_assertions(path, step, seq, assertions, captures);
    }

    /// Runs every check of `step` on the message it matched.
    pub(super) fn evaluate(&mut self, step: &Step, path: &str, delivered: Delivered) {
        let seq = delivered.seq;
        if let Some(&number) = step.spec_steps.iter().flatten().next() {
            let marker = self.spec_step(number);
            self.trace.mark_spec_step(seq, marker);
        }
        let step_req = step.req.as_deref();
        if let (true, Some(role)) = (step.expects_response(), &step.at) {
            // Where the SUT sent the response (RFC 3261 §18.2.2): the node it reached.
            let want = self.nodes.get(role).map(|n| n.addr.to_string());
            let observed = Observed::new(
                format!("the response reaches {role}"),
                delivered.node == *role,
                format!("{role} ({})", want.unwrap_or_default()),
                format!(
                    "{} ({})",
                    delivered.node,
                    self.trace.entries[seq].to_addr.clone()
                ),
            );
            self.push(path, step_req, seq, observed);
        }
        if let (Some(_), Some(want)) = (&step.expect, step.transport) {
            let observed = Observed::new(
                format!("it arrives over {}", want.via_name()),
                delivered.transport == want,
                want.via_name().to_string(),
                format!(
                    "over {} from {}",
                    delivered.transport.via_name(),
                    delivered.from
                ),
            );
            self.push(path, step_req, seq, observed);
        }
        if let Some(digest) = &step.digest {
            let observed = self.digest_answer(digest, &delivered);
            self.push(path, Some(&digest.req), seq, observed);
        }
        if let Some(status) = &step.status {
            let codes = status.codes();
            let actual = delivered.msg.status().unwrap_or(0);
            let (what, expected) = match status.refused() {
                _ if status.any_final() => ("a final response".into(), "any status".into()),
                [] => (format!("status is one of {codes:?}"), format!("{codes:?}")),
                refused => (
                    format!("status is none of {refused:?}"),
                    format!("none of {refused:?}"),
                ),
            };
            let observed = Observed::new(
                what,
                status.admits(actual),
                expected,
                delivered.msg.summary(),
            );
            // The step's other checks describe a response of the expected class; one of
            // another class (a 4xx for a 2xx) is not that response. A code of the same class
            // (200 for 201) still is. A check of refused codes names no class.
            let same_class = codes.is_empty() || codes.iter().any(|c| c / 100 == actual / 100);
            self.push(path, status.req().or(step_req), seq, observed);
            if !same_class {
                if let Some(label) = &step.label {
                    self.received.insert(label.clone(), delivered);
                }
                return;
            }
        }
        match &delivered.kind {
            Delivery::Request(Some(dialog)) if !delivered.opens_dialog => {
                self.dialog_checks(path, &delivered, dialog);
            }
            _ => {}
        }
        for (name, value) in step.headers.iter().flat_map(|h| h.iter()) {
            // The loader validated every header check, so this cannot fail.
            let Ok(spec) = serde_yaml::from_value::<HeaderCheckSpec>(value.clone()) else {
                continue;
            };
            let mut captures = Vec::new();
            let assertions = headers::eval(&delivered.msg, name, &spec, &self.vars, &mut captures);
            self.record_assertions(path, step, seq, assertions, captures);
        }
        if let Some(spec) = &step.body_text {
            let text = String::from_utf8_lossy(&delivered.msg.body);
            self.check_text(path, step, seq, ("body", &text), spec);
        }
        if let Some(spec) = &step.request_uri {
            let uri = delivered.msg.request_uri().unwrap_or_default();
            self.check_text(path, step, seq, ("Request-URI", uri), spec);
        }
        if let Some(empty) = step.body_empty {
            let is_empty = delivered.msg.body.is_empty();
            let observed = Observed::new(
                if empty {
                    "body is empty"
                } else {
                    "body is present"
                },
                is_empty == empty,
                if empty { "no body" } else { "a body" },
                format!("{} bytes", delivered.msg.body.len()),
            );
            self.push(path, step_req, seq, observed);
        }
        let held = match &delivered.kind {
            Delivery::Request(Some(dialog)) => self.held_document(&delivered, dialog),
            _ => None,
        };
        let body = match (&step.multipart, held) {
            (Some(spec), _) => self.multipart_checks(step, spec, path, &delivered),
            // A partial notification is judged by the document the watcher now holds.
            (None, Some(held)) => Some(held),
            (None, None) => Some(delivered.msg.body.clone()),
        };
        if let Some(body) = body {
            let target = XmlTarget {
                body: &body,
                path,
                seq,
                step_req,
            };
            self.xml_checks(
                target,
                step.xml.as_deref().unwrap_or_default(),
                step.xml_equals.as_ref(),
            );
        }
        if let Some(name) = &step.snapshot {
            self.snapshots
                .push((path.to_string(), name.clone(), delivered.clone()));
        }
        if let Some(label) = &step.label {
            self.received.insert(label.clone(), delivered);
        }
    }

    /// Runs `checks` and `equals` on an XML body (the message body, or a part of it).
    pub(super) fn xml_checks(
        &mut self,
        target: XmlTarget<'_>,
        checks: &[XmlCheck],
        equals: Option<&XmlEquals>,
    ) {
        if checks.is_empty() && equals.is_none() {
            return;
        }
        let XmlTarget {
            body,
            path,
            seq,
            step_req,
        } = target;
        let first_req = checks
            .iter()
            .find_map(|x| x.req.clone())
            .or_else(|| equals.and_then(|e| e.req.clone()))
            .or(step_req.map(str::to_string));
        if body.is_empty() {
            // A NOTIFY may carry no body (RFC 6665 §4.2.1.2, RFC 3856 §6.8); whether that is
            // right is for a `body_empty` check to say.
            let requirement = self.requirement(first_req.as_deref());
            self.checks.push(CheckResult {
                step: path.to_string(),
                check: "checks on the XML body".into(),
                requirement,
                outcome: Outcome::Skipped,
                expected: "a body".into(),
                actual: "the message has no body".into(),
                diff: None,
                message: Some(seq),
                deviation: None,
            });
            return;
        }
        let mut root = match xml::parse(body) {
            Ok(root) => root,
            Err(e) => {
                let observed = Observed::new(
                    "body is well-formed XML",
                    false,
                    "an XML document",
                    e.to_string(),
                );
                self.push(path, first_req.as_deref(), seq, observed);
                return;
            }
        };
        xml::canonicalize(&mut root, xml::known_unordered());
        let namespaces = self.loaded.flow.namespaces.clone().into_iter().collect();
        for check in checks {
            let req = check.req.as_deref().or(step_req);
            let check_path = self.vars.substitute(&check.path).unwrap_or_else(|e| e);
            let selected = match xpath::select(&root, &check_path, &namespaces) {
                Ok(selected) => selected,
                Err(e) => {
                    self.push(
                        path,
                        req,
                        seq,
                        Observed::new(
                            format!("xml {}", check.path),
                            false,
                            "a valid path",
                            e.to_string(),
                        ),
                    );
                    continue;
                }
            };
            let texts: Vec<String> = selected.iter().map(|s| s.text()).collect();
            let first = texts.first().cloned();
            let shown = first.clone().unwrap_or_else(|| "(nothing selected)".into());
            if let Some(count) = check.count {
                let observed = Observed::new(
                    format!("xml {} count", check.path),
                    texts.len() == count,
                    count.to_string(),
                    texts.len().to_string(),
                );
                self.push(path, req, seq, observed);
            }
            if let Some(expected) = &check.equals {
                let expected = self.vars.substitute(expected).unwrap_or_else(|e| e);
                let ok = first.as_deref() == Some(expected.as_str());
                self.push(
                    path,
                    req,
                    seq,
                    Observed::new(
                        format!("xml {} equals", check.path),
                        ok,
                        expected,
                        shown.clone(),
                    ),
                );
            }
            if let Some(options) = &check.one_of {
                let options: Vec<String> = options
                    .iter()
                    .map(|o| self.vars.substitute(o).unwrap_or_else(|e| e))
                    .collect();
                let ok = !texts.is_empty() && texts.iter().all(|t| options.contains(t));
                let observed = Observed::new(
                    format!("xml {} one of", check.path),
                    ok,
                    options.join(" | "),
                    texts.join(", "),
                );
                self.push(path, req, seq, observed);
            }
            if let Some(pattern) = &check.matches {
                let ok = first
                    .as_deref()
                    .is_some_and(|t| crate::check::pattern::is_match(pattern, t));
                self.push(
                    path,
                    req,
                    seq,
                    Observed::new(
                        format!("xml {} matches", check.path),
                        ok,
                        format!("/{pattern}/"),
                        shown.clone(),
                    ),
                );
            }
            if let (Some(var), Some(value)) = (&check.capture, &first) {
                self.vars.set(var, value.clone());
            }
        }
        if let Some(eq) = equals {
            let req = eq.req.as_deref().or(step_req);
            let expected = self
                .loaded
                .read_fixture(&eq.file)
                .map_err(|e| e.to_string())
                .and_then(|t| self.vars.substitute(&t))
                .and_then(|t| xml::parse(t.as_bytes()).map_err(|e| e.to_string()));
            let actual = match &eq.path {
                None => Some(root.clone()),
                Some(p) => match xpath::select(&root, p, &namespaces) {
                    Ok(selected) => selected.into_iter().find_map(|s| match s {
                        xpath::Selected::Element(e) => Some(e.clone()),
                        xpath::Selected::Value(_) => None,
                    }),
                    Err(_) => None,
                },
            };
            let what = match &eq.path {
                Some(p) => format!("{p} equals {} (canonical XML)", eq.file),
                None => format!("body equals {} (canonical XML)", eq.file),
            };
            match (expected, actual) {
                (Ok(mut expected), Some(actual)) => {
                    xml::canonicalize(&mut expected, xml::known_unordered());
                    let diff = xml::diff(&expected, &actual);
                    let mut observed = Observed::new(
                        what,
                        diff.is_none(),
                        expected.to_canonical_string(),
                        actual.to_canonical_string(),
                    );
                    observed.diff = diff;
                    self.push(path, req, seq, observed);
                }
                (Ok(expected), None) => {
                    let observed = Observed::new(
                        what,
                        false,
                        expected.to_canonical_string(),
                        "(nothing selected)",
                    );
                    self.push(path, req, seq, observed);
                }
                (Err(e), _) => self.push(
                    path,
                    req,
                    seq,
                    Observed::new("expected document loads", false, eq.file.clone(), e),
                ),
            }
        }
    }

    /// Compares the snapshots taken during the flow. Placeholders are numbered
    /// deterministically: first every value the harness sent (in the order it sent them), then
    /// the snapshot messages in step order, whatever order they arrived in.
    pub(super) fn finish_snapshots(&mut self) {
        let mut normaliser = std::mem::take(&mut self.normaliser);
        for entry in self
            .trace
            .entries
            .iter()
            .filter(|e| e.direction != crate::net::Direction::Received)
        {
            if let Ok(msg) = crate::sip::SipMessage::parse(&entry.raw()) {
                normaliser.message(&msg);
            }
        }
        let mut taken = std::mem::take(&mut self.snapshots);
        taken.sort_by_key(|a| step_order(&a.0));
        for (path, name, delivered) in taken {
            let content = normaliser.message(&delivered.msg);
            self.snapshot_check(&path, &name, &delivered, content);
        }
    }

    fn snapshot_check(&mut self, path: &str, name: &str, delivered: &Delivered, content: String) {
        let dir = self.settings.snapshots.join(&self.settings.profile);
        let file = snapshot::snapshot_name(
            &super::run_name(&self.loaded.flow.id, self.settings.transport),
            name,
        );
        let compared = match &self.settings.skip_snapshots {
            None => snapshot::compare(&dir, &file, &content),
            Some(reason) => SnapshotOutcome::Missing(reason.clone()),
        };
        let (outcome, actual, diff) = match compared {
            SnapshotOutcome::Matches => (Outcome::Pass, "matches".to_string(), None),
            SnapshotOutcome::Differs(diff) => (Outcome::Fail, "differs".to_string(), Some(diff)),
            SnapshotOutcome::Missing(reason) => (Outcome::Skipped, reason, None),
        };
        let requirement = self.requirement(Some("harness-snapshot"));
        self.checks.push(CheckResult {
            step: path.to_string(),
            check: format!("snapshot {file}"),
            requirement,
            outcome,
            expected: content.clone(),
            actual,
            diff,
            message: Some(delivered.seq),
            deviation: None,
        });
    }

    /// RFC 3261 §12.2.1.1 and RFC 6665 rules for a request the SUT sent in one of our dialogs.
    pub(super) fn dialog_checks(&mut self, path: &str, delivered: &Delivered, dialog: &str) {
        let Some(state) = self.dialogs.get(dialog) else {
            return;
        };
        let seq = delivered.seq;
        let msg = &delivered.msg;
        let sut_routes = state.dialog.sut_route_set.clone();
        let ue = state.ue.clone();
        let refreshed = state.refreshed_target.clone();
        let ue_contact = refreshed.clone().unwrap_or_else(|| {
            self.vars
                .get(&format!("{ue}.contact"))
                .unwrap_or_default()
                .to_string()
        });
        let event = state.event.clone();
        let previous_cseq = state.dialog.remote_cseq;

        // Where it arrived: the first route entry, or the UE's contact with no route set.
        let expected_node = match sut_routes.first() {
            Some(first) => {
                let addr = uri_socket_addr(&uri_of(first));
                self.nodes
                    .iter()
                    .find(|(_, n)| Some(n.addr) == addr)
                    .map(|(name, _)| name.clone())
                    .unwrap_or_default()
            }
            None => ue.clone(),
        };
        let arrival = Observed::new(
            "request arrives at the node its route set names",
            delivered.node == expected_node,
            expected_node,
            delivered.node.clone(),
        );
        self.push(path, Some("rfc3261-loose-route-send"), seq, arrival);

        // What RFC 3261 §12.2.1.1 makes of the route set: loose routing puts the remote target
        // in the Request-URI and the route set in Route; a first entry without lr (a strict
        // router) goes in the Request-URI, the rest and then the remote target in Route.
        let strict = sut_routes.first().filter(|first| !has_lr(first));
        let (expected_uri, expected_routes, route_key) = match strict {
            Some(first) => {
                let mut routes = sut_routes[1..].to_vec();
                routes.push(format!("<{ue_contact}>"));
                (uri_of(first), routes, "rfc3261-strict-route")
            }
            // An empty route set has its own sentences (RFC 3261 §12.1.1, §12.2.1.1).
            None if sut_routes.is_empty() => {
                (ue_contact.clone(), Vec::new(), "rfc3261-empty-route-set")
            }
            None => (
                ue_contact.clone(),
                sut_routes.clone(),
                "rfc3261-route-set-use",
            ),
        };
        let routes = msg.header_values("Route");
        let same_routes = routes.len() == expected_routes.len()
            && routes
                .iter()
                .zip(&expected_routes)
                .all(|(a, b)| uri_equivalent(&uri_of(a), &uri_of(b)));
        let route_check = Observed::new(
            "Route headers are the route set in order",
            same_routes,
            expected_routes.join(", "),
            routes.join(", "),
        );
        self.push(path, Some(route_key), seq, route_check);

        let uri = msg.request_uri().unwrap_or_default().to_string();
        let what = if strict.is_some() {
            "Request-URI is the strict router's URI (the route set's first)"
        } else {
            "Request-URI is the remote target (our Contact)"
        };
        let target = Observed::new(what, uri_equivalent(&uri, &expected_uri), expected_uri, uri);
        // After a target refresh the Request-URI answers RFC 3261 §12.2.2 as well.
        let target_key = match refreshed {
            Some(_) if strict.is_none() => "rfc3261-target-refresh",
            _ => route_key,
        };
        self.push(path, Some(target_key), seq, target);

        // ACK and CANCEL take the number of the request they acknowledge or cancel (§12.2.1.1).
        let own_number = !matches!(msg.method().as_deref(), Some("ACK" | "CANCEL"));
        if let Some((number, _)) = msg.cseq().filter(|_| own_number) {
            if let Some(previous) = previous_cseq {
                let observed = Observed::new(
                    "CSeq is the previous one plus 1",
                    number == previous.wrapping_add(1),
                    format!("{}", previous.wrapping_add(1)),
                    number.to_string(),
                );
                self.push(path, Some("rfc3261-cseq-increment"), seq, observed);
            }
            if let Some(state) = self.dialogs.get_mut(dialog) {
                state.dialog.remote_cseq = Some(number);
            }
        }

        if msg.method().as_deref() == Some("NOTIFY") {
            if let Some(expected) = event {
                let actual = msg.event();
                let ok = actual
                    .as_ref()
                    .is_some_and(|a| a.package == expected.package && a.id == expected.id);
                let show = |e: &crate::sip::Event| {
                    format!(
                        "{}{}",
                        e.package,
                        e.id.as_ref()
                            .map(|i| format!(";id={i}"))
                            .unwrap_or_default()
                    )
                };
                let observed = Observed::new(
                    "Event matches the SUBSCRIBE's package and id",
                    ok,
                    show(&expected),
                    actual.as_ref().map_or("(absent)".into(), show),
                );
                self.push(path, Some("rfc6665-event-match"), seq, observed);
            }
            self.version_check(path, delivered, dialog);
            // The body read once for the checks that need the whole of it.
            let body = xml::parse(&msg.body);
            self.watcher_id_check(path, delivered, dialog, body.as_ref().ok());
            self.rlmi_presence_check(path, delivered, dialog);
            self.partial_check(path, delivered, dialog, &body);
            let sub_state = msg.subscription_state();
            let present = Observed::new(
                "Subscription-State is present",
                sub_state.is_some(),
                "present",
                msg.header("Subscription-State").unwrap_or("(absent)"),
            );
            self.push(path, Some("rfc6665-substate-present"), seq, present);
            if let Some(sub_state) = sub_state {
                if let Some(state) = self.dialogs.get_mut(dialog) {
                    let previous = state.tracker.last_expires;
                    state.tracker.on_notify(&sub_state);
                    if let (Some(previous), Some(now), "active" | "pending") =
                        (previous, sub_state.expires, sub_state.state.as_str())
                    {
                        let observed = Observed::new(
                            "Subscription-State expires does not grow without a refresh",
                            now <= previous,
                            format!("≤ {previous}"),
                            now.to_string(),
                        );
                        self.push(
                            path,
                            Some("rfc6665-notify-expires-not-longer"),
                            seq,
                            observed,
                        );
                    }
                }
            }
        }
    }
}

/// Sort key for step paths like `4.2` (numeric per level).
fn step_order(path: &str) -> Vec<u32> {
    path.split('.').filter_map(|p| p.parse().ok()).collect()
}

/// True when a route set entry's URI carries the `lr` parameter (a loose router).
fn has_lr(entry: &str) -> bool {
    param_of(&uri_of(entry), "lr").is_some()
}
