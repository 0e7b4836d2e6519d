//! The regular expressions of flow checks (`matches:`), compiled once per process: the loader
//! compiles a flow's patterns to validate them and every run matches them again, and compiling
//! one costs far more than matching it (compiling on every evaluation was a ninth of a
//! three-flow run's instructions, by callgrind, before this cache).

use regex::Regex;
use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};

/// Every pattern compiled so far. Patterns come from flow files only, so it stays small.
static COMPILED: LazyLock<Mutex<HashMap<String, Regex>>> = LazyLock::new(Mutex::default);

/// `pattern` compiled, from the cache when it was compiled before.
pub fn compiled(pattern: &str) -> Result<Regex, regex::Error> {
    let mut cache = COMPILED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(regex) = cache.get(pattern) {
        return Ok(regex.clone());
    }
    let regex = Regex::new(pattern)?;
    cache.insert(pattern.to_string(), regex.clone());
    Ok(regex)
}

/// True when `text` matches `pattern`. A pattern that does not compile matches nothing: the
/// loader refuses a flow with one, so a check never sees it.
pub fn is_match(pattern: &str, text: &str) -> bool {
    compiled(pattern).is_ok_and(|regex| regex.is_match(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_matches_as_compiled_and_a_bad_one_matches_nothing() {
        assert!(is_match(r"^\d+$", "600"));
        assert!(!is_match(r"^\d+$", "60a"));
        assert!(
            is_match(r"^\d+$", "7"),
            "the cached pattern matches the same"
        );
        assert!(compiled("(").is_err());
        assert!(!is_match("(", "("));
    }
}
