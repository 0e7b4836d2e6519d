//! The load mode's negative controls: fault switch → the requirement key the message rules
//! must find broken, and whether it holds while the server is idle (a fault that only shows
//! under load). Shared with `tests/flows.rs`, whose `fault::every-switch-has-a-control`
//! counts a switch caught here as covered.

/// (fault, requirement key, broken only under load).
pub const LOAD_CONTROLS: &[(&str, &str, bool)] = &[
    ("no-sip-etag", "rfc3903-etag-in-2xx", false),
    ("no-expires-in-2xx", "rfc3903-expires-in-2xx", false),
    ("no-expires-in-2xx", "rfc6665-2xx-expires", false),
    ("no-to-tag", "rfc3261-totag", false),
    ("response-wrong-cseq", "rfc3261-response-copies", false),
    ("subscribe-no-contact", "rfc3261-contact-in-2xx", false),
    ("notify-no-max-forwards", "rfc3261-request-headers", false),
    ("notify-no-contact", "rfc3261-target-refresh-contact", false),
    ("notify-no-contact", "rfc3261-dialog-request-contact", false),
    ("notify-unaccepted-type", "rfc6665-notify-accept", false),
    ("no-subscription-state", "rfc6665-substate-present", false),
    (
        "subscription-state-without-expires",
        "rfc6665-substate-expires",
        false,
    ),
    ("malformed-notify", "rfc3261-message-syntax", false),
    ("no-sip-etag-under-load", "rfc3903-etag-in-2xx", true),
];
