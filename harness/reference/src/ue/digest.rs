//! HTTP Digest credentials for a challenged REGISTER (RFC 3261 §22.2, §22.4 with RFC 2617
//! §3.2.2): the Authorization value answering a `WWW-Authenticate: Digest` challenge with MD5,
//! qop `auth` when the challenge offers it.

use md5::{Digest, Md5};

/// The parameters of a Digest challenge the UE answers.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Challenge {
    realm: String,
    nonce: String,
    opaque: Option<String>,
    /// The challenge offers qop `auth`.
    auth: bool,
}

impl Challenge {
    /// Reads a `WWW-Authenticate` or `Proxy-Authenticate` value; `None` unless it is a Digest
    /// challenge with MD5 (or no algorithm) and a realm and nonce.
    pub fn parse(value: &str) -> Option<Challenge> {
        let rest = value.trim().strip_prefix("Digest")?.trim();
        let mut realm = None;
        let mut nonce = None;
        let mut opaque = None;
        let mut auth = false;
        let mut md5 = true;
        for item in split_params(rest) {
            let Some((name, value)) = item.split_once('=') else {
                continue;
            };
            let value = value.trim().trim_matches('"').to_string();
            match name.trim().to_ascii_lowercase().as_str() {
                "realm" => realm = Some(value),
                "nonce" => nonce = Some(value),
                "opaque" => opaque = Some(value),
                "qop" => auth = value.split(',').any(|q| q.trim() == "auth"),
                "algorithm" => md5 = value.eq_ignore_ascii_case("MD5"),
                _ => {}
            }
        }
        md5.then_some(Challenge {
            realm: realm?,
            nonce: nonce?,
            opaque,
            auth,
        })
    }

    /// The Authorization value for `method` on `uri` with these credentials; `cnonce` is used
    /// when the challenge asked for qop `auth` (nonce count 1).
    pub fn answer(
        &self,
        username: &str,
        password: &str,
        method: &str,
        uri: &str,
        cnonce: &str,
    ) -> String {
        let ha1 = hex_md5(&format!("{username}:{}:{password}", self.realm));
        let ha2 = hex_md5(&format!("{method}:{uri}"));
        let nonce = &self.nonce;
        let (response, qop) = match self.auth {
            true => (
                hex_md5(&format!("{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}")),
                format!(", qop=auth, nc=00000001, cnonce=\"{cnonce}\""),
            ),
            false => (hex_md5(&format!("{ha1}:{nonce}:{ha2}")), String::new()),
        };
        let opaque = self
            .opaque
            .as_ref()
            .map(|o| format!(", opaque=\"{o}\""))
            .unwrap_or_default();
        format!(
            "Digest username=\"{username}\", realm=\"{}\", nonce=\"{nonce}\", uri=\"{uri}\", \
             response=\"{response}\", algorithm=MD5{qop}{opaque}",
            self.realm
        )
    }
}

/// The comma-separated parameters of a challenge, commas inside quotes kept.
pub(crate) fn split_params(text: &str) -> Vec<&str> {
    let mut items = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (at, c) in text.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                items.push(&text[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    items.push(&text[start..]);
    items
}

/// The MD5 digest of `text` in lower-case hex (RFC 2617 §3.2.2).
pub(crate) fn hex_md5(text: &str) -> String {
    Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_the_rfc_2617_example() {
        // RFC 2617 §3.5: Mufasa, "Circle Of Life", GET /dir/index.html.
        let challenge = Challenge::parse(
            "Digest realm=\"testrealm@host.com\", qop=\"auth,auth-int\", \
             nonce=\"dcd98b7102dd2f0e8b11d0f600bfb0c093\", opaque=\"5ccc069c403ebaf9f0171e9517f40e41\"",
        )
        .expect("a digest challenge");
        let answer = challenge.answer(
            "Mufasa",
            "Circle Of Life",
            "GET",
            "/dir/index.html",
            "0a4f113b",
        );
        assert!(
            answer.contains("response=\"6629fae49393a05397450978507c4ef1\""),
            "{answer}"
        );
        assert!(answer.contains("opaque=\"5ccc069c403ebaf9f0171e9517f40e41\""));
    }

    #[test]
    fn refuses_what_it_cannot_answer() {
        assert_eq!(Challenge::parse("Basic realm=\"x\""), None);
        assert_eq!(
            Challenge::parse("Digest realm=\"x\", nonce=\"n\", algorithm=AKAv1-MD5"),
            None
        );
        assert_eq!(Challenge::parse("Digest realm=\"x\""), None);
    }
}
