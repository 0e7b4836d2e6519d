//! The sans-IO XCAP handler (RFC 4825 §8): one request in, one response out, plus the document
//! that changed. Checks the method, the URI, authorization and the conditional headers, then
//! runs the document operations here and the node operations in `node`.

use super::body;
use super::constraints::{self, Constraint, Context, Invalid};
use super::dom::Document;
use super::global;
use super::message::{XcapRequest, XcapResponse};
use super::node;
use super::selector::{parse_query, Selector};
use super::store::{DocumentKey, Tree, XcapStore};
use super::uri::{self, Target, UriError};
use super::usage::{self, Usage};
use crate::presentity::Presentity;
use crate::Fault;

/// Methods XCAP resources support.
const ALLOW: &str = "GET, PUT, DELETE";
/// Header carrying the authenticated user (3GPP TS 24.109).
const ASSERTED_IDENTITY: &str = "X-3GPP-Asserted-Identity";

/// Handles one request against `store`; `faults` tells which fault switches are on. Returns the
/// response and, after a successful PUT or DELETE, the document that changed.
pub fn handle(
    store: &mut XcapStore,
    faults: impl Fn(Fault) -> bool,
    request: &XcapRequest,
) -> (XcapResponse, Option<DocumentKey>) {
    let untyped_errors = faults(Fault::XcapErrorNoContentType);
    let without_report = faults(Fault::Xcap409WithoutReport);
    let no_parent_404 = faults(Fault::XcapNoParent404);
    let (mut response, changed) = respond(store, faults, request);
    if response.status == 409 {
        if no_parent_404 && response.body_contains("<no-parent") {
            return (XcapResponse::status(404), changed);
        }
        if without_report {
            return (XcapResponse::status(409), changed);
        }
        if untyped_errors {
            response
                .headers
                .retain(|(name, _)| !name.eq_ignore_ascii_case("Content-Type"));
        }
    }
    (response, changed)
}

/// The response to one request, before faults that reshape whole responses.
fn respond(
    store: &mut XcapStore,
    faults: impl Fn(Fault) -> bool,
    request: &XcapRequest,
) -> (XcapResponse, Option<DocumentKey>) {
    let method = request.method.as_str();
    if faults(Fault::XcapBasicChallenge) && request.header_values("Authorization").next().is_none()
    {
        let challenge =
            XcapResponse::status(401).header("WWW-Authenticate", "Basic realm=\"xcap\"");
        return (challenge, None);
    }
    if !matches!(method, "GET" | "PUT" | "DELETE") {
        let response = match (
            faults(Fault::XcapOtherMethod501),
            faults(Fault::Xcap405NoAllow),
        ) {
            (true, _) => XcapResponse::status(501),
            (false, true) => XcapResponse::status(405),
            (false, false) => XcapResponse::status(405).header("Allow", ALLOW),
        };
        return (response, None);
    }
    let path = if faults(Fault::XcapAnyTree) {
        uri::any_tree_as_users(&request.path)
    } else {
        request.path.clone()
    };
    let target = match uri::parse(&path, faults(Fault::XcapSplitAtLastTilde)) {
        Ok(target) => target,
        Err(UriError::NotFound) if faults(Fault::XcapUnknownAuid403) => {
            return (XcapResponse::status(403), None)
        }
        Err(UriError::NotFound) => return (XcapResponse::status(404), None),
        Err(UriError::Bad) => return (XcapResponse::status(400), None),
    };
    if !authorized(request, &target.key.tree)
        || (method != "GET" && target.usage.auid == usage::XCAP_CAPS)
    {
        return (XcapResponse::status(403), None);
    }
    if method == "PUT" && target.key.name.contains('/') && !faults(Fault::XcapCreatesSubdirectories)
    {
        // No usage here has sub-directories and XCAP cannot create one (RFC 4825 §6.2): the
        // directory the document would go into does not exist (§8.2.1).
        return (XcapResponse::conflict("<no-parent/>"), None);
    }
    if global::is_global_rls_services(&target.key) {
        // Formed by the server from the users' documents (RFC 4826 §4.4.8), read only by
        // trusted elements: requests that assert no user's identity (§4.4.9).
        let user = request.header_values(ASSERTED_IDENTITY).next().is_some();
        if method != "GET" || (user && !faults(Fault::GlobalRlsServicesOpen)) {
            return (XcapResponse::status(403), None);
        }
        if target.selector.is_none() {
            let (text, etag) = match &store.frozen_global {
                Some(frozen) if faults(Fault::GlobalRlsServicesStale) => frozen.clone(),
                _ => global::rls_services(store),
            };
            if faults(Fault::GlobalRlsServicesStale) {
                store
                    .frozen_global
                    .get_or_insert_with(|| (text.clone(), etag.clone()));
            }
            let response = XcapResponse::status(200)
                .header("ETag", &etag)
                .header("Cache-Control", "no-cache")
                .body(target.usage.mime, text.as_bytes());
            return (response, None);
        }
    }
    if method != "GET" && target.selector.as_deref().is_some_and(names_namespaces) {
        return (namespace_write(&faults), None);
    }
    let selector = match selector(&target, &faults) {
        Ok(selector) => selector,
        Err(status) => return (XcapResponse::status(status), None),
    };
    let current = store.get(&target.key).map(|(_, etag)| etag.to_string());
    if let Some(refused) = preconditions(
        request,
        current.as_deref(),
        faults(Fault::XcapIgnoreIfMatch),
    ) {
        return (refused, None);
    }
    let ops = Operation {
        store,
        faults: &faults,
        request,
        key: &target.key,
        usage: target.usage,
    };
    match (method, selector) {
        ("GET", None) => (ops.uncached(ops.get_document()), None),
        ("GET", Some(selector)) => (ops.uncached(node::get(&ops, &selector)), None),
        ("PUT", None) => ops.put_document(),
        ("PUT", Some(selector)) => node::put(ops, &selector),
        // Only DELETE is left.
        (_, None) => ops.delete_document(),
        (_, Some(selector)) => node::delete(ops, &selector),
    }
}

/// True when a node selector ends in a namespace selector (`namespace::*`, RFC 4825 §6.3).
fn names_namespaces(selector: &str) -> bool {
    selector.rsplit('/').next() == Some("namespace::*")
}

/// The answer to a PUT or DELETE of a namespace selector: the bindings can only be read (RFC
/// 4825 §8.2, §8.4).
fn namespace_write(faults: &impl Fn(Fault) -> bool) -> XcapResponse {
    if faults(Fault::XcapNamespaceWrite400) {
        return XcapResponse::status(400);
    }
    let allow = if faults(Fault::XcapNamespaceAllowWithoutGet) {
        "PUT, DELETE"
    } else {
        "GET"
    };
    XcapResponse::status(405).header("Allow", allow)
}

/// The parsed node selector of the target, if any; `Err` with the status when it cannot be
/// used: 400 for an unreadable query or an unbound prefix, 404 for an extension selector this
/// server does not understand (RFC 4825 §8).
fn selector<F: Fn(Fault) -> bool>(target: &Target, faults: &F) -> Result<Option<Selector>, u16> {
    let Some(text) = &target.selector else {
        return Ok(None);
    };
    let query = if faults(Fault::XcapRejectOtherXpointer) && !only_xmlns(&target.query) {
        return Err(400);
    } else {
        &target.query
    };
    let bindings = parse_query(query).map_err(|_| 400u16)?;
    Selector::parse(text, &bindings, target.usage.namespace)
        .map(Some)
        .map_err(|e| match e.unbound_prefix {
            true if faults(Fault::XcapUnboundPrefix404) => 404,
            true => 400,
            false if faults(Fault::XcapUnknownExtension400) => 400,
            false => 404,
        })
}

/// True when every pointer part of the query is an xmlns() one (fault XcapRejectOtherXpointer).
fn only_xmlns(query: &str) -> bool {
    query
        .split(')')
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .all(|part| part.starts_with("xmlns("))
}

/// Without an asserted identity everyone may do anything; with one, only its own user tree.
fn authorized(request: &XcapRequest, tree: &Tree) -> bool {
    let Some(asserted) = request.header_values(ASSERTED_IDENTITY).next() else {
        return true;
    };
    let Tree::Users(xui) = tree else {
        return true;
    };
    let clean = |s: &str| -> String {
        s.chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '<' | '>' | '"'))
            .collect()
    };
    let xui = clean(xui);
    asserted.split(',').any(|identity| clean(identity) == xui)
}

/// Entity-tags listed in every instance of a conditional header; `None` without the header.
fn etag_list(request: &XcapRequest, name: &str) -> Option<Vec<String>> {
    let mut values = request.header_values(name).peekable();
    values.peek()?;
    Some(
        values
            .flat_map(|v| v.split(','))
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect(),
    )
}

/// Evaluates If-Match and If-None-Match (RFC 9110 §13) against the document's `current`
/// entity-tag; the refusal to send if a condition fails.
fn preconditions(
    request: &XcapRequest,
    current: Option<&str>,
    ignore_if_match: bool,
) -> Option<XcapResponse> {
    if let Some(tags) = etag_list(request, "If-Match").filter(|_| !ignore_if_match) {
        let matched = current.is_some_and(|cur| tags.iter().any(|t| t == "*" || t == cur));
        if !matched {
            return Some(XcapResponse::status(412));
        }
    }
    if let Some(tags) = etag_list(request, "If-None-Match") {
        let weak = |t: &str| t.trim_start_matches("W/").to_string();
        let matched =
            current.is_some_and(|cur| tags.iter().any(|t| t == "*" || weak(t) == weak(cur)));
        if matched {
            return Some(match (request.method.as_str(), current) {
                ("GET", Some(etag)) => XcapResponse::status(304).header("ETag", etag),
                _ => XcapResponse::status(412),
            });
        }
    }
    None
}

/// One request's operation on one document.
pub(super) struct Operation<'a, F: Fn(Fault) -> bool> {
    /// The documents.
    pub store: &'a mut XcapStore,
    /// Which fault switches are on.
    pub faults: &'a F,
    /// The request.
    pub request: &'a XcapRequest,
    /// The document the URI names.
    pub key: &'a DocumentKey,
    /// Its application usage.
    pub usage: &'static Usage,
}

impl<F: Fn(Fault) -> bool> Operation<'_, F> {
    /// Adds the ETag header to a PUT or DELETE response (unless a fault drops it, or gives a
    /// 200 to PUT content).
    pub fn with_etag(&self, response: XcapResponse, etag: &str) -> XcapResponse {
        let method = self.request.method.as_str();
        let dropped = (self.faults)(Fault::XcapNoEtag)
            || (method == "DELETE" && (self.faults)(Fault::XcapDeleteNoEtag));
        let response = if dropped {
            response
        } else {
            response.header("ETag", etag)
        };
        if method == "PUT" && response.status == 200 && (self.faults)(Fault::XcapPut200Content) {
            return response.body("text/plain", "replaced\n");
        }
        response
    }

    /// Marks a 200 to GET with the no-cache directive: clients write these documents, and a
    /// cache would not see one change affect the others (RFC 4825 §9).
    fn uncached(&self, response: XcapResponse) -> XcapResponse {
        if response.status == 200 && !(self.faults)(Fault::XcapCacheable) {
            response.header("Cache-Control", "no-cache")
        } else {
            response
        }
    }

    /// Checks a document against its usage: the 409 to send if it breaks a rule.
    pub fn invalid(&self, document: &Document) -> Option<XcapResponse> {
        let root = &document.root;
        let schema_error = || XcapResponse::conflict("<schema-validation-error/>");
        if (self.faults)(Fault::XcapRefuseForeignNamespace)
            && usage::has_foreign_element(root, self.usage.namespace)
        {
            return Some(schema_error());
        }
        if !usage::root_matches(self.usage, root) {
            return Some(schema_error());
        }
        if !(self.faults)(Fault::XcapUnknownElementKept) && usage::undefined_element(root).is_some()
        {
            return Some(schema_error());
        }
        let owner = match &self.key.tree {
            Tree::Users(xui) => Some(xui.as_str()),
            Tree::Global => None,
        };
        let context = Context {
            owner,
            used_elsewhere: &|uri| self.service_used_elsewhere(uri),
            exists: &|uri| self.user_exists(uri),
            skip: &|constraint| self.unchecked(constraint),
        };
        match constraints::check(self.usage.auid, root, &context) {
            Ok(()) => None,
            Err(Invalid::Schema) => Some(schema_error()),
            Err(Invalid::Uniqueness {
                field,
                alternatives,
            }) => {
                // The field is a URI: its node selector percent-encoded (RFC 4825 §11.1).
                let field = if (self.faults)(Fault::XcapErrorFieldPrefixed) {
                    // Every element step prefixed, the prefix bound nowhere (no xmlns() query).
                    field
                        .split('/')
                        .map(|step| match step.starts_with('@') {
                            true => step.to_string(),
                            false => format!("rl:{step}"),
                        })
                        .collect::<Vec<_>>()
                        .join("/")
                } else {
                    field
                };
                let field = match (self.faults)(Fault::XcapErrorFieldRaw) {
                    true => field,
                    false => uri::percent_encode_selector(&field),
                };
                Some(XcapResponse::uniqueness(&field, &alternatives))
            }
            Err(Invalid::Constraint { phrase }) => Some(XcapResponse::constraint(&phrase)),
        }
    }

    /// True when a `<service>` of another rls-services document on the server has `uri`
    /// (compared as presentities, like the RLS finds services).
    fn service_used_elsewhere(&self, uri: &str) -> bool {
        let Some(wanted) = Presentity::from_uri(uri) else {
            return false;
        };
        let services = self
            .store
            .of_usage("rls-services")
            .filter(|(key, _)| *key != self.key)
            .filter_map(|(_, text)| Document::parse(text).ok());
        services.into_iter().any(|document| {
            document
                .root
                .child_elements()
                .filter(|(_, c)| c.local_name() == "service")
                .filter_map(|(_, c)| c.attribute(None, "uri"))
                .any(|used| Presentity::from_uri(used).as_ref() == Some(&wanted))
        })
    }

    /// True when `uri` is a user of this server: an XUI holding documents.
    fn user_exists(&self, uri: &str) -> bool {
        let Some(wanted) = Presentity::from_uri(uri) else {
            return false;
        };
        self.store
            .users()
            .any(|xui| Presentity::from_uri(xui).as_ref() == Some(&wanted))
    }

    /// True when a fault switch leaves `constraint` unchecked.
    fn unchecked(&self, constraint: Constraint) -> bool {
        let fault = match constraint {
            Constraint::RequiredAttributes if self.request.method == "DELETE" => {
                Fault::XcapDeleteUnchecked
            }
            Constraint::RequiredAttributes => Fault::XcapSchemaUnchecked,
            Constraint::ListNameUnique => Fault::XcapDuplicateListNames,
            Constraint::EntryUriUnique | Constraint::RuleIdUnique => Fault::XcapAcceptDuplicate,
            Constraint::EntryRefUnique => Fault::XcapDuplicateEntryRefs,
            Constraint::EntryRefRelative => Fault::XcapAbsoluteEntryRef,
            Constraint::ExternalUnique => Fault::XcapDuplicateExternals,
            Constraint::ExternalHttp => Fault::XcapRelativeExternal,
            Constraint::ServiceUriUnique => Fault::XcapServiceUriPerDocument,
            Constraint::ServiceUriFree => Fault::XcapServiceUriExistingUser,
            Constraint::AlternativeValues => Fault::XcapNoAltValue,
            Constraint::ResourceListAbsolute => Fault::XcapRelativeResourceList,
            Constraint::ResourceListAuid => Fault::XcapResourceListOtherAuid,
            Constraint::ResourceListOwnUser => Fault::XcapResourceListOtherUser,
            Constraint::ServiceListChecked => Fault::XcapServiceListUnchecked,
        };
        (self.faults)(fault)
            || (constraint.is_uniqueness() && (self.faults)(Fault::XcapAcceptDuplicate))
    }

    /// The stored document, parsed; `None` if there is none.
    pub fn load(&self) -> Option<Document> {
        let (text, _) = self.store.get(self.key)?;
        Document::parse(text).ok()
    }

    /// GET of a whole document.
    fn get_document(&self) -> XcapResponse {
        if self.usage.auid == usage::XCAP_CAPS {
            return self.get_caps();
        }
        let Some((text, etag)) = self.store.get(self.key) else {
            return XcapResponse::status(404);
        };
        XcapResponse::status(200)
            .header("ETag", etag)
            .body(self.document_mime(), text.as_bytes())
    }

    /// The MIME type a document of the usage is served with.
    fn document_mime(&self) -> &'static str {
        if (self.faults)(Fault::XcapGenericContentType) {
            "application/xml"
        } else {
            self.usage.mime
        }
    }

    /// GET of the capabilities document (RFC 4825 §12), as the fault switches bend it.
    fn get_caps(&self) -> XcapResponse {
        let global;
        let key = match self.key.tree {
            Tree::Users(_) if (self.faults)(Fault::XcapCapsInUserTree) => {
                global = DocumentKey {
                    tree: Tree::Global,
                    ..self.key.clone()
                };
                &global
            }
            _ => self.key,
        };
        let found = self
            .store
            .get(key)
            .filter(|_| !(self.faults)(Fault::XcapNoCaps));
        let Some((text, etag)) = found else {
            return XcapResponse::status(404);
        };
        let text = match (
            (self.faults)(Fault::XcapCapsWithoutItself),
            (self.faults)(Fault::XcapCapsWithoutPresRules),
        ) {
            (true, _) => usage::without_caps_itself(text),
            (false, true) => usage::without_pres_rules_namespace(text),
            (false, false) => text.to_string(),
        };
        XcapResponse::status(200)
            .header("ETag", etag)
            .body(self.document_mime(), text.as_bytes())
    }

    /// PUT of a whole document: create (201) or replace (200).
    fn put_document(self) -> (XcapResponse, Option<DocumentKey>) {
        if self.request.media_type().as_deref() != Some(self.usage.mime) {
            return (XcapResponse::status(415), None);
        }
        let not_well_formed = || XcapResponse::conflict("<not-well-formed/>");
        let text = match body::utf8_text(&self.request.body) {
            Some(text) => text.to_string(),
            None if (self.faults)(Fault::XcapAcceptNotUtf8) => {
                body::lenient_text(&self.request.body)
            }
            None if (self.faults)(Fault::XcapBodyErrorsNotWellFormed) => {
                return (not_well_formed(), None)
            }
            None => return (body::not_utf8(), None),
        };
        let Ok(document) = Document::parse(&text) else {
            return (not_well_formed(), None);
        };
        if let Some(refused) = self.invalid(&document) {
            return (refused, None);
        }
        let (etag, created) = self.store.put(self.key.clone(), text);
        let status = if created && !(self.faults)(Fault::XcapPutNew200) {
            201
        } else {
            200
        };
        let response = self.with_etag(XcapResponse::status(status), &etag);
        (response, Some(self.key.clone()))
    }

    /// DELETE of a whole document.
    fn delete_document(self) -> (XcapResponse, Option<DocumentKey>) {
        if self.store.get(self.key).is_none() {
            return (XcapResponse::status(404), None);
        }
        if (self.faults)(Fault::XcapKeepDeleted) {
            return (XcapResponse::status(200), None);
        }
        self.store.remove(self.key);
        (XcapResponse::status(200), Some(self.key.clone()))
    }
}
