//! A NOTIFY the watcher challenges (RFC 3856 §9.4: "HTTP digest authentication (which MUST be
//! implemented by watchers and PAs) MAY be used to prevent replay attacks, when there is a
//! shared secret between the PA and the watcher"): the server answers a Digest challenge once,
//! as the watcher's AoR with the password it shares with every watcher, in a new transaction
//! with the subscription's next CSeq (RFC 3261 §22.2, §8.1.3.5).

use crate::shared::{lock, Shared};
use crate::sip::typed::uri_of;
use crate::sip::SipMessage;
use crate::transaction::{run_client, run_client_response};
use crate::transport::Transport;
use crate::ue::digest::Challenge;
use crate::Fault;
use std::net::SocketAddr;
use std::sync::Arc;

/// Runs the transaction of the NOTIFY `bytes` (top Via branch `branch`) of subscription `id`;
/// a 401 or 407 with a Digest challenge is answered once. Returns the final status, `None` when
/// none came.
pub(super) async fn notify_transaction(
    shared: &Arc<Shared>,
    id: u64,
    transport: Transport,
    to: SocketAddr,
    branch: &str,
    bytes: Vec<u8>,
) -> Option<u16> {
    let response = run_client_response(shared, transport, to, branch, bytes.clone()).await?;
    let status = response.status()?;
    let (challenge_header, answer_header) = match status {
        401 => ("WWW-Authenticate", "Authorization"),
        407 => ("Proxy-Authenticate", "Proxy-Authorization"),
        _ => return Some(status),
    };
    let password = shared.config.notify_password.as_deref();
    let challenge = response.header(challenge_header).and_then(Challenge::parse);
    let (Some(password), Some(challenge)) = (password, challenge) else {
        return Some(status);
    };
    if shared.fault(Fault::NotifyChallengeUnanswered) {
        return Some(status);
    }
    let notify = SipMessage::parse(&bytes).ok()?;
    let uri = notify.request_uri()?.to_string();
    let watcher = uri_of(notify.header("To")?);
    let password = if shared.fault(Fault::NotifyDigestWrongPassword) {
        format!("{password}-wrong")
    } else {
        password.to_string()
    };
    let answer = challenge.answer(&watcher, &password, "NOTIFY", &uri, &shared.token());
    let cseq = {
        let mut state = lock(&shared.state);
        let sub = state.subs.by_id.get_mut(&id)?;
        sub.cseq += 1;
        sub.cseq
    };
    let again_branch = format!("z9hG4bK{}", shared.token());
    let again = answered(&bytes, branch, &again_branch, cseq, answer_header, &answer);
    run_client(shared, transport, to, &again_branch, again).await
}

/// The NOTIFY again: another branch, CSeq `cseq`, and the answer header after the CSeq line.
fn answered(
    bytes: &[u8],
    branch: &str,
    again_branch: &str,
    cseq: u32,
    header: &str,
    answer: &str,
) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes).replacen(branch, again_branch, 1);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut out = String::with_capacity(text.len() + answer.len() + 32);
    for line in head.split("\r\n") {
        if line
            .get(..5)
            .is_some_and(|name| name.eq_ignore_ascii_case("CSeq:"))
        {
            out.push_str(&format!("CSeq: {cseq} NOTIFY\r\n{header}: {answer}\r\n"));
        } else {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("\r\n");
    out.push_str(body);
    out.into_bytes()
}
