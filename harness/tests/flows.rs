//! Every flow in `flows/` is its own test, named by flow id (`cargo test A.4` filters), played
//! against the embedded reference server (the flows judging a UE: the embedded reference UE)
//! or the SUT named by `PRESENCE_SUT`. Flows the profile lacks capabilities for are ignored
//! (reported as such), never passed.
//!
//! Negative controls (`fault::<name>`): the reference server (or UE) with one fault switch on
//! must make the flows that cover it fail on the check naming the broken requirement.

mod common;
#[path = "common/load_controls.rs"]
mod load_controls;

use common::{explain, flows, recorded_trials, root, run_once, stale_trial};
use libtest_mimic::{Arguments, Failed, Trial};
use presence_harness::check::verdict::{Outcome, Verdict};
use presence_harness::flow::interp::{run_name, FlowOutcome};
use presence_harness::flow::LoadedFlow;
use presence_harness::net::Transport;
use presence_harness::reference::ue::UeFault;
use presence_harness::reference::Fault;
use presence_harness::runner::{play, start_sut};
use presence_harness::sut::Profile;
use std::path::{Path, PathBuf};

/// Fault switch → (flow that must catch it, requirement key its failing check must name,
/// text the failing check's description must contain, to pin the kind of check).
/// A fault no flow (and no load control, `tests/load.rs`) catches is a missing control:
/// `fault::every-switch-has-a-control` guards that.
const CONTROLS: &[(&str, &str, &str, &str)] = &[
    (
        "identity-except-ignored",
        "rfc5025-identity-except",
        "rfc5025-support-all",
        "Subscription-State",
    ),
    (
        "sphere-condition-ignored",
        "rfc5025-sphere",
        "rfc5025-support-all",
        "person",
    ),
    (
        "occurrence-selectors-ignored",
        "rfc5025-services",
        "rfc5025-support-all",
        "tuple",
    ),
    (
        "occurrence-selectors-ignored",
        "rfc5025-occurrences",
        "rfc5025-support-all",
        "person",
    ),
    (
        "attributes-unfiltered",
        "rfc5025-attributes",
        "rfc5025-support-all",
        "mood",
    ),
    (
        "sips-contact-plain",
        "rfc3856-tls",
        "rfc3261-sips-contact-2xx",
        "Contact",
    ),
    (
        "tls-notify-over-tcp",
        "rfc3856-tls",
        "rfc3856-notify-over-tls",
        "arrives over TLS",
    ),
    (
        "sips-uri-refused",
        "rfc3857-tls",
        "rfc3857-tls-sips",
        "status",
    ),
    (
        "sips-contact-plain",
        "rfc3261-sips-contact-pna",
        "rfc3261-sips-contact-request",
        "message rule",
    ),
    ("no-sip-etag", "A.4.2.1", "rfc3903-etag-in-2xx", "present"),
    ("reuse-etag", "A.4.2.1", "rfc3903-new-etag", "differs from"),
    (
        "no-expires-in-2xx",
        "A.4.2.1",
        "rfc3903-expires-in-2xx",
        "Expires",
    ),
    (
        "no-expires-in-2xx",
        "A.3.2.1",
        "rfc6665-2xx-expires",
        "Expires",
    ),
    (
        "subscription-state-without-expires",
        "A.3.2.1",
        "rfc6665-substate-expires",
        "parameter expires",
    ),
    (
        "subscription-state-without-expires",
        "A.5.2.1",
        "rfc6665-substate-expires",
        "parameter expires",
    ),
    (
        "notify-ignores-route-set",
        "A.3.2.1",
        "rfc3261-loose-route-send",
        "arrives at the node",
    ),
    (
        "notify-ignores-route-set",
        "A.3.2.1",
        "rfc3261-route-set-use",
        "Route headers",
    ),
    (
        "wrong-pidf-namespace",
        "A.5.2.1",
        "rfc3863-namespace",
        "count",
    ),
    (
        "no-final-notify",
        "rfc6665-unsubscribe",
        "rfc6665-immediate-notify",
        "arrives",
    ),
    (
        "accept-stale-etag",
        "rfc3903-412",
        "rfc3903-412-unknown-etag",
        "status",
    ),
    (
        "accept-stale-etag",
        "A.4.2.1",
        "rfc3903-412-unknown-etag",
        "status",
    ),
    (
        "stale-notify-after-modify",
        "A.5.2.1",
        "rfc3856-notify-current-state",
        "equals closed",
    ),
    (
        "stale-notify-after-modify",
        "A.5.2.1",
        "rfc3856-notify-current-state",
        "canonical XML",
    ),
    ("no-to-tag", "A.4.2.1", "rfc3261-totag", "matches"),
    (
        "notify-cseq-gap",
        "A.5.2.1",
        "rfc3261-cseq-increment",
        "CSeq",
    ),
    (
        "notify-wrong-event-id",
        "A.3.2.1",
        "rfc6665-event-match",
        "Event matches",
    ),
    (
        "notify-expires-grows",
        "A.5.2.1",
        "rfc6665-notify-expires-not-longer",
        "does not grow",
    ),
    (
        "no-subscription-state",
        "A.3.2.1",
        "rfc6665-substate-present",
        "Subscription-State is present",
    ),
    (
        "malformed-notify",
        "A.3.2.1",
        "rfc3261-message-syntax",
        "well-formed SIP",
    ),
    (
        "hostile-content",
        "A.4.2.1",
        "rfc3903-etag-token",
        "matches",
    ),
    (
        "keep-subscription-after-481",
        "rfc6665-481",
        "rfc6665-481-terminates",
        "does not arrive",
    ),
    (
        "notify-challenge-unanswered",
        "rfc3856-notify-digest",
        "rfc3856-notify-challenge-retry",
        "arrives",
    ),
    (
        "notify-digest-wrong-password",
        "rfc3856-notify-digest",
        "rfc3856-notify-digest",
        "Authorization answers",
    ),
    ("xcap-put-new-200", "A.8.2", "rfc4825-put-201", "status"),
    ("xcap-no-etag", "A.8.2", "rfc4825-put-etag", "present"),
    (
        "xcap-ignore-if-match",
        "rfc4825-412",
        "rfc2616-412-if-match",
        "status",
    ),
    (
        "xcap-generic-content-type",
        "A.8.2",
        "rfc4825-get-content-type",
        "equals",
    ),
    (
        "xcap-accept-duplicate",
        "rfc4825-409",
        "rfc4825-409",
        "status",
    ),
    ("xcap-keep-deleted", "A.8.2", "rfc4825-delete", "status"),
    ("xcap-cacheable", "A.8.2", "rfc4825-no-cache", "present"),
    (
        "xcap-unknown-auid-403",
        "rfc4825-unknown-resource",
        "rfc4825-unknown-auid",
        "status",
    ),
    (
        "xcap-other-method-501",
        "rfc4825-unknown-resource",
        "rfc4825-post-405",
        "status",
    ),
    (
        "xcap-405-no-allow",
        "rfc4825-unknown-resource",
        "rfc7231-405-allow",
        "present",
    ),
    (
        "xcap-no-caps",
        "rfc4825-xcap-caps",
        "rfc4825-xcap-caps-supported",
        "status",
    ),
    (
        "xcap-caps-without-itself",
        "rfc4825-xcap-caps",
        "rfc4825-xcap-caps-listed",
        "count",
    ),
    (
        "xcap-caps-without-pres-rules",
        "rfc5025-xcap-caps",
        "rfc5025-caps-permissions",
        "xml",
    ),
    (
        "xcap-caps-in-user-tree",
        "rfc4825-xcap-caps",
        "rfc4825-xcap-caps-global-only",
        "status",
    ),
    (
        "xcap-namespace-write-400",
        "rfc4825-node-selectors",
        "rfc4825-namespace-put-405",
        "status",
    ),
    (
        "xcap-namespace-allow-without-get",
        "rfc4825-node-selectors",
        "rfc4825-namespace-delete-405",
        "contains",
    ),
    (
        "xcap-unbound-prefix-404",
        "rfc4825-node-selectors",
        "rfc4825-unbound-prefix-400",
        "status",
    ),
    (
        "xcap-attribute-generic-content-type",
        "rfc4825-node-selectors",
        "rfc4825-get-content-type",
        "equals",
    ),
    (
        "xcap-refuse-foreign-namespace",
        "rfc4825-extension-namespace",
        "rfc4825-unknown-namespace-allowed",
        "status",
    ),
    (
        "xcap-no-parent-404",
        "rfc4825-node-conflicts",
        "rfc4825-no-parent-409",
        "status",
    ),
    ("xcap-no-tls", "rfc4825-https", "rfc4825-https", "arrives"),
    (
        "xcap-unknown-user-served",
        "rfc4825-unknown-user",
        "rfc4825-unknown-xui-404",
        "status",
    ),
    (
        "xcap-creates-subdirectories",
        "rfc4825-sub-directories",
        "rfc4825-no-directory-409",
        "alternatives",
    ),
    (
        "xcap-creates-subdirectories",
        "rfc4825-sub-directories",
        "rfc4825-document-shadows-directory",
        "status",
    ),
    (
        "xcap-no-parent-404",
        "rfc4825-node-conflicts",
        "rfc4825-no-parent-document-409",
        "status",
    ),
    (
        "xcap-409-without-report",
        "rfc4825-node-conflicts",
        "rfc4825-no-parent-report",
        "count",
    ),
    (
        "xcap-409-without-report",
        "rfc4825-node-conflicts",
        "rfc4825-cannot-insert-report",
        "count",
    ),
    (
        "xcap-409-without-report",
        "rfc4825-node-conflicts",
        "rfc4825-cannot-delete-report",
        "count",
    ),
    (
        "xcap-insert-unselected",
        "rfc4825-node-conflicts",
        "rfc4825-cannot-insert-409",
        "status",
    ),
    (
        "xcap-attribute-any-content-type",
        "rfc4825-node-conflicts",
        "rfc4825-put-415-attribute",
        "status",
    ),
    (
        "xcap-delete-not-idempotent",
        "rfc4825-node-conflicts",
        "rfc4825-cannot-delete-409",
        "status",
    ),
    (
        "ignore-pres-rules",
        "rfc5025-block",
        "rfc3856-authz",
        "Subscription-State",
    ),
    (
        "untrusted-subscribe-accepted",
        "rfc3856-authenticate",
        "rfc3856-authenticate",
        "alternatives",
    ),
    (
        "rls-backend-shared",
        "rfc4662-backend-per-user",
        "rfc4662-backend-per-user",
        "xml",
    ),
    (
        "rls-nested-loop",
        "rfc4662-nested-loop",
        "rfc4662-no-nesting-loop",
        "does not arrive",
    ),
    (
        "ignore-transformations",
        "rfc5025-transformations",
        "rfc5025-transformations",
        "count",
    ),
    (
        "polite-block-reveals",
        "rfc5025-polite-block",
        "rfc3856-polite-block",
        "count",
    ),
    (
        "winfo-version-stuck",
        "A.6.2",
        "rfc6665-delta-version",
        "version",
    ),
    (
        "winfo-no-package",
        "A.6.2",
        "rfc3858-watcher-list-attrs",
        "equals",
    ),
    (
        "rlmi-version-from-one",
        "A.3.3.2",
        "rfc4662-rlmi-version",
        "version of the first document is 0",
    ),
    (
        "rls-no-require",
        "A.3.3.2",
        "rfc3261-require-extension",
        "Require",
    ),
    (
        "winfo-watcher-no-id",
        "A.6.2",
        "rfc3858-watcher-attrs",
        "watcher id",
    ),
    (
        "xcap-error-no-content-type",
        "rfc4825-409",
        "rfc7231-content-type",
        "message rule",
    ),
    (
        "expiry-reason-not-timeout",
        "rfc6665-expiry",
        "rfc6665-terminated-reason-timeout",
        "Subscription-State reason",
    ),
    (
        "rls-notify-no-require",
        "A.3.3.2",
        "rfc3261-require-in-request",
        "Require",
    ),
    (
        "rls-notify-supported-eventlist",
        "A.3.3.2",
        "rfc4662-supported-eventlist-subscribe-only",
        "Supported",
    ),
    (
        "rlmi-bad-language-tag",
        "A.3.3.2",
        "rfc4662-name-lang",
        "xml:lang",
    ),
    (
        "winfo-generic-content-type",
        "A.6.2",
        "rfc3857-winfo-content-type",
        "Content-Type",
    ),
    (
        "winfo-generic-content-type",
        "rfc3857-default-type",
        "rfc3857-winfo-default-type",
        "Content-Type",
    ),
    (
        "rlmi-terminated-without-reason",
        "rfc4662-member-blocked",
        "rfc4662-terminated-reason",
        "reason",
    ),
    (
        "ignore-pres-rules",
        "rfc4662-member-blocked",
        "rfc3856-authz",
        "count",
    ),
    (
        "rlmi-dangling-cid",
        "A.3.3.2",
        "rfc4662-cid-names-part",
        "every cid in the root names a body part",
    ),
    (
        "rls-pidf-root",
        "A.3.3.2",
        "rfc4662-multipart-related",
        "root part is",
    ),
    (
        "pna-wrong-accept",
        "A.7",
        "rfc3680-reginfo-content-type",
        "Accept",
    ),
    (
        "pna-rejects-notify",
        "A.7",
        "rfc6665-notify-response",
        "status",
    ),
    ("pna-no-subscribe", "A.7", "ts24141-a7-subscribe", "arrives"),
    (
        "pna-register-no-contact",
        "A.7",
        "rfc3261-register-200-contact",
        "Contact",
    ),
    // RFC 6665 4.1.2.3 makes an unsubscribe a refresh, and 4.2.1.2 a NOTIFY after it a MUST,
    // for list subscriptions too.
    (
        "no-final-notify",
        "A.3.3.2",
        "rfc6665-immediate-notify",
        "arrives",
    ),
    (
        "no-final-notify",
        "rfc6665-481",
        "rfc6665-immediate-notify",
        "arrives",
    ),
    // The SUT's own client transaction: a withheld answer (RFC 3261 §17.1.2.2, RFC 6665 §4.2.2).
    (
        "no-retransmissions",
        "rfc6665-notify-timeout",
        "rfc3261-timer-e",
        "retransmitted",
    ),
    (
        "retransmit-past-timer-f",
        "rfc6665-notify-timeout",
        "rfc3261-timer-f",
        "timer F",
    ),
    (
        "retransmit-after-final",
        "rfc3261-notify-completed",
        "rfc3261-client-completed",
        "after its final response",
    ),
    (
        "notify-unsolicited",
        "A.3.2.1",
        "rfc6665-notify-needs-subscribe",
        "without a SUBSCRIBE",
    ),
    (
        "contact-not-gruu",
        "A.3.2.1",
        "rfc6665-gruu-contact",
        "GRUU",
    ),
    (
        "publish-not-applicable-refused",
        "rfc3903-not-applicable",
        "rfc3261-ignore-not-applicable",
        "not applicable",
    ),
    (
        "unknown-user-published",
        "rfc3903-unknown-resource",
        "rfc3903-unknown-resource-404",
        "status",
    ),
    (
        "language-refused-without-accept",
        "rfc3261-415-unsupported-body",
        "rfc3261-415-accept-language",
        "Accept-Language",
    ),
    (
        "no-tcp",
        "rfc3261-udp-and-tcp",
        "rfc3261-udp-and-tcp",
        "over TCP",
    ),
    (
        "response-to-source",
        "rfc3261-response-address",
        "rfc3261-response-sent-by",
        "reaches",
    ),
    (
        "maddr-ignored",
        "rfc3261-response-maddr",
        "rfc3261-response-maddr",
        "arrives",
    ),
    (
        "tcp-response-new-connection",
        "rfc3261-tcp-response-connection",
        "rfc3261-response-connection",
        "message rule",
    ),
    (
        "trying-without-timestamp",
        "rfc3261-timestamp",
        "rfc3261-trying-timestamp",
        "Timestamp",
    ),
    (
        "tcp-response-own-connection-only",
        "rfc3261-tcp-response-connection",
        "rfc3261-response-new-connection",
        "status",
    ),
    (
        "sip-scheme-unsupported",
        "rfc3903-options",
        "rfc3261-sip-scheme",
        "SIP URI scheme",
    ),
    (
        "response-coding-unasked",
        "rfc3261-content-coding",
        "rfc3261-coding-accepted",
        "Accept-Encoding",
    ),
    (
        "codings-out-of-order",
        "rfc3261-content-coding",
        "rfc3261-coding-order",
        "reverse",
    ),
    (
        "global-rls-services-open",
        "rfc4826-global-restricted",
        "rfc4826-global-restricted",
        "global",
    ),
    (
        "global-rls-services-stale",
        "rfc4826-global-union",
        "rfc4826-global-union",
        "most recent",
    ),
    (
        "xcap-error-field-prefixed",
        "rfc4825-409",
        "rfc4825-error-field-query",
        "xmlns",
    ),
    (
        "xcap-unknown-element-kept",
        "rfc4825-unknown-element",
        "rfc4825-unknown-element-409",
        "status",
    ),
    (
        "xcap-insert-before-trailing-nodes",
        "rfc4825-positional-insert",
        "rfc4825-insert-after-trailing-nodes",
        "text",
    ),
    (
        "pna-accepts-forks",
        "rfc3680-forks",
        "rfc3680-single-dialog",
        "status",
    ),
    (
        "keep-subscription-after-timeout",
        "rfc6665-notify-timeout",
        "rfc6665-notify-timeout-removes",
        "does not arrive",
    ),
    (
        "xcap-accept-not-utf-8",
        "rfc4825-put-bodies",
        "rfc4825-not-utf-8",
        "status",
    ),
    (
        "xcap-accept-not-utf-8",
        "rfc4825-put-bodies",
        "rfc4825-fragment-not-utf-8",
        "status",
    ),
    (
        "xcap-accept-not-utf-8",
        "rfc4825-put-bodies",
        "rfc4825-att-not-utf-8",
        "status",
    ),
    (
        "xcap-accept-many-elements",
        "rfc4825-put-bodies",
        "rfc4825-not-xml-frag",
        "status",
    ),
    (
        "xcap-accept-many-elements",
        "rfc4825-put-bodies",
        "rfc4825-refused-put-unchanged",
        "ETag",
    ),
    (
        "xcap-attribute-unquoted",
        "rfc4825-put-bodies",
        "rfc4825-not-att-value",
        "status",
    ),
    (
        "xcap-body-errors-not-well-formed",
        "rfc4825-put-bodies",
        "rfc4825-not-xml-frag-report",
        "not-xml-frag",
    ),
    (
        "xcap-body-errors-not-well-formed",
        "rfc4825-put-bodies",
        "rfc4825-not-utf-8-report",
        "not-utf-8",
    ),
    (
        "xcap-attribute-get-unquoted",
        "rfc4825-node-selectors",
        "rfc4825-get-attribute-attvalue",
        "body",
    ),
    (
        "xcap-insert-at-end",
        "rfc4825-positional-insert",
        "rfc4825-insert-earliest-last",
        "equals",
    ),
    (
        "xcap-insert-at-end",
        "rfc4825-positional-insert",
        "rfc4825-insert-nth-named",
        "status",
    ),
    (
        "xcap-insert-at-end",
        "rfc4825-positional-insert",
        "rfc4825-insert-first-any",
        "status",
    ),
    (
        "cancel-unanswered",
        "rfc6665-cancel",
        "rfc6665-cancel-answered",
        "arrives",
    ),
    (
        "cancel-ends-subscription",
        "rfc6665-cancel",
        "rfc6665-cancel-no-effect",
        "arrives",
    ),
    (
        "route-without-route-set",
        "rfc3261-empty-route-set",
        "rfc3261-empty-route-set",
        "Route",
    ),
    ("invite-501", "rfc3261-405", "rfc3261-405", "status"),
    (
        "no-allow-in-405",
        "rfc3261-405",
        "rfc3261-405-allow",
        "present",
    ),
    (
        "keep-old-target",
        "rfc3261-target-refresh",
        "rfc3261-target-refresh",
        "Request-URI",
    ),
    (
        "strict-as-loose",
        "rfc3261-strict-route",
        "rfc3261-strict-route",
        "Request-URI",
    ),
    (
        "provisional-resets-timer-e",
        "rfc3261-notify-proceeding",
        "rfc3261-timer-e",
        "T1 after",
    ),
    (
        "xcap-unknown-extension-400",
        "rfc4825-uri-parsing",
        "rfc4825-unknown-extension-404",
        "status",
    ),
    (
        "xcap-reject-other-xpointer",
        "rfc4825-uri-parsing",
        "rfc4825-ignore-other-xpointer",
        "status",
    ),
    (
        "xcap-split-at-last-tilde",
        "rfc4825-uri-parsing",
        "rfc4825-split-first-tilde",
        "status",
    ),
    (
        "accept-foreign-sent-by",
        "rfc3261-stray-via",
        "rfc3261-discard-foreign-sent-by",
        "comes again",
    ),
    (
        "accept-short-response",
        "rfc3261-stray-length",
        "rfc3261-discard-short-response",
        "comes again",
    ),
    (
        "short-request-ignored",
        "rfc3261-short-request",
        "rfc3261-short-request-400",
        "arrives",
    ),
    (
        "no-received",
        "rfc3261-via-received",
        "rfc3261-via-received",
        "parameter received",
    ),
    (
        "retransmission-as-new-request",
        "rfc3261-retransmission",
        "rfc3261-server-retransmit",
        "final response again",
    ),
    (
        "rlmi-partial-after-subscribe",
        "A.3.3.2",
        "rfc4662-full-state-first",
        "after our SUBSCRIBE has full state",
    ),
    // The message rules on every SUT message (check::audit), whatever the flow's steps ask.
    (
        "response-body-without-content-type",
        "A.4.2.1",
        "rfc3261-content-type",
        "message rule",
    ),
    (
        "xcap-generic-content-type",
        "A.8.2",
        "rfc4825-get-content-type",
        "message rule",
    ),
    (
        "xcap-delete-no-etag",
        "A.8.2",
        "rfc4825-etag-every-2xx",
        "message rule",
    ),
    (
        "xcap-put-200-content",
        "A.8.3",
        "rfc4825-put-200-no-content",
        "message rule",
    ),
    (
        "notify-no-max-forwards",
        "A.3.2.1",
        "rfc3261-request-headers",
        "message rule",
    ),
    (
        "unknown-dialog-404",
        "rfc3261-481-no-dialog",
        "rfc3261-481-no-dialog",
        "status",
    ),
    (
        "accept-out-of-order-cseq",
        "rfc3261-500-cseq",
        "rfc3261-500-out-of-order",
        "status",
    ),
    (
        "keep-first-remote-cseq",
        "rfc3261-500-cseq",
        "rfc3261-remote-cseq-update",
        "status",
    ),
    (
        "reject-cseq-gap",
        "rfc3261-500-cseq",
        "rfc3261-cseq-gap",
        "status",
    ),
    (
        "xcap-get-adds-bindings",
        "rfc4825-serialization",
        "rfc4825-get-no-added-bindings",
        "body",
    ),
    (
        "xcap-delete-trims-whitespace",
        "rfc4825-serialization",
        "rfc4825-delete-keeps-whitespace",
        "body",
    ),
    (
        "xcap-drop-redundant-namespaces",
        "rfc4825-serialization",
        "rfc4825-keep-namespace-declarations",
        "body",
    ),
    (
        "xcap-any-tree",
        "rfc4825-serialization",
        "rfc4825-tree-global-users",
        "status",
    ),
    (
        "notify-private-option-tag",
        "A.3.2.1",
        "rfc3261-option-tags-standard",
        "message rule",
    ),
    (
        "provisional-to-publish",
        "A.4.2.1",
        "rfc3261-no-provisional-non-invite",
        "message rule",
    ),
    (
        "provisional-other-tag",
        "A.4.2.1",
        "rfc3261-same-response-tag",
        "message rule",
    ),
    (
        "proceeding-copies-unanswered",
        "A.4.2.1",
        "rfc3261-server-proceeding",
        "message rule",
    ),
    (
        "to-tel-rejected",
        "rfc3261-to-tel",
        "rfc3261-to-scheme-accepted",
        "alternative",
    ),
    (
        "udp-notify-no-content-length",
        "A.3.2.1",
        "rfc3261-content-length-udp",
        "message rule",
    ),
    (
        "body-before-require",
        "rfc3261-extensions",
        "rfc3261-uas-step-order",
        "status",
    ),
    (
        "refuse-unknown-header-param",
        "rfc3261-extensions",
        "rfc3261-ignore-header-params",
        "status",
    ),
    (
        "rls-refresh-first-only",
        "A.3.3.2",
        "rfc4662-all-resources-state",
        "xml",
    ),
    (
        "cancel-unanswered-notify",
        "rfc6665-notify-timeout",
        "rfc6665-no-cancel",
        "message rule",
    ),
    (
        "no-event-400",
        "rfc6665-489",
        "rfc6665-no-event-489",
        "status",
    ),
    (
        "winfo-unsupported",
        "rfc3856-winfo-support",
        "rfc3856-winfo-support",
        "status",
    ),
    (
        "winfo-open-to-all",
        "rfc3857-winfo-authorization",
        "rfc3857-winfo-authorized",
        "matches",
    ),
    (
        "winfo-fetch-empty",
        "rfc3857-fetch-full-state",
        "rfc3857-default-full-state-fetch",
        "count",
    ),
    (
        "pna-register-no-date",
        "A.7",
        "rfc3261-register-date",
        "present",
    ),
    (
        "refuse-malformed-date",
        "rfc3261-uas-request-checks",
        "rfc3261-ignore-malformed-header",
        "status",
    ),
    (
        "unsupported-scheme-404",
        "rfc3261-uas-request-checks",
        "rfc3261-416-scheme",
        "status",
    ),
    (
        "allow-omits-publish",
        "rfc3903-options",
        "rfc3903-options-allow-publish",
        "contains",
    ),
    (
        "options-no-allow-events",
        "rfc3903-options",
        "rfc3903-options-allow-events",
        "contains",
    ),
    (
        "allow-omits-subscribe",
        "rfc3261-contact-outside-dialog",
        "rfc3261-allow-complete",
        "message rule",
    ),
    (
        "xcap-error-field-raw",
        "rfc4825-409",
        "rfc4825-error-uris-encoded",
        "message rule",
    ),
    (
        "xcap-basic-challenge",
        "rfc4825-serialization",
        "rfc4825-no-basic-without-tls",
        "message rule",
    ),
    (
        "xcap-basic-challenge",
        "rfc4825-digest",
        "rfc4825-digest-challenge",
        "WWW-Authenticate",
    ),
    (
        "pna-rejects-extensions",
        "rfc3680-extensions",
        "rfc3680-ignore-unknown",
        "status",
    ),
    (
        "pna-version-not-initialized",
        "rfc3680-versions",
        "rfc3680-version-init",
        "arrives",
    ),
    (
        "pna-no-refresh-on-gap",
        "rfc3680-versions",
        "rfc3680-version-gap-refresh",
        "arrives",
    ),
    (
        "publish-response-twice",
        "A.4.2.1",
        "rfc3261-response-prompted",
        "message rule",
    ),
    (
        "unknown-encoding-accepted",
        "rfc3261-415-unsupported-body",
        "rfc3261-415-unsupported",
        "status",
    ),
    (
        "no-accept-encoding-in-415",
        "rfc3261-415-unsupported-body",
        "rfc3261-415-accept-encoding",
        "header",
    ),
    (
        "notify-contact-dialog-only",
        "rfc3261-contact-outside-dialog",
        "rfc3261-contact-valid-outside",
        "status",
    ),
    (
        "answer-contact-dialog-only",
        "rfc3261-contact-outside-dialog",
        "rfc3261-contact-global-scope",
        "status",
    ),
    (
        "null-from-tag-rejected",
        "rfc3261-null-from-tag",
        "rfc3261-null-from-tag",
        "status",
    ),
    (
        "null-tag-invented",
        "rfc3261-null-from-tag",
        "rfc3261-null-tag-omitted",
        "message rule",
    ),
    (
        "subscribe-no-record-route",
        "A.3.2.1",
        "rfc3261-rr-copy",
        "message rule",
    ),
    (
        "publish-response-contact",
        "A.4.2.1",
        "rfc3903-response-not-applicable",
        "message rule",
    ),
    (
        "subscribe-response-event",
        "A.3.2.1",
        "rfc6665-event-placement",
        "message rule",
    ),
    (
        "subscribe-response-substate",
        "A.3.2.1",
        "rfc6665-substate-placement",
        "message rule",
    ),
    (
        "terminated-without-reason",
        "rfc6665-unsubscribe",
        "rfc6665-terminated-reason",
        "message rule",
    ),
    (
        "terminated-with-expires",
        "rfc6665-unsubscribe",
        "rfc6665-terminated-no-expires",
        "message rule",
    ),
    (
        "allow-events-not-comma-list",
        "rfc6665-489",
        "rfc6665-allow-events-syntax",
        "message rule",
    ),
    (
        "to-uri-unbracketed",
        "A.4.2.1",
        "rfc3261-uri-brackets",
        "message rule",
    ),
    (
        "notify-cseq-high",
        "A.3.2.1",
        "rfc3261-cseq-range",
        "message rule",
    ),
    (
        "notify-from-other-uri",
        "A.3.2.1",
        "rfc3261-notify-identity",
        "message rule",
    ),
    (
        "response-other-to-tag",
        "rfc6665-refresh",
        "rfc3261-to-copy",
        "message rule",
    ),
    (
        "notify-via-other-transport",
        "A.3.2.1",
        "rfc3261-via-transport",
        "message rule",
    ),
    (
        "notify-via-no-sent-by",
        "A.3.2.1",
        "rfc3261-via-sent-by",
        "message rule",
    ),
    (
        "pidf-tuple-no-id",
        "A.3.2.1",
        "rfc3863-tuple-id",
        "message rule",
    ),
    (
        "notify-no-contact",
        "A.3.2.1",
        "rfc3261-target-refresh-contact",
        "message rule",
    ),
    (
        "notify-no-contact",
        "A.3.2.1",
        "rfc3261-dialog-request-contact",
        "message rule",
    ),
    (
        "notify-unaccepted-type",
        "A.3.2.1",
        "rfc6665-notify-accept",
        "message rule",
    ),
    (
        "response-wrong-cseq",
        "A.4.2.1",
        "rfc3261-response-copies",
        "message rule",
    ),
    (
        "subscribe-no-contact",
        "A.3.2.1",
        "rfc3261-contact-in-2xx",
        "message rule",
    ),
    (
        "notify-cseq-method",
        "A.3.2.1",
        "rfc3261-cseq-method",
        "message rule",
    ),
    (
        "notify-branch-without-cookie",
        "A.3.2.1",
        "rfc3261-branch-cookie",
        "message rule",
    ),
    (
        "notify-via-without-branch",
        "A.3.2.1",
        "rfc3261-via-branch",
        "message rule",
    ),
    (
        "notify-via-wrong-protocol",
        "A.3.2.1",
        "rfc3261-via-protocol",
        "message rule",
    ),
    (
        "notify-no-content-type",
        "A.3.2.1",
        "rfc3261-content-type",
        "message rule",
    ),
    (
        "notify-no-from-tag",
        "A.3.2.1",
        "rfc3261-from-tag",
        "message rule",
    ),
    (
        "bad-event-no-allow-events",
        "rfc3903-489",
        "rfc3903-489-allow-events",
        "message rule",
    ),
    (
        "bad-event-no-allow-events",
        "rfc6665-489",
        "rfc6665-allow-events",
        "message rule",
    ),
    (
        "pna-no-contact",
        "A.7",
        "rfc3261-dialog-request-contact",
        "message rule",
    ),
    (
        "xcap-duplicate-list-names",
        "rfc4826-resource-lists-constraints",
        "rfc4826-list-name-unique",
        "status",
    ),
    (
        "xcap-duplicate-entry-refs",
        "rfc4826-resource-lists-constraints",
        "rfc4826-entry-ref-unique",
        "status",
    ),
    (
        "xcap-absolute-entry-ref",
        "rfc4826-resource-lists-constraints",
        "rfc4826-entry-ref-relative",
        "status",
    ),
    (
        "xcap-duplicate-externals",
        "rfc4826-resource-lists-constraints",
        "rfc4826-external-anchor-unique",
        "status",
    ),
    (
        "xcap-relative-external",
        "rfc4826-resource-lists-constraints",
        "rfc4826-external-anchor-http",
        "status",
    ),
    (
        "xcap-service-uri-per-document",
        "rfc4826-rls-services-constraints",
        "rfc4826-service-uri-unique",
        "status",
    ),
    (
        "xcap-service-uri-existing-user",
        "rfc4826-rls-services-constraints",
        "rfc4826-service-uri-not-existing",
        "status",
    ),
    (
        "xcap-no-alt-value",
        "rfc4826-rls-services-constraints",
        "rfc4826-service-alt-value",
        "matches",
    ),
    (
        "xcap-relative-resource-list",
        "rfc4826-rls-services-constraints",
        "rfc4826-resource-list-absolute",
        "status",
    ),
    (
        "xcap-resource-list-other-auid",
        "rfc4826-rls-services-constraints",
        "rfc4826-resource-list-auid",
        "status",
    ),
    (
        "xcap-resource-list-other-user",
        "rfc4826-rls-services-constraints",
        "rfc4826-resource-list-xui",
        "status",
    ),
    (
        "xcap-service-list-unchecked",
        "rfc4826-rls-services-constraints",
        "rfc4826-service-list-constraints",
        "status",
    ),
    (
        "publish-echoes-record-route",
        "rfc3903-esc-defaults",
        "rfc3903-record-route-ignored",
        "Record-Route",
    ),
    (
        "publish-requires-expires",
        "rfc3903-esc-defaults",
        "rfc3903-default-expires",
        "status",
    ),
    (
        "etag-per-presentity",
        "rfc3903-etag-unique",
        "rfc3903-etag-unique",
        "differs from",
    ),
    (
        "non-atomic-publish",
        "rfc3903-atomic",
        "rfc3903-atomic",
        "status",
    ),
    (
        "winfo-watcher-id-not-token",
        "A.6.2",
        "rfc3858-watcher-id-token",
        "token",
    ),
    (
        "winfo-watcher-id-shared",
        "A.6.2",
        "rfc3858-watcher-id-unique",
        "one watcher",
    ),
    (
        "notify-drops-event-id",
        "rfc6665-event-id",
        "rfc6665-event-match",
        "Event",
    ),
    (
        "rls-final-notify-without-rlmi",
        "A.3.3.2",
        "rfc4662-rlmi-consistent",
        "RLMI",
    ),
    (
        "notify-branch-reused",
        "A.5.2.1",
        "rfc3261-branch-unique",
        "message rule",
    ),
    (
        "ignore-require",
        "rfc3261-extensions",
        "rfc3261-420-bad-extension",
        "status",
    ),
    (
        "bad-extension-without-unsupported",
        "rfc3261-extensions",
        "rfc3261-420-unsupported",
        "Unsupported",
    ),
    (
        "refuse-unknown-header",
        "rfc3261-extensions",
        "rfc3261-unknown-header-ignored",
        "status",
    ),
    (
        "subscribe-contact-not-sip",
        "A.3.2.1",
        "rfc3261-contact-in-2xx",
        "message rule",
    ),
    (
        "udp-trailing-bytes-kept",
        "rfc3261-udp-datagrams",
        "rfc3261-extra-bytes-discarded",
        "status",
    ),
    (
        "udp-small-buffer",
        "rfc3261-udp-datagrams",
        "rfc3261-max-datagram",
        "arrived",
    ),
    (
        "xcap-schema-unchecked",
        "rfc4825-validation",
        "rfc4825-schema-409",
        "status",
    ),
    (
        "xcap-delete-unchecked",
        "rfc4825-validation",
        "rfc4825-delete-constraint",
        "status",
    ),
    (
        "xcap-replace-unselected",
        "rfc4825-validation",
        "rfc4825-replace-selects-409",
        "status",
    ),
    (
        "xcap-first-of-many",
        "rfc4825-validation",
        "rfc4825-single-element-step",
        "status",
    ),
    (
        "xcap-409-without-report",
        "rfc4825-validation",
        "rfc4825-replace-report",
        "body",
    ),
    (
        "allow-events-incomplete",
        "rfc6665-allow-events-complete",
        "rfc6665-allow-events-complete",
        "presence.winfo",
    ),
    (
        "partial-version-skip",
        "A.5.2.1-partial",
        "rfc5263-version-step",
        "version",
    ),
    (
        "partial-diff-first",
        "A.5.2.1-partial",
        "rfc5263-full-first",
        "pidf-full",
    ),
    (
        "partial-stale-diff",
        "A.5.2.1-partial",
        "rfc5263-partial-document",
        "xml",
    ),
    (
        "partial-no-full-after-subscribe",
        "A.5.2.1-partial",
        "rfc5263-full-after-subscribe",
        "pidf-full",
    ),
    (
        "accept-diff-initial",
        "rfc5264-partial-publish",
        "rfc5264-initial-full-only",
        "status",
    ),
    (
        "ignore-diff",
        "rfc5264-partial-publish",
        "rfc5264-apply-diff",
        "closed",
    ),
    (
        "accept-bad-diff",
        "rfc5264-partial-publish",
        "rfc5264-bad-diff-400",
        "status",
    ),
    (
        "ue-no-refresh",
        "ue-pua-refresh",
        "rfc3903-pua-refresh-before-expiry",
        "arrives",
    ),
    (
        "ue-refresh-late",
        "ue-pua-refresh",
        "rfc3903-pua-refresh-before-expiry",
        "arrives",
    ),
    (
        "ue-refresh-with-body",
        "ue-pua-refresh",
        "rfc3903-pua-refresh-no-body",
        "body",
    ),
    (
        "ue-ignores-423",
        "ue-pua-423",
        "rfc3903-pua-423-retry",
        "Expires",
    ),
    (
        "ue-ignores-412",
        "ue-pua-412",
        "rfc3903-pua-412-no-retry",
        "SIP-If-Match",
    ),
    (
        "ue-modify-without-etag",
        "ue-pua-publish",
        "rfc3903-pua-modify-if-match",
        "SIP-If-Match",
    ),
    (
        "ue-no-unpublish",
        "ue-pua-publish",
        "ue-quit-unpublish",
        "arrives",
    ),
    (
        "ue-wrong-entity",
        "ue-pua-publish",
        "rfc3863-entity",
        "entity",
    ),
    (
        "ue-no-unsubscribe",
        "ue-watcher-subscribe",
        "rfc6665-subscriber-unsubscribe",
        "arrives",
    ),
    (
        "ue-no-accept-pidf",
        "ue-watcher-subscribe",
        "rfc3856-watcher-accept-pidf",
        "Accept",
    ),
    (
        "ue-notify-unanswered",
        "ue-watcher-subscribe",
        "rfc6665-notify-response",
        "response",
    ),
    (
        "ue-notify-200-unknown",
        "ue-watcher-481",
        "rfc6665-subscriber-481",
        "status",
    ),
    (
        "ue-resubscribe-after-rejected",
        "ue-watcher-no-resubscribe",
        "rfc6665-reason-rejected",
        "SUBSCRIBE",
    ),
    (
        "ue-no-resubscribe-deactivated",
        "ue-watcher-deactivated",
        "rfc6665-reason-deactivated",
        "arrives",
    ),
    (
        "ue-ignores-retry-after",
        "ue-watcher-probation",
        "rfc6665-reason-retry-after",
        "SUBSCRIBE",
    ),
    (
        "ue-publish-overlap",
        "ue-pua-one-at-a-time",
        "rfc3903-pua-one-outstanding",
        "does not arrive",
    ),
    (
        "ue-notify-before-2xx-481",
        "ue-watcher-notify-first",
        "rfc6665-subscriber-notify-before-2xx",
        "status",
    ),
    (
        "ue-keeps-terminated",
        "ue-watcher-terminated",
        "rfc6665-subscriber-terminated",
        "status",
    ),
    (
        "ue-no-resubscribe-timeout",
        "ue-watcher-timeout",
        "rfc6665-reason-timeout",
        "arrives",
    ),
    (
        "ue-notify-late",
        "ue-watcher-subscribe",
        "rfc6665-notify-response",
        "arrives",
    ),
    (
        "ue-ignores-record-route",
        "ue-watcher-subscribe",
        "rfc3261-route-set-use",
        "Route",
    ),
    (
        "ue-ignores-challenge",
        "ue-register-digest",
        "rfc3261-401-retry",
        "arrives",
    ),
    (
        "ue-wrong-digest",
        "ue-register-digest",
        "rfc3261-401-retry",
        "Authorization answers",
    ),
    (
        "ue-ignores-service-route",
        "ue-register",
        "ts24229-ue-preloaded-route",
        "Route",
    ),
    (
        "ue-publish-overlap",
        "ue-pua-one-at-a-time",
        "rfc3903-pua-one-outstanding",
        "message rule",
    ),
    (
        "partial-not-waiting",
        "A.5.2.1-partial",
        "rfc5263-one-outstanding",
        "does not arrive",
    ),
];

/// The profile of the embedded reference UE, which plays the flows that judge a UE.
const REFERENCE_UE: &str = "fixtures/suts/reference-ue.yaml";

/// The embedded profile a flow plays against: the reference UE for a flow judging a UE, else
/// the reference server's profile `server`.
fn embedded_for(loaded: &LoadedFlow, server: &Profile, root: &Path) -> Result<Profile, String> {
    if loaded.flow.ue_under_test().is_some() {
        Profile::load(&root.join(REFERENCE_UE))
    } else {
        Ok(server.clone())
    }
}

fn profile(root: &Path) -> Result<Profile, String> {
    let path = match std::env::var("PRESENCE_SUT") {
        Ok(p) if !p.is_empty() => {
            let p = PathBuf::from(p);
            if p.is_absolute() {
                p
            } else {
                root.join(p)
            }
        }
        _ => root.join("fixtures/suts/reference.yaml"),
    };
    Profile::load(&path)
}

/// Plays one flow over `transport` against a freshly started embedded server.
fn play_one(
    loaded: &LoadedFlow,
    profile: &Profile,
    root: &Path,
    transport: Transport,
) -> Result<FlowOutcome, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let sut = start_sut(profile, root).await?;
        let settings = sut
            .settings(profile, root)
            .over(transport, sut.addr_for(transport));
        let outcome = play(loaded, profile, &settings).await;
        sut.stop().await;
        Ok(outcome)
    })
}

fn flow_trial(loaded: LoadedFlow, profile: Profile, root: PathBuf, transport: Transport) -> Trial {
    let unsupported = !profile
        .missing_capabilities(&loaded.flow.requires)
        .is_empty();
    Trial::test(run_name(&loaded.flow.id, transport), move || {
        let outcome = play_one(&loaded, &profile, &root, transport)?;
        match outcome.verdict {
            Verdict::Pass => Ok(()),
            _ => Err(Failed::from(explain(&outcome))),
        }
    })
    .with_ignored_flag(unsupported)
}

fn control_trial(
    control: &'static (&'static str, &'static str, &'static str, &'static str),
    flows: &[LoadedFlow],
    root: PathBuf,
) -> Trial {
    let (fault, flow_id, key, kind) = *control;
    let loaded = flows.iter().find(|f| f.flow.id == flow_id).cloned();
    Trial::test(
        format!("fault::{fault}::{flow_id}::{key}::{kind}"),
        move || {
            let loaded = loaded.ok_or_else(|| format!("no flow {flow_id}"))?;
            let server = Profile::load(&root.join("fixtures/suts/reference.yaml"))?;
            let mut profile = embedded_for(&loaded, &server, &root)?;
            profile.embedded = Some(presence_harness::sut::profile::Embedded {
                faults: vec![fault.to_string()],
                ..Default::default()
            });
            // Over UDP, unless the flow runs over TCP or TLS only.
            let transport = loaded
                .flow
                .run_transports(&[Transport::Udp, Transport::Tcp])
                .first()
                .copied()
                .unwrap_or(Transport::Udp);
            let outcome = play_one(&loaded, &profile, &root, transport)?;
            // The flow's verdict is graded by the broken requirement's level: fail for a MUST,
            // non-strict for a SHOULD, informational (the run passes) for words without a
            // keyword.
            let caught = outcome
                .checks
                .iter()
                .find(|c| c.outcome == Outcome::Fail && c.requirement.key == key);
            if caught.is_some_and(|c| outcome.verdict >= c.verdict()) {
                Ok(())
            } else {
                Err(format!(
                "fault {fault} was not caught by {flow_id} on requirement {key} by a check on {kind:?}\n{}",
                explain(&outcome)
            )
            .into())
            }
        },
    )
}

fn main() {
    let args = Arguments::from_args();
    let root = root();
    let mut trials = Vec::new();
    match (flows(), profile(&root)) {
        (Ok(flows), Ok(profile)) if profile.embedded.is_some() => {
            // The embedded server: one isolated server per test, tests in parallel.
            for loaded in &flows {
                let own = match embedded_for(loaded, &profile, &root) {
                    Ok(own) => own,
                    Err(e) => {
                        trials.push(Trial::test("load-profile", move || Err(e.clone().into())));
                        continue;
                    }
                };
                for transport in loaded.flow.run_transports(&own.transports).iter() {
                    trials.push(flow_trial(
                        loaded.clone(),
                        own.clone(),
                        root.clone(),
                        *transport,
                    ));
                }
            }
            for control in CONTROLS {
                trials.push(control_trial(control, &flows, root.clone()));
            }
            trials.push(Trial::test("fault::every-switch-has-a-control", || {
                let missing: Vec<&str> = Fault::all()
                    .iter()
                    .map(|f| f.name())
                    .chain(UeFault::all().iter().map(|f| f.name()))
                    .filter(|n| !CONTROLS.iter().any(|(f, _, _, _)| f == n))
                    .filter(|n| !load_controls::LOAD_CONTROLS.iter().any(|(f, _, _)| f == n))
                    .collect();
                if missing.is_empty() {
                    Ok(())
                } else {
                    Err(format!(
                        "fault switches no flow or load run is shown to catch: {missing:?}"
                    )
                    .into())
                }
            }));
        }
        (Ok(flows), Ok(profile)) => {
            // Another SUT (PRESENCE_SUT): one run of the whole suite, judged by the gate with
            // the profile's expected deviations.
            match run_once(&profile, &flows) {
                Ok(record) => {
                    trials.extend(recorded_trials("", &record));
                    trials.push(stale_trial("deviations::none-stale", &record));
                }
                Err(e) => trials.push(Trial::test("run", move || Err(e.clone().into()))),
            }
        }
        (Err(e), _) => trials.push(Trial::test("load-flows", move || Err(e.clone().into()))),
        (_, Err(e)) => trials.push(Trial::test("load-profile", move || Err(e.clone().into()))),
    }
    libtest_mimic::run(&args, trials).exit();
}
