//! HTTP/1.1 glue for the XCAP handler: accepts connections, serves each in its own task with
//! hyper, reads bodies up to [`MAX_BODY`] bytes and runs the handler under the state lock.

use super::handler::handle;
use super::message::{XcapRequest, XcapResponse};
use super::on_document_change;
use super::store::Tree;
use super::uri;
use crate::presentity::Presentity;
use crate::shared::{lock, Shared};
use crate::tls::{Identity, TLS_HANDSHAKE_LIMIT};
use crate::{Fault, Variation};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::net::TcpListener;

/// Largest request body accepted; a larger one gets 413.
const MAX_BODY: usize = 1024 * 1024;

/// Accepts HTTP connections until the task is aborted.
pub(crate) async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                shared.spawn(connection(shared.clone(), stream));
            }
            Err(_) => tokio::task::yield_now().await,
        }
    }
}

/// Accepts HTTP over TLS connections until the task is aborted (plain HTTP under the fault
/// XcapNoTls).
pub(crate) async fn accept_tls_loop(shared: Arc<Shared>, listener: TcpListener, tls: Identity) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::task::yield_now().await;
            continue;
        };
        if shared.fault(Fault::XcapNoTls) {
            shared.spawn(connection(shared.clone(), stream));
            continue;
        }
        let (shared, acceptor) = (shared.clone(), tls.acceptor.clone());
        let spawner = shared.clone();
        spawner.spawn(async move {
            match tokio::time::timeout(TLS_HANDSHAKE_LIMIT, acceptor.accept(stream)).await {
                Ok(Ok(secured)) => connection(shared, secured).await,
                Ok(Err(e)) => tracing::debug!("XCAP TLS handshake failed: {e}"),
                Err(_) => tracing::debug!("XCAP TLS handshake not done in time"),
            }
        });
    }
}

/// Serves one connection until the client closes it or it fails.
async fn connection<S>(shared: Arc<Shared>, stream: S)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request| {
        let shared = shared.clone();
        async move { Ok::<_, Infallible>(serve(&shared, request).await) }
    });
    if let Err(e) = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await
    {
        tracing::debug!("XCAP connection ended: {e}");
    }
}

/// Reads one request, runs the handler and builds the HTTP response.
async fn serve(shared: &Arc<Shared>, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            return build(XcapResponse::status(413));
        }
        Err(_) => return build(XcapResponse::status(400)),
    };
    let request = XcapRequest {
        method: parts.method.as_str().to_string(),
        path: parts
            .uri
            .path_and_query()
            .map_or_else(|| parts.uri.path().to_string(), |p| p.as_str().to_string()),
        headers: parts
            .headers
            .iter()
            .map(|(name, value)| {
                let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
                (name.as_str().to_string(), value)
            })
            .collect(),
        body: body.to_vec(),
    };
    let (response, changed) = {
        let mut state = lock(&shared.state);
        let challenge = shared.variation(Variation::XcapDigest).then(|| {
            let authorization = request.header_values("Authorization").next();
            let fresh = shared.token();
            state
                .xcap_digest
                .check(authorization, &request.method, &request.path, fresh)
        });
        match challenge.flatten() {
            Some(challenge) => (
                XcapResponse::status(401).header("WWW-Authenticate", &challenge),
                None,
            ),
            None if !user_recognised(shared, &request.path) => (XcapResponse::status(404), None),
            None => handle(&mut state.xcap, |f| shared.fault(f), &request),
        }
    };
    tracing::debug!(
        method = %request.method,
        path = %request.path,
        status = response.status,
        "XCAP request"
    );
    if let Some(key) = changed {
        on_document_change(shared, &key);
    }
    build(response)
}

/// Whether the home directory the request names, if any, is a provisioned user's (RFC 4825 §8:
/// "If the URI refers to a user (identified by an XUI) that is not recognized by the server,
/// it MUST reject the request with a 404 (Not Found)").
fn user_recognised(shared: &Shared, path: &str) -> bool {
    if shared.fault(Fault::XcapUnknownUserServed) {
        return true;
    }
    match uri::parse(path, false).map(|target| target.key.tree) {
        Ok(Tree::Users(xui)) => {
            Presentity::from_uri(&xui).is_none_or(|who| shared.provisioned(&who))
        }
        _ => true,
    }
}

/// Turns the handler's response into a hyper response (headers that are not valid are left out).
fn build(response: XcapResponse) -> Response<Full<Bytes>> {
    let mut out = Response::new(Full::new(Bytes::from(response.body)));
    *out.status_mut() =
        StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in response.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            out.headers_mut().append(name, value);
        }
    }
    out
}
