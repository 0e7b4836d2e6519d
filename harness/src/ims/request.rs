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

    /// Serialises the request.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut builder = MessageBuilder::request(&self.method, &self.uri);
        for (name, value) in &self.headers {
            builder.push_header(name, value.clone());
        }
        builder.body(self.body.clone()).build()
    }
}
