//! XCAP node selectors (RFC 4825 §6.3): parsing the part after `/~~/` with the namespace
//! bindings of the query (`xmlns(p=urn:...)`) and evaluating it against a document.
//!
//! Steps are `name`, `prefix:name` or `*`, each with predicates `[n]` and `[@attr="value"]`
//! applied in order as in XPath; the last step may be `@attr`. Unprefixed names are in the
//! application usage's default namespace.

use super::dom::Element;
use std::fmt;

/// Why a selector or its query cannot be read. A step that is none of the grammar's element,
/// attribute or namespace selectors is an extension selector this server does not understand
/// (404, RFC 4825 §8); a prefix no xmlns() binds and an unreadable query are bad requests (400).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadSelector {
    /// What was wrong.
    pub why: String,
    /// True for a prefix that no xmlns() expression of the query binds.
    pub unbound_prefix: bool,
}

impl BadSelector {
    fn new(why: impl Into<String>) -> BadSelector {
        BadSelector {
            why: why.into(),
            unbound_prefix: false,
        }
    }
}

impl fmt::Display for BadSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.why)
    }
}

/// An expanded name: namespace and local name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    /// Namespace URI (`None`: no namespace).
    pub ns: Option<String>,
    /// Local name.
    pub local: String,
}

/// A step's name test.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameTest {
    /// `*`: any element.
    Any,
    /// One expanded name.
    Name(Name),
}

/// A step predicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Predicate {
    /// `[n]`: the n-th (1-based) of the elements selected so far.
    Position(usize),
    /// `[@attr="value"]`: elements whose attribute has that value.
    Attribute(Name, String),
}

/// One element step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Which children the step considers.
    pub test: NameTest,
    /// Filters applied in order.
    pub predicates: Vec<Predicate>,
}

/// A parsed node selector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    /// Element steps from the root element down (at least one).
    pub steps: Vec<Step>,
    /// A final `@attr` step, if the selector targets an attribute.
    pub attribute: Option<Name>,
}

/// Reads the namespace bindings of a query such as `xmlns(p=urn:a)xmlns(q=urn:b)`.
pub fn parse_query(query: &str) -> Result<Vec<(String, String)>, BadSelector> {
    let mut bindings = Vec::new();
    let mut rest = query.trim();
    while !rest.is_empty() {
        let (scheme, after_scheme) = rest
            .split_once('(')
            .ok_or_else(|| BadSelector::new(format!("unexpected query text {rest:?}")))?;
        let close = closing_paren(after_scheme)
            .ok_or_else(|| BadSelector::new(format!("unclosed {scheme}(")))?;
        let (data, after) = after_scheme.split_at(close);
        rest = after.get(1..).unwrap_or_default().trim_start();
        // Pointer parts of other schemes are ignored (RFC 4825 §6.4).
        if scheme.trim() != "xmlns" {
            continue;
        }
        let (prefix, uri) = data
            .split_once('=')
            .ok_or_else(|| BadSelector::new(format!("xmlns({data}) lacks '='")))?;
        let (prefix, uri) = (prefix.trim(), uri.trim());
        if !valid_ncname(prefix) || uri.is_empty() {
            return Err(BadSelector::new(format!("bad binding xmlns({data})")));
        }
        bindings.push((prefix.to_string(), uri.to_string()));
    }
    Ok(bindings)
}

/// Index of the `)` that closes a pointer part's data, skipping nested parentheses and the
/// XPointer escapes `^(`, `^)` and `^^`.
fn closing_paren(data: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut escaped = false;
    for (i, c) in data.char_indices() {
        match (escaped, c) {
            (true, _) => escaped = false,
            (false, '^') => escaped = true,
            (false, '(') => depth += 1,
            (false, ')') if depth == 0 => return Some(i),
            (false, ')') => depth -= 1,
            _ => {}
        }
    }
    None
}

/// Is this a plausible NCName (no colon, no selector syntax, not empty)?
fn valid_ncname(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.') || !c.is_ascii())
}

/// Splits the selector at `/` outside quotes and brackets.
fn split_steps(selector: &str) -> Result<Vec<&str>, BadSelector> {
    let mut steps = Vec::new();
    let (mut from, mut depth, mut quote) = (0, 0usize, None);
    for (i, c) in selector.char_indices() {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| BadSelector::new("unbalanced ']'"))?
            }
            (None, '/') if depth == 0 => {
                steps.push(selector.get(from..i).unwrap_or_default());
                from = i + 1;
            }
            _ => {}
        }
    }
    if quote.is_some() || depth != 0 {
        return Err(BadSelector::new("unclosed quote or bracket"));
    }
    steps.push(selector.get(from..).unwrap_or_default());
    Ok(steps)
}

/// Resolves a qualified name; unprefixed names take `default_ns` (elements) or none (attributes).
fn name(
    qname: &str,
    bindings: &[(String, String)],
    default_ns: Option<&str>,
) -> Result<Name, BadSelector> {
    let (ns, local) = match qname.split_once(':') {
        Some((prefix, local)) => {
            let uri = bindings
                .iter()
                .rev()
                .find(|(p, _)| p == prefix)
                .map(|(_, u)| u.clone())
                .ok_or_else(|| BadSelector {
                    why: format!("prefix {prefix:?} is not bound"),
                    unbound_prefix: true,
                })?;
            (Some(uri), local)
        }
        // An empty default (no default namespace declared) leaves the name unqualified.
        None => (
            default_ns.filter(|ns| !ns.is_empty()).map(str::to_string),
            qname,
        ),
    };
    if !valid_ncname(local) {
        return Err(BadSelector::new(format!("bad name {qname:?}")));
    }
    Ok(Name {
        ns,
        local: local.to_string(),
    })
}

/// Parses one `[...]` predicate body.
fn predicate(body: &str, bindings: &[(String, String)]) -> Result<Predicate, BadSelector> {
    if let Some(attr) = body.strip_prefix('@') {
        let (qname, value) = attr
            .split_once('=')
            .ok_or_else(|| BadSelector::new(format!("predicate [{body}] lacks '='")))?;
        let quoted = value.len() >= 2
            && (value.starts_with('"') && value.ends_with('"')
                || value.starts_with('\'') && value.ends_with('\''));
        let inner = value
            .get(1..value.len().saturating_sub(1))
            .unwrap_or_default();
        if !quoted {
            return Err(BadSelector::new(format!(
                "predicate [{body}] value is not quoted"
            )));
        }
        return Ok(Predicate::Attribute(
            name(qname, bindings, None)?,
            inner.to_string(),
        ));
    }
    match body.parse::<usize>() {
        Ok(n) if n >= 1 && body.bytes().all(|b| b.is_ascii_digit()) => Ok(Predicate::Position(n)),
        _ => Err(BadSelector::new(format!("bad predicate [{body}]"))),
    }
}

/// Parses one element step such as `list[@name="a"][2]`.
fn step(text: &str, bindings: &[(String, String)], default_ns: &str) -> Result<Step, BadSelector> {
    let (head, mut rest) = text.split_at(text.find('[').unwrap_or(text.len()));
    let test = if head == "*" {
        NameTest::Any
    } else {
        NameTest::Name(name(head, bindings, Some(default_ns))?)
    };
    let mut predicates = Vec::new();
    while !rest.is_empty() {
        let body = rest
            .strip_prefix('[')
            .ok_or_else(|| BadSelector::new(format!("unexpected text in step {text:?}")))?;
        let close = closing_bracket(body)
            .ok_or_else(|| BadSelector::new(format!("unclosed predicate in {text:?}")))?;
        predicates.push(predicate(body.get(..close).unwrap_or_default(), bindings)?);
        rest = body.get(close + 1..).unwrap_or_default();
    }
    Ok(Step { test, predicates })
}

/// Index of the `]` closing a predicate body, skipping quoted text.
fn closing_bracket(body: &str) -> Option<usize> {
    let mut quote = None;
    for (i, c) in body.char_indices() {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, ']') => return Some(i),
            _ => {}
        }
    }
    None
}

impl Selector {
    /// Parses a (percent-decoded) node selector with the query's `bindings`; unprefixed element
    /// names are in `default_ns`.
    pub fn parse(
        text: &str,
        bindings: &[(String, String)],
        default_ns: &str,
    ) -> Result<Selector, BadSelector> {
        let mut parts = split_steps(text)?;
        let attribute = match parts.last().and_then(|last| last.strip_prefix('@')) {
            Some(attr) => {
                let attr = name(attr, bindings, None)?;
                parts.pop();
                Some(attr)
            }
            None => None,
        };
        if parts.is_empty() {
            return Err(BadSelector::new("selector has no element step"));
        }
        let steps = parts
            .into_iter()
            .map(|p| step(p, bindings, default_ns))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Selector { steps, attribute })
    }

    /// Paths (child indices from the root) of the elements the element steps select.
    pub fn select(&self, root: &Element) -> Vec<Vec<usize>> {
        select_steps(root, &self.steps)
    }
}

/// Does `element` pass the name test?
fn name_matches(test: &NameTest, element: &Element) -> bool {
    match test {
        NameTest::Any => true,
        NameTest::Name(n) => element.ns == n.ns && element.local_name() == n.local,
    }
}

/// Keeps the candidates a predicate accepts.
fn filter<'a>(
    candidates: Vec<(Vec<usize>, &'a Element)>,
    predicate: &Predicate,
) -> Vec<(Vec<usize>, &'a Element)> {
    match predicate {
        Predicate::Position(n) => candidates.into_iter().nth(n - 1).into_iter().collect(),
        Predicate::Attribute(attr, value) => candidates
            .into_iter()
            .filter(|(_, e)| e.attribute(attr.ns.as_deref(), &attr.local) == Some(value.as_str()))
            .collect(),
    }
}

/// Paths of the elements selected by `steps`; the first step applies to the root itself.
pub fn select_steps(root: &Element, steps: &[Step]) -> Vec<Vec<usize>> {
    let mut current: Vec<Vec<usize>> = vec![Vec::new()];
    for (i, step) in steps.iter().enumerate() {
        let mut next = Vec::new();
        for path in &current {
            let candidates: Vec<(Vec<usize>, &Element)> = if i == 0 {
                vec![(Vec::new(), root)]
            } else {
                let Some(parent) = root.at(path) else {
                    continue;
                };
                parent
                    .child_elements()
                    .map(|(index, e)| {
                        let mut p = path.clone();
                        p.push(index);
                        (p, e)
                    })
                    .collect()
            };
            let mut kept: Vec<_> = candidates
                .into_iter()
                .filter(|(_, e)| name_matches(&step.test, e))
                .collect();
            for predicate in &step.predicates {
                kept = filter(kept, predicate);
            }
            next.extend(kept.into_iter().map(|(p, _)| p));
        }
        current = next;
    }
    current
}

#[cfg(test)]
mod tests {
    use super::super::dom::Document;
    use super::*;

    const NS: &str = "urn:ietf:params:xml:ns:resource-lists";
    const DOC: &str = r#"<resource-lists xmlns="urn:ietf:params:xml:ns:resource-lists" xmlns:x="urn:x">
<list name="a"><entry uri="sip:1@x"/><entry uri="sip:2@x"/><x:ext/></list>
<list name="b"><entry uri="sip:3@x"/></list></resource-lists>"#;

    fn paths(selector: &str, query: &str) -> Vec<Vec<usize>> {
        let doc = Document::parse(DOC).unwrap();
        let bindings = parse_query(query).unwrap();
        Selector::parse(selector, &bindings, NS)
            .unwrap()
            .select(&doc.root)
    }

    #[test]
    fn steps_positions_and_attribute_predicates() {
        assert_eq!(paths("resource-lists", ""), vec![Vec::<usize>::new()]);
        assert_eq!(paths("resource-lists/list", "").len(), 2);
        assert_eq!(paths("resource-lists/list[2]", ""), vec![vec![3]]);
        assert_eq!(paths("resource-lists/list[@name='b']", ""), vec![vec![3]]);
        assert_eq!(
            paths(r#"resource-lists/list[@name="a"]/entry[2]"#, ""),
            vec![vec![1, 1]]
        );
        assert_eq!(
            paths(
                r#"resource-lists/list[1][@name="a"]/entry[@uri="sip:2@x"]"#,
                ""
            ),
            vec![vec![1, 1]]
        );
        assert_eq!(
            paths(r#"resource-lists/list[@name="b"][1]/entry"#, ""),
            vec![vec![3, 0]]
        );
        assert!(paths(r#"resource-lists/list[2][@name="a"]"#, "").is_empty());
        assert_eq!(paths("resource-lists/list[1]/*", "").len(), 3);
        assert_eq!(
            paths("resource-lists/list/p:ext", "xmlns(p=urn:x)"),
            vec![vec![1, 2]]
        );
        assert!(paths("resource-lists/list/ext", "").is_empty());
        assert!(paths("other", "").is_empty());
    }

    #[test]
    fn attribute_step_and_slash_inside_quotes() {
        let s = Selector::parse(r#"a/b[@uri="sip:x/y"]/@name"#, &[], NS).unwrap();
        assert_eq!(s.steps.len(), 2);
        assert_eq!(s.attribute.unwrap().local, "name");
    }

    #[test]
    fn unparsable_selectors_and_queries() {
        for bad in [
            "",
            "a//b",
            "a/b[0]",
            "a/b[x]",
            "a/b[@c=d]",
            "a/b[@c=\"d]",
            "a/b]",
            "a/q:b",
            "@x",
            "a/b[1]x",
        ] {
            assert!(Selector::parse(bad, &[], NS).is_err(), "{bad}");
        }
        for bad in ["xmlns(p)", "foo", "xmlns(p=urn:x", "xmlns(=urn:x)"] {
            assert!(parse_query(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_query("xmlns(p=urn:a)xmlns(q=urn:b)").unwrap(),
            vec![("p".into(), "urn:a".into()), ("q".into(), "urn:b".into())]
        );
    }
}
