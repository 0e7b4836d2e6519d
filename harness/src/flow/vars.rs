//! `${name}` variables in flow strings: role attributes (`${ue1.aor}`) and captures (`${etag}`).

use std::collections::HashMap;

/// Variable values for one flow run.
#[derive(Debug, Clone, Default)]
pub struct Vars(HashMap<String, String>);

impl Vars {
    /// Sets a variable.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.0.insert(name.to_string(), value.into());
    }

    /// Reads a variable.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Replaces every `${name}`; names without a value are an error naming the first.
    pub fn substitute(&self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err(format!("unterminated variable in {text:?}"));
            };
            let name = &after[..end];
            let value = self
                .get(name)
                .ok_or_else(|| format!("undefined variable ${{{name}}}"))?;
            out.push_str(value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Names of the variables `text` refers to, in order.
pub fn referenced(text: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        match after.find('}') {
            Some(end) => {
                names.push(after[..end].to_string());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    names
}

/// The attributes every role exposes as `${role.attr}`.
pub const ROLE_ATTRIBUTES: &[&str] = &["aor", "user", "domain", "contact", "uri", "host", "ip"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_and_reports_missing() {
        let mut vars = Vars::default();
        vars.set("ue1.aor", "sip:a@b");
        assert_eq!(vars.substitute("<${ue1.aor}>").unwrap(), "<sip:a@b>");
        assert_eq!(
            vars.substitute("${nope}").unwrap_err(),
            "undefined variable ${nope}"
        );
        assert_eq!(referenced("${a} and ${b.c}"), vec!["a", "b.c"]);
    }
}
