//! The per-flow pcap files decode in tshark (Debian's `tshark`): every message the run put on
//! the wire, over UDP, TCP and TLS (a TLS run written as its plain text over TCP), is one frame
//! tshark dissects as SIP, and every XCAP request and response one it dissects as HTTP. Without
//! `tshark` on PATH the test is ignored and the reason printed.

use libtest_mimic::{Arguments, Failed, Trial};
use presence_harness::net::Direction;
use presence_harness::report::RunRecord;
use presence_harness::sut::process::on_path;
use std::path::Path;
use std::process::Command;

fn every_wire_message_decodes() -> Result<(), Failed> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("root")
        .to_path_buf();
    let reports = std::env::temp_dir().join(format!(
        "presence-harness-pcap-{}",
        presence_harness::ids::token()
    ));
    let status = Command::new(env!("CARGO_BIN_EXE_presence-harness"))
        .arg("--root")
        .arg(&root)
        .args(["run", "--quiet", "--flow", "A.3.2.1", "--flow", "A.8.2"])
        .arg("--reports")
        .arg(&reports)
        .env("CI", "true")
        .status()
        .map_err(|e| format!("cannot run the harness: {e}"))?;
    if !status.success() {
        return Err(format!("the run should pass, got {status}").into());
    }
    let dir = reports.join("latest");
    let record = RunRecord::read(&dir.join("run.json"))?;
    for flow in &record.flows {
        let wire: Vec<_> = flow
            .outcome
            .trace
            .iter()
            .filter(|e| e.direction != Direction::Internal)
            .collect();
        let sut_port = wire
            .iter()
            .find(|e| e.direction == Direction::Sent)
            .and_then(|e| e.to_addr.rsplit(':').next())
            .ok_or("no message was sent")?
            .to_string();
        // XCAP flows put HTTP on the wire; the others SIP.
        let protocol = if wire.iter().all(|e| e.summary.contains("XCAP")) {
            "http"
        } else {
            "sip"
        };
        let mut decode_as = vec![format!("tcp.port=={sut_port},{protocol}")];
        if protocol == "sip" {
            decode_as.push(format!("udp.port=={sut_port},sip"));
        }
        let output = Command::new("tshark")
            .arg("-r")
            .arg(dir.join(format!("{}.pcap", flow.outcome.id)))
            .args(decode_as.iter().flat_map(|d| ["-d", d.as_str()]))
            .args(["-Y", protocol, "-T", "fields", "-e", "frame.number"])
            .output()
            .map_err(|e| format!("cannot run tshark: {e}"))?;
        let decoded = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count();
        if decoded != wire.len() {
            return Err(format!(
                "{}: tshark decoded {decoded} {protocol} frames, the run put {} messages on the wire\n{}",
                flow.outcome.id,
                wire.len(),
                String::from_utf8_lossy(&output.stderr)
            )
            .into());
        }
    }
    let _ = std::fs::remove_dir_all(&reports);
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let trial = Trial::test("report::pcap-decodes-in-tshark", every_wire_message_decodes);
    let trial = if on_path("tshark") {
        trial
    } else {
        eprintln!("\n*** SKIPPED: tshark is not on PATH, so the pcap files are not decoded. Install it with\n***   apt-get install tshark\n");
        trial.with_ignored_flag(true)
    };
    libtest_mimic::run(&args, vec![trial]).exit();
}
