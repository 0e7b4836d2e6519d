//! Low-level text helpers for SIP header values: list splitting and parameters (RFC 3261 §25.1).

/// Splits a header value on commas that are outside quotes and angle brackets.
pub fn split_list(value: &str) -> Vec<String> {
    split_outside(value, b',')
        .into_iter()
        .map(|item| item.trim().to_string())
        .filter(|item| !item.is_empty())
        .collect()
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
    let pieces = split_outside(input, b';');
    let mut iter = pieces.into_iter();
    let value = iter.next().unwrap_or_default().trim().to_string();
    let params = iter
        .filter(|p| !p.trim().is_empty())
        .map(|p| match p.split_once('=') {
            Some((name, val)) => (name.trim().to_ascii_lowercase(), Some(unquote(val.trim()))),
            None => (p.trim().to_ascii_lowercase(), None),
        })
        .collect();
    Parameterised { value, params }
}

/// Splits on `sep` (an ASCII byte) outside quoted strings and angle brackets, borrowing
/// the pieces. The delimiters are ASCII, so scanning bytes never splits a UTF-8 character.
fn split_outside(input: &str, sep: u8) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut in_quotes = false;
    let mut in_angle = false;
    let mut escaped = false;
    for (i, byte) in input.bytes().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match byte {
            b'\\' if in_quotes => escaped = true,
            b'"' => in_quotes = !in_quotes,
            b'<' if !in_quotes => in_angle = true,
            b'>' if !in_quotes => in_angle = false,
            c if c == sep && !in_quotes && !in_angle => {
                out.push(&input[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&input[start..]);
    out
}

/// Removes surrounding double quotes and backslash escapes.
pub fn unquote(s: &str) -> String {
    let Some(inner) = s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) else {
        return s.to_string();
    };
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
    out
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
    fn parses_parameters() {
        let p = parse_params(r#"active ; expires=600;reason="a;b";lr"#);
        assert_eq!(p.value, "active");
        assert_eq!(p.param("EXPIRES"), Some(Some("600")));
        assert_eq!(p.param("reason"), Some(Some("a;b")));
        assert_eq!(p.param("lr"), Some(None));
        assert_eq!(p.param("x"), None);
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
