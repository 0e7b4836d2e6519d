//! Snapshots: each SUT message in a normalised form, compared against the committed
//! `fixtures/snapshots/<profile>/` files. Dynamic values become numbered placeholders that keep
//! correlations (`SIP-If-Match: [etag#1]` equals the `[etag#1]` of an earlier SIP-ETag);
//! addresses become the names of the nodes that own them.

use crate::check::xml;
use crate::sip::SipMessage;
use regex::Regex;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::OnceLock;

/// Replaces dynamic values consistently across the messages of one flow.
#[derive(Debug, Default)]
pub struct Normaliser {
    seen: HashMap<(&'static str, String), usize>,
    counters: HashMap<&'static str, usize>,
    /// Known addresses and the node names that stand for them.
    pub addresses: HashMap<SocketAddr, String>,
}

struct Patterns {
    tag: Regex,
    branch: Regex,
    icid: Regex,
    address: Regex,
    timestamp: Regex,
    expires_param: Regex,
}

fn patterns() -> &'static Patterns {
    static PATTERNS: OnceLock<Patterns> = OnceLock::new();
    PATTERNS.get_or_init(|| Patterns {
        tag: Regex::new(r"(?i)\btag=([^;>,\s]+)").expect("static regex"),
        branch: Regex::new(r"(?i)\bbranch=([^;>,\s]+)").expect("static regex"),
        icid: Regex::new(r#"(?i)\bicid-value=("[^"]*"|[^;,\s]+)"#).expect("static regex"),
        address: Regex::new(r"127\.0\.0\.1:(\d+)").expect("static regex"),
        timestamp: Regex::new(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})?")
            .expect("static regex"),
        expires_param: Regex::new(r"(?i)\bexpires=\d+").expect("static regex"),
    })
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

    fn replace_group(
        &mut self,
        text: &str,
        re: &Regex,
        kind: &'static str,
        prefix: &str,
    ) -> String {
        let mut out = String::new();
        let mut last = 0;
        for caps in re.captures_iter(text) {
            let (Some(whole), Some(value)) = (caps.get(0), caps.get(1)) else {
                continue;
            };
            out.push_str(&text[last..whole.start()]);
            out.push_str(prefix);
            out.push_str(&self.placeholder(kind, value.as_str()));
            last = whole.end();
        }
        out.push_str(&text[last..]);
        out
    }

    fn replace_addresses(&mut self, text: &str) -> String {
        let p = patterns();
        let mut out = String::new();
        let mut last = 0;
        for m in p.address.find_iter(text) {
            out.push_str(&text[last..m.start()]);
            let name = m
                .as_str()
                .parse::<SocketAddr>()
                .ok()
                .and_then(|a| self.addresses.get(&a).cloned());
            match name {
                Some(name) => out.push_str(&format!("[{name}]")),
                None => {
                    let placeholder = self.placeholder("addr", m.as_str());
                    out.push_str(&placeholder);
                }
            }
            last = m.end();
        }
        out.push_str(&text[last..]);
        out
    }

    /// Normalises one header value or line of text.
    fn text(&mut self, text: &str) -> String {
        let p = patterns();
        let text = self.replace_group(text, &p.tag, "tag", "tag=");
        let text = self.replace_group(&text, &p.branch, "branch", "branch=");
        let text = self.replace_group(&text, &p.icid, "icid", "icid-value=");
        let text = self.replace_addresses(&text);
        p.timestamp.replace_all(&text, "[timestamp]").into_owned()
    }

    /// The normalised form of a message: start line, headers with canonical names in wire
    /// order, then the body (XML canonicalised).
    pub fn message(&mut self, msg: &SipMessage) -> String {
        let mut out = String::new();
        let start =
            String::from_utf8_lossy(msg.raw.split(|b| *b == b'\n').next().unwrap_or_default());
        out.push_str(&self.text(start.trim_end()));
        out.push('\n');
        for header in &msg.headers {
            let value = match header.name.as_str() {
                "Call-ID" => self.placeholder("call-id", &header.value),
                "SIP-ETag" | "SIP-If-Match" | "ETag" | "If-Match" => {
                    self.placeholder("etag", &header.value)
                }
                "Date" => "[date]".to_string(),
                "Subscription-State" => {
                    let value = self.text(&header.value);
                    patterns()
                        .expires_param
                        .replace_all(&value, "expires=[n]")
                        .into_owned()
                }
                _ => self.text(&header.value),
            };
            out.push_str(&format!("{}: {}\n", header.name, value));
        }
        if !msg.body.is_empty() {
            out.push('\n');
            out.push_str(&self.body(&msg.body));
        }
        out
    }

    fn body(&mut self, body: &[u8]) -> String {
        match xml::parse(body) {
            Ok(mut root) => {
                xml::canonicalize(&mut root, xml::known_unordered());
                self.text(&root.to_canonical_string())
            }
            Err(_) => self.text(&String::from_utf8_lossy(body)),
        }
    }
}

/// Where a flow's snapshots live for one SUT profile.
pub fn snapshot_dir(root: &std::path::Path, profile: &str) -> PathBuf {
    root.join("fixtures").join("snapshots").join(profile)
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
