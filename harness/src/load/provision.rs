//! The resource lists of a load run on the SUT's XCAP server: each list subscriber's
//! rls-services document (RFC 4826 §4) is PUT before the subscriptions and DELETEd in the
//! teardown, a few exchanges at a time. A 401 with a Digest challenge is answered once when
//! the profile gives XCAP credentials.

use crate::net::http::{digest_authorization, exchange, Credentials, HttpRequest};
use crate::sip::SipMessage;
use crate::sut::profile::CredentialsTemplate;
use std::time::Duration;

/// How many XCAP exchanges are in flight at once.
const IN_FLIGHT: usize = 8;
/// How long one exchange may take.
const EXCHANGE_LIMIT: Duration = Duration::from_secs(10);

/// Where the SUT keeps XCAP documents, and how to be let in.
#[derive(Debug, Clone)]
pub struct XcapAccess {
    /// The XCAP root URI (`http://host:port/path`).
    pub root: String,
    /// Digest credentials (`${user}` and `${aor}` in the user name are the subscriber's).
    pub credentials: Option<CredentialsTemplate>,
}

/// One list subscriber's rls-services document.
#[derive(Debug, Clone)]
pub struct ListDocument {
    /// The subscriber's AoR, its XCAP User Identifier.
    pub owner: String,
    /// The subscriber's user part.
    pub user: String,
    /// The document.
    pub body: String,
}

impl XcapAccess {
    fn url(&self, owner: &str) -> String {
        format!("{}/rls-services/users/{owner}/index", self.root)
    }

    fn credentials(&self, document: &ListDocument) -> Option<Credentials> {
        let template = self.credentials.as_ref()?;
        Some(template.resolve(&document.user, &document.owner))
    }

    /// Stores every document; the first one the server does not take is an error naming its
    /// URL and the answer.
    pub fn put_all(&self, documents: &[ListDocument]) -> Result<(), String> {
        let failures = self.each(documents, |document| HttpRequest {
            method: "PUT".into(),
            url: self.url(&document.owner),
            headers: vec![("Content-Type".into(), "application/rls-services+xml".into())],
            body: document.body.clone().into_bytes(),
        })?;
        match failures.into_iter().next() {
            None => Ok(()),
            Some(why) => Err(format!(
                "the XCAP server did not store a resource list, so list subscriptions cannot be played: {why}"
            )),
        }
    }

    /// Deletes every document; returns why each one that could not be deleted was not.
    pub fn delete_all(&self, documents: &[ListDocument]) -> Result<Vec<String>, String> {
        self.each(documents, |document| HttpRequest {
            method: "DELETE".into(),
            url: self.url(&document.owner),
            headers: Vec::new(),
            body: Vec::new(),
        })
    }

    /// Plays one request per document, [`IN_FLIGHT`] at a time, answering a Digest challenge
    /// once; returns why each request that got no 2xx failed.
    fn each(
        &self,
        documents: &[ListDocument],
        request: impl Fn(&ListDocument) -> HttpRequest,
    ) -> Result<Vec<String>, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the XCAP client: {e}"))?;
        let mut failures = Vec::new();
        runtime.block_on(async {
            for chunk in documents.chunks(IN_FLIGHT) {
                let mut tasks = tokio::task::JoinSet::new();
                for document in chunk {
                    let request = request(document);
                    let credentials = self.credentials(document);
                    tasks.spawn(async move { play(request, credentials).await });
                }
                while let Some(outcome) = tasks.join_next().await {
                    if let Some(why) = outcome.unwrap_or_else(|e| Some(e.to_string())) {
                        failures.push(why);
                    }
                }
            }
        });
        Ok(failures)
    }
}

/// One request, answered once if challenged: `None` when it got a 2xx, else why not.
async fn play(mut request: HttpRequest, credentials: Option<Credentials>) -> Option<String> {
    let mut answer = round(&request).await;
    if let (Ok(response), Some(credentials)) = (&answer, credentials) {
        if response.status() == Some(401) {
            let challenge = response.header("WWW-Authenticate").unwrap_or_default();
            match digest_authorization(challenge, &credentials, &request, None) {
                Ok(value) => {
                    request.headers.push(("Authorization".into(), value));
                    answer = round(&request).await;
                }
                Err(why) => answer = Err(why),
            }
        }
    }
    match answer {
        Ok(response) if response.status().is_some_and(|c| (200..300).contains(&c)) => None,
        Ok(response) => Some(format!(
            "{} {} answered {}",
            request.method,
            request.url,
            response.status().unwrap_or(0)
        )),
        Err(why) => Some(format!("{} {}: {why}", request.method, request.url)),
    }
}

/// One exchange, its response read as a message.
async fn round(request: &HttpRequest) -> Result<SipMessage, String> {
    let exchange = exchange(request, EXCHANGE_LIMIT, None)
        .await
        .map_err(|failure| failure.reason)?;
    crate::net::http::recorded_response(&exchange.response_bytes)
        .ok_or_else(|| "the response could not be read".to_string())
}
