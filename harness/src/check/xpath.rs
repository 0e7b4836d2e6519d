//! A tiny XPath-like path language for assertions on an [`XmlElement`] tree.
//!
//! Grammar (a small subset of XPath 1.0 abbreviated syntax):
//!
//! ```text
//! path      := ("/" | "//") step (("/" | "//") step)* [("/" | "//") target]
//!            | ("/" | "//") target
//! step      := test predicate*
//! test      := "*" | prefix ":" "*" | prefix ":" name | name
//! predicate := "[" n "]"                       1-based position among the step's matches
//!            | "[" "@" attr "]"                 attribute present
//!            | "[" "@" attr "=" literal "]"     attribute equals
//!            | "[" test "]"                     has such a child element
//!            | "[" test "=" literal "]"         has such a child whose text equals
//!            | "[" "text()" "=" literal "]"     direct text equals
//! target    := "@" attr | "text()"
//! attr      := name | prefix ":" name
//! literal   := "'" chars "'" | '"' chars '"'
//! ```
//!
//! Prefixes are resolved through the flow's namespace map; an unprefixed element name uses the
//! map's `""` entry (default namespace) if present and no namespace otherwise, while an
//! unprefixed attribute is always in no namespace. The `xml` prefix is implicitly bound.
//! `//` selects among descendants-or-self, and a position predicate counts per parent, as in
//! XPath.

use std::collections::{HashMap, HashSet};
use std::fmt;

use crate::check::xml::XmlElement;

/// Namespace of the implicitly bound `xml:` prefix.
const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";

/// One result of [`select`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selected<'a> {
    /// A selected element.
    Element(&'a XmlElement),
    /// An attribute value or text selected by a final `@attr` or `text()` step.
    Value(String),
}

impl Selected<'_> {
    /// The element's concatenated descendant text, or the value itself.
    pub fn text(&self) -> String {
        match self {
            Selected::Element(e) => e.deep_text(),
            Selected::Value(v) => v.clone(),
        }
    }
}

/// A path that is syntactically invalid or uses a prefix the namespace map does not bind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    /// The whole path.
    pub path: String,
    /// Byte offset of the offending part of the path.
    pub position: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let rest = self.path.get(self.position..).unwrap_or("");
        if rest.is_empty() {
            write!(f, "{} at the end of path `{}`", self.message, self.path)
        } else {
            let shown: String = rest.chars().take(24).collect();
            let ellipsis = if shown.len() < rest.len() { "…" } else { "" };
            write!(
                f,
                "{} at `{shown}{ellipsis}` (byte {}) in path `{}`",
                self.message, self.position, self.path
            )
        }
    }
}

impl std::error::Error for PathError {}

/// A parsed path; obtain one with [`parse_path`] and evaluate it with [`select_path`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    source: String,
    steps: Vec<Step>,
    target: Target,
}

impl Path {
    /// The path as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Namespace prefixes used by the path (excluding `xml`), sorted and deduplicated.
    pub fn prefixes(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut add = |q: &QName| {
            if let Some(p) = &q.prefix {
                if p != "xml" {
                    out.push(p.clone());
                }
            }
        };
        for step in &self.steps {
            match &step.test {
                Test::Name(q) | Test::AnyIn(q) => add(q),
                Test::Any => {}
            }
            for pred in &step.predicates {
                match pred {
                    Predicate::Attr(q, _) => add(q),
                    Predicate::Child(Test::Name(q) | Test::AnyIn(q), _) => add(q),
                    _ => {}
                }
            }
        }
        if let Target::Attr(q, _) = &self.target {
            add(q);
        }
        out.sort();
        out.dedup();
        out
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct QName {
    prefix: Option<String>,
    local: String,
    /// Byte offset of the name in the path, for errors.
    pos: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Test {
    /// `*`
    Any,
    /// `prefix:*` (local is empty)
    AnyIn(QName),
    /// `name` or `prefix:name`
    Name(QName),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Predicate {
    Index(usize),
    Attr(QName, Option<String>),
    Child(Test, Option<String>),
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Step {
    descendant: bool,
    test: Test,
    predicates: Vec<Predicate>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    Elements,
    /// Attribute value; the flag is true when preceded by `//`.
    Attr(QName, bool),
    /// Direct text; the flag is true when preceded by `//`.
    Text(bool),
}

/// Parses and validates `path` without a document (e.g. when a flow is loaded).
pub fn parse_path(path: &str) -> Result<Path, PathError> {
    Parser { src: path, pos: 0 }.path()
}

struct Parser<'s> {
    src: &'s str,
    pos: usize,
}

impl Parser<'_> {
    fn err(&self, pos: usize, message: impl Into<String>) -> PathError {
        PathError {
            path: self.src.to_string(),
            position: pos,
            message: message.into(),
        }
    }

    fn rest(&self) -> &str {
        self.src.get(self.pos..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn eat(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while let Some(c) = self.peek() {
            if c.is_whitespace() {
                self.pos += c.len_utf8();
            } else {
                break;
            }
        }
    }

    fn path(mut self) -> Result<Path, PathError> {
        if self.src.is_empty() {
            return Err(self.err(0, "empty path"));
        }
        if !self.src.starts_with('/') {
            return Err(self.err(0, "path must be absolute (start with `/` or `//`)"));
        }
        let mut steps = Vec::new();
        loop {
            let descendant = if self.eat("//") {
                true
            } else if self.eat("/") {
                false
            } else {
                return Err(self.err(self.pos, "expected `/`"));
            };
            if self.peek().is_none() {
                return Err(self.err(self.pos, "expected a step after `/`"));
            }
            if self.eat("@") {
                let name = self.qname(false)?;
                return self.finish(steps, Target::Attr(name, descendant));
            }
            if self.eat("text()") {
                return self.finish(steps, Target::Text(descendant));
            }
            let test = self.test()?;
            let mut predicates = Vec::new();
            while self.eat("[") {
                predicates.push(self.predicate()?);
            }
            steps.push(Step {
                descendant,
                test,
                predicates,
            });
            if self.peek().is_none() {
                return Ok(Path {
                    source: self.src.to_string(),
                    steps,
                    target: Target::Elements,
                });
            }
        }
    }

    fn finish(&self, steps: Vec<Step>, target: Target) -> Result<Path, PathError> {
        if self.peek().is_some() {
            return Err(self.err(
                self.pos,
                "nothing may follow an `@attribute` or `text()` step",
            ));
        }
        Ok(Path {
            source: self.src.to_string(),
            steps,
            target,
        })
    }

    fn name(&mut self) -> Option<String> {
        let start = self.pos;
        let mut end = start;
        for (i, c) in self.rest().char_indices() {
            let ok = if i == 0 {
                c.is_alphabetic() || c == '_'
            } else {
                c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
            };
            if !ok {
                break;
            }
            end = start + i + c.len_utf8();
        }
        self.pos = end;
        (end > start).then(|| self.src[start..end].to_string())
    }

    /// `name` or `prefix:name`; with `allow_star`, also `prefix:*` (returned with empty local).
    fn qname(&mut self, allow_star: bool) -> Result<QName, PathError> {
        let pos = self.pos;
        let first = self
            .name()
            .ok_or_else(|| self.err(pos, "expected a name"))?;
        if !self.eat(":") {
            return Ok(QName {
                prefix: None,
                local: first,
                pos,
            });
        }
        if allow_star && self.eat("*") {
            return Ok(QName {
                prefix: Some(first),
                local: String::new(),
                pos,
            });
        }
        let at = self.pos;
        let local = self
            .name()
            .ok_or_else(|| self.err(at, "expected a local name after the prefix"))?;
        Ok(QName {
            prefix: Some(first),
            local,
            pos,
        })
    }

    fn test(&mut self) -> Result<Test, PathError> {
        if self.eat("*") {
            return Ok(Test::Any);
        }
        let q = self.qname(true)?;
        Ok(if q.local.is_empty() {
            Test::AnyIn(q)
        } else {
            Test::Name(q)
        })
    }

    fn literal(&mut self) -> Result<String, PathError> {
        self.skip_ws();
        let start = self.pos;
        let quote = match self.peek() {
            Some(q @ ('\'' | '"')) => q,
            _ => return Err(self.err(start, "expected a quoted string")),
        };
        self.pos += 1;
        match self.rest().find(quote) {
            Some(len) => {
                let value = self.rest()[..len].to_string();
                self.pos += len + 1;
                Ok(value)
            }
            None => Err(self.err(start, "unterminated string")),
        }
    }

    /// Optional `= literal`.
    fn opt_value(&mut self) -> Result<Option<String>, PathError> {
        self.skip_ws();
        if self.eat("=") {
            Ok(Some(self.literal()?))
        } else {
            Ok(None)
        }
    }

    fn predicate(&mut self) -> Result<Predicate, PathError> {
        let open = self.pos.saturating_sub(1);
        self.skip_ws();
        let start = self.pos;
        let pred = if self.peek().is_some_and(|c| c.is_ascii_digit()) {
            let digits: String = self
                .rest()
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            self.pos += digits.len();
            match digits.parse::<usize>() {
                Ok(n) if n >= 1 => Predicate::Index(n),
                _ => return Err(self.err(start, "position must be a number from 1")),
            }
        } else if self.eat("@") {
            let name = self.qname(false)?;
            Predicate::Attr(name, self.opt_value()?)
        } else if self.eat("text()") {
            self.skip_ws();
            if !self.eat("=") {
                return Err(self.err(self.pos, "expected `=` after `text()`"));
            }
            Predicate::Text(self.literal()?)
        } else if self.peek().is_none() {
            return Err(self.err(open, "unclosed `[`"));
        } else {
            let test = self.test()?;
            Predicate::Child(test, self.opt_value()?)
        };
        self.skip_ws();
        if !self.eat("]") {
            if self.peek().is_none() {
                return Err(self.err(open, "unclosed `[`"));
            }
            return Err(self.err(self.pos, "expected `]`"));
        }
        Ok(pred)
    }
}

/// Parses `path` and evaluates it against the document whose root element is `root`.
/// `namespaces` maps prefixes to namespace URIs (key `""`: default namespace for unprefixed
/// element names). An unknown prefix is an error even when nothing would match.
pub fn select<'a>(
    root: &'a XmlElement,
    path: &str,
    namespaces: &HashMap<String, String>,
) -> Result<Vec<Selected<'a>>, PathError> {
    let parsed = parse_path(path)?;
    select_path(root, &parsed, namespaces)
}

/// Evaluates an already parsed path; see [`select`].
pub fn select_path<'a>(
    root: &'a XmlElement,
    path: &Path,
    namespaces: &HashMap<String, String>,
) -> Result<Vec<Selected<'a>>, PathError> {
    let ev = Evaluator { path, namespaces };
    ev.run(root)
}

/// A name test with prefixes resolved: `(namespace, local)`, `None` meaning any.
#[derive(Debug, Clone, Copy)]
struct Resolved<'p> {
    ns: Option<&'p str>,
    local: Option<&'p str>,
}

impl Resolved<'_> {
    fn matches(&self, e: &XmlElement) -> bool {
        self.ns.is_none_or(|ns| ns == e.ns) && self.local.is_none_or(|l| l == e.name)
    }
}

#[derive(Clone, Copy)]
enum Ctx<'a> {
    Doc,
    El(&'a XmlElement),
}

struct Evaluator<'p> {
    path: &'p Path,
    namespaces: &'p HashMap<String, String>,
}

impl<'p> Evaluator<'p> {
    fn prefix(&self, q: &QName) -> Result<Option<&'p str>, PathError> {
        match &q.prefix {
            None => Ok(None),
            Some(p) => match self.namespaces.get(p) {
                Some(uri) => Ok(Some(uri.as_str())),
                None if p == "xml" => Ok(Some(XML_NS)),
                None => Err(PathError {
                    path: self.path.source.clone(),
                    position: q.pos,
                    message: format!("unknown namespace prefix `{p}`"),
                }),
            },
        }
    }

    fn element_ns(&self, q: &QName) -> Result<&'p str, PathError> {
        Ok(match self.prefix(q)? {
            Some(ns) => ns,
            None => self.namespaces.get("").map_or("", String::as_str),
        })
    }

    fn attr_ns(&self, q: &QName) -> Result<&'p str, PathError> {
        Ok(self.prefix(q)?.unwrap_or(""))
    }

    fn resolve_test(&self, test: &'p Test) -> Result<Resolved<'p>, PathError> {
        Ok(match test {
            Test::Any => Resolved {
                ns: None,
                local: None,
            },
            Test::AnyIn(q) => Resolved {
                ns: Some(self.element_ns(q)?),
                local: None,
            },
            Test::Name(q) => Resolved {
                ns: Some(self.element_ns(q)?),
                local: Some(q.local.as_str()),
            },
        })
    }

    fn run<'a>(&self, root: &'a XmlElement) -> Result<Vec<Selected<'a>>, PathError> {
        // Resolve everything first so that bad prefixes are reported regardless of the document.
        let mut resolved_steps = Vec::new();
        for step in &self.path.steps {
            let test = self.resolve_test(&step.test)?;
            let mut preds = Vec::new();
            for pred in &step.predicates {
                preds.push(match pred {
                    Predicate::Index(n) => RPred::Index(*n),
                    Predicate::Attr(q, v) => {
                        RPred::Attr(self.attr_ns(q)?, q.local.as_str(), v.as_deref())
                    }
                    Predicate::Child(t, v) => RPred::Child(self.resolve_test(t)?, v.as_deref()),
                    Predicate::Text(v) => RPred::Text(v.as_str()),
                });
            }
            resolved_steps.push((step.descendant, test, preds));
        }
        let target_attr = match &self.path.target {
            Target::Attr(q, _) => Some((self.attr_ns(q)?, q.local.as_str())),
            _ => None,
        };

        let mut ctx: Vec<Ctx<'a>> = vec![Ctx::Doc];
        for (descendant, test, preds) in &resolved_steps {
            let bases = if *descendant {
                descendants_or_self(&ctx, root)
            } else {
                ctx
            };
            let mut next = Vec::new();
            let mut seen = HashSet::new();
            for base in bases {
                let mut candidates: Vec<&'a XmlElement> = match base {
                    Ctx::Doc => vec![root],
                    Ctx::El(e) => e.elements().collect(),
                };
                candidates.retain(|c| test.matches(c));
                for pred in preds {
                    candidates = apply(pred, candidates);
                }
                for c in candidates {
                    if seen.insert(c as *const XmlElement) {
                        next.push(Ctx::El(c));
                    }
                }
            }
            ctx = next;
        }

        let elements = |ctx: Vec<Ctx<'a>>, descendant: bool| -> Vec<&'a XmlElement> {
            let ctx = if descendant {
                descendants_or_self(&ctx, root)
            } else {
                ctx
            };
            ctx.into_iter()
                .filter_map(|c| match c {
                    Ctx::El(e) => Some(e),
                    Ctx::Doc => None,
                })
                .collect()
        };
        Ok(match &self.path.target {
            Target::Elements => elements(ctx, false)
                .into_iter()
                .map(Selected::Element)
                .collect(),
            Target::Attr(_, descendant) => {
                let (ns, local) = target_attr.unwrap_or(("", ""));
                elements(ctx, *descendant)
                    .into_iter()
                    .filter_map(|e| e.attr(ns, local))
                    .map(|v| Selected::Value(v.to_string()))
                    .collect()
            }
            Target::Text(descendant) => elements(ctx, *descendant)
                .into_iter()
                .filter(|e| {
                    e.children
                        .iter()
                        .any(|c| matches!(c, crate::check::xml::XmlNode::Text(_)))
                })
                .map(|e| Selected::Value(e.direct_text()))
                .collect(),
        })
    }
}

enum RPred<'p> {
    Index(usize),
    Attr(&'p str, &'p str, Option<&'p str>),
    Child(Resolved<'p>, Option<&'p str>),
    Text(&'p str),
}

fn apply<'a>(pred: &RPred<'_>, candidates: Vec<&'a XmlElement>) -> Vec<&'a XmlElement> {
    match pred {
        RPred::Index(n) => candidates.get(n - 1).copied().into_iter().collect(),
        RPred::Attr(ns, local, value) => candidates
            .into_iter()
            .filter(|e| match (e.attr(ns, local), value) {
                (Some(_), None) => true,
                (Some(actual), Some(v)) => actual == *v,
                (None, _) => false,
            })
            .collect(),
        RPred::Child(test, value) => candidates
            .into_iter()
            .filter(|e| {
                e.elements()
                    .any(|c| test.matches(c) && value.is_none_or(|v| c.deep_text() == v))
            })
            .collect(),
        RPred::Text(v) => candidates
            .into_iter()
            .filter(|e| e.direct_text() == *v)
            .collect(),
    }
}

/// All context nodes plus their descendant elements, deduplicated, in document order per base.
fn descendants_or_self<'a>(ctx: &[Ctx<'a>], root: &'a XmlElement) -> Vec<Ctx<'a>> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut doc_seen = false;
    for base in ctx {
        let start = match base {
            Ctx::Doc => {
                if doc_seen {
                    continue;
                }
                doc_seen = true;
                out.push(Ctx::Doc);
                root
            }
            Ctx::El(e) => e,
        };
        let mut stack = vec![start];
        while let Some(e) = stack.pop() {
            if seen.insert(e as *const XmlElement) {
                out.push(Ctx::El(e));
            }
            let children: Vec<&XmlElement> = e.elements().collect();
            stack.extend(children.into_iter().rev());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::xml::parse;

    const DOC: &str = r#"<presence xmlns="urn:ietf:params:xml:ns:pidf"
        xmlns:dm="urn:ietf:params:xml:ns:pidf:data-model"
        xmlns:rpid="urn:ietf:params:xml:ns:pidf:rpid" entity="sip:alice@example.com">
      <tuple id="t1"><status><basic>open</basic></status><contact priority="0.8">sip:a@pc</contact></tuple>
      <tuple id="t2"><status><basic>closed</basic></status></tuple>
      <dm:person id="p1">
        <rpid:activities><rpid:busy/></rpid:activities>
        <dm:note xml:lang="en">In a <b>meeting</b></dm:note>
      </dm:person>
      <note>hello</note>
    </presence>"#;

    fn ns() -> HashMap<String, String> {
        [
            ("p", "urn:ietf:params:xml:ns:pidf"),
            ("dm", "urn:ietf:params:xml:ns:pidf:data-model"),
            ("rpid", "urn:ietf:params:xml:ns:pidf:rpid"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn texts(path: &str) -> Vec<String> {
        let root = parse(DOC.as_bytes()).expect("parse");
        select(&root, path, &ns())
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .map(Selected::text)
            .collect()
    }

    #[test]
    fn absolute_paths_and_values() {
        assert_eq!(
            texts("/p:presence/p:tuple/p:status/p:basic"),
            ["open", "closed"]
        );
        assert_eq!(texts("/p:presence/@entity"), ["sip:alice@example.com"]);
        assert_eq!(texts("/p:presence/p:tuple/@id"), ["t1", "t2"]);
        assert_eq!(texts("/p:presence/p:note/text()"), ["hello"]);
        assert_eq!(texts("/p:presence/*/@id"), ["t1", "t2", "p1"]);
        assert_eq!(texts("/p:presence/dm:*/@id"), ["p1"]);
        assert_eq!(texts("/p:presence/p:nope"), Vec::<String>::new());
        assert_eq!(texts("/p:tuple"), Vec::<String>::new());
        assert_eq!(texts("/*/@entity"), ["sip:alice@example.com"]);
    }

    #[test]
    fn predicates() {
        assert_eq!(texts("/p:presence/p:tuple[2]/@id"), ["t2"]);
        assert_eq!(texts("/p:presence/p:tuple[3]"), Vec::<String>::new());
        assert_eq!(
            texts("/p:presence/p:tuple[@id='t2']/p:status/p:basic"),
            ["closed"]
        );
        assert_eq!(texts("/p:presence/p:tuple[ @id = \"t1\" ]/@id"), ["t1"]);
        assert_eq!(texts("/p:presence/*[@id][3]/@id"), ["p1"]);
        assert_eq!(texts("/p:presence/p:tuple[p:contact]/@id"), ["t1"]);
        assert_eq!(
            texts("/p:presence/p:tuple[p:status='closed']/@id"),
            ["t2"],
            "child text is the child's descendant text"
        );
        assert_eq!(texts("/p:presence/p:note[text()='hello']"), ["hello"]);
        assert_eq!(texts("//p:contact/@priority"), ["0.8"]);
        assert_eq!(texts("//dm:note/@xml:lang"), ["en"]);
        assert_eq!(texts("//p:tuple[@id='t1'][1]/@id"), ["t1"]);
        assert_eq!(texts("//p:tuple[@id='t2'][1]/@id"), ["t2"]);
    }

    #[test]
    fn descendant_and_text() {
        assert_eq!(texts("//rpid:activities").len(), 1);
        assert_eq!(texts("//rpid:busy").len(), 1);
        assert_eq!(texts("/p:presence//p:basic"), ["open", "closed"]);
        assert_eq!(texts("//p:presence/@entity"), ["sip:alice@example.com"]);
        assert_eq!(texts("//@id"), ["t1", "t2", "p1"]);
        // Element text is the descendant text; text() is the direct text only.
        assert_eq!(texts("//dm:note"), ["In ameeting"]);
        assert_eq!(texts("//dm:note/text()"), ["In a"]);
        assert_eq!(texts("//p:status/text()"), Vec::<String>::new());
        // Position counts per parent, as in XPath.
        assert_eq!(texts("//p:basic[1]"), ["open", "closed"]);
    }

    #[test]
    fn default_namespace_for_unprefixed_names() {
        let root = parse(DOC.as_bytes()).expect("parse");
        let mut map = ns();
        assert!(select(&root, "/presence", &map).expect("ok").is_empty());
        map.insert(String::new(), "urn:ietf:params:xml:ns:pidf".into());
        let got = select(&root, "/presence/tuple[@id='t1']/status/basic", &map).expect("ok");
        assert_eq!(got.len(), 1);
        assert!(matches!(got[0], Selected::Element(e) if e.name == "basic"));
        let plain = parse(b"<a><b x='1'/></a>").expect("parse");
        let got = select(&plain, "/a/b/@x", &HashMap::new()).expect("ok");
        assert_eq!(got, [Selected::Value("1".into())]);
    }

    #[test]
    fn unknown_prefix_is_an_error_naming_it() {
        let root = parse(DOC.as_bytes()).expect("parse");
        let err = select(&root, "/p:presence/x:tuple", &ns()).expect_err("unknown prefix");
        assert_eq!(err.position, 12);
        let msg = err.to_string();
        assert!(msg.contains("unknown namespace prefix `x`"), "{msg}");
        assert!(msg.contains("`x:tuple`"), "{msg}");
        let err = select(&root, "/p:nothing[@q:a]", &ns()).expect_err("unknown prefix");
        assert!(err.to_string().contains("`q`"), "{err}");
    }

    #[test]
    fn truncated_paths_never_panic() {
        let root = parse(DOC.as_bytes()).expect("parse");
        let path = "//p:tuple[@id='t1'][1]/p:status[p:basic=\"open\"][text()='x']/@xml:lang\u{e9}";
        for (i, _) in path.char_indices() {
            let _ = select(&root, &path[..i], &ns());
        }
    }

    #[test]
    fn syntax_errors() {
        for (bad, needle) in [
            ("", "empty path"),
            ("p:presence", "absolute"),
            ("/", "expected a step"),
            ("/p:presence/", "expected a step"),
            ("/p:presence/p:tuple[", "unclosed"),
            ("/p:presence/p:tuple[1", "unclosed"),
            ("/p:presence/p:tuple[0]", "from 1"),
            ("/p:presence/p:tuple[@id='x]", "unterminated"),
            ("/p:presence/p:tuple[@id=x]", "quoted string"),
            ("/p:presence/@id/p:x", "nothing may follow"),
            ("/p:presence/text()/x", "nothing may follow"),
            ("/p:presence/p:", "local name"),
            ("/p:presence/[1]", "expected a name"),
            ("/p:presence//", "expected a step"),
            ("/p:presence p:tuple", "expected `/`"),
            ("/p:presence/p:tuple[@id='a' x]", "expected `]`"),
        ] {
            let err = parse_path(bad).expect_err(bad);
            assert!(err.to_string().contains(needle), "{bad}: {err}");
        }
        let path =
            parse_path("/p:presence/dm:person[rpid:activities][@xml:lang]/@q:x").expect("ok");
        assert_eq!(path.prefixes(), ["dm", "p", "q", "rpid"]);
        assert_eq!(
            path.to_string(),
            "/p:presence/dm:person[rpid:activities][@xml:lang]/@q:x"
        );
    }
}
