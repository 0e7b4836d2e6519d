//! Readiness probe: an OPTIONS request, retransmitted per timer E, until any response.

use crate::ids;
use crate::sip::{MessageBuilder, SipMessage};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;

/// Sends OPTIONS to `sut` until it answers or `limit` passes. Returns the response's status line.
pub async fn probe(sut: SocketAddr, t1: Duration, limit: Duration) -> Result<String, String> {
    let socket = UdpSocket::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("cannot bind the probe socket: {e}"))?;
    let local = socket.local_addr().map_err(|e| e.to_string())?;
    let request = MessageBuilder::request("OPTIONS", &format!("sip:{sut}"))
        .header(
            "Via",
            format!("SIP/2.0/UDP {local};branch={}", ids::branch()),
        )
        .header("Max-Forwards", "70")
        .header("From", format!("<sip:probe@{local}>;tag={}", ids::token()))
        .header("To", format!("<sip:{sut}>"))
        .header("Call-ID", ids::token())
        .header("CSeq", "1 OPTIONS")
        .header("Accept", "application/sdp")
        .build();
    let deadline = Instant::now() + limit;
    let mut interval = t1;
    let mut buf = vec![0u8; 65_535];
    while Instant::now() < deadline {
        socket
            .send_to(&request, sut)
            .await
            .map_err(|e| format!("cannot send OPTIONS to {sut}: {e}"))?;
        let wake =
            Instant::now() + interval.min(deadline.saturating_duration_since(Instant::now()));
        // Read until this interval ends (an ICMP error or a stray datagram does not end it early).
        while let Ok(result) =
            tokio::time::timeout_at(wake.into(), socket.recv_from(&mut buf)).await
        {
            match result {
                Ok((len, _)) => {
                    if let Some(summary) = SipMessage::parse(&buf[..len])
                        .ok()
                        .filter(|m| m.status().is_some())
                        .map(|m| m.summary())
                    {
                        return Ok(summary);
                    }
                }
                Err(_) => {
                    tokio::time::sleep_until(wake.into()).await;
                    break;
                }
            }
        }
        interval = (interval * 2).min(Duration::from_secs(4));
    }
    Err(format!(
        "the SUT at {sut} did not answer OPTIONS within {:.1} s",
        limit.as_secs_f64()
    ))
}
