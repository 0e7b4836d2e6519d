//! `select_xml`: picking the request a step takes by what its body says. Each XML document of
//! the body (the body itself, or every part of a multipart body) is tried; the request is
//! selected when one document satisfies every check.

use crate::check::{multipart, xml, xpath};
use crate::flow::model::XmlCheck;
use crate::flow::vars::Vars;
use crate::sip::SipMessage;
use std::collections::HashMap;

/// True when one XML document of the message's body satisfies all `checks`.
pub(super) fn body_selected(
    msg: &SipMessage,
    checks: &[XmlCheck],
    vars: &Vars,
    namespaces: &HashMap<String, String>,
) -> bool {
    documents(msg).iter().any(|doc| {
        checks
            .iter()
            .all(|check| check_holds(doc, check, vars, namespaces))
    })
}

/// The XML documents a body carries.
fn documents(msg: &SipMessage) -> Vec<xml::XmlElement> {
    let content_type = msg.header("Content-Type").unwrap_or_default();
    let bodies: Vec<Vec<u8>> = match multipart::split(content_type, &msg.body) {
        Ok(split) => split.parts.into_iter().map(|p| p.body).collect(),
        Err(_) => vec![msg.body.clone()],
    };
    bodies
        .iter()
        .filter_map(|b| xml::parse(b).ok())
        .map(|mut doc| {
            xml::canonicalize(&mut doc, xml::known_unordered());
            doc
        })
        .collect()
}

fn check_holds(
    doc: &xml::XmlElement,
    check: &XmlCheck,
    vars: &Vars,
    namespaces: &HashMap<String, String>,
) -> bool {
    let Ok(path) = vars.substitute(&check.path) else {
        return false;
    };
    let Ok(selected) = xpath::select(doc, &path, namespaces) else {
        return false;
    };
    let texts: Vec<String> = selected.iter().map(|s| s.text()).collect();
    let first = texts.first();
    let text_is = |expected: &String| {
        vars.substitute(expected)
            .is_ok_and(|e| first.is_some_and(|f| *f == e))
    };
    check.count.is_none_or(|n| texts.len() == n)
        && check.equals.as_ref().is_none_or(text_is)
        && check
            .one_of
            .as_ref()
            .is_none_or(|options| options.iter().any(text_is))
        && check.matches.as_ref().is_none_or(|pattern| {
            first.is_some_and(|f| crate::check::pattern::is_match(pattern, f))
        })
}
