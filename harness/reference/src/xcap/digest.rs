//! HTTP Digest at the XCAP server (RFC 4825 §8: "All XCAP servers MUST implement HTTP Digest"),
//! under the variation `xcap-digest`: every request must carry an Authorization that answers a
//! challenge of this server (RFC 2617 §3.2.2, MD5, qop `auth`); any user name, the password
//! [`PASSWORD`]. Requests without one get 401 and a fresh challenge.

use crate::ue::digest::{hex_md5, split_params};
use std::collections::BTreeSet;

/// The password of every user.
pub const PASSWORD: &str = "presence";
const REALM: &str = "presence-reference";

/// The nonces this server handed out.
#[derive(Debug, Default)]
pub struct DigestGate {
    nonces: BTreeSet<String>,
}

impl DigestGate {
    /// `None` when `authorization` (the request's Authorization value, if any) answers one of
    /// this server's challenges for `method` on the request target `uri`; else the
    /// WWW-Authenticate value of a new challenge, nonce `fresh`.
    pub fn check(
        &mut self,
        authorization: Option<&str>,
        method: &str,
        uri: &str,
        fresh: String,
    ) -> Option<String> {
        if authorization.is_some_and(|a| self.answers(a, method, uri)) {
            return None;
        }
        let challenge =
            format!("Digest realm=\"{REALM}\", nonce=\"{fresh}\", qop=\"auth\", algorithm=MD5");
        self.nonces.insert(fresh);
        Some(challenge)
    }

    fn answers(&self, authorization: &str, method: &str, uri: &str) -> bool {
        let Some(rest) = authorization.trim().strip_prefix("Digest") else {
            return false;
        };
        let param = |name: &str| {
            split_params(rest).into_iter().find_map(|item| {
                let (key, value) = item.split_once('=')?;
                key.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| value.trim().trim_matches('"').to_string())
            })
        };
        let (Some(username), Some(nonce), Some(digest_uri), Some(response)) = (
            param("username"),
            param("nonce"),
            param("uri"),
            param("response"),
        ) else {
            return false;
        };
        if !self.nonces.contains(&nonce) || param("realm").as_deref() != Some(REALM) {
            return false;
        }
        // The digest-uri names the request's target (RFC 2617 §3.2.2.5).
        if digest_uri != uri && !uri.ends_with(&digest_uri) && !digest_uri.ends_with(uri) {
            return false;
        }
        let ha1 = hex_md5(&format!("{username}:{REALM}:{PASSWORD}"));
        let ha2 = hex_md5(&format!("{method}:{digest_uri}"));
        let expected = match (param("qop"), param("nc"), param("cnonce")) {
            (Some(qop), Some(nc), Some(cnonce)) if qop == "auth" => {
                hex_md5(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"))
            }
            (None, _, _) => hex_md5(&format!("{ha1}:{nonce}:{ha2}")),
            _ => return false,
        };
        expected.eq_ignore_ascii_case(&response)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_answering_a_challenge_passes_and_others_are_challenged() {
        let mut gate = DigestGate::default();
        let challenge = gate.check(None, "GET", "/xcap-root/x", "n1".into());
        assert!(challenge.is_some_and(|c| c.starts_with("Digest ") && c.contains("nonce=\"n1\"")));
        let ha1 = hex_md5(&format!("alice:{REALM}:{PASSWORD}"));
        let ha2 = hex_md5("GET:/xcap-root/x");
        let response = hex_md5(&format!("{ha1}:n1:00000001:c1:auth:{ha2}"));
        let answer = format!(
            "Digest username=\"alice\", realm=\"{REALM}\", nonce=\"n1\", uri=\"/xcap-root/x\", \
             response=\"{response}\", qop=auth, nc=00000001, cnonce=\"c1\""
        );
        assert_eq!(
            gate.check(Some(&answer), "GET", "/xcap-root/x", "n2".into()),
            None
        );
        // Another method, or a nonce never handed out, is challenged again.
        assert!(gate
            .check(Some(&answer), "PUT", "/xcap-root/x", "n3".into())
            .is_some());
        let foreign = answer.replace("nonce=\"n1\"", "nonce=\"zz\"");
        assert!(gate
            .check(Some(&foreign), "GET", "/xcap-root/x", "n4".into())
            .is_some());
    }
}
