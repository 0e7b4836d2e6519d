//! The flow language v1: the YAML schema of a flow file. Unknown keys are rejected.

use super::ordered::OrderedMap;
use serde::Deserialize;
use std::collections::BTreeMap;

/// One message-sequence script.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    /// Flow id, e.g. `A.4.2.1` or `rfc3903-412`.
    pub id: String,
    /// One-line title.
    pub title: String,
    /// Longer explanation, e.g. what is emulated and what deviates from the Annex A example.
    #[serde(default)]
    pub description: Option<String>,
    /// The clauses this flow encodes.
    pub spec: Vec<Citation>,
    /// Requirements that checks name by key.
    #[serde(default)]
    pub requirements: BTreeMap<String, Requirement>,
    /// Capabilities the SUT must declare for the flow to run.
    #[serde(default)]
    pub requires: Vec<String>,
    /// XML namespace prefixes used by body assertions.
    #[serde(default)]
    pub namespaces: BTreeMap<String, String>,
    /// Participants by name.
    pub roles: BTreeMap<String, Role>,
    /// The script.
    pub steps: Vec<Step>,
    /// Message rules (`check::rules`) this flow's messages are exempt from, each with the
    /// requirement that permits it.
    #[serde(default)]
    pub exempt: Vec<Exemption>,
    /// The transports the flow runs over (default: every one the profile lists), e.g. `[udp]`
    /// for a flow about retransmissions.
    #[serde(default)]
    pub transports: Vec<crate::net::Transport>,
    /// The figure of the specification the flow plays (an Annex A flow), whose step numbers
    /// the steps' `spec_steps` give.
    #[serde(default)]
    pub figure: Option<Figure>,
}

impl Flow {
    /// The SUT role, when it is a UE under test (`service: ue`): its name and role.
    pub fn ue_under_test(&self) -> Option<(&str, &Role)> {
        self.roles
            .iter()
            .find(|(_, r)| r.kind == RoleKind::Sut && r.service.as_deref() == Some(UE_SERVICE))
            .map(|(n, r)| (n.as_str(), r))
    }

    /// Every step, those inside `any_order` and `alternatives` included, in order.
    pub fn all_steps(&self) -> Vec<&Step> {
        fn walk<'s>(steps: &'s [Step], out: &mut Vec<&'s Step>) {
            for step in steps {
                out.push(step);
                walk(step.any_order.as_deref().unwrap_or_default(), out);
                for branch in step.alternatives.iter().flatten() {
                    walk(&branch.steps, out);
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.steps, &mut out);
        out
    }

    /// The actions its `act` steps name, each once, in order of appearance.
    pub fn actions(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for action in self
            .all_steps()
            .into_iter()
            .filter_map(|s| s.act.as_deref())
        {
            if !out.contains(&action) {
                out.push(action);
            }
        }
        out
    }

    /// True when the flow runs over `transport` (its `transports`, or every one).
    pub fn runs_over(&self, transport: crate::net::Transport) -> bool {
        self.transports.is_empty() || self.transports.contains(&transport)
    }

    /// The transports this flow runs over against a profile that lists `listed`: those of them
    /// the flow allows, and TLS when the flow names it, listed or not (a SUT without TLS makes
    /// that run `unsupported`, not absent).
    pub fn run_transports(&self, listed: &[crate::net::Transport]) -> Vec<crate::net::Transport> {
        use crate::net::Transport;
        let mut out: Vec<Transport> = listed
            .iter()
            .copied()
            .filter(|t| self.runs_over(*t))
            .collect();
        if self.transports.contains(&Transport::Tls) && !out.contains(&Transport::Tls) {
            out.push(Transport::Tls);
        }
        out
    }
}

/// A figure of the specification (TS 24.141 Annex A) and which of its steps were read.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Figure {
    /// The figure's name, e.g. `Figure A.4.2.1-1`.
    pub name: String,
    /// The release of the text that was read, e.g. `Release 17`.
    pub release: String,
    /// The step numbers whose text was read; the flow's other step numbers are reconstructed
    /// (from the RFCs and the TS 24.228 conventions) and the report marks them so.
    #[serde(default)]
    pub confirmed: Vec<u32>,
}

/// A message rule a flow is exempt from, and why.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Exemption {
    /// The rule's requirement key, e.g. `rfc3261-target-refresh-contact`.
    pub rule: String,
    /// The key of the requirement that permits what the rule would fail.
    pub because: String,
}

/// A reference to a clause of a specification.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Citation {
    /// Document, e.g. `3GPP TS 24.141` or `RFC 3903`.
    pub doc: String,
    /// Clause or section.
    pub clause: String,
    /// Normative level of what is cited.
    pub level: Level,
    /// The words of the clause, where quoted.
    #[serde(default)]
    pub text: Option<String>,
}

/// A normative requirement a check enforces.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    /// Document.
    pub doc: String,
    /// Clause or section.
    pub clause: String,
    /// must / should / may.
    pub level: Level,
    /// The requirement's words, quoted from the document.
    pub text: String,
}

/// RFC 2119 level.
#[derive(
    Debug,
    Clone,
    Copy,
    Deserialize,
    serde::Serialize,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    schemars::JsonSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Not normative (an example flow).
    Informative,
    /// MAY / OPTIONAL.
    May,
    /// SHOULD / RECOMMENDED.
    Should,
    /// MUST / SHALL / REQUIRED.
    Must,
}

/// What a role is.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RoleKind {
    /// A user agent (PUA, watcher).
    Ue,
    /// Proxy-CSCF.
    PCscf,
    /// Serving-CSCF.
    SCscf,
    /// Interrogating-CSCF.
    ICscf,
    /// The system under test.
    Sut,
}

/// A participant.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Role {
    /// Kind of node.
    pub kind: RoleKind,
    /// User part of a UE's public identity.
    #[serde(default)]
    pub user: Option<String>,
    /// Home domain (UE, CSCF).
    #[serde(default)]
    pub domain: Option<String>,
    /// For a UE: the proxies its requests pass, in order (e.g. `[pcscf1, scscf1]`).
    #[serde(default)]
    pub path: Vec<String>,
    /// For a proxy: whether it record-routes dialog-creating requests (default: P-CSCF and
    /// S-CSCF yes, I-CSCF no).
    #[serde(default)]
    pub record_route: Option<bool>,
    /// For a proxy: it record-routes without `lr`, as a strict router (RFC 2543) does, so the
    /// SUT must strict-route the requests of the dialog to it (RFC 3261 §12.2.1.1).
    #[serde(default)]
    pub strict_route: bool,
    /// For the SUT: the service it plays (presence, rls, xcap, pna; `ue` for a presence
    /// client under test, which the profile's UE starts for each run).
    #[serde(default)]
    pub service: Option<String>,
    /// For a UE under test: the roles whose presence it watches (it subscribes to their AoRs).
    #[serde(default)]
    pub watches: Vec<String>,
    /// For a UE under test: it publishes its own presence (its PUA is on).
    #[serde(default)]
    pub publishes: bool,
    /// For a UE under test: it registers before anything else (a client that registers
    /// anyway, such as linphonec, does so whatever this says).
    #[serde(default)]
    pub registers: bool,
    /// For a UE: `false` makes it a user the SUT has not provisioned; its user part is then the
    /// profile's `unknown_user` (the same over every transport), and `user` is not given.
    #[serde(default = "yes")]
    pub provisioned: bool,
    /// For a UE or CSCF: the loopback address its node binds instead of 127.0.0.1 (e.g.
    /// 127.0.0.3, for a response the SUT must send to a Via's `maddr`).
    #[serde(default)]
    pub address: Option<std::net::Ipv4Addr>,
    /// For a UE or CSCF: `false` puts its node outside the SUT's trust domain (RFC 3325): it
    /// binds the profile's `untrusted_address`, and the flow is unsupported without one.
    #[serde(default = "yes")]
    pub trusted: bool,
}

/// The default of `Role::provisioned`.
fn yes() -> bool {
    true
}

/// True for the methods whose requests create a dialog (RFC 3261 §12, RFC 6665 §4.1.2,
/// RFC 3515): INVITE, SUBSCRIBE, REFER. Other requests from the SUT arrive outside any dialog
/// (a PUBLISH, RFC 3903 §4) or in one.
pub fn creates_dialog(method: &str) -> bool {
    matches!(method, "INVITE" | "SUBSCRIBE" | "REFER")
}

/// The `service` of a SUT role that is a presence client (a UE under test).
pub const UE_SERVICE: &str = "ue";

/// A body to send: from a file under the project root, or inline text.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BodySource {
    /// Path relative to the project root, e.g. `fixtures/pidf/open.xml`.
    #[serde(default)]
    pub file: Option<String>,
    /// Inline text.
    #[serde(default)]
    pub text: Option<String>,
    /// The character encoding the text is sent in (default UTF-8): a body the SUT must refuse
    /// for not being UTF-8 (RFC 4825 §8.2.2).
    #[serde(default)]
    pub encoding: BodyEncoding,
}

/// How a reply step breaks its response (or a send step its request).
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Malformed {
    /// The top Via's sent-by names another host (192.0.2.1, TEST-NET-1), not the SUT's.
    ViaSentBy,
    /// Content-Length counts more bytes than the body has.
    ShortBody,
}

/// The character encoding of a body to send.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum BodyEncoding {
    /// UTF-8.
    #[default]
    #[serde(rename = "utf-8")]
    Utf8,
    /// UTF-16, little-endian, after a byte order mark.
    #[serde(rename = "utf-16")]
    Utf16,
    /// ISO-8859-1: one byte per character, so any character past U+007F is a byte that is not
    /// UTF-8.
    #[serde(rename = "iso-8859-1")]
    Iso88591,
}

impl BodyEncoding {
    /// `text` in this encoding; an error names a character ISO-8859-1 cannot hold.
    pub fn encode(self, text: &str) -> Result<Vec<u8>, String> {
        match self {
            BodyEncoding::Utf8 => Ok(text.as_bytes().to_vec()),
            BodyEncoding::Utf16 => Ok([0xFF, 0xFE]
                .into_iter()
                .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
                .collect()),
            BodyEncoding::Iso88591 => text
                .chars()
                .map(|c| {
                    u8::try_from(u32::from(c)).map_err(|_| format!("{c:?} has no ISO-8859-1 byte"))
                })
                .collect(),
        }
    }
}

/// Grade of an alternative branch.
#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Grade {
    /// A conforming behaviour.
    Pass,
    /// Permitted but discouraged, or a SHOULD not followed.
    NonStrict,
}

/// One branch of an `alternatives` step.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alternative {
    /// Short name shown in the report.
    pub name: String,
    /// How taking this branch grades the flow.
    pub grade: Grade,
    /// Steps; the first must be an `expect`.
    pub steps: Vec<Step>,
}

/// A Digest answer a request must carry (`digest` on an expect step).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestCheck {
    /// The realm of the challenge the harness sent.
    pub realm: String,
    /// Its nonce.
    pub nonce: String,
    /// Requirement key.
    pub req: String,
}

/// A status code expectation: `200`, `[200, 202]` or `{ one_of: [...], req: key }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum StatusSpec {
    /// Exactly this code.
    Code(u16),
    /// One of these codes.
    Codes(Vec<u16>),
    /// With an explicit requirement.
    Full(StatusCheck),
}

/// The long form of a status expectation: the codes accepted (`one_of`), or the codes
/// refused (`none_of`, for a requirement that only forbids, such as a resource that must not
/// exist: any refusal is then conforming).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusCheck {
    /// Accepted codes.
    #[serde(default)]
    pub one_of: Vec<u16>,
    /// Refused codes (instead of `one_of`).
    #[serde(default)]
    pub none_of: Vec<u16>,
    /// Any final response will do (instead of codes): the step checks that one arrives.
    #[serde(default)]
    pub any_final: bool,
    /// Requirement key.
    #[serde(default)]
    pub req: Option<String>,
}

impl StatusSpec {
    /// Accepted codes (empty when the check names refused codes instead).
    pub fn codes(&self) -> Vec<u16> {
        match self {
            StatusSpec::Code(c) => vec![*c],
            StatusSpec::Codes(c) => c.clone(),
            StatusSpec::Full(f) => f.one_of.clone(),
        }
    }

    /// Refused codes (`none_of`).
    pub fn refused(&self) -> &[u16] {
        match self {
            StatusSpec::Full(f) => &f.none_of,
            _ => &[],
        }
    }

    /// True when any final response meets the expectation (`any_final`).
    pub fn any_final(&self) -> bool {
        matches!(self, StatusSpec::Full(f) if f.any_final)
    }

    /// True when `code` meets the expectation.
    pub fn admits(&self, code: u16) -> bool {
        if self.any_final() {
            return true;
        }
        match self.refused() {
            [] => self.codes().contains(&code),
            refused => !refused.contains(&code),
        }
    }

    /// Explicit requirement key, if any.
    pub fn req(&self) -> Option<&str> {
        match self {
            StatusSpec::Full(f) => f.req.as_deref(),
            _ => None,
        }
    }
}

/// An assertion on a header or on one of its parameters. A plain string means `equals`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct HeaderCheck {
    /// Requirement key (defaults to the step's `req`).
    #[serde(default)]
    pub req: Option<String>,
    /// The header must be present (true) or absent (false).
    #[serde(default)]
    pub present: Option<bool>,
    /// The value checks apply only when the header is there: its absence passes (e.g. an
    /// Accept whose absence stands for the event package's default type).
    #[serde(default)]
    pub if_present: bool,
    /// The value (without parameters) equals this.
    #[serde(default)]
    pub equals: Option<String>,
    /// The value holds a match of this regular expression (a search: `^` and `$` anchor it to
    /// the whole value).
    #[serde(default)]
    pub matches: Option<String>,
    /// The value (without parameters) is one of these.
    #[serde(default)]
    pub one_of: Option<Vec<String>>,
    /// The value is an integer in this inclusive range.
    #[serde(default)]
    pub range: Option<(u64, u64)>,
    /// The value (without parameters) differs from this.
    #[serde(default)]
    pub not_equal: Option<String>,
    /// A list header (Require, Supported, Allow-Events, Accept) contains this token.
    #[serde(default)]
    pub contains: Option<String>,
    /// Some value of the header, on any of its lines (a list header's values one by one, e.g.
    /// each Route), matches this regular expression.
    #[serde(default)]
    pub any_matches: Option<String>,
    /// Checks on the header's parameters.
    #[serde(default)]
    pub params: Option<OrderedMap<HeaderCheckSpec>>,
    /// Stores the value (without parameters) in a variable.
    #[serde(default)]
    pub capture: Option<String>,
    /// Stores the URI of the value (a name-addr's URI without its angle brackets, e.g. a
    /// Contact's) in a variable, for a later step's `uri`.
    #[serde(default)]
    pub capture_uri: Option<String>,
}

impl HeaderCheck {
    /// True when the check asserts something about the value (beyond presence).
    pub fn checks_value(&self) -> bool {
        self.equals.is_some()
            || self.matches.is_some()
            || self.one_of.is_some()
            || self.range.is_some()
            || self.not_equal.is_some()
            || self.contains.is_some()
            || self.any_matches.is_some()
            || self.params.is_some()
    }
}

/// A header check written as a plain string (equals), a mapping, or a list of mappings
/// (several checks on one header, each with its own requirement).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum HeaderCheckSpec {
    /// Shorthand for `equals`.
    Equals(String),
    /// Full form.
    Full(Box<HeaderCheck>),
    /// Several checks.
    Many(Vec<HeaderCheck>),
}

impl HeaderCheckSpec {
    /// The checks this spec stands for.
    pub fn checks(&self) -> std::borrow::Cow<'_, [HeaderCheck]> {
        use std::borrow::Cow;
        match self {
            HeaderCheckSpec::Equals(text) => Cow::Owned(vec![HeaderCheck {
                equals: Some(text.clone()),
                ..Default::default()
            }]),
            HeaderCheckSpec::Full(check) => Cow::Borrowed(std::slice::from_ref(&**check)),
            HeaderCheckSpec::Many(checks) => Cow::Borrowed(checks),
        }
    }
}

/// An assertion on an XML body located by a path.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XmlCheck {
    /// Path into the body (see `check::xpath`).
    pub path: String,
    /// Requirement key.
    #[serde(default)]
    pub req: Option<String>,
    /// The selection's text equals this.
    #[serde(default)]
    pub equals: Option<String>,
    /// The selection's text holds a match of this regular expression (a search: `^` and `$`
    /// anchor it).
    #[serde(default)]
    pub matches: Option<String>,
    /// The selection's text is one of these.
    #[serde(default)]
    pub one_of: Option<Vec<String>>,
    /// The number of selected nodes.
    #[serde(default)]
    pub count: Option<usize>,
    /// Stores the first selection's text in a variable.
    #[serde(default)]
    pub capture: Option<String>,
}

/// Compare the body, or the element a path selects in it, with an expected document after
/// canonicalisation (namespace URIs not prefixes, attribute order, whitespace, free order).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct XmlEquals {
    /// Expected document (variables are substituted).
    pub file: String,
    /// Compare only the first element this path selects.
    #[serde(default)]
    pub path: Option<String>,
    /// Requirement key.
    #[serde(default)]
    pub req: Option<String>,
}

/// Checks on a `multipart/related` body (RFC 2387) such as an RLS NOTIFY's (RFC 4662 §5):
/// it must split, and its root part (named by `start`, else the first) must have `root_type`.
/// The step's `xml` and `xml_equals` then apply to the root part.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MultipartCheck {
    /// Content-Type the root part must have, e.g. `application/rlmi+xml`.
    pub root_type: String,
    /// Requirement for the body's structure and its root part.
    pub req: String,
    /// Requirement that every `cid` attribute in the root names a part of the body (checked
    /// when given).
    #[serde(default)]
    pub cid_req: Option<String>,
}

/// Checks on the body part that an RLMI `<resource>`'s instance names by `cid`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartCheck {
    /// The `uri` of the RLMI resource whose (first) instance with a `cid` names the part.
    pub resource: String,
    /// Requirement for the part being there.
    pub req: String,
    /// Content-Type the part must have.
    #[serde(default)]
    pub content_type: Option<String>,
    /// Assertions on the part's XML.
    #[serde(default)]
    pub xml: Vec<XmlCheck>,
}

/// One step of a flow. Exactly one of `send`, `http`, `expect`, `reply`, `withhold`, `resend`,
/// `cancel`, `await_copy`, `act`, `any_order`, `alternatives`.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// Send a request with this method.
    #[serde(default)]
    pub send: Option<String>,
    /// Send an HTTP request with this method (an XCAP operation, RFC 4825) to `url`; its
    /// response is then expected like a SIP response (`expect: response`, `of`).
    #[serde(default)]
    pub http: Option<String>,
    /// Expect `response` (to the request labelled `of`) or a request method (e.g. `NOTIFY`).
    #[serde(default)]
    pub expect: Option<String>,
    /// Leave the request labelled so unanswered and watch the SUT's client transaction until
    /// its timer F (RFC 3261 §17.1.2.2): over UDP, its retransmissions (timer E) and their end.
    #[serde(default)]
    pub withhold: Option<String>,
    /// Send the request labelled so again, byte for byte (a retransmission, same branch), after
    /// its final response: the SUT's server transaction must answer with that response again
    /// (RFC 3261 §17.2.2).
    #[serde(default)]
    pub resend: Option<String>,
    /// Send a CANCEL for the request labelled so (RFC 3261 §9.1: its Request-URI, Call-ID,
    /// From, To, CSeq number, Route and top Via branch), from the node that sent it; `as`
    /// labels the CANCEL, whose response an `expect: response` step then takes.
    #[serde(default)]
    pub cancel: Option<String>,
    /// Make the UE under test act as its user would (an action the profile names, e.g.
    /// `set-status closed`, `stop`); what it then sends, later steps expect.
    #[serde(default)]
    pub act: Option<String>,
    /// Wait (the step's timeout) for the request labelled so to come again: a copy with its
    /// branch and CSeq, sent after this step began (over UDP; over TCP the step is skipped).
    /// With `absent`, after a final response of ours: no copy may come later than 1 s into the
    /// step, within its `timeout` (default T2 + T1 + 1 s), as its transaction is Completed.
    #[serde(default)]
    pub await_copy: Option<String>,
    /// On a reply step over TCP: close the connection the request came on and send the response
    /// over a connection to the request's source address and top Via sent-by port (RFC 3261
    /// §18.2.2): a new one, or one the node already has to that address. The SUT must take it
    /// there (§18.1.1).
    #[serde(default)]
    pub new_connection: Option<bool>,
    /// On a reply step: send the response broken this way, and keep no copy of it for the
    /// request's retransmissions (the SUT must discard it, RFC 3261 §18.1.2, §18.3). On a send
    /// step, `short-body`: the request goes out (and again) with a Content-Length beyond its body.
    #[serde(default)]
    pub malformed: Option<Malformed>,
    /// Answer the request labelled `of` with this status.
    #[serde(default)]
    pub reply: Option<u16>,
    /// Expect all these steps, in any order.
    #[serde(default)]
    pub any_order: Option<Vec<Step>>,
    /// Take the first branch whose first expectation matches what arrives.
    #[serde(default)]
    pub alternatives: Option<Vec<Alternative>>,

    /// Label for this step's message, referenced by `of`.
    #[serde(default, rename = "as")]
    pub label: Option<String>,
    /// Sending role.
    #[serde(default)]
    pub from: Option<String>,
    /// Receiving role of a sent request.
    #[serde(default)]
    pub to: Option<String>,
    /// Request-URI.
    #[serde(default)]
    pub uri: Option<String>,
    /// On a `send` step: the transport the request goes over instead of the run's (`udp` or
    /// `tcp`, not `tls`, whose SUT port differs), to the same address and port of the SUT. Its Via, the proxies' Vias and the SUT's URI say
    /// that transport. On an `expect` step: the transport the message must arrive over
    /// (checked under the step's `req`), e.g. `tls` for a NOTIFY to a `sips:` Contact.
    #[serde(default)]
    pub transport: Option<crate::net::Transport>,
    /// On a `send` step in a dialog whose initial SUBSCRIBE the SUT sent: send the request as
    /// another fork of that SUBSCRIBE would (RFC 6665 §4.1.2.4, RFC 3265 §4.4.9): its own From
    /// tag and CSeq 1, in a dialog of its own that the flow does not keep; the dialog named stays
    /// as it is.
    #[serde(default)]
    pub fork: bool,
    /// On a `send` step: the port of the top Via's sent-by is this role's node's instead of the
    /// sending node's (the request still leaves from the sending node), so that the SUT must
    /// answer at that role's node (RFC 3261 §18.2.2), which an `expect: response` step's `at`
    /// checks.
    #[serde(default)]
    pub via_port_of: Option<String>,
    /// On an `expect` step of a request: its Authorization answers the harness's Digest
    /// challenge (RFC 2617 §3.2.2) with the credentials the SUT holds: a UE under test its own,
    /// a server those of the UE of the request's dialog (profile `notify_credentials`).
    #[serde(default)]
    pub digest: Option<DigestCheck>,
    /// With `via_port_of`: the top Via also carries a maddr parameter with that role's node's
    /// IP address, where the SUT must then answer (RFC 3261 §18.2.2).
    #[serde(default)]
    pub maddr: bool,
    /// On a `send` step: the host of the top Via's sent-by as the SUT receives the request is
    /// this name instead of the sending node's IP address (the port stays), so that the SUT
    /// owes a `received` parameter (RFC 3261 §18.2.1).
    #[serde(default)]
    pub via_host: Option<String>,
    /// On an `http` step: `false` leaves a 401 unanswered, for the step that expects it to
    /// judge the challenge (default: a Digest challenge is answered with the profile's XCAP
    /// credentials).
    #[serde(default)]
    pub authenticate: Option<bool>,
    /// URL of an HTTP request (`http` steps), e.g. `${ps.xcap_root}/resource-lists/...`.
    #[serde(default)]
    pub url: Option<String>,
    /// Dialog name: created by the first request that names it, used in-dialog after.
    #[serde(default)]
    pub dialog: Option<String>,
    /// The label of the request a response answers (expect response, reply).
    #[serde(default)]
    pub of: Option<String>,
    /// Role where an expected request must arrive (defaults to the dialog's UE); on an expected
    /// response, the role whose node the response must reach (checked under the step's `req`).
    #[serde(default)]
    pub at: Option<String>,
    /// Headers to send (send, reply) or header checks (expect).
    #[serde(default)]
    pub headers: Option<OrderedMap<serde_yaml::Value>>,
    /// For an expected request: header matchers that choose which request of the dialog the
    /// step takes. Requests of the same method in the dialog that no waiting step selects are
    /// intermediate (RFC 6665 lets a notifier send a NOTIFY at any time): the harness answers
    /// them 200 and checks only the dialog rules on them.
    #[serde(default)]
    pub select: Option<OrderedMap<serde_yaml::Value>>,
    /// For an expected request: XML checks that choose which request the step takes by its
    /// body (one XML document of the body, or of a multipart body's parts, must pass them
    /// all). Like `select`, requests passed over are intermediate.
    #[serde(default)]
    pub select_xml: Option<Vec<XmlCheck>>,
    /// Body to send.
    #[serde(default)]
    pub body: Option<BodySource>,
    /// Expected status (expect response).
    #[serde(default)]
    pub status: Option<StatusSpec>,
    /// Assertions on an XML body.
    #[serde(default)]
    pub xml: Option<Vec<XmlCheck>>,
    /// Canonical comparison of the XML body with a file.
    #[serde(default)]
    pub xml_equals: Option<XmlEquals>,
    /// The body is multipart/related with this root (the `xml` checks apply to the root).
    #[serde(default)]
    pub multipart: Option<MultipartCheck>,
    /// Checks on parts named by the RLMI root (needs `multipart`).
    #[serde(default)]
    pub parts: Option<Vec<PartCheck>>,
    /// The body must be empty (true) or not (false).
    #[serde(default)]
    pub body_empty: Option<bool>,
    /// Checks on the body read as text, with the matchers of a header check (`equals`,
    /// `matches`, `capture`, ...): e.g. an XCAP attribute's value, quoted as XML's AttValue.
    #[serde(default)]
    pub body_text: Option<serde_yaml::Value>,
    /// On an `expect` step of a request: checks on its Request-URI, with the matchers of a
    /// header check (`equals`, `matches`, `capture`, ...).
    #[serde(default)]
    pub request_uri: Option<serde_yaml::Value>,
    /// Snapshot name for the received message.
    #[serde(default)]
    pub snapshot: Option<String>,
    /// Default requirement key for this step's checks, and for the message arriving at all.
    #[serde(default)]
    pub req: Option<String>,
    /// Wait at most this many seconds (scaled by the profile); default: the profile's `step_timeout`.
    #[serde(default)]
    pub timeout: Option<f64>,
    /// The message may not arrive; its absence is not a failure.
    #[serde(default)]
    pub optional: Option<bool>,
    /// The request must NOT arrive within the step's timeout (e.g. no NOTIFY after the
    /// subscription was ended). One that arrives fails the step and is answered 481.
    #[serde(default)]
    pub absent: Option<bool>,
    /// Free text shown in the report.
    #[serde(default)]
    pub note: Option<String>,
    /// The step numbers of the specification's figure (TS 24.141 Annex A) that this step
    /// plays, one per message it puts on the wire or takes, in order: a `send` step's hops
    /// (UE to P-CSCF, P-CSCF to S-CSCF, ..., to the SUT), the request or response an `expect`
    /// step takes, the response a `reply` sends, the request an `http` step sends. The report's
    /// ladder shows each number on its message.
    #[serde(default)]
    pub spec_steps: Option<Vec<u32>>,
}

/// Which kind a step is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// Send a request.
    Send,
    /// Send an HTTP request.
    Http,
    /// Expect a message.
    Expect,
    /// Answer a request.
    Reply,
    /// Leave a request unanswered and watch its retransmissions.
    Withhold,
    /// Send a request again and expect its final response again.
    Resend,
    /// Send a CANCEL for an earlier request.
    Cancel,
    /// Wait for a request to come again.
    AwaitCopy,
    /// Make the UE under test act.
    Act,
    /// Group of expectations in any order.
    AnyOrder,
    /// Branches.
    Alternatives,
}

impl Step {
    /// The kinds this step declares (valid steps declare exactly one).
    pub fn kinds(&self) -> Vec<StepKind> {
        let mut kinds = Vec::new();
        if self.send.is_some() {
            kinds.push(StepKind::Send);
        }
        if self.http.is_some() {
            kinds.push(StepKind::Http);
        }
        if self.expect.is_some() {
            kinds.push(StepKind::Expect);
        }
        if self.reply.is_some() {
            kinds.push(StepKind::Reply);
        }
        if self.withhold.is_some() {
            kinds.push(StepKind::Withhold);
        }
        if self.resend.is_some() {
            kinds.push(StepKind::Resend);
        }
        if self.cancel.is_some() {
            kinds.push(StepKind::Cancel);
        }
        if self.await_copy.is_some() {
            kinds.push(StepKind::AwaitCopy);
        }
        if self.act.is_some() {
            kinds.push(StepKind::Act);
        }
        if self.any_order.is_some() {
            kinds.push(StepKind::AnyOrder);
        }
        if self.alternatives.is_some() {
            kinds.push(StepKind::Alternatives);
        }
        kinds
    }

    /// The step's kind; valid after loading.
    pub fn kind(&self) -> StepKind {
        self.kinds().first().copied().unwrap_or(StepKind::Send)
    }

    /// True when this expects a response.
    pub fn expects_response(&self) -> bool {
        self.expect.as_deref() == Some("response")
    }

    /// A short description for reports.
    pub fn describe(&self) -> String {
        match self.kind() {
            StepKind::Send => format!(
                "{} {} → {}",
                self.from.as_deref().unwrap_or("?"),
                self.send.as_deref().unwrap_or("?"),
                self.to.as_deref().unwrap_or("?")
            ),
            StepKind::Http => format!(
                "{} XCAP {} → {}",
                self.from.as_deref().unwrap_or("?"),
                self.http.as_deref().unwrap_or("?"),
                self.to.as_deref().unwrap_or("?")
            ),
            StepKind::Expect if self.expects_response() => {
                format!("expect response to {}", self.of.as_deref().unwrap_or("?"))
            }
            StepKind::Expect => format!("expect {}", self.expect.as_deref().unwrap_or("?")),
            StepKind::Reply => format!(
                "reply {} to {}",
                self.reply.unwrap_or(0),
                self.of.as_deref().unwrap_or("?")
            ),
            StepKind::Withhold => format!(
                "withhold the answer to {}",
                self.withhold.as_deref().unwrap_or("?")
            ),
            StepKind::Resend => format!("send {} again", self.resend.as_deref().unwrap_or("?")),
            StepKind::Cancel => format!("cancel {}", self.cancel.as_deref().unwrap_or("?")),
            StepKind::AwaitCopy => {
                format!("{} comes again", self.await_copy.as_deref().unwrap_or("?"))
            }
            StepKind::Act => format!("the user: {}", self.act.as_deref().unwrap_or("?")),
            StepKind::AnyOrder => "any order".to_string(),
            StepKind::Alternatives => "alternatives".to_string(),
        }
    }
}
