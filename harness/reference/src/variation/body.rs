//! Body variations: XML documents (a whole XML body, or each XML part of a
//! `multipart/related` body) and the multipart layout (`multipart-no-start`).

use super::headers::Message;
use super::{xml, Variation};
use std::collections::BTreeSet;

/// One part of a multipart body: its header block and content.
struct Part {
    head: String,
    content: String,
}

/// The value of a media type parameter (`boundary`, `start`), unquoted.
fn param(content_type: &str, wanted: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|p| {
        let (name, value) = p.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case(wanted)
            .then(|| value.trim().trim_matches('"').to_string())
    })
}

/// Splits a body the server built (`--boundary CRLF head CRLF CRLF content CRLF`, closed by
/// `--boundary--`).
fn split(body: &str, boundary: &str) -> Option<Vec<Part>> {
    let delimiter = format!("--{boundary}");
    let close = format!("{delimiter}--");
    let mut parts = Vec::new();
    for chunk in body.split(&delimiter).skip(1) {
        if chunk.starts_with("--") {
            break;
        }
        let chunk = chunk.strip_prefix("\r\n")?;
        let chunk = chunk.strip_suffix("\r\n").unwrap_or(chunk);
        let (head, content) = chunk.split_once("\r\n\r\n")?;
        parts.push(Part {
            head: head.to_string(),
            content: content.to_string(),
        });
    }
    body.contains(&close).then_some(parts)
}

fn join(parts: &[Part], boundary: &str) -> String {
    let mut out = String::new();
    for part in parts {
        out.push_str(&format!(
            "--{boundary}\r\n{}\r\n\r\n{}\r\n",
            part.head, part.content
        ));
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    out
}

fn is_xml(content_type: &str) -> bool {
    let media = content_type.split(';').next().unwrap_or_default().trim();
    media.to_ascii_lowercase().ends_with("xml")
}

fn part_type(head: &str) -> String {
    head.split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("Content-Type"))
        .map(|(_, value)| value.trim().to_string())
        .unwrap_or_default()
}

fn content_id(head: &str) -> Option<String> {
    head.split("\r\n")
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("Content-ID"))
        .map(|(_, value)| value.trim().to_string())
}

/// Rewrites the body of `message` as the body variations ask.
pub(super) fn rewrite(variations: &BTreeSet<Variation>, message: &mut Message) {
    let Some(content_type) = message.header("Content-Type").map(str::to_string) else {
        return;
    };
    if content_type.to_ascii_lowercase().starts_with("multipart/") {
        let Some(boundary) = param(&content_type, "boundary") else {
            return;
        };
        let Some(mut parts) = split(&message.body, &boundary) else {
            return;
        };
        for part in &mut parts {
            if is_xml(&part_type(&part.head)) {
                part.content = xml::rewrite(variations, &part.content);
            }
        }
        if variations.contains(&Variation::MultipartNoStart) {
            if let Some(start) = param(&content_type, "start") {
                let root = parts
                    .iter()
                    .position(|p| content_id(&p.head).as_deref() == Some(start.as_str()))
                    .unwrap_or(0);
                let root = parts.remove(root);
                parts.reverse();
                parts.insert(0, root);
                let kept: Vec<&str> = content_type
                    .split(';')
                    .filter(|p| {
                        p.split_once('=')
                            .is_none_or(|(n, _)| !n.trim().eq_ignore_ascii_case("start"))
                    })
                    .collect();
                message.set_header("Content-Type", kept.join(";"));
            }
        }
        message.body = join(&parts, &boundary);
    } else if is_xml(&content_type) {
        message.body = xml::rewrite(variations, &message.body);
    }
}
