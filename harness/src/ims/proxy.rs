//! Proxy behaviour of the emulated P-CSCF, S-CSCF and I-CSCF (TS 24.229 §5.2, §5.3, §5.4),
//! reduced to what the SUT can observe: Via, Route, Record-Route, identity and charging headers.

use super::request::OutRequest;
use crate::flow::model::RoleKind;
use crate::net::Transport;
use crate::sip::typed::{uri_of, uri_socket_addr};
use std::net::SocketAddr;

/// An emulated proxy the request passes.
#[derive(Debug, Clone)]
pub struct Hop {
    /// Role name.
    pub name: String,
    /// Kind of CSCF.
    pub kind: RoleKind,
    /// Its socket address.
    pub addr: SocketAddr,
    /// Its domain.
    pub domain: String,
    /// Whether it record-routes dialog-creating requests.
    pub record_route: bool,
    /// Whether its Record-Route lacks `lr` (a strict router).
    pub strict: bool,
    /// Transport toward the SUT (named in its Via and Record-Route).
    pub transport: Transport,
}

impl Hop {
    /// The URI other nodes use to route to this one.
    pub fn uri(&self) -> String {
        match self.kind {
            RoleKind::SCscf => format!("sip:orig@{}", self.addr),
            _ => format!("sip:{}", self.addr),
        }
    }
}

/// Where the proxy sends the request next.
#[derive(Debug, Clone)]
pub enum NextHop<'a> {
    /// Another emulated proxy.
    Proxy(&'a Hop),
    /// The system under test, addressed by this URI.
    Sut(&'a str),
}

/// Applies one proxy's processing to a request passing through it.
/// `initial` is false for requests inside a dialog, which follow the route set only;
/// `dialog_forming` makes record-routing proxies add Record-Route.
pub fn forward(
    request: &mut OutRequest,
    hop: &Hop,
    next: &NextHop<'_>,
    dialog_forming: bool,
    initial: bool,
    icid: &str,
    branch: &str,
) {
    // Route consumption (RFC 3261 §16.4): a top Route naming this proxy is removed.
    if let Some(top) = request.header("Route").map(crate::sip::text::split_list) {
        if top.first().and_then(|r| uri_socket_addr(&uri_of(r))) == Some(hop.addr) {
            request.pop_top("Route");
        }
    }
    request.push_top(
        "Via",
        format!(
            "SIP/2.0/{} {};branch={branch}",
            hop.transport.via_name(),
            hop.addr
        ),
    );
    if let Some(mf) = request
        .header("Max-Forwards")
        .and_then(|v| v.trim().parse::<u32>().ok())
    {
        request.set("Max-Forwards", mf.saturating_sub(1).to_string());
    }
    if dialog_forming && hop.record_route {
        let lr = if hop.strict { "" } else { ";lr" };
        request.push_top(
            "Record-Route",
            format!(
                "<{}:{}{lr}{}>",
                uri_scheme(hop.transport),
                hop.addr,
                transport_param(hop.transport)
            ),
        );
    }
    match hop.kind {
        RoleKind::PCscf => p_cscf(request, icid),
        RoleKind::SCscf if initial => s_cscf(request, hop, next),
        RoleKind::ICscf if initial => i_cscf(request, next),
        _ => {}
    }
}

/// TS 24.229 §5.2.6.3: the P-CSCF asserts the identity, removes the sec-agree headers and
/// inserts a P-Charging-Vector with a fresh icid-value.
fn p_cscf(request: &mut OutRequest, icid: &str) {
    if let Some(preferred) = request.header("P-Preferred-Identity").map(str::to_string) {
        request.remove("P-Preferred-Identity");
        request.set("P-Asserted-Identity", preferred);
    } else if request.header("P-Asserted-Identity").is_none() {
        if let Some(from) = request.header("From").map(uri_of) {
            request.set("P-Asserted-Identity", format!("<{from}>"));
        }
    }
    for name in ["Require", "Proxy-Require"] {
        if let Some(value) = request.header(name).map(str::to_string) {
            let kept: Vec<String> = crate::sip::text::split_list(&value)
                .into_iter()
                .filter(|t| !t.eq_ignore_ascii_case("sec-agree"))
                .collect();
            if kept.is_empty() {
                request.remove(name);
            } else {
                request.set(name, kept.join(", "));
            }
        }
    }
    request.remove("Security-Verify");
    request.remove("Security-Client");
    if request.header("P-Charging-Vector").is_none() {
        request.set("P-Charging-Vector", format!("icid-value=\"{icid}\""));
    }
}

/// TS 24.229 §5.4.3.2: an originating S-CSCF leaving its network adds orig-ioi and removes
/// access information; an S-CSCF invoking an AS routes to it with a Route header.
fn s_cscf(request: &mut OutRequest, hop: &Hop, next: &NextHop<'_>) {
    match next {
        NextHop::Proxy(other) if other.domain != hop.domain => {
            if let Some(pcv) = request.header("P-Charging-Vector").map(str::to_string) {
                if !pcv.contains("orig-ioi") {
                    request.set(
                        "P-Charging-Vector",
                        format!("{pcv};orig-ioi={}", hop.domain),
                    );
                }
            }
            request.remove("P-Access-Network-Info");
        }
        NextHop::Proxy(other) => push_route(request, &other.uri()),
        NextHop::Sut(uri) => push_route(request, uri),
    }
}

/// TS 24.229 §5.3.2.1: the I-CSCF routes to the S-CSCF the HSS names (a Route header).
fn i_cscf(request: &mut OutRequest, next: &NextHop<'_>) {
    match next {
        NextHop::Proxy(other) => push_route(request, &other.uri()),
        NextHop::Sut(uri) => push_route(request, uri),
    }
}

/// The URI parameter naming a transport other than the UDP default (RFC 3261 §19.1.1); none
/// for TLS, which a `sips:` URI implies ([`uri_scheme`]).
pub fn transport_param(transport: Transport) -> &'static str {
    match transport {
        Transport::Udp | Transport::Tls => "",
        Transport::Tcp => ";transport=tcp",
    }
}

/// The URI scheme for a target reached over `transport`: `sips` over TLS (RFC 3261 §26.2.2),
/// else `sip`.
pub fn uri_scheme(transport: Transport) -> &'static str {
    match transport {
        Transport::Tls => "sips",
        Transport::Udp | Transport::Tcp => "sip",
    }
}

fn push_route(request: &mut OutRequest, uri: &str) {
    request.push_top("Route", format!("<{uri};lr>"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hop(name: &str, kind: RoleKind, port: u16, domain: &str) -> Hop {
        Hop {
            name: name.into(),
            kind,
            addr: format!("127.0.0.1:{port}").parse().unwrap(),
            domain: domain.into(),
            record_route: kind != RoleKind::ICscf,
            strict: false,
            transport: Transport::Udp,
        }
    }

    #[test]
    fn p_and_s_cscf_process_a_subscribe() {
        let pcscf = hop("pcscf1", RoleKind::PCscf, 5001, "home1.net");
        let scscf = hop("scscf1", RoleKind::SCscf, 5002, "home1.net");
        let mut req = OutRequest {
            method: "SUBSCRIBE".into(),
            uri: "sip:bob@home1.net".into(),
            headers: vec![
                (
                    "Via".into(),
                    "SIP/2.0/UDP 127.0.0.1:5000;branch=z9hG4bKue".into(),
                ),
                ("Max-Forwards".into(), "70".into()),
                (
                    "Route".into(),
                    format!("<sip:{};lr>, <{};lr>", pcscf.addr, scscf.uri()),
                ),
                (
                    "P-Preferred-Identity".into(),
                    "<sip:alice@home1.net>".into(),
                ),
                ("From".into(), "<sip:alice@home1.net>;tag=1".into()),
                ("Require".into(), "sec-agree".into()),
                ("Security-Verify".into(), "ipsec-3gpp; q=0.1".into()),
            ],
            body: vec![],
        };
        forward(
            &mut req,
            &pcscf,
            &NextHop::Proxy(&scscf),
            true,
            true,
            "icid1",
            "z9hG4bKp",
        );
        forward(
            &mut req,
            &scscf,
            &NextHop::Sut("sip:127.0.0.1:5060"),
            true,
            true,
            "icid1",
            "z9hG4bKs",
        );
        let text = String::from_utf8(req.to_bytes()).unwrap();
        let msg = crate::sip::SipMessage::parse(text.as_bytes()).unwrap();
        assert_eq!(msg.header_values("Via").len(), 3);
        assert_eq!(msg.header_values("Route"), vec!["<sip:127.0.0.1:5060;lr>"]);
        assert_eq!(
            msg.header_values("Record-Route"),
            vec!["<sip:127.0.0.1:5002;lr>", "<sip:127.0.0.1:5001;lr>"]
        );
        assert_eq!(
            msg.header("P-Asserted-Identity"),
            Some("<sip:alice@home1.net>")
        );
        assert_eq!(msg.header("P-Preferred-Identity"), None);
        assert_eq!(msg.header("Require"), None);
        assert_eq!(msg.header("Security-Verify"), None);
        assert_eq!(msg.header("Max-Forwards"), Some("68"));
        assert!(msg.header("P-Charging-Vector").unwrap().contains("icid1"));
    }
}
