//! Multipart bodies of list notifications (RFC 4662 §5): the body splits (RFC 2046, 2387),
//! the root part is the RLMI document, every `cid` in it names a part, and parts named by a
//! resource's instance get their own checks.

use super::evaluate::{Observed, XmlTarget};
use super::{Delivered, Runner};
use crate::check::multipart::{self, Multipart};
use crate::check::{xml, xpath};
use crate::flow::model::{MultipartCheck, Step};
use std::collections::HashMap;

/// Namespace of RLMI documents (RFC 4662 §5).
const RLMI_NS: &str = "urn:ietf:params:xml:ns:rlmi";

impl Runner<'_> {
    /// Checks the multipart structure; returns the root part's body for the step's XML checks,
    /// or `None` when there is no root to check.
    pub(super) fn multipart_checks(
        &mut self,
        step: &Step,
        spec: &MultipartCheck,
        path: &str,
        delivered: &Delivered,
    ) -> Option<Vec<u8>> {
        let seq = delivered.seq;
        let content_type = delivered.msg.header("Content-Type").unwrap_or_default();
        let body = match multipart::split(content_type, &delivered.msg.body) {
            Ok(body) => body,
            Err(e) => {
                let observed = Observed::new(
                    "body is multipart/related",
                    false,
                    format!("a multipart body with a {} root", spec.root_type),
                    format!("{content_type}: {e}"),
                );
                self.push(path, Some(&spec.req), seq, observed);
                return None;
            }
        };
        let root = body.root().cloned();
        let root_type = root.as_ref().and_then(|p| p.content_type()).map(|t| {
            t.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        });
        let observed = Observed::new(
            format!("root part is {}", spec.root_type),
            root_type.as_deref() == Some(spec.root_type.to_ascii_lowercase().as_str()),
            spec.root_type.clone(),
            root_type.unwrap_or_else(|| "(no root part)".into()),
        );
        self.push(path, Some(&spec.req), seq, observed);
        let root = root?;
        let rlmi = xml::parse(&root.body).ok();
        if let (Some(cid_req), Some(rlmi)) = (&spec.cid_req, &rlmi) {
            self.cid_checks(cid_req, rlmi, &body, path, seq);
        }
        for check in step.parts.iter().flatten() {
            let resource = self.vars.substitute(&check.resource).unwrap_or_else(|e| e);
            let cid = rlmi.as_ref().and_then(|r| instance_cid(r, &resource));
            let part = cid.as_deref().and_then(|c| body.by_cid(c));
            let Some(part) = part else {
                let observed = Observed::new(
                    format!("a part for resource {resource}"),
                    false,
                    "an instance with a cid naming a body part".to_string(),
                    match cid {
                        Some(cid) => format!("cid {cid} names no part"),
                        None => "no instance of that resource has a cid".into(),
                    },
                );
                self.push(path, Some(&check.req), seq, observed);
                continue;
            };
            if let Some(expected) = &check.content_type {
                let actual = part.content_type().unwrap_or_default();
                let bare = actual.split(';').next().unwrap_or_default().trim();
                let observed = Observed::new(
                    format!("part for {resource} has type {expected}"),
                    bare.eq_ignore_ascii_case(expected),
                    expected.clone(),
                    actual.to_string(),
                );
                self.push(path, Some(&check.req), seq, observed);
            }
            let target = XmlTarget {
                body: &part.body,
                path,
                seq,
                step_req: Some(&check.req),
            };
            self.xml_checks(target, &check.xml, None);
        }
        Some(root.body)
    }

    /// Every `cid` attribute of the root document names a part of the body.
    fn cid_checks(
        &mut self,
        req: &str,
        root: &xml::XmlElement,
        body: &Multipart,
        path: &str,
        seq: usize,
    ) {
        let namespaces: HashMap<String, String> = HashMap::new();
        let cids: Vec<String> = xpath::select(root, "//*/@cid", &namespaces)
            .map(|found| found.iter().map(|s| s.text()).collect())
            .unwrap_or_default();
        let missing: Vec<&String> = cids.iter().filter(|c| body.by_cid(c).is_none()).collect();
        let observed = Observed::new(
            "every cid in the root names a body part",
            missing.is_empty(),
            format!("{} cid(s), each a part's Content-ID", cids.len()),
            if missing.is_empty() {
                format!("{} cid(s) found", cids.len())
            } else {
                format!(
                    "no part for {}",
                    missing
                        .iter()
                        .map(|c| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
        );
        self.push(path, Some(req), seq, observed);
    }
}

/// The `cid` of the first instance that has one, of the RLMI resource with this `uri`.
fn instance_cid(root: &xml::XmlElement, resource: &str) -> Option<String> {
    let namespaces: HashMap<String, String> = [("r".to_string(), RLMI_NS.to_string())].into();
    let path = format!("//r:resource[@uri='{resource}']/r:instance[@cid]/@cid");
    xpath::select(root, &path, &namespaces)
        .ok()?
        .first()
        .map(|s| s.text())
}
