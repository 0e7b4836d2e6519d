//! Each byte-rewriting variation on a NOTIFY with a PIDF body and one with a multipart RLMI
//! body: the rewritten message shows the variation, and still reads as the same message.

use super::headers::http_date;
use super::*;
use crate::sip::SipMessage;
use std::time::{Duration, UNIX_EPOCH};

const PIDF: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" xmlns:dm=\"urn:ietf:params:xml:ns:pidf:data-model\" entity=\"sip:a@h\">\n  <tuple id=\"t1\"><status><basic>open</basic></status></tuple>\n  <tuple id=\"t2\"><status><basic>closed</basic></status></tuple>\n  <dm:person id=\"p\"/>\n</presence>\n";

fn notify(content_type: &str, body: &str) -> Vec<u8> {
    format!(
        "NOTIFY sip:w@127.0.0.1:5 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:6;branch=z9hG4bK1\r\nMax-Forwards: 70\r\nRoute: <sip:127.0.0.1:7;lr>\r\nRoute: <sip:127.0.0.1:8;lr>\r\nFrom: <sip:p@h>;tag=a\r\nTo: <sip:w@h>;tag=b\r\nCall-ID: c1\r\nCSeq: 1 NOTIFY\r\nContact: <sip:ps@127.0.0.1:6;transport=udp>\r\nEvent: presence\r\nSubscription-State: active;expires=600\r\nSupported: eventlist, foo\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn multipart() -> Vec<u8> {
    let rlmi = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<list xmlns=\"urn:ietf:params:xml:ns:rlmi\" uri=\"sip:l@h\" version=\"0\" fullState=\"true\">\r\n</list>\r\n";
    let body = format!(
        "--b\r\nContent-ID: <r@h>\r\nContent-Type: application/rlmi+xml\r\n\r\n{rlmi}\r\n--b\r\nContent-ID: <p1@h>\r\nContent-Type: application/pidf+xml\r\n\r\n{PIDF}\r\n--b\r\nContent-ID: <p2@h>\r\nContent-Type: application/pidf+xml\r\n\r\n{PIDF}\r\n--b--\r\n"
    );
    notify(
        "multipart/related;type=\"application/rlmi+xml\";start=\"<r@h>\";boundary=\"b\"",
        &body,
    )
}

fn with(variation: Variation, bytes: Vec<u8>) -> String {
    let out = apply(&[variation].into_iter().collect(), bytes);
    let parsed = SipMessage::parse(&out).expect("still a SIP message");
    let length: usize = parsed
        .header("Content-Length")
        .and_then(|l| l.trim().parse().ok())
        .expect("Content-Length");
    assert_eq!(
        length,
        parsed.body.len(),
        "{variation}: Content-Length fits"
    );
    String::from_utf8(out).expect("UTF-8")
}

fn pidf() -> Vec<u8> {
    notify("application/pidf+xml", PIDF)
}

#[test]
fn header_variations_show_on_the_wire() {
    let cases: &[(Variation, &[&str])] = &[
        (
            Variation::CompactHeaders,
            &[
                "\r\nv: SIP",
                "\r\nf: <",
                "\r\ni: c1",
                "\r\no: presence",
                "\r\nk: eventlist",
                "\r\nl: ",
            ],
        ),
        (
            Variation::LowerCaseHeaders,
            &["\r\nvia: ", "\r\ncall-id: c1", "\r\nsubscription-state: "],
        ),
        (
            Variation::FoldedHeaders,
            &["\r\nCall-ID:\r\n c1", "eventlist,\r\n\t foo"],
        ),
        (
            Variation::CombinedHeaders,
            &["Route: <sip:127.0.0.1:7;lr>, <sip:127.0.0.1:8;lr>"],
        ),
        (
            Variation::SplitHeaders,
            &["Supported: eventlist\r\nSupported: foo\r\n"],
        ),
        (
            Variation::SpacedParameters,
            &[
                "Subscription-State \t:  active ; expires = 600",
                "<sip:p@h> ; tag = a",
            ],
        ),
        (
            Variation::ExtensionHeaders,
            &[
                "NOTIFY sip:w@127.0.0.1:5 SIP/2.0\r\nX-Reference-Trace: ",
                "\r\nVendor-Extension: ",
            ],
        ),
        (
            Variation::InformationalHeaders,
            &["\r\nDate: ", " GMT\r\n", "\r\nUser-Agent: "],
        ),
        (Variation::PaddedContentLength, &["Content-Length: 000"]),
        (
            Variation::DisplayNames,
            &[
                "From: \"Presence Server, reference\" <sip:p@h>;tag=a",
                "To: \"Subscriber\" <",
                "Contact: \"Presence Server\" <sip:ps@127.0.0.1:6;transport=udp>;x-vendor=1",
            ],
        ),
        (
            Variation::MediaTypeCase,
            &["Content-Type: APPLICATION/PIDF+XML;charset=UTF-8"],
        ),
    ];
    for (variation, needles) in cases {
        let text = with(*variation, pidf());
        for needle in *needles {
            assert!(
                text.contains(needle),
                "{variation}: no {needle:?} in\n{text}"
            );
        }
    }
}

#[test]
fn reordered_headers_keep_proxy_headers_first_and_same_name_order() {
    let text = with(Variation::ReorderedHeaders, pidf());
    let names: Vec<&str> = text
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split(':').next())
        .collect();
    assert_eq!(
        names,
        [
            "Via",
            "Max-Forwards",
            "Route",
            "Route",
            "Content-Length",
            "Content-Type",
            "Supported",
            "Subscription-State",
            "Event",
            "Contact",
            "CSeq",
            "Call-ID",
            "To",
            "From"
        ]
    );
    assert!(text.find("127.0.0.1:7").unwrap() < text.find("127.0.0.1:8").unwrap());
}

#[test]
fn xml_variations_show_in_the_body() {
    let cases: &[(Variation, &[&str], &[&str])] = &[
        (
            Variation::PrefixedXml,
            &["<v0:presence xmlns:v0=\"urn:ietf:params:xml:ns:pidf\"", "<v0:tuple id=\"t1\"><v0:status><v0:basic>open</v0:basic></v0:status></v0:tuple>", "<dm:person id=\"p\"/>", "</v0:presence>"],
            &["xmlns=\""],
        ),
        (Variation::ForeignXml, &["<vx:trace xmlns:vx=\"urn:example:reference-variation\" vx:hop=\"1\">ignored by receivers</vx:trace>\n</presence>"], &[]),
        (Variation::ReversedTuples, &["<tuple id=\"t2\"><status><basic>closed</basic></status></tuple>\n  <tuple id=\"t1\">"], &[]),
        (Variation::NoXmlDeclaration, &["\r\n\r\n<presence "], &["<?xml"]),
        (Variation::CrlfXml, &["\r\n  <tuple id=\"t1\">", "</presence>\r\n"], &["\n  <tuple id=\"t1\">"]),
    ];
    for (variation, present, absent) in cases {
        let text = with(*variation, pidf());
        let body = text.split_once("\r\n\r\n").unwrap().1;
        for needle in *present {
            assert!(
                text.contains(needle),
                "{variation}: no {needle:?} in\n{body}"
            );
        }
        for needle in *absent {
            let found = if *variation == Variation::CrlfXml {
                body.replace("\r\n", "").contains(needle)
            } else {
                body.contains(needle)
            };
            assert!(!found, "{variation}: {needle:?} still in\n{body}");
        }
    }
}

#[test]
fn multipart_variations_reach_every_part() {
    let text = with(Variation::MultipartNoStart, multipart());
    assert!(!text.contains("start="), "{text}");
    let root = text.find("Content-ID: <r@h>").unwrap();
    let second = text.find("Content-ID: <p2@h>").unwrap();
    let first = text.find("Content-ID: <p1@h>").unwrap();
    assert!(root < second && second < first, "{text}");
    let text = with(Variation::PrefixedXml, multipart());
    assert!(
        text.contains("<v0:list xmlns:v0=\"urn:ietf:params:xml:ns:rlmi\""),
        "{text}"
    );
    assert_eq!(text.matches("<v0:presence ").count(), 2, "{text}");
    // RLMI has no extension point for elements; PIDF parts get the foreign element.
    let text = with(Variation::ForeignXml, multipart());
    assert_eq!(text.matches("<vx:trace ").count(), 2, "{text}");
}

#[test]
fn variations_leave_unknown_shapes_alone() {
    let odd = b"NOTIFY sip:w@h SIP/2.0\r\nBroken line\r\n\r\n".to_vec();
    let all: BTreeSet<Variation> = Variation::all().iter().copied().collect();
    assert_eq!(apply(&all, odd.clone()), odd);
    assert_eq!(apply(&BTreeSet::new(), pidf()), pidf());
}

#[test]
fn dates_are_rfc1123() {
    let at = UNIX_EPOCH + Duration::from_secs(1_289_690_940);
    assert_eq!(http_date(at), "Sat, 13 Nov 2010 23:29:00 GMT");
    assert_eq!(http_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
}

#[test]
fn names_round_trip_and_cite_a_clause() {
    for variation in Variation::all() {
        assert_eq!(variation.name().parse::<Variation>(), Ok(*variation));
        assert!(variation.description().contains("§"), "{variation}");
    }
    let names: BTreeSet<&str> = Variation::all().iter().map(|v| v.name()).collect();
    assert_eq!(names.len(), Variation::all().len());
    let err = "no-such".parse::<Variation>().unwrap_err().to_string();
    assert!(err.contains("compact-headers"), "{err}");
}
