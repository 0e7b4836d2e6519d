//! The text of a PUT body, which must be UTF-8 (RFC 4825 §8.2.2): a document or fragment in
//! another encoding is refused with 409 `<not-utf-8>`, unless a fault has the server take it.

use super::message::XcapResponse;

/// 409 for a body that is not UTF-8.
pub(super) fn not_utf8() -> XcapResponse {
    XcapResponse::conflict("<not-utf-8/>")
}

/// The body as UTF-8 text. A UTF-16 byte order mark, bytes that are not UTF-8, or an XML
/// declaration naming another encoding make it `None`.
pub(super) fn utf8_text(body: &[u8]) -> Option<&str> {
    if body.starts_with(&[0xFF, 0xFE]) || body.starts_with(&[0xFE, 0xFF]) {
        return None;
    }
    let text = std::str::from_utf8(body).ok()?;
    match declared_encoding(text) {
        Some(encoding) if !encoding.eq_ignore_ascii_case("UTF-8") => None,
        _ => Some(text),
    }
}

/// The body decoded as well as the server can when a fault has it take what is not UTF-8:
/// UTF-16 after its byte order mark, else one character per byte (ISO-8859-1); the XML
/// declaration is dropped, since the text is stored as UTF-8.
pub(super) fn lenient_text(body: &[u8]) -> String {
    let text = match body {
        [0xFF, 0xFE, rest @ ..] => utf16(rest, u16::from_le_bytes),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, u16::from_be_bytes),
        _ => match std::str::from_utf8(body) {
            Ok(text) => text.to_string(),
            Err(_) => body.iter().map(|&b| char::from(b)).collect(),
        },
    };
    match text
        .strip_prefix("<?xml")
        .and_then(|rest| rest.split_once("?>"))
    {
        Some((_, after)) => after.trim_start().to_string(),
        None => text,
    }
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> String {
    let units = bytes.chunks_exact(2).map(|pair| unit([pair[0], pair[1]]));
    char::decode_utf16(units)
        .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

/// The `encoding` of the XML declaration that starts `text`, if any.
fn declared_encoding(text: &str) -> Option<&str> {
    let declaration = text.strip_prefix("<?xml")?.split("?>").next()?;
    let after = declaration.split("encoding").nth(1)?.trim_start();
    let value = after.strip_prefix('=')?.trim_start();
    let quote = value.chars().next().filter(|c| matches!(c, '"' | '\''))?;
    value[1..].split(quote).next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_utf8_is_taken() {
        assert_eq!(utf8_text(b"<a/>"), Some("<a/>"));
        let declared = "<?xml version=\"1.0\" encoding='utf-8'?><a/>";
        assert_eq!(utf8_text(declared.as_bytes()), Some(declared));
        assert_eq!(
            utf8_text(b"<?xml version=\"1.0\" encoding=\"UTF-16\"?><a/>"),
            None
        );
        assert_eq!(utf8_text(&[0xFF, 0xFE, b'<', 0]), None);
        assert_eq!(utf8_text(b"<a>Ren\xe9</a>"), None);
    }

    #[test]
    fn a_lenient_server_decodes_utf16_and_latin1() {
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(
                "<?xml version=\"1.0\" encoding=\"UTF-16\"?>\n<a/>"
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes),
            )
            .collect();
        assert_eq!(lenient_text(&utf16), "<a/>");
        assert_eq!(lenient_text(b"<a>Ren\xe9</a>"), "<a>Ren\u{e9}</a>");
    }
}
