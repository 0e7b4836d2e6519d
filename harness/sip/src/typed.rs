//! Typed views of the headers presence needs: Event, Subscription-State, name-addr headers
//! (From, To, Contact, Route, Record-Route, P-Asserted-Identity, P-Preferred-Identity),
//! P-Charging-Vector and integer headers. URIs are read with rsip where it can.

use super::message::SipMessage;
use super::text::{leading_value, param_of, parse_params, unquote, Parameterised};
use std::borrow::Cow;
use std::net::SocketAddr;

/// `Event: package;id=x` (RFC 6665 §8.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Event package name, e.g. `presence` or `presence.winfo`.
    pub package: String,
    /// The `id` parameter, compared byte by byte (RFC 6665 §8.2.1).
    pub id: Option<String>,
}

/// `Subscription-State: state;expires=N;reason=r;retry-after=N` (RFC 6665 §8.2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionState {
    /// `active`, `pending`, `terminated` or an extension value, lowercased.
    pub state: String,
    /// The `expires` parameter, if present and numeric.
    pub expires: Option<u64>,
    /// The `reason` parameter.
    pub reason: Option<String>,
    /// The `retry-after` parameter.
    pub retry_after: Option<u64>,
}

/// A name-addr or addr-spec with its header parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name without quotes, if any.
    pub display: Option<String>,
    /// The URI text.
    pub uri: String,
    /// Header parameters (after the `>` or, for an addr-spec, after the URI).
    pub params: Parameterised,
}

impl NameAddr {
    /// Parses `"Name" <sip:u@h;lr>;tag=1` or `sip:u@h;tag=1`.
    pub fn parse(value: &str) -> Option<NameAddr> {
        let (display, uri, params) = name_addr_parts(value)?;
        Some(NameAddr {
            display: display.map(|d| unquote(d).into_owned()),
            uri: uri.to_string(),
            params: parse_params(params),
        })
    }

    /// The `tag` parameter.
    pub fn tag(&self) -> Option<&str> {
        self.params.param("tag").flatten()
    }
}

/// A name-addr or addr-spec split without copying: the display name as written, the URI,
/// and the text that holds the header parameters (for [`parse_params`] or [`param_of`]: its
/// part before the first `;` is not a parameter).
fn name_addr_parts(value: &str) -> Option<(Option<&str>, &str, &str)> {
    let value = value.trim_ascii();
    if let Some(open) = memchr::memchr(b'<', value.as_bytes()) {
        let close = memchr::memchr(b'>', &value.as_bytes()[open..])? + open;
        let display = value[..open].trim_ascii();
        let uri = value[open + 1..close].trim_ascii();
        Some((
            (!display.is_empty()).then_some(display),
            uri,
            &value[close + 1..],
        ))
    } else {
        // addr-spec: parameters after the URI belong to the header (RFC 3261 §20.10).
        let uri = leading_value(value);
        (!uri.is_empty()).then_some((None, uri, value))
    }
}

/// Reads the host and port of a SIP URI as a socket address (port 5060 when absent).
/// Only literal IP addresses resolve; names need a DNS the harness does not have.
pub fn uri_socket_addr(uri: &str) -> Option<SocketAddr> {
    let parsed = rsip::Uri::try_from(uri).ok()?;
    let port = parsed.port().map(|p| *p.value()).unwrap_or(5060);
    match parsed.host() {
        rsip::Host::IpAddr(ip) => Some(SocketAddr::new(*ip, port)),
        rsip::Host::Domain(d) => d
            .to_string()
            .parse()
            .ok()
            .map(|ip| SocketAddr::new(ip, port)),
    }
}

/// SIP URI comparison after RFC 3261 §19.1.4: scheme and host case-insensitive, user
/// case-sensitive, an absent port differs from an explicit one, parameters compared by
/// case-insensitive name and value where both URIs have them, and `user`, `ttl`, `method`,
/// `maddr` and `transport` must appear in both or neither. URI headers are not compared.
/// The same text is the same URI (the common case, decided without parsing).
pub fn uri_equivalent(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (ComparableUri::parse(a), ComparableUri::parse(b)) {
        (Some(a), Some(b)) => a.equivalent(&b),
        _ => a.trim() == b.trim(),
    }
}

/// The parts of a SIP URI that RFC 3261 §19.1.4 compares.
struct ComparableUri {
    /// Lower-case scheme, then the user part as written.
    identity: String,
    /// Lower-case host and port.
    host: String,
    /// Parameters, names and values lower-cased.
    params: Vec<(String, String)>,
}

impl ComparableUri {
    fn parse(uri: &str) -> Option<ComparableUri> {
        let (scheme, rest) = uri.trim().split_once(':')?;
        let rest = rest.split('?').next().unwrap_or_default();
        let mut parts = rest.split(';');
        let address = parts.next().unwrap_or_default();
        let (user, host) = address.rsplit_once('@').unwrap_or(("", address));
        let params = parts
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (name, value) = p.split_once('=').unwrap_or((p, ""));
                (name.to_ascii_lowercase(), value.to_ascii_lowercase())
            })
            .collect();
        Some(ComparableUri {
            identity: format!("{}:{user}", scheme.to_ascii_lowercase()),
            host: host.to_ascii_lowercase(),
            params,
        })
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn equivalent(&self, other: &ComparableUri) -> bool {
        const IN_BOTH_OR_NEITHER: &[&str] = &["user", "ttl", "method", "maddr", "transport"];
        self.identity == other.identity
            && self.host == other.host
            && self
                .params
                .iter()
                .all(|(name, value)| other.param(name).is_none_or(|v| v == value))
            && IN_BOTH_OR_NEITHER
                .iter()
                .all(|name| self.param(name).is_some() == other.param(name).is_some())
    }
}

/// True when `uri` is a SIPS URI (its scheme `sips`, in any case; RFC 3261 §19.1).
pub fn is_sips(uri: &str) -> bool {
    uri.trim_start()
        .get(..5)
        .is_some_and(|s| s.eq_ignore_ascii_case("sips:"))
}

/// The URI inside a name-addr value, or the value itself.
pub fn uri_of(value: &str) -> String {
    name_addr_parts(value)
        .map_or(value.trim(), |(_, uri, _)| uri)
        .to_string()
}

impl SipMessage {
    /// Typed `Event` header.
    pub fn event(&self) -> Option<Event> {
        let p = self.header_params("Event")?;
        Some(Event {
            package: p.value.clone(),
            id: p.param("id").flatten().map(str::to_string),
        })
    }

    /// Typed `Subscription-State` header.
    pub fn subscription_state(&self) -> Option<SubscriptionState> {
        let p = self.header_params("Subscription-State")?;
        let number = |name: &str| p.param(name).flatten().and_then(|v| v.parse().ok());
        Some(SubscriptionState {
            state: p.value.to_ascii_lowercase(),
            expires: number("expires"),
            reason: p.param("reason").flatten().map(str::to_string),
            retry_after: number("retry-after"),
        })
    }

    /// A header holding one non-negative integer (Expires, Min-Expires, Content-Length, Max-Forwards).
    pub fn header_u64(&self, name: &str) -> Option<u64> {
        self.header(name)?.trim().parse().ok()
    }

    /// Name-addr values of a header (From, To, Contact, Route, Record-Route, P-Asserted-Identity...).
    pub fn name_addrs(&self, name: &str) -> Vec<NameAddr> {
        self.header_values(name)
            .iter()
            .filter_map(|v| NameAddr::parse(v))
            .collect()
    }

    /// The tag of From.
    pub fn from_tag(&self) -> Option<Cow<'_, str>> {
        self.tag_of("From")
    }

    /// The tag of To.
    pub fn to_tag(&self) -> Option<Cow<'_, str>> {
        self.tag_of("To")
    }

    /// The tag of the first readable `name` header, read without building a [`NameAddr`].
    fn tag_of(&self, name: &str) -> Option<Cow<'_, str>> {
        let (_, _, params) = self.header_items(name).find_map(name_addr_parts)?;
        param_of(params, "tag").flatten()
    }

    /// Token list headers (Allow-Events, Require, Supported, Accept): values lowercased,
    /// parameters dropped.
    pub fn tokens(&self, name: &str) -> Vec<String> {
        self.header_items(name)
            .map(|v| leading_value(v).to_ascii_lowercase())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_comparison_follows_rfc_3261() {
        assert!(uri_equivalent(
            "sip:alice@Example.COM;LR",
            "SIP:alice@example.com;lr"
        ));
        assert!(uri_equivalent(
            "sip:127.0.0.1:5060;lr;x=1",
            "sip:127.0.0.1:5060;lr"
        ));
        assert!(!uri_equivalent(
            "sip:Alice@example.com",
            "sip:alice@example.com"
        ));
        assert!(!uri_equivalent("sip:127.0.0.1:5060;lr", "sip:127.0.0.1;lr"));
        assert!(!uri_equivalent(
            "sip:127.0.0.1:5060;transport=tcp",
            "sip:127.0.0.1:5060"
        ));
        assert!(!uri_equivalent(
            "sip:127.0.0.1:5060;lr=on",
            "sip:127.0.0.1:5060;lr=off"
        ));
    }

    #[test]
    fn typed_headers() {
        let raw = b"NOTIFY sip:ue@127.0.0.1:5070 SIP/2.0\r\n\
From: \"PS\" <sip:ps@127.0.0.1:5060>;tag=abc\r\n\
To: sip:ue@home1.net;tag=xyz\r\n\
Event: presence ;id=\"7\"\r\n\
Subscription-State: terminated;reason=timeout;retry-after=30\r\n\
P-Charging-Vector: icid-value=\"Ay=5\";orig-ioi=home2.net\r\n\
Allow-Events: presence, Presence.Winfo\r\n\
Expires: 600\r\n\r\n";
        let msg = SipMessage::parse(raw).unwrap();
        assert_eq!(
            msg.event(),
            Some(Event {
                package: "presence".into(),
                id: Some("7".into())
            })
        );
        let st = msg.subscription_state().unwrap();
        assert_eq!(
            (st.state.as_str(), st.reason.as_deref(), st.retry_after),
            ("terminated", Some("timeout"), Some(30))
        );
        assert_eq!(msg.from_tag().as_deref(), Some("abc"));
        assert_eq!(msg.to_tag().as_deref(), Some("xyz"));
        assert_eq!(msg.name_addrs("From")[0].display.as_deref(), Some("PS"));
        assert_eq!(
            msg.tokens("Allow-Events"),
            vec!["presence", "presence.winfo"]
        );
        assert_eq!(msg.header_u64("Expires"), Some(600));
        assert_eq!(
            uri_socket_addr("sip:ue@127.0.0.1:5070;lr"),
            Some("127.0.0.1:5070".parse().unwrap())
        );
    }
}
