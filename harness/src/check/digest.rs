//! Digest answers (RFC 2617 §3.2.2, RFC 3261 §22.4): whether a request's Authorization answers
//! a challenge of the harness with given credentials, MD5 and qop `auth` or none. (The reference
//! server has Digest code of its own: the harness shares no expectation code with it.)

use md5::{Digest, Md5};

/// What an Authorization value must answer: the harness's challenge, for these credentials.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The realm of the harness's challenge.
    pub realm: &'a str,
    /// Its nonce.
    pub nonce: &'a str,
    /// The user name the SUT holds.
    pub username: &'a str,
    /// The password it shares.
    pub password: &'a str,
}

/// `Ok` when `authorization` (an Authorization value) answers `expected` for a request of
/// `method` to `request_uri`; else what is wrong with it.
pub fn verify(
    authorization: &str,
    method: &str,
    request_uri: &str,
    expected: Expected<'_>,
) -> Result<(), String> {
    let value = authorization.trim();
    let rest = value
        .get(..6)
        .filter(|scheme| scheme.eq_ignore_ascii_case("Digest"))
        .map(|_| &value[6..])
        .ok_or("not a Digest answer")?;
    let params = digest_params(rest);
    let param = |name: &str| -> Option<String> {
        params
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.clone())
    };
    let field = |name: &str| param(name).ok_or(format!("no {name} parameter"));
    let (username, realm, nonce, uri, response) = (
        field("username")?,
        field("realm")?,
        field("nonce")?,
        field("uri")?,
        field("response")?,
    );
    if realm != expected.realm {
        return Err(format!(
            "realm {realm:?}, not the challenge's {:?}",
            expected.realm
        ));
    }
    if nonce != expected.nonce {
        return Err(format!(
            "nonce {nonce:?}, not the challenge's {:?}",
            expected.nonce
        ));
    }
    if username != expected.username {
        return Err(format!(
            "username {username:?}, not {:?}",
            expected.username
        ));
    }
    if uri != request_uri {
        return Err(format!("uri {uri:?}, not the Request-URI {request_uri:?}"));
    }
    if param("algorithm").is_some_and(|a| !a.eq_ignore_ascii_case("MD5")) {
        return Err("an algorithm other than MD5".into());
    }
    let ha1 = hex_md5(&format!("{username}:{realm}:{}", expected.password));
    let ha2 = hex_md5(&format!("{method}:{uri}"));
    let want = match (param("qop"), param("nc"), param("cnonce")) {
        (Some(qop), Some(nc), Some(cnonce)) if qop == "auth" => {
            hex_md5(&format!("{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}"))
        }
        (None, _, _) => hex_md5(&format!("{ha1}:{nonce}:{ha2}")),
        _ => return Err("qop auth without nc and cnonce, or another qop".into()),
    };
    if want.eq_ignore_ascii_case(&response) {
        Ok(())
    } else {
        Err(format!(
            "response {response}, not {want} (the MD5 of these credentials)"
        ))
    }
}

/// The `name=value` pairs of a Digest answer, split at commas outside quotes, values unquoted.
fn digest_params(rest: &str) -> Vec<(String, String)> {
    let mut items = Vec::new();
    let (mut current, mut quoted) = (String::new(), false);
    for c in rest.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => items.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    items.push(current);
    items
        .iter()
        .filter_map(|item| item.split_once('='))
        .map(|(key, value)| {
            (
                key.trim().to_string(),
                value.trim().trim_matches('"').to_string(),
            )
        })
        .collect()
}

/// Lower-case hex MD5 of `text`.
fn hex_md5(text: &str) -> String {
    Md5::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 2617 §3.5's example: Mufasa, "Circle Of Life", GET /dir/index.html.
    const EXAMPLE: &str = r#"Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41""#;

    fn expected(password: &str) -> Expected<'_> {
        Expected {
            realm: "testrealm@host.com",
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            username: "Mufasa",
            password,
        }
    }

    #[test]
    fn the_rfc_example_verifies_and_a_wrong_password_does_not() {
        let ok = verify(
            EXAMPLE,
            "GET",
            "/dir/index.html",
            expected("Circle Of Life"),
        );
        assert_eq!(ok, Ok(()));
        let wrong = verify(
            EXAMPLE,
            "GET",
            "/dir/index.html",
            expected("Circle of life"),
        );
        assert!(wrong.unwrap_err().starts_with("response 6629fae4"));
        let other_uri = verify(EXAMPLE, "GET", "/other", expected("Circle Of Life"));
        assert!(other_uri.unwrap_err().contains("not the Request-URI"));
        assert!(verify("Basic abc", "GET", "/", expected("x")).is_err());
        let lower = EXAMPLE.replacen("Digest", "digest", 1);
        let case = verify(&lower, "GET", "/dir/index.html", expected("Circle Of Life"));
        assert_eq!(case, Ok(()), "the scheme name is case-insensitive");
        let other_realm = EXAMPLE.replace("testrealm@host.com", "elsewhere");
        let realm = verify(
            &other_realm,
            "GET",
            "/dir/index.html",
            expected("Circle Of Life"),
        );
        assert!(realm.unwrap_err().starts_with("realm"));
    }
}
