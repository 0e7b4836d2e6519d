//! Snapshots: each SUT message in a normalised form, compared against the committed
//! `fixtures/snapshots/<profile>/` files. Dynamic values become numbered placeholders that keep
//! correlations (`SIP-If-Match: [etag#1]` equals the `[etag#1]` of an earlier SIP-ETag);
//! addresses become the names of the nodes that own them.

use crate::check::xml;
use crate::sip::SipMessage;
use std::borrow::Cow;
use std::collections::HashMap;
use std::net::SocketAddr;

/// Replaces dynamic values consistently across the messages of one flow.
#[derive(Debug, Default)]
pub struct Normaliser {
    seen: HashMap<(&'static str, String), usize>,
    counters: HashMap<&'static str, usize>,
    /// Known addresses and the node names that stand for them.
    pub addresses: HashMap<SocketAddr, String>,
    /// Each body normalised so far, by its bytes: a body passed on from hop to hop is
    /// canonicalised once. Its second normalisation would be the same text, since every value
    /// in it already has its placeholder.
    bodies: HashMap<Vec<u8>, String>,
}

/// A match of one normalising pattern: its whole span and the span of the value it replaces.
struct Found {
    start: usize,
    end: usize,
    value: (usize, usize),
}

/// Finds `name` (ASCII letters and `-`, any case) where no word character precedes it,
/// followed by a value of one or more characters that `stop` does not end. Written out by
/// hand rather than as a regular expression: compiling the normaliser's six expressions cost
/// two milliseconds, most of the CPU time of a one-flow run beyond the flow itself.
fn find_param(text: &str, from: usize, name: &str, value: impl Fn(&str) -> usize) -> Option<Found> {
    let bytes = text.as_bytes();
    let first = name.as_bytes().first()?.to_ascii_lowercase();
    let mut at = from;
    while at + name.len() <= bytes.len() {
        // Jump to the next byte that can start `name`, in either case.
        let Some(offset) = memchr::memchr2(first, first.to_ascii_uppercase(), &bytes[at..]) else {
            break;
        };
        at += offset;
        // `name` is ASCII, so a match starts at an ASCII byte: a char boundary.
        if bytes.len() - at >= name.len()
            && bytes[at..at + name.len()].eq_ignore_ascii_case(name.as_bytes())
            && text[..at]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_'))
        {
            let start = at + name.len();
            let len = value(&text[start..]);
            if len > 0 {
                return Some(Found {
                    start: at,
                    end: start + len,
                    value: (start, start + len),
                });
            }
        }
        at += 1;
    }
    None
}

/// Length of the leading run of characters `keep` accepts.
fn run_of(text: &str, keep: impl Fn(char) -> bool) -> usize {
    text.char_indices()
        .find(|(_, c)| !keep(*c))
        .map_or(text.len(), |(i, _)| i)
}

/// A tag or branch value: up to `;`, `>`, `,` or white space.
fn token_value(text: &str) -> usize {
    run_of(text, |c| {
        !(c == ';' || c == '>' || c == ',' || c.is_whitespace())
    })
}

/// An icid-value: a quoted string, or up to `;`, `,` or white space.
fn icid_value(text: &str) -> usize {
    if let Some(rest) = text.strip_prefix('"') {
        if let Some(close) = rest.find('"') {
            return close + 2;
        }
    }
    run_of(text, |c| !(c == ';' || c == ',' || c.is_whitespace()))
}

fn digits(text: &str) -> usize {
    run_of(text, |c| c.is_ascii_digit())
}

/// `127.0.0.1:` followed by digits.
fn find_address(text: &str, from: usize) -> Option<Found> {
    let mut at = from;
    while let Some(offset) = text[at..].find("127.0.0.1:") {
        let start = at + offset;
        let port = start + "127.0.0.1:".len();
        let len = digits(&text[port..]);
        if len > 0 {
            return Some(Found {
                start,
                end: port + len,
                value: (port, port + len),
            });
        }
        at = start + 1;
    }
    None
}

/// An RFC 3339 date-time: `dddd-dd-ddTdd:dd:dd`, optional fraction, optional `Z` or offset.
fn timestamp_len(text: &str) -> usize {
    let b = text.as_bytes();
    let shape = b"dddd-dd-ddTdd:dd:dd";
    if b.len() < shape.len()
        || !shape.iter().zip(b).all(|(s, c)| {
            if *s == b'd' {
                c.is_ascii_digit()
            } else {
                s == c
            }
        })
    {
        return 0;
    }
    let mut end = shape.len();
    if b.get(end) == Some(&b'.') && digits(&text[end + 1..]) > 0 {
        end += 1 + digits(&text[end + 1..]);
    }
    match b.get(end) {
        Some(b'Z') => end + 1,
        Some(b'+' | b'-') => {
            let rest = &b[end + 1..];
            let two = |r: &[u8]| r.len() >= 2 && r[0].is_ascii_digit() && r[1].is_ascii_digit();
            if two(rest) && rest.get(2) == Some(&b':') && two(&rest[3..]) {
                end + 6
            } else if two(rest) && two(&rest[2..]) {
                end + 5
            } else {
                end
            }
        }
        _ => end,
    }
}

fn find_timestamp(text: &str, from: usize) -> Option<Found> {
    let mut at = from;
    while at < text.len() {
        // A timestamp starts with a digit (an ASCII byte, so a char boundary).
        let Some(offset) = text.as_bytes()[at..].iter().position(u8::is_ascii_digit) else {
            break;
        };
        at += offset;
        let len = timestamp_len(&text[at..]);
        if len > 0 {
            return Some(Found {
                start: at,
                end: at + len,
                value: (at, at + len),
            });
        }
        at += text[at..].chars().next().map_or(1, char::len_utf8);
    }
    None
}

/// `text` after `step`: `step`'s own text when it changed anything, else `text` itself.
fn then<'t>(text: Cow<'t, str>, step: impl FnOnce(&str) -> Cow<'_, str>) -> Cow<'t, str> {
    let changed = match step(&text) {
        Cow::Owned(changed) => Some(changed),
        Cow::Borrowed(_) => None,
    };
    changed.map_or(text, Cow::Owned)
}

/// Replaces every match `find` finds (left to right, not overlapping) with what `replace`
/// makes of the matched value; borrows `text` when nothing matches (most header values).
fn replace_all<'t>(
    text: &'t str,
    find: impl Fn(&str, usize) -> Option<Found>,
    mut replace: impl FnMut(&str) -> String,
) -> Cow<'t, str> {
    let Some(mut next) = find(text, 0) else {
        return Cow::Borrowed(text);
    };
    let mut out = String::with_capacity(text.len() + 16);
    let mut last = 0;
    loop {
        let found = next;
        out.push_str(&text[last..found.start]);
        out.push_str(&replace(&text[found.value.0..found.value.1]));
        last = found.end.max(found.start + 1).min(text.len());
        if found.end == found.start {
            break;
        }
        match find(text, last) {
            Some(found) => next = found,
            None => break,
        }
    }
    out.push_str(&text[last..]);
    Cow::Owned(out)
}

impl Normaliser {
    /// A placeholder for `value` of `kind`, the same each time the same value recurs.
    fn placeholder(&mut self, kind: &'static str, value: &str) -> String {
        if let Some(n) = self.seen.get(&(kind, value.to_string())) {
            return format!("[{kind}#{n}]");
        }
        let counter = self.counters.entry(kind).or_insert(0);
        *counter += 1;
        let n = *counter;
        self.seen.insert((kind, value.to_string()), n);
        format!("[{kind}#{n}]")
    }

    /// Replaces each `name` parameter's value by a placeholder of `kind`.
    fn replace_param<'t>(
        &mut self,
        text: &'t str,
        name: &'static str,
        value: fn(&str) -> usize,
        kind: &'static str,
    ) -> Cow<'t, str> {
        replace_all(
            text,
            |t, from| find_param(t, from, name, value),
            |v| format!("{name}{}", self.placeholder(kind, v)),
        )
    }

    fn replace_addresses<'t>(&mut self, text: &'t str) -> Cow<'t, str> {
        replace_all(text, find_address, |port| {
            let address = format!("127.0.0.1:{port}");
            match address
                .parse::<SocketAddr>()
                .ok()
                .and_then(|a| self.addresses.get(&a).cloned())
            {
                Some(name) => format!("[{name}]"),
                None => self.placeholder("addr", &address),
            }
        })
    }

    /// Normalises one header value or line of text; borrows it when nothing in it is dynamic.
    fn text<'t>(&mut self, text: &'t str) -> Cow<'t, str> {
        let text = then(Cow::Borrowed(text), |t| {
            self.replace_param(t, "tag=", token_value, "tag")
        });
        let text = then(text, |t| {
            self.replace_param(t, "branch=", token_value, "branch")
        });
        let text = then(text, |t| {
            self.replace_param(t, "icid-value=", icid_value, "icid")
        });
        let text = then(text, |t| self.replace_addresses(t));
        then(text, |t| {
            replace_all(t, find_timestamp, |_| "[timestamp]".to_string())
        })
    }

    /// The normalised form of a message: start line, headers with canonical names in wire
    /// order, then the body (XML canonicalised).
    pub fn message(&mut self, msg: &SipMessage) -> String {
        let mut out = String::with_capacity(msg.raw.len() + 64);
        let start =
            String::from_utf8_lossy(msg.raw.split(|b| *b == b'\n').next().unwrap_or_default());
        out.push_str(&self.text(start.trim_end()));
        out.push('\n');
        for header in &msg.headers {
            let value = match &*header.name {
                "Call-ID" => Cow::Owned(self.placeholder("call-id", &header.value)),
                "SIP-ETag" | "SIP-If-Match" | "ETag" | "If-Match" => {
                    Cow::Owned(self.placeholder("etag", &header.value))
                }
                "Date" => Cow::Borrowed("[date]"),
                "Subscription-State" => then(self.text(&header.value), |t| {
                    replace_all(
                        t,
                        |t, from| find_param(t, from, "expires=", digits),
                        |_| "expires=[n]".to_string(),
                    )
                }),
                _ => self.text(&header.value),
            };
            out.push_str(&header.name);
            out.push_str(": ");
            out.push_str(&value);
            out.push('\n');
        }
        if !msg.body.is_empty() {
            out.push('\n');
            out.push_str(&self.body(&msg.body));
        }
        out
    }

    fn body(&mut self, body: &[u8]) -> String {
        if let Some(done) = self.bodies.get(body) {
            return done.clone();
        }
        let done = match xml::parse(body) {
            Ok(mut root) => {
                xml::canonicalize(&mut root, xml::known_unordered());
                self.text(&root.to_canonical_string()).into_owned()
            }
            Err(_) => self.text(&String::from_utf8_lossy(body)).into_owned(),
        };
        self.bodies.insert(body.to_vec(), done.clone());
        done
    }
}

/// File name insta uses for a snapshot.
pub fn snapshot_name(flow_id: &str, name: &str) -> String {
    format!("{}__{}", flow_id.replace(['/', ' '], "_"), name)
}

/// Result of comparing one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotOutcome {
    /// Equal to the committed snapshot.
    Matches,
    /// Differs; the diff of committed against actual.
    Differs(String),
    /// No committed snapshot for this SUT; the reason says whether one was written for review.
    Missing(String),
}

/// Compares `content` with the committed snapshot `<dir>/<name>.snap` (insta's format). Outside
/// CI a difference or a missing snapshot is written beside it as `<name>.snap.new`, which
/// `cargo insta review` (or `cargo insta accept`) takes; in CI nothing is written. The harness
/// writes that file itself: no insta assertion runs, so no `cargo metadata` is ever started.
pub fn compare(dir: &std::path::Path, name: &str, content: &str) -> SnapshotOutcome {
    let file = dir.join(format!("{name}.snap"));
    let pending = dir.join(format!("{name}.snap.new"));
    let committed = std::fs::read_to_string(&file)
        .ok()
        .map(|text| snapshot_body(&text));
    let verdict = match &committed {
        Some(expected) if expected.trim_end() == content.trim_end() => {
            if !is_ci() {
                // A pending snapshot from an earlier run is stale now.
                let _ = std::fs::remove_file(&pending);
            }
            return SnapshotOutcome::Matches;
        }
        Some(expected) => SnapshotOutcome::Differs(
            similar::TextDiff::from_lines(expected.trim_end(), content.trim_end())
                .unified_diff()
                .header("snapshot", "actual")
                .to_string(),
        ),
        None if is_ci() => {
            return SnapshotOutcome::Missing(format!(
                "no committed snapshot {} (CI writes none)",
                file.display()
            ))
        }
        None => SnapshotOutcome::Missing(format!(
            "no committed snapshot {}; {} was written for `cargo insta review`",
            file.display(),
            pending.display()
        )),
    };
    if !is_ci() {
        let written = std::fs::create_dir_all(dir)
            .and_then(|()| std::fs::write(&pending, snap_file(content)));
        if let Err(e) = written {
            tracing::warn!(file = %pending.display(), "cannot write the pending snapshot: {e}");
        }
    }
    verdict
}

/// A snapshot file in insta's format: a metadata block naming the source, then the content.
fn snap_file(content: &str) -> String {
    format!(
        "---\nsource: harness/src/check/snapshot.rs\n---\n{}\n",
        content.trim_end()
    )
}

fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The content part of an insta `.snap` file (after the metadata block).
fn snapshot_body(text: &str) -> String {
    let mut parts = text.splitn(3, "---\n");
    match (parts.next(), parts.next(), parts.next()) {
        (Some(""), Some(_meta), Some(body)) => body.to_string(),
        _ => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Negative control: a message that differs from its committed snapshot fails with a diff.
    #[test]
    fn a_changed_message_differs_from_its_snapshot() {
        let dir =
            std::env::temp_dir().join(format!("presence-harness-snap-{}", crate::ids::token()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("flow__msg.snap"),
            "---\nsource: test\n---\nSIP/2.0 200 OK\nExpires: 600\n",
        )
        .unwrap();
        assert_eq!(
            compare(&dir, "flow__msg", "SIP/2.0 200 OK\nExpires: 600\n"),
            SnapshotOutcome::Matches
        );
        match compare(&dir, "flow__msg", "SIP/2.0 200 OK\nExpires: 60\n") {
            SnapshotOutcome::Differs(diff) => assert!(
                diff.contains("-Expires: 600") && diff.contains("+Expires: 60"),
                "{diff}"
            ),
            other => panic!("expected a difference, got {other:?}"),
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A snapshot that does not exist yet is written as a pending `.snap.new` in insta's
    /// format (outside CI), which a later matching run removes again.
    #[test]
    fn a_missing_snapshot_is_written_for_review() {
        if is_ci() {
            return;
        }
        let dir =
            std::env::temp_dir().join(format!("presence-harness-snap-{}", crate::ids::token()));
        let outcome = compare(&dir, "flow__new", "SIP/2.0 200 OK\nExpires: 600\n");
        assert!(
            matches!(outcome, SnapshotOutcome::Missing(_)),
            "{outcome:?}"
        );
        let pending = std::fs::read_to_string(dir.join("flow__new.snap.new")).unwrap();
        insta::assert_snapshot!(pending, @r"
        ---
        source: harness/src/check/snapshot.rs
        ---
        SIP/2.0 200 OK
        Expires: 600
        ");
        std::fs::write(dir.join("flow__new.snap"), &pending).unwrap();
        assert_eq!(
            compare(&dir, "flow__new", "SIP/2.0 200 OK\nExpires: 600\n"),
            SnapshotOutcome::Matches
        );
        assert!(!dir.join("flow__new.snap.new").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn dynamic_values_are_found_as_the_patterns_say() {
        let mut n = Normaliser::default();
        assert_eq!(
            n.text("x;TAG=a1;xtag=zz;tag=;branch=b>"),
            "x;tag=[tag#1];xtag=zz;tag=;branch=[branch#1]>"
        );
        assert_eq!(
            n.text(r#"icid-value="a b";icid-value=c,d"#),
            "icid-value=[icid#1];icid-value=[icid#2],d"
        );
        assert_eq!(
            n.text("2026-12-02T13:00:00Z 2026-12-02T13:00:00.25+01:00 2026-12-02T13:00:00+0100 2026-12-02"),
            "[timestamp] [timestamp] [timestamp] 2026-12-02"
        );
        assert_eq!(
            n.text("sip:127.0.0.1:5070 127.0.0.1:x"),
            "sip:[addr#1] 127.0.0.1:x"
        );
        assert_eq!(
            n.text("ätag=q"),
            "ätag=q",
            "a word character before the name is no boundary"
        );
    }

    #[test]
    fn placeholders_keep_correlations() {
        let mut n = Normaliser::default();
        n.addresses
            .insert("127.0.0.1:5002".parse().unwrap(), "scscf1".into());
        let a = SipMessage::parse(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:5002;branch=z9hG4bKx\r\nTo: <sip:a@b>;tag=99\r\nSIP-ETag: abc\r\n\r\n").unwrap();
        let b = SipMessage::parse(b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:7777;branch=z9hG4bKy\r\nTo: <sip:a@b>;tag=99\r\nSIP-ETag: def\r\nSIP-If-Match: abc\r\n\r\n").unwrap();
        let first = n.message(&a);
        let second = n.message(&b);
        assert!(first.contains("[scscf1];branch=[branch#1]"), "{first}");
        assert!(first.contains("SIP-ETag: [etag#1]"));
        assert!(second.contains("[addr#1];branch=[branch#2]"), "{second}");
        assert!(second.contains("tag=[tag#1]"));
        assert!(second.contains("SIP-ETag: [etag#2]"));
        assert!(second.contains("SIP-If-Match: [etag#1]"));
    }
}
