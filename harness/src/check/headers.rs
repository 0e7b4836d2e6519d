//! Header matchers, evaluated on parsed headers (never on raw text): present/absent, equals,
//! regex, one-of, integer range, not-equal, list token, parameters, capture.

use crate::flow::model::{HeaderCheck, HeaderCheckSpec};
use crate::flow::vars::Vars;
use crate::sip::text::{parse_params, tighten_params};
use crate::sip::typed::uri_of;
use crate::sip::SipMessage;

/// The result of one assertion within a header check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assertion {
    /// What was checked.
    pub what: String,
    /// Whether it held.
    pub ok: bool,
    /// Expected.
    pub expected: String,
    /// Actual.
    pub actual: String,
    /// The requirement key of the matcher that made it (a parameter check's own `req`, else
    /// the header check's).
    pub req: Option<String>,
}

/// Evaluates a header check spec on a message. Captures are written to `captures`.
pub fn eval(
    msg: &SipMessage,
    name: &str,
    spec: &HeaderCheckSpec,
    vars: &Vars,
    captures: &mut Vec<(String, String)>,
) -> Vec<Assertion> {
    let values: Vec<String> = msg
        .header_values(name)
        .iter()
        .map(|v| tighten_params(v))
        .collect();
    let value = values.first().map(String::as_str);
    let media_type = MEDIA_TYPE_HEADERS
        .iter()
        .any(|h| h.eq_ignore_ascii_case(name));
    let subject = Subject {
        what: &format!("header {name}"),
        value,
        list: Some(&values),
        media_type,
    };
    eval_subject(&subject, spec, vars, captures)
}

/// Evaluates the checks of a header check spec on a text that is not a header (a body):
/// `what` names it in the assertions.
pub fn eval_text(
    what: &str,
    text: &str,
    spec: &HeaderCheckSpec,
    vars: &Vars,
    captures: &mut Vec<(String, String)>,
) -> Vec<Assertion> {
    let subject = Subject {
        what,
        value: Some(text),
        list: None,
        media_type: false,
    };
    eval_subject(&subject, spec, vars, captures)
}

/// What a spec's checks are made on: its name in the assertions, its (first) value, every
/// value of a list header, and whether it is a media type.
struct Subject<'a> {
    what: &'a str,
    value: Option<&'a str>,
    list: Option<&'a [String]>,
    media_type: bool,
}

fn eval_subject(
    subject: &Subject<'_>,
    spec: &HeaderCheckSpec,
    vars: &Vars,
    captures: &mut Vec<(String, String)>,
) -> Vec<Assertion> {
    let mut out = Vec::new();
    for check in spec.checks().iter() {
        eval_value(
            subject.what,
            subject.value,
            check,
            None,
            vars,
            captures,
            &mut out,
            subject.list,
            subject.media_type,
        );
    }
    out
}

/// Headers whose value is a media type: `type/subtype` compares case-insensitively (RFC 2045
/// §5.1, RFC 3261 §7.3.1).
const MEDIA_TYPE_HEADERS: &[&str] = &["Content-Type", "Accept"];

fn expand(vars: &Vars, text: &str) -> String {
    vars.substitute(text).unwrap_or_else(|e| format!("<{e}>"))
}

/// Evaluates a check on one value (a header's first value or a parameter's value).
#[allow(clippy::too_many_arguments)]
fn eval_value(
    what: &str,
    value: Option<&str>,
    check: &HeaderCheck,
    inherited_req: Option<&str>,
    vars: &Vars,
    captures: &mut Vec<(String, String)>,
    out: &mut Vec<Assertion>,
    list: Option<&[String]>,
    media_type: bool,
) {
    let same = |a: &str, b: &str| {
        if media_type {
            a.eq_ignore_ascii_case(b)
        } else {
            a == b
        }
    };
    let req = check
        .req
        .clone()
        .or_else(|| inherited_req.map(str::to_string));
    let shown = value.map_or_else(|| "(absent)".to_string(), str::to_string);
    let main = value.map(|v| parse_params(v).value);
    let mut push = |desc: String, ok: bool, expected: String| {
        out.push(Assertion {
            what: format!("{what} {desc}"),
            ok,
            expected,
            actual: shown.clone(),
            req: req.clone(),
        });
    };
    let has_value_check = check.checks_value();
    // `not_equal` alone holds for an absent header too: there is no value equal to the other.
    let only_not_equal = check.not_equal.is_some()
        && !HeaderCheck {
            not_equal: None,
            ..check.clone()
        }
        .checks_value();
    match check.present {
        Some(true) => push("present".into(), value.is_some(), "present".into()),
        Some(false) => push("absent".into(), value.is_none(), "absent".into()),
        None if only_not_equal && value.is_none() => push(
            "absent, so not the other value".into(),
            true,
            "absent or another value".into(),
        ),
        None if check.if_present && value.is_none() => push(
            "absent, which leaves the value to its default".into(),
            true,
            "absent, or present with the value below".into(),
        ),
        None if has_value_check && value.is_none() => {
            push("present".into(), false, "present".into())
        }
        None => {}
    }
    let Some(main) = main else { return };
    let full = value.unwrap_or_default();
    if let Some(expected) = &check.equals {
        let expected = expand(vars, expected);
        push(
            format!("equals {expected:?}"),
            same(&main, &expected),
            expected,
        );
    }
    if let Some(pattern) = &check.matches {
        let ok = super::pattern::is_match(pattern, full);
        push(format!("matches /{pattern}/"), ok, format!("/{pattern}/"));
    }
    if let Some(options) = &check.one_of {
        let options: Vec<String> = options.iter().map(|o| expand(vars, o)).collect();
        push(
            format!("one of {options:?}"),
            options.iter().any(|o| same(o, &main)),
            options.join(" | "),
        );
    }
    if let Some((low, high)) = check.range {
        let ok = main
            .trim()
            .parse::<u64>()
            .is_ok_and(|n| (low..=high).contains(&n));
        push(
            format!("in {low}..={high}"),
            ok,
            format!("integer in {low}..={high}"),
        );
    }
    if let Some(other) = &check.not_equal {
        let other = expand(vars, other);
        push(
            format!("differs from {other:?}"),
            !same(&main, &other),
            format!("not {other:?}"),
        );
    }
    // Checks on the values of a list header one by one: one of them must hold.
    let mut some_value = |desc: String, expected: String, values: &[String], ok: bool| {
        out.push(Assertion {
            what: format!("{what} {desc}"),
            ok,
            expected,
            actual: values.join(", "),
            req: req.clone(),
        });
    };
    if let Some(token) = &check.contains {
        let tokens: Vec<String> = list
            .unwrap_or_default()
            .iter()
            .map(|v| parse_params(v).value.to_ascii_lowercase())
            .collect();
        let ok = tokens.iter().any(|t| t.eq_ignore_ascii_case(token));
        some_value(
            format!("contains {token:?}"),
            format!("a value {token:?}"),
            &tokens,
            ok,
        );
    }
    if let Some(pattern) = &check.any_matches {
        let values = list.unwrap_or_default();
        let ok = values.iter().any(|v| super::pattern::is_match(pattern, v));
        some_value(
            format!("has a value matching /{pattern}/"),
            format!("a value matching /{pattern}/"),
            values,
            ok,
        );
    }
    if let Some(params) = &check.params {
        let parsed = parse_params(full);
        for (param, spec) in params.iter() {
            let param_value = parsed.param(param).map(|v| v.unwrap_or(""));
            for inner in spec.checks().iter() {
                eval_value(
                    &format!("{what} parameter {param}"),
                    param_value,
                    inner,
                    req.as_deref(),
                    vars,
                    captures,
                    out,
                    None,
                    false,
                );
            }
        }
    }
    if let Some(var) = &check.capture_uri {
        captures.push((var.clone(), uri_of(&main)));
    }
    if let Some(var) = &check.capture {
        captures.push((var.clone(), main));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg() -> SipMessage {
        SipMessage::parse(
            b"SIP/2.0 200 OK\r\nSIP-ETag: e1\r\nExpires: 600\r\nSubscription-State: active;expires=600\r\nRequire: eventlist, foo\r\nRoute: <sip:127.0.0.1:5060;lr>\r\nRoute: <sip:orig@127.0.0.1:5070;lr>\r\n\r\n",
        )
        .unwrap()
    }

    fn full(yaml: &str) -> HeaderCheckSpec {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn matchers_pass_and_fail() {
        let mut vars = Vars::default();
        vars.set("etag", "e1");
        let mut caps = Vec::new();
        let m = msg();
        let ok = |name: &str, yaml: &str, caps: &mut Vec<(String, String)>| {
            eval(&m, name, &full(yaml), &vars, caps)
                .iter()
                .all(|a| a.ok)
        };
        assert!(ok("SIP-ETag", "{ present: true, capture: e }", &mut caps));
        assert_eq!(caps, vec![("e".to_string(), "e1".to_string())]);
        assert!(!ok("SIP-ETag", "{ not_equal: '${etag}' }", &mut caps));
        // An absent header differs from any value, unless presence is asked for too.
        assert!(ok(
            "Content-Type",
            "{ not_equal: multipart/related }",
            &mut caps
        ));
        assert!(!ok(
            "Content-Type",
            "{ present: true, not_equal: multipart/related }",
            &mut caps
        ));
        assert!(ok("Expires", "{ range: [1, 7200] }", &mut caps));
        assert!(!ok("Expires", "{ range: [1, 60] }", &mut caps));
        assert!(ok(
            "Subscription-State",
            "{ equals: active, params: { expires: { range: [1, 600] } } }",
            &mut caps
        ));
        assert!(!ok(
            "Subscription-State",
            "{ params: { reason: timeout } }",
            &mut caps
        ));
        assert!(ok("Require", "{ contains: eventlist }", &mut caps));
        assert!(ok("Route", "{ any_matches: 'orig@' }", &mut caps));
        assert!(!ok("Route", "{ any_matches: 'term@' }", &mut caps));
        assert!(!ok("Min-Expires", "{ present: true }", &mut caps));
        assert!(ok("Min-Expires", "{ present: false }", &mut caps));
        assert!(!ok("Min-Expires", "'60'", &mut caps));
        assert!(ok("Expires", "{ matches: '^\\d+$' }", &mut caps));
    }

    #[test]
    fn legal_spellings_match_and_other_values_still_fail() {
        let m = SipMessage::parse(
            b"SIP/2.0 200 OK\r\nTo: <sip:a@b;lr> ; tag = x1\r\nContent-Type: APPLICATION/PIDF+XML ; charset=UTF-8\r\n\r\n",
        )
        .unwrap();
        let vars = Vars::default();
        let holds = |name: &str, yaml: &str| {
            eval(&m, name, &full(yaml), &vars, &mut Vec::new())
                .iter()
                .all(|a| a.ok)
        };
        // RFC 3261 §25.1: SWS around SEMI and EQUAL; RFC 2045 §5.1: media types ignore case.
        assert!(holds("To", "{ matches: 'tag=x1$' }"));
        assert!(holds("To", "{ params: { tag: x1 } }"));
        assert!(holds("Content-Type", "application/pidf+xml"));
        assert!(holds(
            "Content-Type",
            "{ one_of: [text/plain, application/pidf+xml] }"
        ));
        assert!(!holds(
            "Content-Type",
            "{ not_equal: application/pidf+xml }"
        ));
        // Negative controls: another media type, another tag.
        assert!(!holds("Content-Type", "application/rlmi+xml"));
        assert!(!holds("To", "{ matches: 'tag=x2$' }"));
    }
}
