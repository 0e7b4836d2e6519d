//! Low-level text helpers for SIP header values: list splitting and parameters (RFC 3261 §25.1).
//! They borrow from the value where they can: the load generator reads every answer with them.

use std::borrow::Cow;

/// Splits a header value on commas that are outside quotes and angle brackets.
pub fn split_list(value: &str) -> Vec<String> {
    list_items(value).map(str::to_string).collect()
}

/// The items of a list header value ([`split_list`]), trimmed and borrowed; empty ones skipped.
pub fn list_items(value: &str) -> impl Iterator<Item = &str> {
    split_outside(value, b',')
        .map(str::trim_ascii)
        .filter(|item| !item.is_empty())
}

/// A header value split into its leading part and its `;name=value` parameters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Parameterised {
    /// The value before the first parameter, trimmed.
    pub value: String,
    /// Parameters in order; names lowercased, values unquoted (None for a flag parameter).
    pub params: Vec<(String, Option<String>)>,
}

impl Parameterised {
    /// The value of parameter `name` (case-insensitive); `Some(None)` for a flag.
    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }
}

/// Splits `value;a=1;b="x;y";c` at semicolons outside quotes and angle brackets.
pub fn parse_params(input: &str) -> Parameterised {
    Parameterised {
        value: leading_value(input).to_string(),
        params: raw_params(input)
            .map(|(name, value)| {
                (
                    name.to_ascii_lowercase(),
                    value.map(|v| unquote(v).into_owned()),
                )
            })
            .collect(),
    }
}

/// The part of `input` before its first parameter, trimmed.
pub fn leading_value(input: &str) -> &str {
    split_outside(input, b';')
        .next()
        .unwrap_or_default()
        .trim_ascii()
}

/// The value of parameter `name` of `input` (case-insensitive, the first of that name), as
/// [`Parameterised::param`] gives it, without building a [`Parameterised`].
pub fn param_of<'a>(input: &'a str, name: &str) -> Option<Option<Cow<'a, str>>> {
    raw_params(input)
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.map(unquote))
}

/// The parameters of `input` as written: names and values trimmed, values still quoted.
fn raw_params(input: &str) -> impl Iterator<Item = (&str, Option<&str>)> {
    split_outside(input, b';')
        .skip(1)
        .filter(|p| !p.trim_ascii().is_empty())
        .map(|p| match memchr::memchr(b'=', p.as_bytes()) {
            Some(eq) => (p[..eq].trim_ascii(), Some(p[eq + 1..].trim_ascii())),
            None => (p.trim_ascii(), None),
        })
}

/// Splits on `sep` (an ASCII byte) outside quoted strings and angle brackets, borrowing
/// the pieces. The delimiters are ASCII, so scanning bytes never splits a UTF-8 character.
fn split_outside(input: &str, sep: u8) -> SplitOutside<'_> {
    SplitOutside {
        input,
        start: Some(0),
        sep,
    }
}

/// The iterator of [`split_outside`]: `start` is where the next piece begins, `None` once
/// the last piece is out.
struct SplitOutside<'a> {
    input: &'a str,
    start: Option<usize>,
    sep: u8,
}

impl<'a> Iterator for SplitOutside<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let start = self.start?;
        let bytes = self.input.as_bytes();
        // A separator that splits is outside quotes and brackets, so each piece starts fresh.
        // Between the bytes that change the state nothing matters: memchr jumps over them.
        let (mut in_quotes, mut in_angle) = (false, false);
        let mut at = start;
        loop {
            let rest = &bytes[at..];
            let found = if in_quotes {
                memchr::memchr2(b'"', b'\\', rest)
            } else if in_angle {
                memchr::memchr2(b'>', b'"', rest)
            } else {
                memchr::memchr3(self.sep, b'"', b'<', rest)
            };
            let Some(offset) = found else { break };
            let byte = bytes[at + offset];
            at += offset + 1;
            match byte {
                // A backslash in quotes escapes the byte after it, whatever it is.
                b'\\' => at = (at + 1).min(bytes.len()),
                b'"' => in_quotes = !in_quotes,
                b'<' => in_angle = true,
                b'>' => in_angle = false,
                _ => {
                    self.start = Some(at);
                    return Some(&self.input[start..at - 1]);
                }
            }
        }
        self.start = None;
        Some(&self.input[start..])
    }
}

/// Removes surrounding double quotes and backslash escapes (borrowed when there are none).
pub fn unquote(s: &str) -> Cow<'_, str> {
    let Some(inner) = s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) else {
        return Cow::Borrowed(s);
    };
    if !inner.contains('\\') {
        return Cow::Borrowed(inner);
    }
    let mut out = String::with_capacity(inner.len());
    let mut escaped = false;
    for ch in inner.chars() {
        if escaped {
            out.push(ch);
            escaped = false;
        } else if ch == '\\' {
            escaped = true;
        } else {
            out.push(ch);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_lists_outside_quotes_and_brackets() {
        let items = split_list(r#""Doe, J" <sip:a@b;x=1,2>;q=0.5, <sip:c@d>"#);
        assert_eq!(
            items,
            vec![r#""Doe, J" <sip:a@b;x=1,2>;q=0.5"#, "<sip:c@d>"]
        );
    }

    #[test]
    fn separators_in_quotes_in_brackets_or_escaped_do_not_split() {
        let pieces = |input| split_outside(input, b';').collect::<Vec<_>>();
        assert_eq!(pieces(r#"a;b="x;\"y;";c"#), vec!["a", r#"b="x;\"y;""#, "c"]);
        assert_eq!(pieces("<sip:a;lr>;c"), vec!["<sip:a;lr>", "c"]);
        // A quote inside brackets hides a `>` until it closes.
        assert_eq!(pieces(r#"<"a>;b">;c"#), vec![r#"<"a>;b">"#, "c"]);
        // Outside quotes a backslash is an ordinary byte; a `>` outside brackets too.
        assert_eq!(pieces(r"a\;b>;c"), vec![r"a\", "b>", "c"]);
        // An unterminated quote or bracket, or a trailing escape, runs to the end.
        assert_eq!(pieces(r#"a;"b;c\"#), vec!["a", r#""b;c\"#]);
        assert_eq!(pieces("a;<b;c"), vec!["a", "<b;c"]);
        assert_eq!(pieces(";"), vec!["", ""]);
        assert_eq!(pieces("é;ü"), vec!["é", "ü"]);
    }

    #[test]
    fn parses_parameters() {
        let p = parse_params(r#"active ; expires=600;reason="a;b";lr"#);
        assert_eq!(p.value, "active");
        assert_eq!(p.param("EXPIRES"), Some(Some("600")));
        assert_eq!(p.param("reason"), Some(Some("a;b")));
        assert_eq!(p.param("lr"), Some(None));
        assert_eq!(p.param("x"), None);
    }

    #[test]
    fn param_of_reads_what_parse_params_reads() {
        for input in [
            r#"active ; expires=600;reason="a;b";lr"#,
            r#"SIP/2.0/UDP h:5;BRANCH=z9hG4bK1;rport"#,
            r#"<sip:a@b;tag=no>;tag="x\"y";tag=second"#,
            "plain",
        ] {
            let parsed = parse_params(input);
            for name in ["expires", "reason", "lr", "branch", "rport", "tag", "x"] {
                assert_eq!(
                    param_of(input, name).map(|v| v.map(Cow::into_owned)),
                    parsed.param(name).map(|v| v.map(str::to_string)),
                    "{name} in {input}"
                );
            }
        }
        assert_eq!(leading_value(" active ;expires=1"), "active");
        assert_eq!(
            list_items(" a , ,<sip:b,c>;q=1,").collect::<Vec<_>>(),
            vec!["a", "<sip:b,c>;q=1"]
        );
    }
}

/// A header value with the optional whitespace around `;` and `=` outside quoted strings and
/// `<...>` removed (RFC 3261 §25.1: SEMI and EQUAL are `SWS ";" SWS` and `SWS "=" SWS`), so
/// `<sip:a@b> ; tag = 1` reads as `<sip:a@b>;tag=1`.
pub fn tighten_params(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let (mut quoted, mut escaped, mut angle, mut after_separator) = (false, false, false, false);
    for c in value.chars() {
        let top = !quoted && !angle;
        if top && after_separator && (c == ' ' || c == '\t') {
            continue;
        }
        after_separator = false;
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' if !angle => quoted = !quoted,
            '<' if !quoted => angle = true,
            '>' if !quoted => angle = false,
            ';' | '=' if top => {
                while out.ends_with([' ', '\t']) {
                    out.pop();
                }
                after_separator = true;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tighten_tests {
    use super::tighten_params;

    #[test]
    fn whitespace_around_semi_and_equal_goes_outside_quotes_and_uris() {
        assert_eq!(
            tighten_params("<sip:a@b;lr> ; tag = 1;x=\"a ; b = c\""),
            "<sip:a@b;lr>;tag=1;x=\"a ; b = c\""
        );
        assert_eq!(
            tighten_params("active ;\texpires =600"),
            "active;expires=600"
        );
        assert_eq!(
            tighten_params("SIP/2.0/UDP h:5 ; branch = z"),
            "SIP/2.0/UDP h:5;branch=z"
        );
    }
}
