//! Fault switches: each one makes the reference server break exactly one RFC requirement, so
//! the harness can show that its checks catch that violation.

use std::fmt;
use std::str::FromStr;

/// One deliberate deviation from the RFCs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    /// 2xx to PUBLISH without `SIP-ETag`.
    NoSipEtag,
    /// A refresh or modify 2xx returns the entity-tag it was given instead of a new one.
    ReuseEtag,
    /// 2xx to PUBLISH and SUBSCRIBE without `Expires`.
    NoExpiresIn2xx,
    /// Active NOTIFYs say `Subscription-State: active` without `expires`.
    SubscriptionStateWithoutExpires,
    /// NOTIFY sent without Route headers straight to the subscriber's Contact.
    NotifyIgnoresRouteSet,
    /// The composed document's root uses a wrong namespace.
    WrongPidfNamespace,
    /// An unsubscribe gets 200 but no final NOTIFY.
    NoFinalNotify,
    /// An unknown or stale `SIP-If-Match` is taken as a new publication (200, not 412).
    AcceptStaleEtag,
    /// The NOTIFY after a modify carries the document from before the modify.
    StaleNotifyAfterModify,
    /// Responses to PUBLISH carry the To header without a tag.
    NoToTag,
    /// NOTIFY CSeq numbers go up by two.
    NotifyCseqGap,
    /// NOTIFYs carry an Event `id` the SUBSCRIBE did not have.
    NotifyWrongEventId,
    /// Each NOTIFY after the first raises the Subscription-State `expires`.
    NotifyExpiresGrows,
    /// NOTIFYs carry no Subscription-State header.
    NoSubscriptionState,
    /// NOTIFYs carry a header line without a colon.
    MalformedNotify,
    /// The 2xx to PUBLISH carries HTML and script markup as its entity-tag (not a token).
    HostileContent,
    /// A NOTIFY answered 481 leaves the subscription in place.
    KeepSubscriptionAfter481,
    /// A NOTIFY the watcher challenges (401 or 407 with Digest) is not sent again with credentials.
    NotifyChallengeUnanswered,
    /// A challenged NOTIFY comes again with a Digest answer made with another password.
    NotifyDigestWrongPassword,
    /// A PUT that creates a new XCAP document answers 200 instead of 201.
    XcapPutNew200,
    /// XCAP PUT and node DELETE responses carry no ETag.
    XcapNoEtag,
    /// XCAP `If-Match` never fails.
    XcapIgnoreIfMatch,
    /// XCAP GET of a document answers `Content-Type: application/xml`.
    XcapGenericContentType,
    /// XCAP documents breaking a uniqueness constraint are stored instead of refused with 409.
    XcapAcceptDuplicate,
    /// XCAP DELETE of a document answers 200 but keeps the document.
    XcapKeepDeleted,
    /// The 200 to an XCAP DELETE of an element or attribute carries no ETag.
    XcapDeleteNoEtag,
    /// The 200 to an XCAP PUT that replaces a resource carries a body.
    XcapPut200Content,
    /// XCAP requests for an unknown application usage are answered 403 instead of 404.
    XcapUnknownAuid403,
    /// XCAP requests of a method other than GET, PUT and DELETE are answered 501, not 405.
    XcapOtherMethod501,
    /// XCAP 405 responses carry no Allow header.
    Xcap405NoAllow,
    /// The XCAP server has no capabilities document (GET of xcap-caps/global/index: 404).
    XcapNoCaps,
    /// The XCAP capabilities document leaves out the xcap-caps AUID and namespace.
    XcapCapsWithoutItself,
    /// The XCAP capabilities document leaves out the namespace of the presence permissions.
    XcapCapsWithoutPresRules,
    /// The XCAP capabilities document is also found in every user's tree.
    XcapCapsInUserTree,
    /// XCAP PUT and DELETE with a namespace selector are answered 400 instead of 405.
    XcapNamespaceWrite400,
    /// The XCAP 405 to a write with a namespace selector has an Allow without GET.
    XcapNamespaceAllowWithoutGet,
    /// XCAP node selectors that cannot be read (an unbound prefix) are answered 404, not 400.
    XcapUnboundPrefix404,
    /// XCAP GET of an attribute answers `Content-Type: application/xml`.
    XcapAttributeGenericContentType,
    /// XCAP documents holding an element from a namespace other than the usage's get 409.
    XcapRefuseForeignNamespace,
    /// XCAP node PUTs whose parent does not exist are answered 404 instead of 409.
    XcapNoParent404,
    /// The XCAP port for TLS speaks plain HTTP: no TLS handshake.
    XcapNoTls,
    /// XCAP requests in the home directory of a user the server has not provisioned are served.
    XcapUnknownUserServed,
    /// An XCAP document PUT into a sub-directory that does not exist creates it.
    XcapCreatesSubdirectories,
    /// XCAP 409 responses carry no conflict report.
    Xcap409WithoutReport,
    /// An XCAP element PUT is performed even when its URI would not select the new element.
    XcapInsertUnselected,
    /// XCAP attribute PUTs are taken whatever their Content-Type.
    XcapAttributeAnyContentType,
    /// An XCAP DELETE is performed even when its URI would then select another element.
    XcapDeleteNotIdempotent,
    /// XCAP 200 responses to GET carry no no-cache directive.
    XcapCacheable,
    /// XCAP 409 error reports carry no Content-Type.
    XcapErrorNoContentType,
    /// No `received` parameter is added to a top Via whose sent-by is a domain name.
    NoReceived,
    /// A CANCEL gets no response.
    CancelUnanswered,
    /// A NOTIFY of a dialog with an empty route set carries a Route header.
    RouteWithoutRouteSet,
    /// An INVITE (a method of RFC 3261 the server does not serve) gets 501, not 405.
    Invite501,
    /// A refresh SUBSCRIBE's Contact does not replace the subscription's remote target.
    KeepOldTarget,
    /// A route set whose first entry lacks lr is loose-routed all the same.
    StrictAsLoose,
    /// A provisional response to a NOTIFY restarts timer E at T2 from its arrival.
    ProvisionalResetsTimerE,
    /// An XCAP node selector step the server does not understand gets 400, not 404.
    XcapUnknownExtension400,
    /// An XCAP query with a pointer part other than xmlns() gets 400 instead of being ignored.
    XcapRejectOtherXpointer,
    /// An XCAP URI is split at its last "~~" instead of its first.
    XcapSplitAtLastTilde,
    /// A response whose top Via sent-by is not the server's is taken as its own.
    AcceptForeignSentBy,
    /// A response over UDP whose Content-Length exceeds its body is read with the bytes there.
    AcceptShortResponse,
    /// A request datagram that ends before its body (Content-Length) is dropped without a response.
    ShortRequestIgnored,
    /// The 405 to an INVITE carries no Allow header.
    NoAllowIn405,
    /// A CANCEL matching an answered SUBSCRIBE ends its subscription silently.
    CancelEndsSubscription,
    /// An XCAP PUT body that is not UTF-8 (a UTF-16 document, an ISO-8859-1 fragment or
    /// attribute value) is decoded and stored instead of refused.
    XcapAcceptNotUtf8,
    /// An XCAP element PUT whose body holds several elements stores the first.
    XcapAcceptManyElements,
    /// An XCAP attribute PUT whose body has no quotes is taken as the value.
    XcapAttributeUnquoted,
    /// XCAP PUT bodies that are not UTF-8 or not one element get a `<not-well-formed>` report.
    XcapBodyErrorsNotWellFormed,
    /// An XCAP GET of an attribute answers its value without quotes.
    XcapAttributeGetUnquoted,
    /// A new XCAP element goes after every child of its parent, whatever the URI's position.
    XcapInsertAtEnd,
    /// A partial NOTIFY is sent without waiting for the answer to the previous one.
    PartialNotWaiting,
    /// An initial PUBLISH carrying a pidf-diff is accepted.
    AcceptDiffInitial,
    /// A modifying PUBLISH carrying a pidf-diff gets 200 but changes nothing.
    IgnoreDiff,
    /// A pidf-diff whose operations cannot be applied gets 200.
    AcceptBadDiff,
    /// A SUBSCRIBE in a partial-notification dialog is answered with a pidf-diff, not full state.
    PartialNoFullAfterSubscribe,
    /// Each partial NOTIFY after the first raises the version by two.
    PartialVersionSkip,
    /// The first partial NOTIFY is a pidf-diff, not full state.
    PartialDiffFirst,
    /// Every pidf-diff is empty, whatever changed.
    PartialStaleDiff,
    /// The 489 to SUBSCRIBE lists presence but not presence.winfo in Allow-Events.
    AllowEventsIncomplete,
    /// XCAP documents lacking an attribute their schema requires are stored.
    XcapSchemaUnchecked,
    /// XCAP DELETEs that leave a document invalid are performed.
    XcapDeleteUnchecked,
    /// XCAP replacements after which the URI no longer selects the node are performed.
    XcapReplaceUnselected,
    /// An XCAP node selector step that selects several elements gives the first.
    XcapFirstOfMany,
    /// Bytes of a datagram after the body Content-Length gives are kept as body.
    UdpTrailingBytesKept,
    /// UDP datagrams are read into an 8 KiB buffer.
    UdpSmallBuffer,
    /// The 2xx to SUBSCRIBE carries an http Contact URI.
    SubscribeContactNotSip,
    /// A Require the server does not understand is ignored.
    IgnoreRequire,
    /// The 420 lists no Unsupported option tags.
    BadExtensionWithoutUnsupported,
    /// A request carrying a header field the server does not know gets 400.
    RefuseUnknownHeader,
    /// Every NOTIFY of a subscription carries the same Via branch.
    NotifyBranchReused,
    /// The terminated NOTIFY of a list subscription carries no body.
    RlsFinalNotifyWithoutRlmi,
    /// NOTIFYs leave out the Event id their SUBSCRIBE had.
    NotifyDropsEventId,
    /// Watcherinfo watcher ids hold a character outside the token grammar.
    WinfoWatcherIdNotToken,
    /// Every watcher in watcherinfo documents gets the same id.
    WinfoWatcherIdShared,
    /// The 2xx to PUBLISH copies the request's Record-Route.
    PublishEchoesRecordRoute,
    /// A PUBLISH without Expires gets 400.
    PublishRequiresExpires,
    /// Every publication of a presentity gets the same entity-tag.
    EtagPerPresentity,
    /// A modifying PUBLISH refused for its body first removes the publication.
    NonAtomicPublish,
    /// XCAP resource-lists documents with two sibling lists of one name are stored.
    XcapDuplicateListNames,
    /// XCAP resource-lists documents with two sibling entry-refs of one ref are stored.
    XcapDuplicateEntryRefs,
    /// XCAP resource-lists documents with an entry-ref that is not a relative path are stored.
    XcapAbsoluteEntryRef,
    /// XCAP resource-lists documents with two sibling externals of one anchor are stored.
    XcapDuplicateExternals,
    /// XCAP resource-lists documents with an external anchor that is not an absolute HTTP URI are stored.
    XcapRelativeExternal,
    /// XCAP rls-services service URIs are kept unique within each document only.
    XcapServiceUriPerDocument,
    /// XCAP rls-services service URIs may name an existing user.
    XcapServiceUriExistingUser,
    /// The 409 for a taken XCAP service URI suggests no alternative.
    XcapNoAltValue,
    /// XCAP rls-services documents with a relative resource-list URI are stored.
    XcapRelativeResourceList,
    /// XCAP rls-services documents with a resource-list URI into another usage are stored.
    XcapResourceListOtherAuid,
    /// XCAP rls-services documents with a resource-list URI into another user's tree are stored.
    XcapResourceListOtherUser,
    /// Lists inside an XCAP rls-services service are stored unchecked.
    XcapServiceListUnchecked,
    /// Pres-rules are ignored: every watcher is allowed and sees everything.
    IgnorePresRules,
    /// A SUBSCRIBE from outside the trust domain, without credentials, is accepted.
    UntrustedSubscribeAccepted,
    /// The RLS decides each list member's authorization for the first watcher it looked at the member for, and shows every later watcher what that one may see.
    RlsBackendShared,
    /// A list member that is one of the subscriber's own services is served by a back-end
    /// subscription with no loop safeguard: each answered NOTIFY brings the loop round again
    /// and another full-state NOTIFY.
    RlsNestedLoop,
    /// Allowed watchers get the whole document: the rules' transformations are not applied.
    IgnoreTransformations,
    /// A politely blocked watcher gets the presentity's real document.
    PoliteBlockReveals,
    /// Every watcherinfo document has version 0.
    WinfoVersionStuck,
    /// The watcherinfo `watcher-list` lacks the `package` attribute.
    WinfoNoPackage,
    /// The watcherinfo `watcher` elements lack the `id` attribute.
    WinfoWatcherNoId,
    /// The first RLMI document of a list subscription has version 1.
    RlmiVersionFromOne,
    /// The 2xx to a list SUBSCRIBE lacks `Require: eventlist`.
    RlsNoRequire,
    /// The NOTIFYs of a list subscription lack `Require: eventlist`.
    RlsNotifyNoRequire,
    /// NOTIFYs of a list subscription carry `Supported: eventlist`.
    RlsNotifySupportedEventlist,
    /// The RLMI list carries a `<name>` whose `xml:lang` is not a language tag.
    RlmiBadLanguageTag,
    /// Watcherinfo NOTIFYs say `Content-Type: application/xml`.
    WinfoGenericContentType,
    /// Terminated RLMI instances carry no `reason`.
    RlmiTerminatedWithoutReason,
    /// RLMI instance `cid`s name no body part.
    RlmiDanglingCid,
    /// The multipart `start` parameter names a PIDF part instead of the RLMI root.
    RlsPidfRoot,
    /// The PNA's reg SUBSCRIBE accepts only application/pidf+xml.
    PnaWrongAccept,
    /// The PNA answers the NOTIFYs of its reg subscription with 500.
    PnaRejectsNotify,
    /// The PNA never subscribes to the reg event after a third-party REGISTER.
    PnaNoSubscribe,
    /// The PNA's 200 to a REGISTER lists no Contact binding.
    PnaRegisterNoContact,
    /// NOTIFYs carry no Max-Forwards header.
    NotifyNoMaxForwards,
    /// NOTIFYs carry no Contact header.
    NotifyNoContact,
    /// NOTIFY bodies are labelled `application/xml`, which no SUBSCRIBE accepts.
    NotifyUnacceptedType,
    /// Responses to PUBLISH carry the request's CSeq number plus one.
    ResponseWrongCseq,
    /// 2xx to SUBSCRIBE without Contact.
    SubscribeNoContact,
    /// 2xx to PUBLISH without `SIP-ETag` while more than 50 PUBLISH came in the last second.
    NoSipEtagUnderLoad,
    /// NOTIFYs carry `SUBSCRIBE` as their CSeq method.
    NotifyCseqMethod,
    /// NOTIFYs carry a Via branch without the `z9hG4bK` cookie.
    NotifyBranchWithoutCookie,
    /// NOTIFYs carry a top Via without a branch parameter.
    NotifyViaWithoutBranch,
    /// NOTIFYs carry a top Via whose sent-protocol says SIP/3.0.
    NotifyViaWrongProtocol,
    /// NOTIFY bodies carry no Content-Type header.
    NotifyNoContentType,
    /// The 2xx to PUBLISH carries a body without a Content-Type header.
    ResponseBodyWithoutContentType,
    /// NOTIFYs carry a From header without a tag.
    NotifyNoFromTag,
    /// 489 responses carry no Allow-Events header.
    BadEventNoAllowEvents,
    /// The PNA's reg SUBSCRIBE carries no Contact header.
    PnaNoContact,
    /// Client transactions over UDP send their request once: no timer E retransmissions.
    NoRetransmissions,
    /// Client transactions over UDP go on retransmitting for 2*T2 after timer F.
    RetransmitPastTimerF,
    /// Client transactions over UDP go on retransmitting their request after its final response.
    RetransmitAfterFinal,
    /// The first NOTIFY of each subscription is also sent in a dialog of its own (a new Call-ID), as if a subscription had been made without a SUBSCRIBE.
    NotifyUnsolicited,
    /// The notifier's Contact (its local target) is no GRUU: no gr URI parameter.
    ContactNotGruu,
    /// A PUBLISH carrying In-Reply-To (not applicable to PUBLISH) gets 400 instead of being taken as without it.
    PublishNotApplicableRefused,
    /// PUBLISH requests to a user the server has not provisioned are taken.
    UnknownUserPublished,
    /// A PUBLISH whose Content-Language is not en gets 415 without Accept-Language.
    LanguageRefusedWithoutAccept,
    /// TCP connections are closed as soon as they are accepted: the server takes SIP over UDP only.
    NoTcp,
    /// Responses over UDP go to the request's source address and port, not to the port of its top Via's sent-by.
    ResponseToSource,
    /// Responses over UDP leave out the top Via's maddr: they go to the source address.
    MaddrIgnored,
    /// Responses to requests over TCP go on a new connection to the Via's sent-by port.
    TcpResponseNewConnection,
    /// A PUBLISH gets a 100 (Trying) that does not copy its Timestamp.
    TryingWithoutTimestamp,
    /// A response over TCP is taken only on a connection the server opened itself, not on one a peer opened to it.
    TcpResponseOnOwnConnectionOnly,
    /// An OPTIONS whose Request-URI is a SIP URI gets 416 (Unsupported URI Scheme).
    SipSchemeUnsupported,
    /// The 200 to OPTIONS carries a gzip body even when the request's Accept-Encoding did not list gzip.
    ResponseCodingUnasked,
    /// The 200 to an OPTIONS that accepts gzip and deflate carries a body compressed with gzip and then deflate, listed as deflate, gzip.
    CodingsOutOfOrder,
    /// The global rls-services document is served to any user who asks.
    GlobalRlsServicesOpen,
    /// The global rls-services document is formed once, when first read, and served unchanged after.
    GlobalRlsServicesStale,
    /// A uniqueness failure's field names its steps with an rl: prefix and no xmlns() query.
    XcapErrorFieldPrefixed,
    /// An element the server has no schema for, in a namespace it advertises, is stored.
    XcapUnknownElementKept,
    /// An element inserted where no sibling has its name goes right after the last element, before the comments and text that followed it.
    XcapInsertBeforeTrailingNodes,
    /// The PNA takes a reg NOTIFY from a second dialog of its SUBSCRIBE (another From tag) as its own.
    PnaAcceptsForks,
    /// A NOTIFY that fails by timer F leaves the subscription in place.
    KeepSubscriptionAfterTimeout,
    /// The NOTIFY that ends an expired subscription says `reason=noresource`.
    ExpiryReasonNotTimeout,
    /// A retransmitted request is handled as a new one instead of getting its response again.
    RetransmissionAsNewRequest,
    /// The RLMI document after a refresh or unsubscribe of a list subscription says `fullState="false"`.
    RlmiPartialAfterSubscribe,
    /// The composed document's tuples have no `id` attribute.
    PidfTupleNoId,
    /// A SUBSCRIBE inside a dialog the server does not know is answered 404, not 481.
    UnknownDialog404,
    /// A SUBSCRIBE inside a dialog whose CSeq is below the last one is accepted, not answered 500.
    AcceptOutOfOrderCseq,
    /// NOTIFYs list an option tag no standards-track RFC defines in Supported.
    NotifyPrivateOptionTag,
    /// A PUBLISH gets a 100 Trying before its final response.
    ProvisionalToPublish,
    /// A PUBLISH gets a 183 before its final response, with a To tag other than the final's.
    ProvisionalOtherTag,
    /// A PUBLISH gets a 100 (Trying) at once and its final response T2 later; copies of it meanwhile get nothing.
    ProceedingCopiesUnanswered,
    /// A SUBSCRIBE whose To is not a SIP URI gets 403.
    ToTelRejected,
    /// NOTIFYs over UDP carry no Content-Length.
    UdpNotifyNoContentLength,
    /// A PUBLISH body of a non-XML type gets 415 before its Require is looked at.
    BodyBeforeRequire,
    /// A request whose From carries the parameter x-unknown gets 400.
    RefuseUnknownHeaderParam,
    /// The full-state RLMI documents after the first show the list's first member only.
    RlsRefreshFirstOnly,
    /// A NOTIFY unanswered at the first retransmission is also CANCELled.
    CancelUnansweredNotify,
    /// A SUBSCRIBE without Event gets 400, not 489.
    NoEvent400,
    /// presence.winfo is an unknown event package (489).
    WinfoUnsupported,
    /// Anyone may subscribe to a presentity's watcherinfo.
    WinfoOpenToAll,
    /// The NOTIFY of a watcherinfo fetch lists no watcher.
    WinfoFetchEmpty,
    /// The PNA's 200 to a third-party REGISTER carries no Date.
    PnaRegisterNoDate,
    /// A request with a Date header field that is not an RFC 1123 date gets 400.
    RefuseMalformedDate,
    /// A Request-URI of a scheme other than sip and sips gets 404, not 416.
    UnsupportedScheme404,
    /// The server's Allow header fields leave PUBLISH out.
    AllowOmitsPublish,
    /// The 200 to OPTIONS carries no Allow-Events.
    OptionsNoAllowEvents,
    /// The server's Allow header fields leave SUBSCRIBE out.
    AllowOmitsSubscribe,
    /// The field of an XCAP `<uniqueness-failure>` names its node selector raw, not percent-encoded.
    XcapErrorFieldRaw,
    /// An XCAP element DELETE also removes the whitespace before the element.
    XcapDeleteTrimsWhitespace,
    /// An element an XCAP PUT inserts loses namespace declarations its parent's scope makes.
    XcapDropRedundantNamespaces,
    /// An XCAP URI with a tree segment other than global or users is read as users.
    XcapAnyTree,
    /// An XCAP GET of an element adds the namespace bindings its ancestors declare.
    XcapGetAddsBindings,
    /// The XCAP server challenges every request without credentials with HTTP Basic.
    XcapBasicChallenge,
    /// The PNA's first reg document does not initialize its version: every later one applies.
    PnaVersionNotInitialized,
    /// The PNA sends no refresh SUBSCRIBE when a reg document skips versions.
    PnaNoRefreshOnGap,
    /// The PNA rejects a reginfo document carrying elements or attributes of unknown namespaces.
    PnaRejectsExtensions,
    /// Every response to PUBLISH is sent twice.
    PublishResponseTwice,
    /// A PUBLISH body with a content coding the server does not understand is taken as if plain.
    UnknownEncodingAccepted,
    /// The 415 for a content coding the server does not understand carries no Accept-Encoding.
    NoAcceptEncodingIn415,
    /// NOTIFYs carry a Contact URI the server knows inside the dialog only.
    NotifyContactDialogOnly,
    /// The 2xx to SUBSCRIBE carries a Contact URI the server knows inside the dialog only.
    AnswerContactDialogOnly,
    /// A SUBSCRIBE whose From carries no tag is rejected with 400.
    NullFromTagRejected,
    /// When a SUBSCRIBE's From carried no tag, the NOTIFYs' To carries one all the same.
    NullTagInvented,
    /// The remote sequence number of a subscription dialog stays the initial SUBSCRIBE's.
    KeepFirstRemoteCseq,
    /// A SUBSCRIBE inside a dialog whose CSeq is more than one above the last is rejected with 500.
    RejectCseqGap,
    /// The 2xx to SUBSCRIBE does not copy the request's Record-Route values.
    SubscribeNoRecordRoute,
    /// The 2xx to PUBLISH carries a Contact.
    PublishResponseContact,
    /// The 2xx to SUBSCRIBE carries the request's Event.
    SubscribeResponseEvent,
    /// The 2xx to SUBSCRIBE carries a Subscription-State.
    SubscribeResponseSubscriptionState,
    /// A NOTIFY that ends a subscription says `terminated` without a reason.
    TerminatedWithoutReason,
    /// A NOTIFY that ends a subscription gives `terminated` an `expires` parameter.
    TerminatedWithExpires,
    /// The 489 to SUBSCRIBE lists its event packages separated by spaces, not commas.
    AllowEventsNotCommaList,
    /// Responses to PUBLISH carry the To URI, with a URI header (`?`), outside angle brackets.
    ToUriUnbracketed,
    /// A subscription's first NOTIFY has CSeq 2**31 + 1.
    NotifyCseqHigh,
    /// NOTIFYs come From a URI other than the SUBSCRIBE's To.
    NotifyFromOtherUri,
    /// The response to a request inside a dialog carries a To tag other than the request's.
    ResponseOtherToTag,
    /// NOTIFYs name the other transport in their Via than the one they go over.
    NotifyViaOtherTransport,
    /// NOTIFYs carry a Via without a sent-by.
    NotifyViaNoSentBy,
    /// Over TLS the server's Contact (answers, NOTIFYs, the PNA's SUBSCRIBE) is a sip: URI with
    /// transport=tls, not a sips: URI.
    SipsContactPlain,
    /// NOTIFYs of a subscription made over TLS go over plain TCP.
    TlsNotifyOverTcp,
    /// A SUBSCRIBE to a sips: Request-URI gets 416.
    SipsUriRefused,
    /// An <except> inside <many> takes no one out.
    IdentityExceptIgnored,
    /// Every <sphere> condition holds, whatever the presentity's sphere.
    SphereConditionIgnored,
    /// Only the all-* values of provide-services, provide-persons and provide-devices count.
    OccurrenceSelectorsIgnored,
    /// Every presence attribute of a shown occurrence is reported, granted or not.
    AttributesUnfiltered,
}

impl Fault {
    /// Every fault, in declaration order.
    pub fn all() -> &'static [Fault] {
        &[
            Fault::NoSipEtag,
            Fault::ReuseEtag,
            Fault::NoExpiresIn2xx,
            Fault::SubscriptionStateWithoutExpires,
            Fault::NotifyIgnoresRouteSet,
            Fault::WrongPidfNamespace,
            Fault::NoFinalNotify,
            Fault::AcceptStaleEtag,
            Fault::StaleNotifyAfterModify,
            Fault::NoToTag,
            Fault::NotifyCseqGap,
            Fault::NotifyWrongEventId,
            Fault::NotifyExpiresGrows,
            Fault::NoSubscriptionState,
            Fault::MalformedNotify,
            Fault::HostileContent,
            Fault::KeepSubscriptionAfter481,
            Fault::NotifyChallengeUnanswered,
            Fault::NotifyDigestWrongPassword,
            Fault::XcapPutNew200,
            Fault::XcapNoEtag,
            Fault::XcapIgnoreIfMatch,
            Fault::XcapGenericContentType,
            Fault::XcapAcceptDuplicate,
            Fault::XcapKeepDeleted,
            Fault::XcapDeleteNoEtag,
            Fault::XcapPut200Content,
            Fault::XcapErrorNoContentType,
            Fault::NoReceived,
            Fault::CancelUnanswered,
            Fault::RouteWithoutRouteSet,
            Fault::Invite501,
            Fault::KeepOldTarget,
            Fault::StrictAsLoose,
            Fault::ProvisionalResetsTimerE,
            Fault::XcapUnknownExtension400,
            Fault::XcapRejectOtherXpointer,
            Fault::XcapSplitAtLastTilde,
            Fault::AcceptForeignSentBy,
            Fault::AcceptShortResponse,
            Fault::ShortRequestIgnored,
            Fault::NoAllowIn405,
            Fault::CancelEndsSubscription,
            Fault::XcapAcceptNotUtf8,
            Fault::XcapAcceptManyElements,
            Fault::XcapAttributeUnquoted,
            Fault::XcapBodyErrorsNotWellFormed,
            Fault::XcapAttributeGetUnquoted,
            Fault::XcapInsertAtEnd,
            Fault::XcapUnknownAuid403,
            Fault::XcapOtherMethod501,
            Fault::Xcap405NoAllow,
            Fault::XcapNoCaps,
            Fault::XcapCapsWithoutItself,
            Fault::XcapCapsWithoutPresRules,
            Fault::XcapCapsInUserTree,
            Fault::XcapNamespaceWrite400,
            Fault::XcapNamespaceAllowWithoutGet,
            Fault::XcapUnboundPrefix404,
            Fault::XcapAttributeGenericContentType,
            Fault::XcapRefuseForeignNamespace,
            Fault::XcapNoParent404,
            Fault::XcapNoTls,
            Fault::XcapUnknownUserServed,
            Fault::XcapCreatesSubdirectories,
            Fault::Xcap409WithoutReport,
            Fault::XcapInsertUnselected,
            Fault::XcapAttributeAnyContentType,
            Fault::XcapDeleteNotIdempotent,
            Fault::XcapCacheable,
            Fault::PartialNotWaiting,
            Fault::AcceptDiffInitial,
            Fault::IgnoreDiff,
            Fault::AcceptBadDiff,
            Fault::PartialNoFullAfterSubscribe,
            Fault::PartialVersionSkip,
            Fault::PartialDiffFirst,
            Fault::PartialStaleDiff,
            Fault::AllowEventsIncomplete,
            Fault::XcapSchemaUnchecked,
            Fault::XcapDeleteUnchecked,
            Fault::XcapReplaceUnselected,
            Fault::XcapFirstOfMany,
            Fault::UdpTrailingBytesKept,
            Fault::UdpSmallBuffer,
            Fault::SubscribeContactNotSip,
            Fault::IgnoreRequire,
            Fault::BadExtensionWithoutUnsupported,
            Fault::RefuseUnknownHeader,
            Fault::NotifyBranchReused,
            Fault::RlsFinalNotifyWithoutRlmi,
            Fault::NotifyDropsEventId,
            Fault::WinfoWatcherIdNotToken,
            Fault::WinfoWatcherIdShared,
            Fault::PublishEchoesRecordRoute,
            Fault::PublishRequiresExpires,
            Fault::EtagPerPresentity,
            Fault::NonAtomicPublish,
            Fault::XcapDuplicateListNames,
            Fault::XcapDuplicateEntryRefs,
            Fault::XcapAbsoluteEntryRef,
            Fault::XcapDuplicateExternals,
            Fault::XcapRelativeExternal,
            Fault::XcapServiceUriPerDocument,
            Fault::XcapServiceUriExistingUser,
            Fault::XcapNoAltValue,
            Fault::XcapRelativeResourceList,
            Fault::XcapResourceListOtherAuid,
            Fault::XcapResourceListOtherUser,
            Fault::XcapServiceListUnchecked,
            Fault::IgnorePresRules,
            Fault::UntrustedSubscribeAccepted,
            Fault::RlsBackendShared,
            Fault::RlsNestedLoop,
            Fault::IgnoreTransformations,
            Fault::PoliteBlockReveals,
            Fault::WinfoVersionStuck,
            Fault::WinfoNoPackage,
            Fault::WinfoWatcherNoId,
            Fault::RlmiVersionFromOne,
            Fault::RlsNoRequire,
            Fault::RlsNotifyNoRequire,
            Fault::RlsNotifySupportedEventlist,
            Fault::RlmiBadLanguageTag,
            Fault::RlmiTerminatedWithoutReason,
            Fault::WinfoGenericContentType,
            Fault::RlmiDanglingCid,
            Fault::RlsPidfRoot,
            Fault::PnaWrongAccept,
            Fault::PnaRejectsNotify,
            Fault::PnaNoSubscribe,
            Fault::PnaRegisterNoContact,
            Fault::NotifyNoMaxForwards,
            Fault::NotifyNoContact,
            Fault::NotifyUnacceptedType,
            Fault::ResponseWrongCseq,
            Fault::SubscribeNoContact,
            Fault::NoSipEtagUnderLoad,
            Fault::NotifyCseqMethod,
            Fault::NotifyBranchWithoutCookie,
            Fault::NotifyViaWithoutBranch,
            Fault::NotifyViaWrongProtocol,
            Fault::NotifyNoContentType,
            Fault::ResponseBodyWithoutContentType,
            Fault::NotifyNoFromTag,
            Fault::BadEventNoAllowEvents,
            Fault::PnaNoContact,
            Fault::NoRetransmissions,
            Fault::RetransmitPastTimerF,
            Fault::RetransmitAfterFinal,
            Fault::NotifyUnsolicited,
            Fault::ContactNotGruu,
            Fault::PublishNotApplicableRefused,
            Fault::UnknownUserPublished,
            Fault::LanguageRefusedWithoutAccept,
            Fault::NoTcp,
            Fault::ResponseToSource,
            Fault::MaddrIgnored,
            Fault::TcpResponseNewConnection,
            Fault::TryingWithoutTimestamp,
            Fault::TcpResponseOnOwnConnectionOnly,
            Fault::SipSchemeUnsupported,
            Fault::ResponseCodingUnasked,
            Fault::CodingsOutOfOrder,
            Fault::GlobalRlsServicesOpen,
            Fault::GlobalRlsServicesStale,
            Fault::XcapErrorFieldPrefixed,
            Fault::XcapUnknownElementKept,
            Fault::XcapInsertBeforeTrailingNodes,
            Fault::PnaAcceptsForks,
            Fault::KeepSubscriptionAfterTimeout,
            Fault::ExpiryReasonNotTimeout,
            Fault::RetransmissionAsNewRequest,
            Fault::RlmiPartialAfterSubscribe,
            Fault::PidfTupleNoId,
            Fault::UnknownDialog404,
            Fault::AcceptOutOfOrderCseq,
            Fault::NotifyPrivateOptionTag,
            Fault::ProvisionalToPublish,
            Fault::ProvisionalOtherTag,
            Fault::ProceedingCopiesUnanswered,
            Fault::ToTelRejected,
            Fault::UdpNotifyNoContentLength,
            Fault::BodyBeforeRequire,
            Fault::RefuseUnknownHeaderParam,
            Fault::RlsRefreshFirstOnly,
            Fault::CancelUnansweredNotify,
            Fault::NoEvent400,
            Fault::WinfoUnsupported,
            Fault::WinfoOpenToAll,
            Fault::WinfoFetchEmpty,
            Fault::PnaRegisterNoDate,
            Fault::RefuseMalformedDate,
            Fault::UnsupportedScheme404,
            Fault::AllowOmitsPublish,
            Fault::OptionsNoAllowEvents,
            Fault::AllowOmitsSubscribe,
            Fault::XcapErrorFieldRaw,
            Fault::XcapDeleteTrimsWhitespace,
            Fault::XcapDropRedundantNamespaces,
            Fault::XcapAnyTree,
            Fault::XcapGetAddsBindings,
            Fault::XcapBasicChallenge,
            Fault::PnaVersionNotInitialized,
            Fault::PnaNoRefreshOnGap,
            Fault::PnaRejectsExtensions,
            Fault::PublishResponseTwice,
            Fault::UnknownEncodingAccepted,
            Fault::NoAcceptEncodingIn415,
            Fault::NotifyContactDialogOnly,
            Fault::AnswerContactDialogOnly,
            Fault::NullFromTagRejected,
            Fault::NullTagInvented,
            Fault::KeepFirstRemoteCseq,
            Fault::RejectCseqGap,
            Fault::SubscribeNoRecordRoute,
            Fault::PublishResponseContact,
            Fault::SubscribeResponseEvent,
            Fault::SubscribeResponseSubscriptionState,
            Fault::TerminatedWithoutReason,
            Fault::TerminatedWithExpires,
            Fault::AllowEventsNotCommaList,
            Fault::ToUriUnbracketed,
            Fault::NotifyCseqHigh,
            Fault::NotifyFromOtherUri,
            Fault::ResponseOtherToTag,
            Fault::NotifyViaOtherTransport,
            Fault::NotifyViaNoSentBy,
            Fault::SipsContactPlain,
            Fault::TlsNotifyOverTcp,
            Fault::SipsUriRefused,
            Fault::IdentityExceptIgnored,
            Fault::SphereConditionIgnored,
            Fault::OccurrenceSelectorsIgnored,
            Fault::AttributesUnfiltered,
        ]
    }

    /// The kebab-case name, e.g. `no-sip-etag`.
    pub fn name(self) -> &'static str {
        match self {
            Fault::NoSipEtag => "no-sip-etag",
            Fault::ReuseEtag => "reuse-etag",
            Fault::NoExpiresIn2xx => "no-expires-in-2xx",
            Fault::SubscriptionStateWithoutExpires => "subscription-state-without-expires",
            Fault::NotifyIgnoresRouteSet => "notify-ignores-route-set",
            Fault::WrongPidfNamespace => "wrong-pidf-namespace",
            Fault::NoFinalNotify => "no-final-notify",
            Fault::AcceptStaleEtag => "accept-stale-etag",
            Fault::StaleNotifyAfterModify => "stale-notify-after-modify",
            Fault::NoToTag => "no-to-tag",
            Fault::NotifyCseqGap => "notify-cseq-gap",
            Fault::NotifyWrongEventId => "notify-wrong-event-id",
            Fault::NotifyExpiresGrows => "notify-expires-grows",
            Fault::NoSubscriptionState => "no-subscription-state",
            Fault::MalformedNotify => "malformed-notify",
            Fault::HostileContent => "hostile-content",
            Fault::KeepSubscriptionAfter481 => "keep-subscription-after-481",
            Fault::NotifyChallengeUnanswered => "notify-challenge-unanswered",
            Fault::NotifyDigestWrongPassword => "notify-digest-wrong-password",
            Fault::XcapPutNew200 => "xcap-put-new-200",
            Fault::XcapNoEtag => "xcap-no-etag",
            Fault::XcapIgnoreIfMatch => "xcap-ignore-if-match",
            Fault::XcapGenericContentType => "xcap-generic-content-type",
            Fault::XcapAcceptDuplicate => "xcap-accept-duplicate",
            Fault::XcapKeepDeleted => "xcap-keep-deleted",
            Fault::XcapDeleteNoEtag => "xcap-delete-no-etag",
            Fault::XcapPut200Content => "xcap-put-200-content",
            Fault::XcapErrorNoContentType => "xcap-error-no-content-type",
            Fault::NoReceived => "no-received",
            Fault::CancelUnanswered => "cancel-unanswered",
            Fault::RouteWithoutRouteSet => "route-without-route-set",
            Fault::Invite501 => "invite-501",
            Fault::KeepOldTarget => "keep-old-target",
            Fault::StrictAsLoose => "strict-as-loose",
            Fault::ProvisionalResetsTimerE => "provisional-resets-timer-e",
            Fault::XcapUnknownExtension400 => "xcap-unknown-extension-400",
            Fault::XcapRejectOtherXpointer => "xcap-reject-other-xpointer",
            Fault::XcapSplitAtLastTilde => "xcap-split-at-last-tilde",
            Fault::AcceptForeignSentBy => "accept-foreign-sent-by",
            Fault::AcceptShortResponse => "accept-short-response",
            Fault::ShortRequestIgnored => "short-request-ignored",
            Fault::NoAllowIn405 => "no-allow-in-405",
            Fault::CancelEndsSubscription => "cancel-ends-subscription",
            Fault::XcapAcceptNotUtf8 => "xcap-accept-not-utf-8",
            Fault::XcapAcceptManyElements => "xcap-accept-many-elements",
            Fault::XcapAttributeUnquoted => "xcap-attribute-unquoted",
            Fault::XcapBodyErrorsNotWellFormed => "xcap-body-errors-not-well-formed",
            Fault::XcapAttributeGetUnquoted => "xcap-attribute-get-unquoted",
            Fault::XcapInsertAtEnd => "xcap-insert-at-end",
            Fault::XcapUnknownAuid403 => "xcap-unknown-auid-403",
            Fault::XcapOtherMethod501 => "xcap-other-method-501",
            Fault::Xcap405NoAllow => "xcap-405-no-allow",
            Fault::XcapNoCaps => "xcap-no-caps",
            Fault::XcapCapsWithoutItself => "xcap-caps-without-itself",
            Fault::XcapCapsWithoutPresRules => "xcap-caps-without-pres-rules",
            Fault::XcapCapsInUserTree => "xcap-caps-in-user-tree",
            Fault::XcapNamespaceWrite400 => "xcap-namespace-write-400",
            Fault::XcapNamespaceAllowWithoutGet => "xcap-namespace-allow-without-get",
            Fault::XcapUnboundPrefix404 => "xcap-unbound-prefix-404",
            Fault::XcapAttributeGenericContentType => "xcap-attribute-generic-content-type",
            Fault::XcapRefuseForeignNamespace => "xcap-refuse-foreign-namespace",
            Fault::XcapNoParent404 => "xcap-no-parent-404",
            Fault::XcapNoTls => "xcap-no-tls",
            Fault::XcapUnknownUserServed => "xcap-unknown-user-served",
            Fault::XcapCreatesSubdirectories => "xcap-creates-subdirectories",
            Fault::Xcap409WithoutReport => "xcap-409-without-report",
            Fault::XcapInsertUnselected => "xcap-insert-unselected",
            Fault::XcapAttributeAnyContentType => "xcap-attribute-any-content-type",
            Fault::XcapDeleteNotIdempotent => "xcap-delete-not-idempotent",
            Fault::XcapCacheable => "xcap-cacheable",
            Fault::PartialNotWaiting => "partial-not-waiting",
            Fault::AcceptDiffInitial => "accept-diff-initial",
            Fault::IgnoreDiff => "ignore-diff",
            Fault::AcceptBadDiff => "accept-bad-diff",
            Fault::PartialNoFullAfterSubscribe => "partial-no-full-after-subscribe",
            Fault::PartialVersionSkip => "partial-version-skip",
            Fault::PartialDiffFirst => "partial-diff-first",
            Fault::PartialStaleDiff => "partial-stale-diff",
            Fault::AllowEventsIncomplete => "allow-events-incomplete",
            Fault::XcapSchemaUnchecked => "xcap-schema-unchecked",
            Fault::XcapDeleteUnchecked => "xcap-delete-unchecked",
            Fault::XcapReplaceUnselected => "xcap-replace-unselected",
            Fault::XcapFirstOfMany => "xcap-first-of-many",
            Fault::UdpTrailingBytesKept => "udp-trailing-bytes-kept",
            Fault::UdpSmallBuffer => "udp-small-buffer",
            Fault::SubscribeContactNotSip => "subscribe-contact-not-sip",
            Fault::IgnoreRequire => "ignore-require",
            Fault::BadExtensionWithoutUnsupported => "bad-extension-without-unsupported",
            Fault::RefuseUnknownHeader => "refuse-unknown-header",
            Fault::NotifyBranchReused => "notify-branch-reused",
            Fault::RlsFinalNotifyWithoutRlmi => "rls-final-notify-without-rlmi",
            Fault::NotifyDropsEventId => "notify-drops-event-id",
            Fault::WinfoWatcherIdNotToken => "winfo-watcher-id-not-token",
            Fault::WinfoWatcherIdShared => "winfo-watcher-id-shared",
            Fault::PublishEchoesRecordRoute => "publish-echoes-record-route",
            Fault::PublishRequiresExpires => "publish-requires-expires",
            Fault::EtagPerPresentity => "etag-per-presentity",
            Fault::NonAtomicPublish => "non-atomic-publish",
            Fault::XcapDuplicateListNames => "xcap-duplicate-list-names",
            Fault::XcapDuplicateEntryRefs => "xcap-duplicate-entry-refs",
            Fault::XcapAbsoluteEntryRef => "xcap-absolute-entry-ref",
            Fault::XcapDuplicateExternals => "xcap-duplicate-externals",
            Fault::XcapRelativeExternal => "xcap-relative-external",
            Fault::XcapServiceUriPerDocument => "xcap-service-uri-per-document",
            Fault::XcapServiceUriExistingUser => "xcap-service-uri-existing-user",
            Fault::XcapNoAltValue => "xcap-no-alt-value",
            Fault::XcapRelativeResourceList => "xcap-relative-resource-list",
            Fault::XcapResourceListOtherAuid => "xcap-resource-list-other-auid",
            Fault::XcapResourceListOtherUser => "xcap-resource-list-other-user",
            Fault::XcapServiceListUnchecked => "xcap-service-list-unchecked",
            Fault::IgnorePresRules => "ignore-pres-rules",
            Fault::UntrustedSubscribeAccepted => "untrusted-subscribe-accepted",
            Fault::RlsBackendShared => "rls-backend-shared",
            Fault::RlsNestedLoop => "rls-nested-loop",
            Fault::IgnoreTransformations => "ignore-transformations",
            Fault::PoliteBlockReveals => "polite-block-reveals",
            Fault::WinfoVersionStuck => "winfo-version-stuck",
            Fault::WinfoNoPackage => "winfo-no-package",
            Fault::WinfoWatcherNoId => "winfo-watcher-no-id",
            Fault::RlmiVersionFromOne => "rlmi-version-from-one",
            Fault::RlsNoRequire => "rls-no-require",
            Fault::RlsNotifyNoRequire => "rls-notify-no-require",
            Fault::RlsNotifySupportedEventlist => "rls-notify-supported-eventlist",
            Fault::RlmiBadLanguageTag => "rlmi-bad-language-tag",
            Fault::WinfoGenericContentType => "winfo-generic-content-type",
            Fault::RlmiTerminatedWithoutReason => "rlmi-terminated-without-reason",
            Fault::RlmiDanglingCid => "rlmi-dangling-cid",
            Fault::RlsPidfRoot => "rls-pidf-root",
            Fault::PnaWrongAccept => "pna-wrong-accept",
            Fault::PnaRejectsNotify => "pna-rejects-notify",
            Fault::PnaNoSubscribe => "pna-no-subscribe",
            Fault::PnaRegisterNoContact => "pna-register-no-contact",
            Fault::NotifyNoMaxForwards => "notify-no-max-forwards",
            Fault::NotifyNoContact => "notify-no-contact",
            Fault::NotifyUnacceptedType => "notify-unaccepted-type",
            Fault::ResponseWrongCseq => "response-wrong-cseq",
            Fault::SubscribeNoContact => "subscribe-no-contact",
            Fault::NoSipEtagUnderLoad => "no-sip-etag-under-load",
            Fault::NotifyCseqMethod => "notify-cseq-method",
            Fault::NotifyBranchWithoutCookie => "notify-branch-without-cookie",
            Fault::NotifyViaWithoutBranch => "notify-via-without-branch",
            Fault::NotifyViaWrongProtocol => "notify-via-wrong-protocol",
            Fault::NotifyNoContentType => "notify-no-content-type",
            Fault::ResponseBodyWithoutContentType => "response-body-without-content-type",
            Fault::NotifyNoFromTag => "notify-no-from-tag",
            Fault::BadEventNoAllowEvents => "bad-event-no-allow-events",
            Fault::PnaNoContact => "pna-no-contact",
            Fault::NoRetransmissions => "no-retransmissions",
            Fault::RetransmitPastTimerF => "retransmit-past-timer-f",
            Fault::RetransmitAfterFinal => "retransmit-after-final",
            Fault::NotifyUnsolicited => "notify-unsolicited",
            Fault::ContactNotGruu => "contact-not-gruu",
            Fault::PublishNotApplicableRefused => "publish-not-applicable-refused",
            Fault::UnknownUserPublished => "unknown-user-published",
            Fault::LanguageRefusedWithoutAccept => "language-refused-without-accept",
            Fault::NoTcp => "no-tcp",
            Fault::ResponseToSource => "response-to-source",
            Fault::MaddrIgnored => "maddr-ignored",
            Fault::TcpResponseNewConnection => "tcp-response-new-connection",
            Fault::TryingWithoutTimestamp => "trying-without-timestamp",
            Fault::TcpResponseOnOwnConnectionOnly => "tcp-response-own-connection-only",
            Fault::SipSchemeUnsupported => "sip-scheme-unsupported",
            Fault::ResponseCodingUnasked => "response-coding-unasked",
            Fault::CodingsOutOfOrder => "codings-out-of-order",
            Fault::GlobalRlsServicesOpen => "global-rls-services-open",
            Fault::GlobalRlsServicesStale => "global-rls-services-stale",
            Fault::XcapErrorFieldPrefixed => "xcap-error-field-prefixed",
            Fault::XcapUnknownElementKept => "xcap-unknown-element-kept",
            Fault::XcapInsertBeforeTrailingNodes => "xcap-insert-before-trailing-nodes",
            Fault::PnaAcceptsForks => "pna-accepts-forks",
            Fault::KeepSubscriptionAfterTimeout => "keep-subscription-after-timeout",
            Fault::ExpiryReasonNotTimeout => "expiry-reason-not-timeout",
            Fault::RetransmissionAsNewRequest => "retransmission-as-new-request",
            Fault::RlmiPartialAfterSubscribe => "rlmi-partial-after-subscribe",
            Fault::PidfTupleNoId => "pidf-tuple-no-id",
            Fault::UnknownDialog404 => "unknown-dialog-404",
            Fault::AcceptOutOfOrderCseq => "accept-out-of-order-cseq",
            Fault::NotifyPrivateOptionTag => "notify-private-option-tag",
            Fault::ProvisionalToPublish => "provisional-to-publish",
            Fault::ProvisionalOtherTag => "provisional-other-tag",
            Fault::ProceedingCopiesUnanswered => "proceeding-copies-unanswered",
            Fault::ToTelRejected => "to-tel-rejected",
            Fault::UdpNotifyNoContentLength => "udp-notify-no-content-length",
            Fault::BodyBeforeRequire => "body-before-require",
            Fault::RefuseUnknownHeaderParam => "refuse-unknown-header-param",
            Fault::RlsRefreshFirstOnly => "rls-refresh-first-only",
            Fault::CancelUnansweredNotify => "cancel-unanswered-notify",
            Fault::NoEvent400 => "no-event-400",
            Fault::WinfoUnsupported => "winfo-unsupported",
            Fault::WinfoOpenToAll => "winfo-open-to-all",
            Fault::WinfoFetchEmpty => "winfo-fetch-empty",
            Fault::PnaRegisterNoDate => "pna-register-no-date",
            Fault::RefuseMalformedDate => "refuse-malformed-date",
            Fault::UnsupportedScheme404 => "unsupported-scheme-404",
            Fault::AllowOmitsPublish => "allow-omits-publish",
            Fault::OptionsNoAllowEvents => "options-no-allow-events",
            Fault::AllowOmitsSubscribe => "allow-omits-subscribe",
            Fault::XcapErrorFieldRaw => "xcap-error-field-raw",
            Fault::XcapDeleteTrimsWhitespace => "xcap-delete-trims-whitespace",
            Fault::XcapDropRedundantNamespaces => "xcap-drop-redundant-namespaces",
            Fault::XcapAnyTree => "xcap-any-tree",
            Fault::XcapGetAddsBindings => "xcap-get-adds-bindings",
            Fault::XcapBasicChallenge => "xcap-basic-challenge",
            Fault::PnaVersionNotInitialized => "pna-version-not-initialized",
            Fault::PnaNoRefreshOnGap => "pna-no-refresh-on-gap",
            Fault::PnaRejectsExtensions => "pna-rejects-extensions",
            Fault::PublishResponseTwice => "publish-response-twice",
            Fault::UnknownEncodingAccepted => "unknown-encoding-accepted",
            Fault::NoAcceptEncodingIn415 => "no-accept-encoding-in-415",
            Fault::NotifyContactDialogOnly => "notify-contact-dialog-only",
            Fault::AnswerContactDialogOnly => "answer-contact-dialog-only",
            Fault::NullFromTagRejected => "null-from-tag-rejected",
            Fault::NullTagInvented => "null-tag-invented",
            Fault::KeepFirstRemoteCseq => "keep-first-remote-cseq",
            Fault::RejectCseqGap => "reject-cseq-gap",
            Fault::SubscribeNoRecordRoute => "subscribe-no-record-route",
            Fault::PublishResponseContact => "publish-response-contact",
            Fault::SubscribeResponseEvent => "subscribe-response-event",
            Fault::SubscribeResponseSubscriptionState => "subscribe-response-substate",
            Fault::TerminatedWithoutReason => "terminated-without-reason",
            Fault::TerminatedWithExpires => "terminated-with-expires",
            Fault::AllowEventsNotCommaList => "allow-events-not-comma-list",
            Fault::ToUriUnbracketed => "to-uri-unbracketed",
            Fault::NotifyCseqHigh => "notify-cseq-high",
            Fault::NotifyFromOtherUri => "notify-from-other-uri",
            Fault::ResponseOtherToTag => "response-other-to-tag",
            Fault::NotifyViaOtherTransport => "notify-via-other-transport",
            Fault::NotifyViaNoSentBy => "notify-via-no-sent-by",
            Fault::SipsContactPlain => "sips-contact-plain",
            Fault::TlsNotifyOverTcp => "tls-notify-over-tcp",
            Fault::SipsUriRefused => "sips-uri-refused",
            Fault::IdentityExceptIgnored => "identity-except-ignored",
            Fault::SphereConditionIgnored => "sphere-condition-ignored",
            Fault::OccurrenceSelectorsIgnored => "occurrence-selectors-ignored",
            Fault::AttributesUnfiltered => "attributes-unfiltered",
        }
    }

    /// The requirement the fault breaks, in one line.
    pub fn description(self) -> &'static str {
        match self {
            Fault::NoSipEtag => "2xx to PUBLISH lacks SIP-ETag (RFC 3903 §6 step 6, MUST)",
            Fault::ReuseEtag => "refresh/modify 2xx repeats the old entity-tag instead of a new one (RFC 3903 §6 step 6, MUST)",
            Fault::NoExpiresIn2xx => {
                "2xx to PUBLISH and SUBSCRIBE lacks Expires (RFC 3903 §6 step 6; RFC 6665 §3.1.1, §4.2.1.1, MUST)"
            }
            Fault::SubscriptionStateWithoutExpires => {
                "active NOTIFY's Subscription-State lacks the expires parameter (RFC 6665 §4.2.2, MUST)"
            }
            Fault::NotifyIgnoresRouteSet => {
                "NOTIFY ignores the dialog route set and goes straight to the Contact (RFC 3261 §12.2.1.1, MUST)"
            }
            Fault::WrongPidfNamespace => {
                "composed presence document uses a namespace other than urn:ietf:params:xml:ns:pidf (RFC 3863 §4.1)"
            }
            Fault::NoFinalNotify => {
                "unsubscribe (Expires: 0) gets 200 but no NOTIFY (RFC 6665 §4.2.1.2: a NOTIFY MUST follow an accepted refresh; §4.1.2.3: unsubscribing is a refresh with Expires 0)"
            }
            Fault::AcceptStaleEtag => "unknown or stale SIP-If-Match is accepted with 200 instead of 412 (RFC 3903 §6 step 3, MUST)",
            Fault::StaleNotifyAfterModify => {
                "NOTIFY after a modify carries the previous document instead of the current state (RFC 3856 §6.7, SHOULD)"
            }
            Fault::NoToTag => "responses to PUBLISH lack a To tag (RFC 3261 §8.2.6.2, MUST)",
            Fault::NotifyCseqGap => "NOTIFY CSeq numbers skip one (RFC 3261 §12.2.1.1, MUST: contiguous)",
            Fault::NotifyWrongEventId => "NOTIFY Event id differs from the SUBSCRIBE's (RFC 6665 §3.2.1, §8.2.1, MUST)",
            Fault::NotifyExpiresGrows => "later NOTIFYs lengthen the subscription through expires (RFC 6665 §4.2.2, MUST NOT)",
            Fault::NoSubscriptionState => "NOTIFY without Subscription-State (RFC 6665 §4.2.2, MUST)",
            Fault::MalformedNotify => "NOTIFY with a header line that has no colon (RFC 3261 §7.3, §25)",
            Fault::HostileContent => "SIP-ETag holds script and HTML markup, not a token (RFC 3903 §12); reports must show it as text",
            Fault::KeepSubscriptionAfter481 => {
                "a NOTIFY answered 481 does not remove the subscription (RFC 6665 §4.2.2, MUST)"
            }
            Fault::NotifyChallengeUnanswered => "a NOTIFY answered 401 or 407 with a Digest challenge is not sent again with credentials: the subscription ends as after any failure (RFC 3856 §9.4, MUST: PAs implement HTTP Digest)",
            Fault::NotifyDigestWrongPassword => "a NOTIFY answered 401 or 407 with a Digest challenge comes again with an answer made with another password than the one shared with the watcher (RFC 3856 §9.4, RFC 2617 §3.2.2)",
            Fault::XcapPutNew200 => "PUT creating an XCAP document answers 200, not 201 Created (RFC 4825 §8.2; RFC 9110 §9.3.4)",
            Fault::XcapNoEtag => "XCAP PUT and node DELETE responses lack the ETag of the new document version (RFC 4825 §8.5)",
            Fault::XcapIgnoreIfMatch => "XCAP If-Match that matches no current entity-tag is ignored instead of 412 (RFC 4825 §8.2; RFC 9110 §13.1.1)",
            Fault::XcapGenericContentType => {
                "XCAP GET of a document answers application/xml, not the usage's MIME type (RFC 4825 §8.3)"
            }
            Fault::XcapAcceptDuplicate => {
                "XCAP document breaking a uniqueness constraint is stored instead of 409 uniqueness-failure (RFC 4825 §8.2, RFC 4826)"
            }
            Fault::XcapKeepDeleted => "XCAP DELETE of a document answers 200 but a later GET still finds it (RFC 4825 §8.4)",
            Fault::XcapDeleteNoEtag => "the 200 to an XCAP DELETE of an element lacks the document's ETag (RFC 4825 §8.4, §8.5)",
            Fault::XcapPut200Content => "the 200 to an XCAP PUT that replaces a resource carries content (RFC 4825 §8.2.7, MUST not)",
            Fault::XcapAcceptNotUtf8 => "XCAP PUT bodies that are not UTF-8 are stored (RFC 4825 §8.2.2, MUST: 409)",
            Fault::XcapAcceptManyElements => "an XCAP element PUT of several elements stores the first (RFC 4825 §8.2.2, MUST: 409)",
            Fault::XcapAttributeUnquoted => "an XCAP attribute PUT without quotes is taken as the value (RFC 4825 §8.2.2, MUST: 409 for what is not an AttValue)",
            Fault::XcapBodyErrorsNotWellFormed => "XCAP PUT bodies that are not UTF-8 or not one element get <not-well-formed> (RFC 4825 §8.2.2, SHOULD: <not-utf-8>, <not-xml-frag>)",
            Fault::XcapAttributeGetUnquoted => "an XCAP GET of an attribute answers the value without quotes (RFC 4825 §7.9, informative: an AttValue)",
            Fault::XcapInsertAtEnd => "a new XCAP element goes after every child of its parent (RFC 4825 §8.2.3, MUST: earliest last, earliest nth)",
            Fault::AcceptForeignSentBy => "a response whose top Via sent-by is not the server's is taken (RFC 3261 §18.1.2, MUST: discarded)",
            Fault::AcceptShortResponse => "a response over UDP whose Content-Length exceeds its body is taken (RFC 3261 §18.3, MUST: discarded)",
            Fault::ShortRequestIgnored => "a request datagram that ends before the body its Content-Length announces is dropped without an answer (RFC 3261 §18.3, SHOULD: a 400)",
            Fault::XcapUnknownExtension400 => "an XCAP node selector step the server does not understand gets 400 (RFC 4825 §8, MUST: 404)",
            Fault::XcapRejectOtherXpointer => "an XCAP query with a pointer part other than xmlns() gets 400 (RFC 4825 §6.4, MUST ignore it)",
            Fault::XcapSplitAtLastTilde => "an XCAP URI is split at its last ~~ (RFC 4825 §8, MUST: the first)",
            Fault::ProvisionalResetsTimerE => "a provisional response to a NOTIFY restarts timer E at T2 (RFC 3261 §17.1.2.2, MUST: timer E fires as due, then is reset to T2)",
            Fault::StrictAsLoose => "a NOTIFY to a strict router (a route set whose first entry lacks lr) is loose-routed (RFC 3261 §12.2.1.1, MUST)",
            Fault::KeepOldTarget => "a refresh SUBSCRIBE's Contact does not replace the remote target (RFC 3261 §12.2.2, MUST)",
            Fault::Invite501 => "an INVITE gets 501 (RFC 3261 §8.2.1, MUST: 405 for a method recognized but not supported)",
            Fault::NoAllowIn405 => "the 405 to an INVITE carries no Allow (RFC 3261 §8.2.1, MUST)",
            Fault::RouteWithoutRouteSet => "a NOTIFY of a dialog with an empty route set carries a Route header (RFC 3261 §12.2.1.1, MUST NOT)",
            Fault::CancelUnanswered => "a CANCEL gets no response (RFC 6665 §4.6, MUST respond)",
            Fault::CancelEndsSubscription => "a CANCEL of an answered SUBSCRIBE ends the subscription (RFC 6665 §4.6, MUST NOT affect its processing)",
            Fault::NoReceived => "a top Via whose sent-by is a domain name gets no received parameter (RFC 3261 §18.2.1, MUST)",
            Fault::XcapErrorNoContentType => "XCAP 409 error reports carry no Content-Type (RFC 7231 §3.1.1.5, SHOULD; RFC 4825 §11 names application/xcap-error+xml)",
            Fault::XcapUnknownAuid403 => "an XCAP request for an application usage the server does not know is answered 403 instead of 404 (RFC 4825 §8, MUST)",
            Fault::XcapOtherMethod501 => "an XCAP request of a method other than GET, PUT and DELETE (a POST) is answered 501 instead of 405 (RFC 4825 §8.1, SHOULD)",
            Fault::Xcap405NoAllow => "an XCAP 405 response carries no Allow header (RFC 7231 §6.5.5, MUST)",
            Fault::XcapNoCaps => "the XCAP server has no capabilities document: GET of xcap-caps/global/index answers 404 (RFC 4825 §12, MUST)",
            Fault::XcapCapsWithoutItself => "the XCAP capabilities document lists neither the xcap-caps AUID nor its namespace (RFC 4825 §12, MUST)",
            Fault::XcapCapsWithoutPresRules => "the XCAP capabilities document leaves out urn:ietf:params:xml:ns:pres-rules, the namespace of the permissions the server supports (RFC 5025 §8, SHOULD)",
            Fault::XcapCapsInUserTree => "the XCAP capabilities document is also found in each user's tree (RFC 4825 §12.7, MUST NOT)",
            Fault::XcapNamespaceWrite400 => "an XCAP PUT or DELETE whose node selector ends in a namespace selector is answered 400 instead of 405 (RFC 4825 §8.2, §8.4, MUST)",
            Fault::XcapNamespaceAllowWithoutGet => "the XCAP 405 to a PUT or DELETE of a namespace selector lists PUT and DELETE in Allow, not GET (RFC 4825 §8.2, §8.4, MUST)",
            Fault::XcapUnboundPrefix404 => "an XCAP node selector that cannot be read, such as one with a prefix no xmlns() binds, is answered 404 instead of 400 (RFC 4825 §8, MUST)",
            Fault::XcapAttributeGenericContentType => "an XCAP GET of an attribute answers Content-Type application/xml, not application/xcap-att+xml (RFC 4825 §8.3, MUST)",
            Fault::XcapNoParent404 => "an XCAP element PUT whose parent (the document or the element) does not exist is answered 404 instead of 409 (RFC 4825 §8.2.1, MUST)",
            Fault::XcapNoTls => "the XCAP server's TLS port speaks plain HTTP, so no HTTP over TLS is served (RFC 4825 §8, MUST implement HTTP over TLS, RFC 2818)",
            Fault::XcapUnknownUserServed => "XCAP requests in the home directory of a user the server has not provisioned are served as any other user's, not refused with 404 (RFC 4825 §8, MUST)",
            Fault::XcapCreatesSubdirectories => "an XCAP document PUT into a sub-directory that does not exist creates the directory and the document, so a document and a directory may share a name (RFC 4825 §8.2.1 and §6.2, MUST)",
            Fault::Xcap409WithoutReport => "XCAP 409 responses carry no detailed conflict report (RFC 4825 §8.2.1, §8.2.3, §8.4, SHOULD)",
            Fault::XcapInsertUnselected => "an XCAP element PUT whose URI would not select the new element is performed instead of refused with 409 (RFC 4825 §8.2.3, MUST NOT)",
            Fault::XcapAttributeAnyContentType => "an XCAP attribute PUT is taken whatever its Content-Type, instead of 415 for one other than application/xcap-att+xml (RFC 4825 §8.2.2, MUST)",
            Fault::XcapDeleteNotIdempotent => "an XCAP DELETE after which the URI selects another element is performed instead of refused with 409 (RFC 4825 §8.4, MUST NOT)",
            Fault::XcapCacheable => "XCAP 200 responses to GET carry no Cache-Control no-cache directive (RFC 4825 §9, SHOULD)",
            Fault::PartialNotWaiting => {
                "the next partial NOTIFY of a subscription goes out before the watcher answered the previous one (RFC 5263 §4.4, MUST NOT)"
            }
            Fault::AcceptDiffInitial => {
                "an initial PUBLISH whose body is a <pidf-diff> is accepted as an empty publication (RFC 5264 §4.3.2: MUST be rejected)"
            }
            Fault::IgnoreDiff => {
                "a modifying PUBLISH carrying a <pidf-diff> gets 200, but its operations are not applied (RFC 5264 §4.3.2: MUST apply them)"
            }
            Fault::AcceptBadDiff => {
                "a <pidf-diff> whose operations cannot be applied gets 200 with nothing changed (RFC 5264 §4.3.2: 400, MUST)"
            }
            Fault::PartialNoFullAfterSubscribe => {
                "the NOTIFY after a refresh SUBSCRIBE of a partial-notification subscription carries a <pidf-diff>, not the full document (RFC 5263 §4.4, SHOULD)"
            }
            Fault::PartialVersionSkip => {
                "each partial NOTIFY after the first raises the pidf-diff version by two, not one (RFC 5263 §4.4, MUST)"
            }
            Fault::PartialDiffFirst => {
                "the first NOTIFY of a partial-notification subscription carries an empty <pidf-diff>, not full state in <pidf-full> (RFC 5263 §4.4, MUST)"
            }
            Fault::PartialStaleDiff => {
                "every <pidf-diff> after the first NOTIFY is empty, so the watcher's copy no longer matches the presentity's state (RFC 5263 §4.4, RFC 5262 §3)"
            }
            Fault::AllowEventsIncomplete => {
                "the Allow-Events of the 489 to SUBSCRIBE lists presence only, though the server also notifies presence.winfo (RFC 6665 §4.4.4: a comprehensive list, MUST)"
            }
            Fault::XcapSchemaUnchecked => {
                "a resource-lists document with an <entry> lacking its required uri attribute is stored, not refused with 409 (RFC 4825 §8.2.5, MUST)"
            }
            Fault::XcapDeleteUnchecked => {
                "a DELETE of an <entry>'s required uri attribute is performed, leaving the document invalid (RFC 4825 §8.4: the deletion MUST NOT take place)"
            }
            Fault::XcapReplaceUnselected => {
                "an element or attribute PUT that replaces the node so that its URI no longer selects it is performed (RFC 4825 §8.2.4: 409, MUST)"
            }
            Fault::XcapFirstOfMany => {
                "a GET whose node selector step selects several elements returns the first of them (RFC 4825 §6.3: each step MUST select a single element)"
            }
            Fault::UdpTrailingBytesKept => {
                "bytes of a UDP datagram beyond the body that Content-Length gives are taken as part of the body (RFC 3261 §18.3: discarded, MUST)"
            }
            Fault::UdpSmallBuffer => {
                "UDP datagrams are read into an 8 KiB buffer, so a larger request is cut short and dropped (RFC 3261 §18.1.1: handle messages up to the maximum datagram size, MUST)"
            }
            Fault::SubscribeContactNotSip => {
                "the 2xx to SUBSCRIBE carries a Contact whose URI is http, not SIP or SIPS (RFC 3261 §12.1.1, MUST)"
            }
            Fault::IgnoreRequire => {
                "a request whose Require names an option tag the server does not understand is processed as if it had none (RFC 3261 §8.2.2.3, §20.32: 420, MUST)"
            }
            Fault::BadExtensionWithoutUnsupported => {
                "the 420 (Bad Extension) carries no Unsupported header field (RFC 3261 §8.2.2.3, MUST)"
            }
            Fault::RefuseUnknownHeader => {
                "a request carrying a header field the server does not understand (X-Unknown-Field) gets 400 instead of being processed (RFC 3261 §8.2.2, MUST ignore)"
            }
            Fault::NotifyBranchReused => {
                "every NOTIFY of a subscription carries the same top Via branch, so a new NOTIFY looks like a retransmission of the last (RFC 3261 §8.1.1.7: unique across space and time, MUST)"
            }
            Fault::RlsFinalNotifyWithoutRlmi => {
                "the terminated NOTIFY that ends a list subscription carries no body, after NOTIFYs with RLMI (RFC 4662 §4.5, MUST NOT)"
            }
            Fault::NotifyDropsEventId => {
                "NOTIFYs of a subscription made with an Event id leave the id out (RFC 6665 §4.5.2, MUST)"
            }
            Fault::WinfoWatcherIdNotToken => {
                "each watcher id in a watcherinfo document holds a '/', which the RFC 3261 token grammar excludes (RFC 3858 §3, MUST)"
            }
            Fault::WinfoWatcherIdShared => {
                "every watcher of a watcherinfo subscription gets the id w, so two watchers share it (RFC 3858 §3: unique across the subscription's watchers, MUST)"
            }
            Fault::PublishEchoesRecordRoute => {
                "the 200 to a PUBLISH carrying Record-Route copies it (RFC 3903 §4, §6: ignored in PUBLISH, never in a response)"
            }
            Fault::PublishRequiresExpires => {
                "a PUBLISH without Expires is refused with 400 instead of getting the default lifetime (RFC 3903 §6 step 4, MUST)"
            }
            Fault::EtagPerPresentity => {
                "each publication of a presentity, and each new one, gets the same entity-tag (RFC 3903 §6: unique among current tags and different from earlier ones, MUST)"
            }
            Fault::NonAtomicPublish => {
                "a modifying PUBLISH refused for its body (415, 400) still removes the publication it names (RFC 3903 §6: processed completely or not at all, MUST)"
            }
            Fault::XcapDuplicateListNames => {
                "a resource-lists document whose sibling <list> elements share a name is stored, not refused with 409 (RFC 4826 §3.4.5, MUST)"
            }
            Fault::XcapDuplicateEntryRefs => {
                "a resource-lists document whose sibling <entry-ref> elements share a ref is stored, not refused with 409 (RFC 4826 §3.4.5, MUST)"
            }
            Fault::XcapAbsoluteEntryRef => {
                "a resource-lists document whose <entry-ref> ref is an absolute URI is stored, not refused with 409 (RFC 4826 §3.4.5, MUST)"
            }
            Fault::XcapDuplicateExternals => {
                "a resource-lists document whose sibling <external> elements share an anchor is stored, not refused with 409 (RFC 4826 §3.4.5, MUST)"
            }
            Fault::XcapRelativeExternal => {
                "a resource-lists document whose <external> anchor is not an absolute HTTP URI is stored, not refused with 409 (RFC 4826 §3.4.5, MUST)"
            }
            Fault::XcapServiceUriPerDocument => {
                "an rls-services document whose <service> URI another user's document already uses is stored, not refused with 409 (RFC 4826 §4.4.5, MUST)"
            }
            Fault::XcapServiceUriExistingUser => {
                "an rls-services document whose <service> URI is the address of an existing user is stored, not refused with 409 (RFC 4826 §4.4.5, MUST NOT)"
            }
            Fault::XcapNoAltValue => {
                "the 409 refusing a taken <service> URI suggests no <alt-value> (RFC 4826 §4.4.5, MUST; RFC 4825 §11)"
            }
            Fault::XcapRelativeResourceList => {
                "an rls-services document whose <resource-list> URI is relative is stored, not refused with 409 (RFC 4826 §4.4.5, MUST)"
            }
            Fault::XcapResourceListOtherAuid => {
                "an rls-services document whose <resource-list> URI points into another application usage than resource-lists is stored, not refused with 409 (RFC 4826 §4.4.5, MUST)"
            }
            Fault::XcapResourceListOtherUser => {
                "a user's rls-services document whose <resource-list> URI points into another user's tree is stored, not refused with 409 (RFC 4826 §4.4.5, MUST)"
            }
            Fault::XcapServiceListUnchecked => {
                "an rls-services document whose inline <list> holds two entries of one URI is stored, not refused with 409 (RFC 4826 §4.4.5 with §3.4.5, MUST)"
            }
            Fault::XcapRefuseForeignNamespace => "an XCAP document holding an element from a namespace other than its usage's, even where the schema admits other namespaces, is refused with 409 schema-validation-error (RFC 4825 §5.8, §8.2.5, MUST allow)",
            Fault::IgnorePresRules => {
                "pres-rules are ignored and every watcher is accepted (RFC 3856 §6.6.2, MUST NOT accept without the presentity's authorization)"
            }
            Fault::UntrustedSubscribeAccepted => "a SUBSCRIBE from an address outside the server's trust domain, with no credentials, is accepted as from the watcher its From names (RFC 3856 §6.6.1, MUST authenticate all subscription requests)",
            Fault::RlsBackendShared => "the RLS shows every list subscriber a member as the member's pres-rules let the first subscriber that had it see it: one back-end result presented to several users (RFC 4662 §7.2, MUST NOT)",
            Fault::RlsNestedLoop => "lists that contain each other are served by back-end subscriptions with no loop safeguard: each answered NOTIFY brings the loop round again and another full-state NOTIFY follows, without end (RFC 4662 §7.4, MUST)",
            Fault::IgnoreTransformations => {
                "the pres-rules transformations are not applied: an allowed watcher sees the whole document (RFC 5025 §3.3)"
            }
            Fault::PoliteBlockReveals => {
                "a politely blocked watcher's NOTIFY carries the real presence document (RFC 3856 §6.6.2, SHOULD NOT reveal the block)"
            }
            Fault::WinfoVersionStuck => {
                "every watcherinfo NOTIFY has version 0 (RFC 6665 §5.3.2, MUST increase by exactly one)"
            }
            Fault::WinfoNoPackage => "watcherinfo watcher-list lacks the package attribute (RFC 3858 §3, MUST)",
            Fault::WinfoWatcherNoId => "watcherinfo watcher elements lack the id attribute (RFC 3858 §3, MUST)",
            Fault::RlmiVersionFromOne => {
                "the first RLMI document of a list subscription has version 1, not 0 (RFC 4662 §5.2, MUST)"
            }
            Fault::RlsNoRequire => {
                "2xx to a list SUBSCRIBE lacks Require: eventlist (RFC 4662 §4.1; RFC 3261 §8.2.4, MUST)"
            }
            Fault::RlsNotifyNoRequire => {
                "NOTIFYs of a list subscription lack Require: eventlist (RFC 4662 §4.1; RFC 3261 §8.1.1.9, MUST)"
            }
            Fault::RlsNotifySupportedEventlist => {
                "NOTIFYs of a list subscription carry Supported: eventlist (RFC 4662 §4.1, SHOULD NOT outside SUBSCRIBE)"
            }
            Fault::RlmiBadLanguageTag => {
                "the RLMI list carries a <name> whose xml:lang (en_GB) is not a language tag (RFC 4662 §5.4, MUST)"
            }
            Fault::WinfoGenericContentType => {
                "watcherinfo NOTIFYs are sent as application/xml, not application/watcherinfo+xml (RFC 3857 §4.5, MUST)"
            }
            Fault::RlmiTerminatedWithoutReason => {
                "a terminated RLMI instance (a list member whose pres-rules block the watcher) carries no reason (RFC 4662 §5.5, MUST)"
            }
            Fault::RlmiDanglingCid => {
                "RLMI instance cid names no body part of the NOTIFY (RFC 4662 §5.5, MUST)"
            }
            Fault::RlsPidfRoot => {
                "multipart/related start names the PIDF part, not the RLMI root (RFC 4662 §5.1; RFC 2387 §3.2)"
            }
            Fault::PnaWrongAccept => {
                "the PNA's reg SUBSCRIBE has an Accept without application/reginfo+xml (RFC 3680 §4.5: if present, it MUST include it)"
            }
            Fault::PnaRejectsNotify => {
                "the PNA answers reg NOTIFYs of its subscription with 500 instead of 200 (RFC 6665 §4.1.3, SHOULD)"
            }
            Fault::PnaNoSubscribe => {
                "the PNA accepts the third-party REGISTER but never subscribes to the reg event (TS 24.141 A.7 step 26)"
            }
            Fault::PnaRegisterNoContact => {
                "the PNA's 200 to a REGISTER lists no Contact binding (RFC 3261 §10.3, MUST)"
            }
            Fault::NotifyNoMaxForwards => "NOTIFY without Max-Forwards (RFC 3261 §8.1.1, MUST)",
            Fault::NotifyNoContact => "NOTIFY without Contact (RFC 3261 §8.1.1.8, MUST for a subscription's first NOTIFY, which creates the dialog, RFC 6665 §4.4.1; §12.2.1.1, SHOULD for later ones: NOTIFY is a target refresh request, RFC 6665 §3.2)",
            Fault::NotifyUnacceptedType => "NOTIFY body labelled application/xml, a type the SUBSCRIBE's Accept did not list (RFC 6665 §3.2.1; RFC 3856 §6.7, MUST)",
            Fault::ResponseWrongCseq => "responses to PUBLISH carry a CSeq number one higher than the request's (RFC 3261 §8.2.6.2, MUST)",
            Fault::SubscribeNoContact => "2xx to SUBSCRIBE lacks Contact (RFC 3261 §12.1.1, MUST for a response that creates a dialog)",
            Fault::NoSipEtagUnderLoad => "2xx to PUBLISH lacks SIP-ETag while more than 50 PUBLISH arrived in the last second; holds when idle (RFC 3903 §6 step 6, MUST)",
            Fault::NotifyCseqMethod => "NOTIFY's CSeq names the method SUBSCRIBE (RFC 3261 §8.1.1.5, MUST match the request's)",
            Fault::NotifyBranchWithoutCookie => "NOTIFY's Via branch lacks the z9hG4bK magic cookie (RFC 3261 §8.1.1.7, MUST)",
            Fault::NotifyViaWithoutBranch => "NOTIFY's Via has no branch parameter (RFC 3261 §8.1.1.7, MUST)",
            Fault::NotifyViaWrongProtocol => "NOTIFY's Via says SIP/3.0, not SIP/2.0 (RFC 3261 §8.1.1.7, MUST)",
            Fault::NotifyNoContentType => "NOTIFY with a body but no Content-Type (RFC 3261 §20.15, MUST)",
            Fault::ResponseBodyWithoutContentType => {
                "a 2xx to PUBLISH with a body but no Content-Type (RFC 3261 §20.15, MUST)"
            }
            Fault::NotifyNoFromTag => "NOTIFY's From carries no tag (RFC 3261 §8.1.1.3, MUST)",
            Fault::BadEventNoAllowEvents => "489 to PUBLISH or SUBSCRIBE lacks Allow-Events (RFC 3903 §11.1.1 table, MUST; RFC 6665 §4.4.4, SHOULD)",
            Fault::PnaNoContact => "the PNA's initial reg SUBSCRIBE lacks Contact (RFC 3261 §8.1.1.8, MUST)",
            Fault::NoRetransmissions => "a NOTIFY (any client request) over UDP is never retransmitted (RFC 3261 §17.1.2.2, MUST set timer E)",
            Fault::RetransmitPastTimerF => "retransmissions go on for 2*T2 past timer F (RFC 3261 §17.1.2.2, SHOULD set timer F to 64*T1)",
            Fault::RetransmitAfterFinal => "a NOTIFY (any client request) over UDP is retransmitted on after its final response came, as if the response were lost (RFC 3261 §17.1.2.2, MUST enter Completed)",
            Fault::NotifyUnsolicited => "the first NOTIFY of each subscription goes out a second time with a Call-ID no SUBSCRIBE had: a subscription created without a SUBSCRIBE (RFC 6665 §4.2.1, MUST NOT)",
            Fault::ContactNotGruu => "the Contact of NOTIFYs and of 2xx responses to SUBSCRIBE has no gr URI parameter, so it is no GRUU (RFC 6665 §4.5.1, MUST use a GRUU as the local target)",
            Fault::PublishNotApplicableRefused => "a PUBLISH carrying In-Reply-To, which RFC 3903's table marks not applicable to PUBLISH, gets 400 (RFC 3261 §20, MUST ignore it)",
            Fault::UnknownUserPublished => "a PUBLISH to a user the server has not provisioned is taken (200) as any other, not refused with 404 (RFC 3903 §6 step 1, MUST)",
            Fault::LanguageRefusedWithoutAccept => "a PUBLISH body in a language other than en gets 415 without Accept-Language (RFC 3261 §8.2.3, MUST list the languages understood)",
            Fault::NoTcp => "every TCP connection is closed at once, so the server takes SIP over UDP only (RFC 3261 §18, MUST implement UDP and TCP; §18.2.1, MUST listen for TCP where it listens for UDP)",
            Fault::ResponseToSource => "a response over UDP goes to the source port of the request, not to the port its top Via's sent-by names (RFC 3261 §18.2.2, MUST send to the received address and the sent-by port)",
            Fault::MaddrIgnored => "a response over UDP goes to the source address and sent-by port even when the top Via carries maddr (RFC 3261 §18.2.2, MUST: to the address maddr lists)",
            Fault::TcpResponseNewConnection => "the responses to a request that came over TCP go on a new connection to the source address and the top Via's sent-by port, though the request's connection is open (RFC 3261 §18.2.2, MUST: the existing connection)",
            Fault::TryingWithoutTimestamp => "a PUBLISH gets a 100 (Trying) first, which leaves out the request's Timestamp (RFC 3261 §8.2.6.1, MUST copy it)",
            Fault::TcpResponseOnOwnConnectionOnly => "a response over TCP that arrives on a connection the peer opened (to the sent-by port) is dropped: only the connection the request went out on is read for responses (RFC 3261 §18.1.1, MUST be prepared to receive it)",
            Fault::SipSchemeUnsupported => "an OPTIONS to a sip: Request-URI gets 416, as if the SIP URI scheme were unsupported (RFC 3261 §8.1.1.2, MUST support it)",
            Fault::ResponseCodingUnasked => "the 200 to OPTIONS carries a text body compressed with gzip, whatever the request's Accept-Encoding listed (RFC 3261 §20.12, MUST only use codings the request's Accept-Encoding lists)",
            Fault::CodingsOutOfOrder => "the 200 to an OPTIONS whose Accept-Encoding lists gzip and deflate carries a body compressed with gzip, then deflate, but lists them as deflate, gzip (RFC 3261 §20.12, MUST list codings in the order applied)",
            Fault::GlobalRlsServicesOpen => "rls-services/global/index, the union of every user's services, is served to an ordinary user's XCAP client (RFC 4826 §4.4.9, MUST restrict it to trusted elements)",
            Fault::GlobalRlsServicesStale => "rls-services/global/index is formed when first read and then served as it was, whatever the users' documents became (RFC 4826 §4.4.8, MUST reflect their most recent state)",
            Fault::XcapErrorFieldPrefixed => "a <uniqueness-failure>'s <exists field> writes its steps with an rl: prefix and no xmlns() query to bind it (RFC 4825 §11.1, MUST have the query when the selector has prefixes)",
            Fault::XcapUnknownElementKept => "an element the server has no schema for, in a namespace its xcap-caps advertises (rls-services), is stored at an extension point of another usage's document (RFC 4825 §8.2.5, MUST reject with 409)",
            Fault::XcapInsertBeforeTrailingNodes => "an element PUT into a parent where no sibling has its name goes right after the parent's last element, before the comments and text after it (RFC 4825 §8.2.3, MUST put them before the new element)",
            Fault::PnaAcceptsForks => "the PNA answers 200 to a reg NOTIFY whose From tag is not its dialog's, as if a forked SUBSCRIBE could make a second dialog (RFC 3680 §4.9, MUST NOT create multiple dialogs)",
            Fault::KeepSubscriptionAfterTimeout => "a NOTIFY that times out (timer F) leaves the subscription in place (RFC 6665 §4.2.2, SHOULD remove it)",
            Fault::ExpiryReasonNotTimeout => "the NOTIFY that ends an expired subscription says reason=noresource (RFC 6665 §4.2.1.4, SHOULD say timeout)",
            Fault::RetransmissionAsNewRequest => "a retransmitted PUBLISH or SUBSCRIBE is handled as a new request, not answered with the final response again (RFC 3261 §17.2.2, MUST)",
            Fault::RlmiPartialAfterSubscribe => "the RLMI document of the NOTIFY after a refresh or unsubscribe says fullState=false (RFC 4662 §5.2, MUST: full state after every SUBSCRIBE)",
            Fault::PidfTupleNoId => "the tuples of a composed presence document carry no id attribute (RFC 3863 §4.1.2, MUST)",
            Fault::UnknownDialog404 => "a SUBSCRIBE inside a dialog the server does not know is rejected with 404 instead of 481 (RFC 3261 §12.2.2, MUST)",
            Fault::SubscribeNoRecordRoute => "the 2xx to SUBSCRIBE leaves out the request's Record-Route values (RFC 3261 §12.1.1, MUST copy them in order)",
            Fault::PublishResponseContact => "the 2xx to PUBLISH carries a Contact, which RFC 3903's table marks not applicable there (RFC 3903 §11.1.1 with RFC 3261 §20: the UAS MUST NOT place it)",
            Fault::SubscribeResponseEvent => "the 2xx to SUBSCRIBE carries the request's Event header field (RFC 6665 §8.2.1: it MUST NOT appear in responses)",
            Fault::SubscribeResponseSubscriptionState => "the 2xx to SUBSCRIBE carries a Subscription-State (RFC 6665 §8.2.3: it MUST NOT appear in requests other than NOTIFY or in responses)",
            Fault::TerminatedWithoutReason => "a NOTIFY that ends a subscription says Subscription-State: terminated with no reason (RFC 6665 §4.2.2, SHOULD include one)",
            Fault::TerminatedWithExpires => "a NOTIFY that ends a subscription gives terminated an expires parameter (RFC 6665 §4.1.3, SHOULD NOT)",
            Fault::AllowEventsNotCommaList => "the 489 to SUBSCRIBE says Allow-Events: presence presence.winfo, not a comma list of event types (RFC 6665 §8.4 grammar)",
            Fault::NotifyCseqHigh => "a subscription's first NOTIFY takes CSeq 2**31 + 1 (RFC 3261 §12.2.1.1 with §8.1.1.5: the initial local sequence number MUST be less than 2**31)",
            Fault::NotifyFromOtherUri => "NOTIFYs come From a URI other than the SUBSCRIBE's To (RFC 3261 §12.1.1, §12.2.1.1: the From URI MUST be the dialog's local URI, the SUBSCRIBE's To)",
            Fault::ResponseOtherToTag => "the response to a SUBSCRIBE inside a dialog carries a To tag other than the request's (RFC 3261 §8.2.6.2: the To MUST equal the request's)",
            Fault::NotifyViaOtherTransport => "NOTIFYs name TCP in their top Via when sent over UDP, and UDP when over TCP (RFC 3261 §18.1.1: the top Via MUST name the transport used)",
            Fault::NotifyViaNoSentBy => "NOTIFYs carry a top Via with no sent-by (RFC 3261 §18.1.1: the client transport MUST insert one)",
            Fault::ToUriUnbracketed => "responses to PUBLISH give To as an addr-spec holding a question mark, outside angle brackets (RFC 3261 §20: a Contact, From or To URI with a comma, question mark or semicolon MUST be enclosed)",
            Fault::AcceptOutOfOrderCseq => "a SUBSCRIBE inside a dialog with a CSeq below the last one is accepted instead of rejected with 500 (RFC 3261 §12.2.2, MUST)",
            Fault::NotifyPrivateOptionTag => "NOTIFYs carry Supported: x-reference-private, an option tag no standards-track RFC defines (RFC 3261 §8.1.1.9, §20.37: option tags MUST only refer to standards-track extensions)",
            Fault::ProvisionalToPublish => "a PUBLISH gets a 100 Trying before its final response (RFC 3261 §8.2.6.1: a UAS SHOULD NOT issue a provisional response for a non-INVITE request)",
            Fault::ProvisionalOtherTag => "a PUBLISH gets a 183 before its final response, whose To tag differs from the final's (RFC 3261 §8.2.6.2: the same tag MUST be used for all responses to a request)",
            Fault::ProceedingCopiesUnanswered => "a PUBLISH gets a 100 (Trying) at once and its final response T2 later, and copies of the request meanwhile get nothing (RFC 3261 §17.2.2, MUST: in Proceeding the most recent provisional response is sent again for each copy)",
            Fault::ToTelRejected => "a SUBSCRIBE whose To is a tel: URI gets 403, though its Request-URI names a presentity (RFC 3261 §8.2.2.1: it is RECOMMENDED that a UAS accept it)",
            Fault::UdpNotifyNoContentLength => "NOTIFYs sent over UDP carry no Content-Length (RFC 3261 §20.14: applications SHOULD use it whatever the transport)",
            Fault::BodyBeforeRequire => "a PUBLISH with both an unknown Require and a text/plain body gets 415: the body is looked at before the header fields (RFC 3261 §8.2: the steps SHOULD be taken in order, header fields first)",
            Fault::RefuseUnknownHeaderParam => "a request whose From carries the unknown parameter x-unknown gets 400 (RFC 3261 §20: a UA SHOULD ignore extension header parameters it does not understand)",
            Fault::RlsRefreshFirstOnly => "the NOTIFY after a list refresh shows only the list's first member (RFC 4662 §4.5: the RLS SHOULD include state for all resources of the list it has state for)",
            Fault::CancelUnansweredNotify => "a NOTIFY still unanswered when it is first retransmitted is also CANCELled (RFC 6665 §4.6: UACs SHOULD NOT send CANCEL requests for SUBSCRIBE or NOTIFY transactions)",
            Fault::NoEvent400 => "a SUBSCRIBE without an Event header field gets 400 (RFC 6665 §4.2.3: a notifier without PINT SHOULD return 489)",
            Fault::WinfoUnsupported => "a presence.winfo SUBSCRIBE gets 489 Bad Event: the server does not offer watcher information (RFC 3856 §6.11.1: all state agents SHOULD support the watcherinfo template-package)",
            Fault::WinfoOpenToAll => "any user's presence.winfo subscription to a presentity is approved and shown its watchers (RFC 3857 §4.6: watcherinfo subscriptions SHOULD be authenticated and authorized before approval)",
            Fault::WinfoFetchEmpty => "the NOTIFY of a presence.winfo fetch (Expires 0) lists no watcher (RFC 3857 §4.7.2: it SHOULD carry the full state of all watchers)",
            Fault::PnaRegisterNoDate => "the PNA's 200 to a third-party REGISTER carries no Date (RFC 3261 §10.3 step 8: it SHOULD)",
            Fault::RefuseMalformedDate => "a request whose Date header field is not a date gets 400 (RFC 3261 §8.2.2: a UAS SHOULD ignore a malformed header field it does not need)",
            Fault::UnsupportedScheme404 => "a request whose Request-URI is of a scheme other than sip or sips (mailto:) gets 404 (RFC 3261 §8.2.2.1: it SHOULD get 416)",
            Fault::AllowOmitsPublish => "the Allow of the server's responses (to OPTIONS, INVITE) leaves PUBLISH out (RFC 3903 §7: the ESC SHOULD list PUBLISH in the Allow of its answer to OPTIONS)",
            Fault::OptionsNoAllowEvents => "the 200 to OPTIONS carries no Allow-Events (RFC 3903 §7: the ESC SHOULD list its event packages there)",
            Fault::AllowOmitsSubscribe => "the Allow of the server's responses (to OPTIONS, INVITE) leaves SUBSCRIBE out though it takes SUBSCRIBE (RFC 3261 §20.5: every method understood MUST be listed)",
            Fault::XcapErrorFieldRaw => "the field attribute of an XCAP <uniqueness-failure> gives its node selector with raw brackets and quotes (RFC 4825 §11.1: it MUST be percent-encoded)",
            Fault::XcapDeleteTrimsWhitespace => "deleting an element by XCAP also removes the whitespace before it (RFC 4825 §8.4: MUST preserve surrounding whitespace)",
            Fault::XcapDropRedundantNamespaces => "an element inserted by XCAP loses the namespace declarations its parent already makes (RFC 4825 §8.2.3: MUST NOT remove redundant namespace declarations)",
            Fault::XcapAnyTree => "an XCAP URI whose segment after the AUID is neither global nor users is read as users, and the document stored (RFC 4825 §6.2: the segment MUST be global or users)",
            Fault::XcapGetAddsBindings => "an XCAP GET of an element declares on it the namespace bindings its ancestors declare (RFC 4825 §8.3: MUST NOT add them)",
            Fault::XcapBasicChallenge => "the XCAP server answers every request without credentials 401 with a Basic challenge, over plain HTTP (RFC 4825 §14: MUST NOT perform basic authentication without TLS)",
            Fault::PnaVersionNotInitialized => "the PNA's first reg document leaves its local version unset, so a later document of a lower version is applied, not discarded (RFC 3680 §5.2: the version MUST be initialized from the first document)",
            Fault::PnaNoRefreshOnGap => "the PNA sends no refresh SUBSCRIBE when a reg document's version is more than one above its own (RFC 3680 §5.2, SHOULD)",
            Fault::PnaRejectsExtensions => "the PNA answers 400 to a reg NOTIFY whose reginfo carries an element or attribute of an unknown namespace (RFC 3680 §5.1: they MUST be ignored)",
            Fault::PublishResponseTwice => "every response to PUBLISH is sent twice, the second time with no copy of the request to prompt it (RFC 3261 §8.2.7: a stateless UAS MUST NOT retransmit responses; §17.2.2: a stateful one sends its final response again only for a retransmission of the request)",
            Fault::UnknownEncodingAccepted => "a PUBLISH whose body has Content-Encoding: x-unknown is taken as if the body were plain (RFC 3261 §8.2.3: a body whose encoding is not understood MUST get 415)",
            Fault::NoAcceptEncodingIn415 => "the 415 to a body of an unknown content coding carries no Accept-Encoding (RFC 3261 §8.2.3, MUST list the encodings understood)",
            Fault::NotifyContactDialogOnly => "NOTIFYs carry a Contact URI that an OPTIONS outside any dialog finds unknown (404) (RFC 3261 §8.1.1.8: the URI MUST be valid outside of any dialogs)",
            Fault::AnswerContactDialogOnly => "the 2xx to SUBSCRIBE carries a Contact URI that an OPTIONS outside any dialog finds unknown (404) (RFC 3261 §12.1.1: the URI SHOULD have global scope)",
            Fault::NullFromTagRejected => "a SUBSCRIBE whose From carries no tag is rejected with 400 (RFC 3261 §12.1.1: a UAS MUST be prepared to receive a request without a tag in the From field)",
            Fault::NullTagInvented => "when the SUBSCRIBE's From carried no tag, the NOTIFYs' To carries tag=null (RFC 3261 §12.2.1.1: a null tag MUST be omitted)",
            Fault::KeepFirstRemoteCseq => "the remote sequence number of a subscription dialog stays the initial SUBSCRIBE's, so a refresh numbered between it and the last refresh's is accepted (RFC 3261 §12.2.2: the UAS MUST set the remote sequence number to each request's)",
            Fault::RejectCseqGap => "a SUBSCRIBE inside a dialog whose CSeq is more than one above the last is rejected with 500 (RFC 3261 §12.2.2: a UAS SHOULD be prepared to process it)",
            Fault::SipsContactPlain => "over TLS the Contact of the 2xx to SUBSCRIBE, of NOTIFYs and of the PNA's SUBSCRIBE is a sip: URI (RFC 3261 §12.1.1: when the Request-URI was a SIPS URI the Contact in the response MUST be a SIPS URI; §12.2.1.1 in a secure dialog; §8.1.1.8 for a request outside a dialog to a SIPS URI)",
            Fault::TlsNotifyOverTcp => "NOTIFYs of a subscription made over TLS to a sips: Contact go over plain TCP (RFC 3856 §9.2: a PA MUST support TLS and SIPS as if it were a proxy; RFC 3261 §19.1: for a SIPS URI TLS is to be used)",
            Fault::SipsUriRefused => "a SUBSCRIBE to a sips: Request-URI gets 416 Unsupported URI Scheme (RFC 3856 §9.2: all PA MUST support TLS and SIPS; RFC 3261 §8.1.1.2: an implementation that supports TLS MUST support the SIPS URI scheme)",
            Fault::IdentityExceptIgnored => "an <except> inside an identity condition's <many> takes no one out (RFC 5025 §5: a presence server MUST support all of the conditions; RFC 4745 §7.1.2: except excludes the identity)",
            Fault::SphereConditionIgnored => "every <sphere> condition holds, whatever sphere the presentity publishes (RFC 5025 §5: a presence server MUST support all of the conditions; §3.1.2 and RFC 4745 §7.3: a sphere condition matches only if the PT is currently in the state indicated)",
            Fault::OccurrenceSelectorsIgnored => "only the all-* values of provide-services, provide-persons and provide-devices count, not their class, occurrence-id, deviceID, service-uri or service-uri-scheme members (RFC 5025 §5: a presence server MUST support all of the transformations; §3.3.1)",
            Fault::AttributesUnfiltered => "every presence attribute of a shown tuple, person or device is reported, granted or not (RFC 5025 §5: a presence server MUST support all of the transformations; §3.3.2: what is not granted is removed if present)",
        }
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A fault name that is not one of [`Fault::all`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownFault(pub String);

impl fmt::Display for UnknownFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let valid: Vec<&str> = Fault::all().iter().map(|f| f.name()).collect();
        write!(
            f,
            "unknown fault '{}'; valid faults: {}",
            self.0,
            valid.join(", ")
        )
    }
}

impl std::error::Error for UnknownFault {}

impl FromStr for Fault {
    type Err = UnknownFault;

    /// Parses a kebab-case name (`no-sip-etag`); case and surrounding spaces are ignored.
    fn from_str(s: &str) -> Result<Fault, UnknownFault> {
        let wanted = s.trim();
        Fault::all()
            .iter()
            .copied()
            .find(|f| f.name().eq_ignore_ascii_case(wanted))
            .ok_or_else(|| UnknownFault(wanted.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_errors_list_valid_names() {
        for fault in Fault::all() {
            assert_eq!(fault.name().parse::<Fault>(), Ok(*fault));
            assert!(!fault.description().is_empty());
        }
        let names: std::collections::BTreeSet<&str> =
            Fault::all().iter().map(|f| f.name()).collect();
        assert_eq!(names.len(), Fault::all().len(), "fault names are unique");
        let err = "no-such".parse::<Fault>().unwrap_err().to_string();
        assert!(
            err.contains("no-sip-etag") && err.contains("stale-notify-after-modify"),
            "{err}"
        );
    }
}
