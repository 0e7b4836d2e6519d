//! A request being built and passed along the emulated nodes, before it goes on the wire.

use crate::sip::MessageBuilder;

/// An outgoing request: start line, ordered headers, body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutRequest {
    /// Method.
    pub method: String,
    /// Request-URI.
    pub uri: String,
    /// Headers in wire order.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Vec<u8>,
}

impl OutRequest {
    /// First value of a header (case-insensitive name).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Removes every header of that name.
    pub fn remove(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    /// Sets a header, replacing the first of that name in place or appending.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self
            .headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = value,
            None => self.headers.push((name.to_string(), value)),
        }
    }

    /// Adds a value on top of a list header (Via, Route, Record-Route): a new first line.
    pub fn push_top(&mut self, name: &str, value: impl Into<String>) {
        let at = self
            .headers
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))
            .unwrap_or(self.headers.len().min(1));
        self.headers.insert(at, (name.to_string(), value.into()));
    }

    /// Removes the first value of a list header, returning it.
    pub fn pop_top(&mut self, name: &str) -> Option<String> {
        let at = self
            .headers
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name))?;
        let values = crate::sip::text::split_list(&self.headers[at].1);
        let (first, rest) = values.split_first()?;
        if rest.is_empty() {
            self.headers.remove(at);
        } else {
            self.headers[at].1 = rest.join(", ");
        }
        Some(first.clone())
    }

    /// Puts `host` in place of the host of the top Via's sent-by, keeping its port and
    /// parameters (a Via the harness built: `SIP/2.0/UDP 127.0.0.1:5070;branch=...`).
    pub fn rename_top_via_host(&mut self, host: &str) {
        self.edit_top_sent_by(|sent_by| match sent_by.rsplit_once(':') {
            Some((_, port)) => format!("{host}:{port}"),
            None => host.to_string(),
        });
    }

    /// Sets the port of the top Via's sent-by (its host stays).
    pub fn set_top_via_port(&mut self, port: u16) {
        self.edit_top_sent_by(|sent_by| {
            let host = match sent_by.split_once(']') {
                Some((v6, _)) => &sent_by[..=v6.len()],
                None => sent_by.split(':').next().unwrap_or_default(),
            };
            format!("{host}:{port}")
        });
    }

    /// Adds a maddr parameter naming `ip` to the top Via (RFC 3261 §18.2.2).
    pub fn set_top_via_maddr(&mut self, ip: std::net::IpAddr) {
        self.edit_top_sent_by(|sent_by| format!("{sent_by};maddr={ip}"));
    }

    /// Rewrites the sent-by of the top Via with `edit`, keeping its protocol and parameters.
    fn edit_top_sent_by(&mut self, edit: impl FnOnce(&str) -> String) {
        let Some(top) = self.pop_top("Via") else {
            return;
        };
        let edited = match top.split_once(' ') {
            Some((protocol, rest)) => {
                let sent_by_end = rest.find(';').unwrap_or(rest.len());
                let (sent_by, params) = rest.split_at(sent_by_end);
                format!("{protocol} {}{params}", edit(sent_by))
            }
            None => top,
        };
        self.push_top("Via", edited);
    }

    /// Serialises the request.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut builder = MessageBuilder::request(&self.method, &self.uri);
        for (name, value) in &self.headers {
            builder.push_header(name, value.clone());
        }
        builder.body(self.body.clone()).build()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renames_only_the_host_or_the_port_of_the_top_via() {
        let mut request = OutRequest {
            method: "PUBLISH".into(),
            uri: "sip:a@home1.net".into(),
            headers: vec![
                (
                    "Via".into(),
                    "SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1".into(),
                ),
                (
                    "Via".into(),
                    "SIP/2.0/UDP 127.0.0.1:5071;branch=z9hG4bK2".into(),
                ),
            ],
            body: Vec::new(),
        };
        request.rename_top_via_host("pcscf1.home1.net");
        assert_eq!(
            request.header("Via"),
            Some("SIP/2.0/UDP pcscf1.home1.net:5070;branch=z9hG4bK1")
        );
        request.set_top_via_port(5090);
        assert_eq!(
            request.header("Via"),
            Some("SIP/2.0/UDP pcscf1.home1.net:5090;branch=z9hG4bK1")
        );
        assert_eq!(
            request.headers[1].1,
            "SIP/2.0/UDP 127.0.0.1:5071;branch=z9hG4bK2"
        );
    }
}
