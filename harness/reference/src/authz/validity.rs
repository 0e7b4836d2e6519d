//! The `<validity>` condition of common policy (RFC 4745 §7.4) and the `xs:dateTime` values it
//! holds (XML Schema Part 2 §3.2.7).

use super::COMMON_POLICY_NS;
use crate::xcap::dom::Element;
use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch, negative before it.
type Instant = i128;

/// `now` as nanoseconds since the epoch.
pub(super) fn instant(now: SystemTime) -> Instant {
    match now.duration_since(UNIX_EPOCH) {
        Ok(after) => after.as_nanos() as Instant,
        Err(before) => -(before.duration().as_nanos() as Instant),
    }
}

/// Does `<validity>` hold at `now`? RFC 4745 §7.4: "The validity condition is TRUE if the
/// current time is greater than or equal to at least one <from> child, but less than the
/// <until> child after it." A `<from>` without an `<until>` right after it, or a time that
/// cannot be read, makes no pair.
pub(super) fn holds(validity: &Element, now: Instant) -> bool {
    let mut from = None;
    for (_, child) in validity.child_elements() {
        if child.is(COMMON_POLICY_NS, "from") {
            from = Some(parse(&child.text()));
            continue;
        }
        let start = from.take().flatten();
        if !child.is(COMMON_POLICY_NS, "until") {
            continue;
        }
        if let (Some(start), Some(end)) = (start, parse(&child.text())) {
            if start <= now && now < end {
                return true;
            }
        }
    }
    false
}

/// Days from 1970-01-01 to the proleptic Gregorian date `y-m-d` (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The number of days in month `m` of year `y`.
fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A run of ASCII digits as a number (`None` when empty, too long or not all digits).
fn number(text: &str) -> Option<i64> {
    if text.is_empty() || text.len() > 12 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// Reads an `xs:dateTime` (`YYYY-MM-DDThh:mm:ss[.s+][Z|(+|-)hh:mm]`, years 1 to 999999).
/// A value without a time zone is taken as UTC: XML Schema leaves its time zone unknown, and
/// the server has no other to give it.
pub(super) fn parse(text: &str) -> Option<Instant> {
    let text = text.trim();
    let (date, time) = text.split_once('T')?;
    let mut date_parts = date.rsplitn(3, '-');
    let (d, m, y) = (date_parts.next()?, date_parts.next()?, date_parts.next()?);
    if d.len() != 2 || m.len() != 2 || !(4..=6).contains(&y.len()) {
        return None;
    }
    let (y, m, d) = (number(y)?, number(m)?, number(d)?);
    if y < 1 || !(1..=12).contains(&m) || d < 1 || d > days_in_month(y, m) {
        return None;
    }
    let (clock, offset) = split_zone(time)?;
    let (hms, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut hms_parts = hms.split(':');
    let (h, min, s) = (hms_parts.next()?, hms_parts.next()?, hms_parts.next()?);
    if hms_parts.next().is_some() || [h, min, s].iter().any(|p| p.len() != 2) {
        return None;
    }
    let (h, min, s) = (number(h)?, number(min)?, number(s)?);
    let nanos: i128 = if fraction.is_empty() {
        0
    } else {
        let digits = fraction.get(..fraction.len().min(9))?;
        number(digits)? as i128 * 10i128.pow(9 - digits.len() as u32)
    };
    let midnight = h == 24 && min == 0 && s == 0 && nanos == 0;
    if !(h < 24 || midnight) || min > 59 || s > 59 || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let seconds = ((days_from_civil(y, m, d) * 24 + h) * 60 + min) * 60 + s - offset;
    Some(seconds as i128 * 1_000_000_000 + nanos)
}

/// Splits a time into the clock and its zone offset in seconds (0 for `Z` or no zone).
fn split_zone(time: &str) -> Option<(&str, i64)> {
    if let Some(clock) = time.strip_suffix('Z') {
        return Some((clock, 0));
    }
    let Some(at) = time.rfind(['+', '-']) else {
        return Some((time, 0));
    };
    let (clock, zone) = time.split_at(at);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let (h, m) = zone.get(1..)?.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m) = (number(h)?, number(m)?);
    if h > 14 || m > 59 {
        return None;
    }
    Some((clock, sign * (h * 3600 + m * 60)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::xcap::dom::Document;

    #[test]
    fn reads_date_times_with_zones_and_fractions() {
        assert_eq!(parse("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse("1969-12-31T19:00:00-05:00"), Some(0));
        assert_eq!(parse(" 1970-01-01T00:00:01.5 "), Some(1_500_000_000));
        assert_eq!(parse("1970-01-01T24:00:00Z"), parse("1970-01-02T00:00:00Z"));
        // RFC 4745 §7.4's example.
        let from = parse("2003-08-15T10:20:00.000-05:00").unwrap();
        let until = parse("2003-09-15T10:20:00.000-05:00").unwrap();
        assert_eq!(until - from, 31 * 86_400 * 1_000_000_000);
        assert_eq!(parse("2000-02-29T00:00:00Z").map(|t| t > 0), Some(true));
        assert!(parse("999999-12-31T23:59:59-14:00").is_some());
        for bad in [
            "",
            "2001-02-29T00:00:00Z",
            "2003-13-01T00:00:00Z",
            "2003-01-01",
            "2003-01-01T25:00:00Z",
            "2003-01-01T10:20Z",
            "2003-01-01T10:20:00+1:00",
            "2003-01-01T10:20:00.x",
            "03-01-01T10:20:00Z",
            "2003-01-01T10:20:00+99:00",
            "99999999999999-01-01T00:00:00Z",
            "999999999999-12-31T23:59:59Z",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn validity_holds_within_a_from_until_pair() {
        let validity = |pairs: &str| {
            Document::parse(&format!(
                "<validity xmlns='{COMMON_POLICY_NS}'>{pairs}</validity>"
            ))
            .unwrap()
            .root
        };
        let at = |t: &str| parse(t).unwrap();
        let two = validity(
            "<from>2003-12-24T17:00:00+01:00</from><until>2003-12-24T19:00:00+01:00</until>\
             <from>2004-01-01T00:00:00Z</from><until>2004-01-02T00:00:00Z</until>",
        );
        assert!(holds(&two, at("2003-12-24T16:00:00Z")));
        assert!(
            !holds(&two, at("2003-12-24T18:00:00Z")),
            "until is excluded"
        );
        assert!(!holds(&two, at("2003-12-24T15:59:59Z")));
        assert!(holds(&two, at("2004-01-01T12:00:00Z")));
        assert!(!holds(&validity(""), at("2004-01-01T12:00:00Z")));
        let unpaired = validity("<from>2000-01-01T00:00:00Z</from>");
        assert!(!holds(&unpaired, at("2004-01-01T12:00:00Z")));
        let bad = validity("<from>soon</from><until>2100-01-01T00:00:00Z</until>");
        assert!(!holds(&bad, at("2004-01-01T12:00:00Z")));
        assert!(instant(SystemTime::now()) > at("2020-01-01T00:00:00Z"));
    }
}
