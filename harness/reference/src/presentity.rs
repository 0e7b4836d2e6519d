//! The presentity a PUBLISH or SUBSCRIBE is about, taken from its Request-URI: user and host,
//! the host compared case-insensitively (RFC 3261 §19.1.4).

/// A presentity: `user@host` of a `sip:`, `sips:` or `pres:` URI.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(super) struct Presentity {
    user: Option<String>,
    host: String,
}

impl Presentity {
    /// Reads the presentity from a Request-URI; `None` when it has no usable host.
    pub fn from_uri(uri: &str) -> Option<Presentity> {
        let uri = uri.trim().trim_start_matches('<').trim_end_matches('>');
        let (scheme, rest) = uri.split_once(':')?;
        if !["sip", "sips", "pres"]
            .iter()
            .any(|s| s.eq_ignore_ascii_case(scheme))
        {
            return None;
        }
        let rest = rest.split('?').next().unwrap_or_default();
        let (user, host_part) = match rest.split_once('@') {
            Some((user, host)) => (Some(user.to_string()), host),
            None => (None, rest),
        };
        let host_port = host_part.split(';').next().unwrap_or_default();
        let host = if host_port.starts_with('[') {
            host_port
                .find(']')
                .map(|end| &host_port[..=end])
                .unwrap_or(host_port)
        } else {
            host_port.split(':').next().unwrap_or_default()
        };
        if host.is_empty() || user.as_deref() == Some("") {
            return None;
        }
        Some(Presentity {
            user,
            host: host.to_ascii_lowercase(),
        })
    }

    /// The user part, if the URI has one.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The host part, in lower case.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The `entity` of the composed document, e.g. `sip:user1@home1.net`.
    pub fn entity(&self) -> String {
        match &self.user {
            Some(user) => format!("sip:{user}@{}", self.host),
            None => format!("sip:{}", self.host),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_on_user_and_case_insensitive_host() {
        let a = Presentity::from_uri("sip:user1@Home1.NET:5060;transport=udp").unwrap();
        let b = Presentity::from_uri("pres:user1@home1.net").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.entity(), "sip:user1@home1.net");
        assert_ne!(a, Presentity::from_uri("sip:User1@home1.net").unwrap());
        assert_eq!(
            Presentity::from_uri("sip:[::1]:5060").unwrap().entity(),
            "sip:[::1]"
        );
        for bad in ["", "user@host", "http://x", "sip:", "sip:@host", "sip:u@"] {
            assert_eq!(Presentity::from_uri(bad), None, "{bad}");
        }
    }
}
