//! `presence-harness serve`: the embedded reference presence server on its own, until Ctrl-C.

use clap::Args;
use presence_harness::reference::{Listen, ReferenceConfig, ReferenceServer};
use presence_harness::runner::{parse_faults, parse_variations};
use std::io::Write;
use std::net::SocketAddr;
use std::time::Duration;

/// Arguments of `serve`.
#[derive(Args)]
pub struct ServeArgs {
    /// SIP over UDP.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5060")]
    udp: SocketAddr,
    /// SIP over TCP (default: the UDP address).
    #[arg(long, value_name = "ADDR")]
    tcp: Option<SocketAddr>,
    /// SIP over TLS (`sips:` URIs), with the certificate the server makes for localhost and
    /// 127.0.0.1 at start (default: an ephemeral port, printed at start).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    sip_tls: SocketAddr,
    /// A PEM file of the certificates the server trusts when it connects to a watcher over TLS
    /// to deliver NOTIFYs to a `sips:` Contact, e.g. fixtures/tls/node-cert.pem, the harness
    /// nodes' (default: none, so no such delivery succeeds).
    #[arg(long, value_name = "PATH")]
    tls_trust: Option<std::path::PathBuf>,
    /// XCAP over HTTP; the XCAP root is http://ADDR/xcap-root.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    xcap: SocketAddr,
    /// XCAP over HTTP over TLS, with a certificate the server makes for localhost and
    /// 127.0.0.1 at start; the XCAP root is https://ADDR/xcap-root (default: an ephemeral port,
    /// printed at start).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    xcap_tls: SocketAddr,
    /// Write the server's certificate (PEM; SIP and XCAP over TLS present the same one) to this
    /// file, for a profile's `sip_tls_ca` and `xcap_tls_ca`.
    #[arg(long, visible_alias = "xcap-certificate", value_name = "PATH")]
    certificate: Option<std::path::PathBuf>,
    /// Turn on a fault switch (repeatable; see `presence-harness faults`).
    #[arg(long = "fault", value_name = "NAME")]
    faults: Vec<String>,
    /// Turn on a variation switch (repeatable; see `presence-harness variations`).
    #[arg(long = "variation", value_name = "NAME")]
    variations: Vec<String>,
    /// RFC 3261 T1 in milliseconds, for NOTIFY retransmissions over UDP.
    #[arg(long, value_name = "MS", default_value_t = 500)]
    t1_ms: u64,
    /// Most subscriptions kept at once (a SUBSCRIBE beyond them gets 503).
    #[arg(long, value_name = "N", default_value_t = 100_000)]
    max_subscriptions: usize,
    /// The user part of a user the server has not provisioned: a PUBLISH to it, and an XCAP
    /// request in its home directory, get 404 (repeatable; every other user is served).
    #[arg(long = "unknown-user", value_name = "USER")]
    unknown_users: Vec<String>,
    /// A source address outside the server's trust domain: a SUBSCRIBE from it gets 403
    /// (repeatable; by default every source is trusted).
    #[arg(long = "untrusted", value_name = "ADDR")]
    untrusted: Vec<std::net::IpAddr>,
    /// The password shared with every watcher: a Digest challenge to a NOTIFY is answered once
    /// as the watcher's AoR with it (default: none, challenges are not answered).
    #[arg(long, value_name = "PASSWORD")]
    notify_password: Option<String>,
}

/// Starts the server, prints where it listens, and serves until Ctrl-C (or SIGTERM).
pub fn serve(args: &ServeArgs) -> Result<(), String> {
    let config = ReferenceConfig {
        faults: parse_faults(&args.faults)?,
        variations: parse_variations(&args.variations)?,
        t1: Duration::from_millis(args.t1_ms.max(1)),
        max_subscriptions: args.max_subscriptions,
        unknown_users: args.unknown_users.iter().cloned().collect(),
        untrusted: args.untrusted.iter().copied().collect(),
        notify_password: args.notify_password.clone(),
        tls_trust: match &args.tls_trust {
            Some(path) => presence_harness::net::tls::certificates_from_pem(path)?,
            None => Vec::new(),
        },
        ..ReferenceConfig::default()
    };
    let listen = Listen {
        udp: args.udp,
        tcp: args.tcp.unwrap_or(args.udp),
        sip_tls: args.sip_tls,
        xcap: args.xcap,
        xcap_tls: args.xcap_tls,
    };
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        let server = ReferenceServer::start_at(config, &listen)
            .await
            .map_err(|e| format!("cannot start the reference server on {listen:?}: {e}"))?;
        if let Some(path) = &args.certificate {
            let pem = presence_harness::net::tls::certificate_pem(server.certificate());
            std::fs::write(path, pem)
                .map_err(|e| format!("cannot write the certificate to {}: {e}", path.display()))?;
        }
        // One line, written once: whoever started the server may stop reading after it (a
        // closed pipe is no reason to stop serving).
        let mut out = std::io::stdout();
        let _ = writeln!(
            out,
            "reference server: SIP udp {} tcp {} tls {}, XCAP root {}, over TLS {}; Ctrl-C stops it",
            server.udp_addr(),
            server.tcp_addr(),
            server.tls_addr(),
            server.xcap_root(),
            server.xcap_tls_root()
        );
        let _ = out.flush();
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .map_err(|e| format!("cannot watch SIGTERM: {e}"))?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        server.stop().await;
        Ok(())
    })
}
