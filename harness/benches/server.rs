//! Benchmark of the embedded reference server as a server (`cargo bench --bench server`):
//! 1,000,000 malformed datagrams at its UDP port (throughput, memory, still answering
//! OPTIONS), then rounds of 100,000 subscriptions that expire (time per subscription, memory
//! at the peak and after expiry; a second round shows whether the memory is reused).
//! The server runs in this process, so the memory is this process's resident set (VmRSS).
//! Prints figures; asserts only that the server keeps answering. Arguments select parts:
//! `garbage`, `subscriptions`.

use presence_harness::reference::{ReferenceConfig, ReferenceServer};
use presence_harness::sip::{MessageBuilder, SipMessage};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::UdpSocket;
use tokio::time::timeout;

/// Malformed datagrams sent in part 1.
const GARBAGE: u64 = 1_000_000;
/// Datagrams sent between two OPTIONS probes (the probe's answer paces the sender, so the
/// server's receive buffer is not simply overrun).
const WINDOW: u64 = 64;
/// Subscriptions per round in part 2.
const SUBSCRIPTIONS: u64 = 100_000;
/// SUBSCRIBEs outstanding at once (64 overran the default socket receive buffers: each
/// small datagram costs a few KiB of buffer).
const SUBSCRIBE_WINDOW: u64 = 16;
/// Expires of each subscription, in seconds.
const EXPIRES: u64 = 30;

/// This process's resident set in KiB.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// The machine's count of UDP datagrams dropped for a full receive buffer (`/proc/net/snmp`).
fn udp_rcvbuf_errors() -> u64 {
    let snmp = std::fs::read_to_string("/proc/net/snmp").unwrap_or_default();
    let mut udp = snmp.lines().filter(|l| l.starts_with("Udp:"));
    let (Some(names), Some(values)) = (udp.next(), udp.next()) else {
        return 0;
    };
    names
        .split_whitespace()
        .zip(values.split_whitespace())
        .find(|(n, _)| *n == "RcvbufErrors")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0)
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }
}

fn options(branch: &str, from: SocketAddr) -> Vec<u8> {
    MessageBuilder::request("OPTIONS", "sip:ps@127.0.0.1")
        .header("Via", format!("SIP/2.0/UDP {from};branch=z9hG4bK{branch}"))
        .header("From", "<sip:bench@home1.net>;tag=b")
        .header("To", "<sip:ps@127.0.0.1>")
        .header("Call-ID", format!("probe-{branch}"))
        .header("CSeq", "1 OPTIONS")
        .build()
}

/// One malformed datagram: random bytes, a SIP request cut short, a request with a bad or
/// too large Content-Length, a header section over the reader's limit, or a request missing
/// the headers every request needs (answered 400).
fn malformed(rng: &mut Rng, from: SocketAddr, n: u64) -> Vec<u8> {
    let valid = options(&format!("g{n}"), from);
    match rng.below(100) {
        0..=39 => (0..1 + rng.below(1400)).map(|_| rng.next() as u8).collect(),
        40..=69 => valid[..rng.below(valid.len() as u64)].to_vec(),
        70..=79 => {
            let text = String::from_utf8_lossy(&valid).replace(
                "Content-Length: 0",
                ["Content-Length: 99", "Content-Length: x", "l: 99999999999"][rng.below(3)],
            );
            text.into_bytes()
        }
        80..=80 => {
            let mut big = valid[..valid.len() - 2].to_vec();
            while big.len() < 65_000 {
                big.extend_from_slice(b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
            }
            big.truncate(65_000);
            big
        }
        81..=89 => {
            let mut bits = valid.clone();
            for _ in 0..4 {
                let i = rng.below(bits.len() as u64);
                bits[i] = rng.next() as u8;
            }
            bits
        }
        _ => format!(
            "SUBSCRIBE sip:p@home2.net SIP/2.0\r\nVia: SIP/2.0/UDP {from};branch=z9hG4bKm{n}\r\n\r\n"
        )
        .into_bytes(),
    }
}

/// Sends an OPTIONS and waits for its 200, resending a few times; the round trip time.
async fn probe(socket: &UdpSocket, server: SocketAddr, n: u64) -> Option<Duration> {
    let branch = format!("p{n}");
    let request = options(&branch, socket.local_addr().ok()?);
    let mut buf = vec![0u8; 65_535];
    let start = Instant::now();
    for _ in 0..5 {
        socket.send_to(&request, server).await.ok()?;
        let deadline = Instant::now() + Duration::from_millis(500);
        while let Ok(Ok((len, _))) = timeout(
            deadline.saturating_duration_since(Instant::now()),
            socket.recv_from(&mut buf),
        )
        .await
        {
            let Ok(answer) = SipMessage::parse(&buf[..len]) else {
                continue;
            };
            if answer.status() == Some(200)
                && answer.top_branch().as_deref() == Some(&format!("z9hG4bK{branch}"))
            {
                return Some(start.elapsed());
            }
        }
    }
    None
}

async fn garbage(server: &ReferenceServer) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let from = socket.local_addr().expect("address");
    let target = server.udp_addr();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let before = rss_kib();
    let drops_before = udp_rcvbuf_errors();
    let start = Instant::now();
    let mut bytes = 0usize;
    let mut lost_probes = 0;
    for n in 0..GARBAGE {
        let datagram = malformed(&mut rng, from, n);
        bytes += datagram.len();
        let _ = socket.send_to(&datagram, target).await;
        if n % WINDOW == WINDOW - 1 && probe(&socket, target, n).await.is_none() {
            lost_probes += 1;
        }
    }
    let elapsed = start.elapsed();
    let after = rss_kib();
    let rtt = probe(&socket, target, u64::MAX).await;
    println!(
        "{GARBAGE} malformed datagrams ({:.0} MB) in {:.1} s: {:.0} datagrams/s; \
         RSS {} before, {} after; probes unanswered {lost_probes}; \
         kernel receive-buffer drops (machine-wide) {}",
        bytes as f64 / 1e6,
        elapsed.as_secs_f64(),
        GARBAGE as f64 / elapsed.as_secs_f64(),
        mib(before),
        mib(after),
        udp_rcvbuf_errors().saturating_sub(drops_before),
    );
    let rtt = rtt.expect("the server answers OPTIONS after the malformed datagrams");
    println!("OPTIONS afterwards answered in {rtt:?}");
}

/// What the NOTIFY sink has seen.
#[derive(Default)]
struct Seen {
    notifies: AtomicU64,
    terminated: AtomicU64,
}

/// Answers every NOTIFY 200 and counts them.
async fn sink(socket: UdpSocket, seen: Arc<Seen>) {
    let mut buf = vec![0u8; 65_535];
    loop {
        let Ok((len, from)) = socket.recv_from(&mut buf).await else {
            continue;
        };
        let Ok(notify) = SipMessage::parse(&buf[..len]) else {
            continue;
        };
        if notify.method().as_deref() != Some("NOTIFY") {
            continue;
        }
        seen.notifies.fetch_add(1, Ordering::Relaxed);
        if notify
            .header("Subscription-State")
            .is_some_and(|s| s.starts_with("terminated"))
        {
            seen.terminated.fetch_add(1, Ordering::Relaxed);
        }
        let mut ok = MessageBuilder::response(200, "OK");
        for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
            for value in notify.header_lines(name) {
                ok.push_header(name, value);
            }
        }
        let _ = socket
            .send_to(&ok.header("Content-Length", "0").build(), from)
            .await;
    }
}

fn subscribe(round: u64, n: u64, from: SocketAddr, contact: SocketAddr) -> Vec<u8> {
    MessageBuilder::request("SUBSCRIBE", &format!("sip:p{}@home2.net", n % 1000))
        .header(
            "Via",
            format!("SIP/2.0/UDP {from};branch=z9hG4bKs{round}x{n}"),
        )
        .header("From", format!("<sip:w{n}@home1.net>;tag=t{round}x{n}"))
        .header("To", format!("<sip:p{}@home2.net>", n % 1000))
        .header("Call-ID", format!("sub-{round}-{n}"))
        .header("CSeq", "1 SUBSCRIBE")
        .header("Contact", format!("<sip:w{n}@{contact}>"))
        .header("Event", "presence")
        .header("Expires", EXPIRES.to_string())
        .build()
}

/// One round: SUBSCRIBEs in windows, each window's answers awaited; then waits until every
/// subscription's final NOTIFY arrived at the sink.
async fn subscriptions(server: &ReferenceServer, round: u64, seen: &Seen, contact: SocketAddr) {
    let socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
    let from = socket.local_addr().expect("address");
    let before = rss_kib();
    let terminated_before = seen.terminated.load(Ordering::Relaxed);
    let start = Instant::now();
    let mut buf = vec![0u8; 65_535];
    let (mut accepted, mut refused, mut unanswered) = (0u64, 0u64, 0u64);
    let mut timed_out = 0;
    let mut tenths = Vec::new();
    let mut n = 0;
    while n < SUBSCRIPTIONS {
        if n % (SUBSCRIPTIONS / 10) < SUBSCRIBE_WINDOW {
            tenths.push(start.elapsed());
        }
        let end = (n + SUBSCRIBE_WINDOW).min(SUBSCRIPTIONS);
        for i in n..end {
            let _ = socket
                .send_to(&subscribe(round, i, from, contact), server.udp_addr())
                .await;
        }
        let mut answered = 0;
        while answered < end - n {
            match timeout(Duration::from_millis(500), socket.recv_from(&mut buf)).await {
                Ok(Ok((len, _))) => {
                    match SipMessage::parse(&buf[..len]).ok().and_then(|r| r.status()) {
                        Some(200) => {
                            accepted += 1;
                            answered += 1;
                        }
                        Some(_) => {
                            refused += 1;
                            answered += 1;
                        }
                        None => {}
                    }
                }
                _ => {
                    unanswered += end - n - answered;
                    timed_out += 1;
                    break;
                }
            }
        }
        n = end;
    }
    let created = start.elapsed();
    tenths.push(created);
    let per_tenth: Vec<String> = tenths
        .windows(2)
        .map(|w| format!("{:.1}", (w[1] - w[0]).as_secs_f64()))
        .collect();
    let peak = rss_kib();
    // One more while they are all alive: the server's limit (100,000 by default) answers 503.
    let _ = socket
        .send_to(
            &subscribe(round, SUBSCRIPTIONS, from, contact),
            server.udp_addr(),
        )
        .await;
    let extra = match timeout(Duration::from_secs(2), socket.recv_from(&mut buf)).await {
        Ok(Ok((len, _))) => SipMessage::parse(&buf[..len]).ok().and_then(|r| r.status()),
        _ => None,
    };
    println!(
        "round {round}: {SUBSCRIPTIONS} SUBSCRIBEs in {:.1} s ({:.1} µs per subscription): \
         {accepted} accepted, {refused} refused, {unanswered} unanswered; \
         RSS {} before, {} at the peak; one more SUBSCRIBE answered {extra:?}; \
         {timed_out} windows waited 500 ms for a lost answer; seconds per tenth: {}",
        created.as_secs_f64(),
        created.as_secs_f64() * 1e6 / SUBSCRIPTIONS as f64,
        mib(before),
        mib(peak),
        per_tenth.join(" "),
    );
    let deadline = Instant::now() + Duration::from_secs(EXPIRES * 3 + 60);
    while seen.terminated.load(Ordering::Relaxed) - terminated_before < accepted
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "round {round}: {} final NOTIFYs after {:.1} s (NOTIFYs so far {}); RSS after expiry {}",
        seen.terminated.load(Ordering::Relaxed) - terminated_before,
        start.elapsed().as_secs_f64(),
        seen.notifies.load(Ordering::Relaxed),
        mib(rss_kib()),
    );
}

/// Whether the part `name` runs: every part without arguments, else those an argument names
/// (`cargo bench --bench server -- subscriptions`).
fn selected(name: &str) -> bool {
    let wanted: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    wanted.is_empty() || wanted.iter().any(|w| name.contains(w.as_str()))
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let config = ReferenceConfig {
            t1: Duration::from_millis(50),
            ..ReferenceConfig::default()
        };
        let server = ReferenceServer::start(config).await.expect("server starts");
        println!("RSS at start {}", mib(rss_kib()));
        if selected("garbage") {
            garbage(&server).await;
        }
        let seen = Arc::new(Seen::default());
        let sink_socket = UdpSocket::bind("127.0.0.1:0").await.expect("bind");
        let contact = sink_socket.local_addr().expect("address");
        let sink_task = tokio::spawn(sink(sink_socket, seen.clone()));
        for round in 1..=3 {
            if selected("subscriptions") {
                subscriptions(&server, round, &seen, contact).await;
            }
        }
        let rtt = probe(
            &UdpSocket::bind("127.0.0.1:0").await.expect("bind"),
            server.udp_addr(),
            0,
        )
        .await
        .expect("the server answers OPTIONS after the subscriptions");
        println!("OPTIONS afterwards answered in {rtt:?}");
        sink_task.abort();
        server.stop().await;
    });
}
