//! Benchmarks (`cargo bench`): wall time of the whole suite against the embedded reference
//! server, and the harness's per-message overhead (parse, normalise for snapshots, evaluate
//! header checks). Prints figures; asserts nothing about time.

use presence_harness::check::headers;
use presence_harness::check::snapshot::Normaliser;
use presence_harness::flow::load_dir;
use presence_harness::flow::model::HeaderCheckSpec;
use presence_harness::flow::vars::Vars;
use presence_harness::runner::run_suite;
use presence_harness::sip::SipMessage;
use presence_harness::sut::Profile;
use std::path::Path;
use std::time::{Duration, Instant};

const NOTIFY: &[u8] = b"NOTIFY sip:watcher@127.0.0.1:40000 SIP/2.0\r\n\
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK5e1b2c3d4\r\n\
Max-Forwards: 70\r\n\
Route: <sip:127.0.0.1:40002;lr>, <sip:127.0.0.1:40001;lr>\r\n\
From: <sip:presentity@home2.net>;tag=ps-77\r\n\
To: <sip:watcher@home1.net>;tag=ue-42\r\n\
Call-ID: 8d1f0a@127.0.0.1\r\n\
CSeq: 2 NOTIFY\r\n\
Contact: <sip:ps@127.0.0.1:5060>\r\n\
Event: presence\r\n\
Subscription-State: active;expires=7190\r\n\
Content-Type: application/pidf+xml\r\n\
Content-Length: 171\r\n\r\n\
<?xml version=\"1.0\"?><presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:presentity@home2.net\"><tuple id=\"a1\"><status><basic>open</basic></status></tuple></presence>";

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn suite(root: &Path) {
    let profile =
        Profile::load(&root.join("fixtures/suts/reference.yaml")).expect("reference profile");
    let flows = load_dir(&root.join("flows"), root).expect("flows load");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    // rfc6665-expiry waits 1 s by design (RFC 6665 expiry is in whole seconds); without it
    // the figure is the harness's own speed.
    let waits = ["rfc6665-expiry"];
    let fast: Vec<_> = flows
        .iter()
        .filter(|f| !waits.contains(&f.flow.id.as_str()))
        .cloned()
        .collect();
    for (name, set) in [
        ("whole suite", &flows),
        ("suite without the 1 s expiry wait", &fast),
    ] {
        let mut samples = Vec::new();
        let mut runs = 0;
        for _ in 0..5 {
            let record = runtime.block_on(run_suite(&profile, set, root, |_| {}));
            assert!(
                record
                    .flows
                    .iter()
                    .all(|f| f.outcome.verdict.name() == "pass"),
                "a flow did not pass"
            );
            samples.push(Duration::from_micros(record.duration_us));
            runs = record.flows.len();
        }
        println!(
            "{name}: {} flows in {runs} runs (flow × transport), median {:.1} ms over 5 suites (min {:.1} ms)",
            set.len(),
            median(samples.clone()).as_secs_f64() * 1e3,
            samples
                .iter()
                .min()
                .copied()
                .unwrap_or_default()
                .as_secs_f64()
                * 1e3
        );
    }
}

fn per_message() {
    let spec: HeaderCheckSpec =
        serde_yaml::from_str("{ equals: active, params: { expires: { range: [1, 7200] } } }")
            .expect("spec");
    let vars = Vars::default();
    let rounds = 20_000u32;
    let start = Instant::now();
    for _ in 0..rounds {
        let msg = SipMessage::parse(NOTIFY).expect("parses");
        std::hint::black_box(msg.subscription_state());
    }
    let parse = start.elapsed() / rounds;
    let msg = SipMessage::parse(NOTIFY).expect("parses");
    let start = Instant::now();
    for _ in 0..rounds {
        let mut caps = Vec::new();
        std::hint::black_box(headers::eval(
            &msg,
            "Subscription-State",
            &spec,
            &vars,
            &mut caps,
        ));
    }
    let check = start.elapsed() / rounds;
    let start = Instant::now();
    for _ in 0..rounds {
        let mut normaliser = Normaliser::default();
        std::hint::black_box(normaliser.message(&msg));
    }
    let normalise = start.elapsed() / rounds;
    println!("per message: parse {:.2} µs, header check {:.2} µs, snapshot normalisation (incl. XML canonicalisation) {:.2} µs", parse.as_secs_f64() * 1e6, check.as_secs_f64() * 1e6, normalise.as_secs_f64() * 1e6);
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("root")
        .to_path_buf();
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    per_message();
    suite(&root);
}
