//! Verdicts survive real kernel packet loss: the test creates a network namespace, brings its
//! loopback up, adds an nftables rule on the input hook that drops 20% of the UDP datagrams
//! (`numgen random mod 10 < 2 drop`; a drop on the output hook would make sendto fail with
//! EPERM instead of losing the packet), and runs the harness binary inside it against the
//! embedded reference server (`fixtures/suts/reference-netns.yaml`, every flow over UDP).
//! The run must hold the gate (exit 0) with every flow passing in its run.json. The
//! namespace is deleted afterwards, also when the test fails. Without root, `ip` or `nft`
//! the test is ignored with a loud note (CI runs as root and `.ci/run` installs both).

use libtest_mimic::{Arguments, Failed, Trial};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Share of UDP datagrams the rule drops, in tenths (the `numgen random mod 10 < 2`).
const DROP_TENTHS: u32 = 2;
/// The longest the run may take in the namespace before the test gives up on it.
const RUN_LIMIT: Duration = Duration::from_secs(300);

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

/// Why the test cannot run here, if it cannot.
fn missing_prerequisite() -> Option<String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Some("not root: creating a network namespace needs root (CI runs as root)".into());
    }
    for tool in ["ip", "nft"] {
        let found = Command::new(tool)
            .arg("-V")
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            return Some(format!(
                "`{tool}` is not installed (Debian: iproute2, nftables; .ci/run installs them)"
            ));
        }
    }
    None
}

/// Runs a command to completion; an error names it with its status and standard error.
fn run(args: &[&str]) -> Result<Output, String> {
    let output = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(format!(
            "{} exited with {}: {}",
            args.join(" "),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// A network namespace that is deleted when the guard goes, whatever happened.
struct Namespace {
    name: String,
}

impl Namespace {
    /// Creates the namespace with its loopback up and the lossy rule on its input hook.
    fn lossy() -> Result<Namespace, String> {
        let name = format!("phloss-{}", std::process::id());
        run(&["ip", "netns", "add", &name])?;
        let ns = Namespace { name };
        let n = ns.name.as_str();
        run(&["ip", "-n", n, "link", "set", "lo", "up"])?;
        let nft = ["ip", "netns", "exec", n, "nft"];
        let rule = format!("meta l4proto udp numgen random mod 10 < {DROP_TENTHS} counter drop");
        for command in [
            "add table inet loss".to_string(),
            "add chain inet loss input { type filter hook input priority 0 ; }".to_string(),
            format!("add rule inet loss input {rule}"),
        ] {
            let mut args = nft.to_vec();
            args.push(&command);
            run(&args)?;
        }
        Ok(ns)
    }

    /// The lossy chain as `nft list` shows it, with the drop rule's counter.
    fn listing(&self) -> Result<String, String> {
        let out = run(&[
            "ip", "netns", "exec", &self.name, "nft", "list", "chain", "inet", "loss", "input",
        ])?;
        // The namespace's UDP counters (RcvbufErrors: datagrams a full socket buffer lost).
        let snmp = run(&["ip", "netns", "exec", &self.name, "cat", "/proc/net/snmp"])?;
        let udp: Vec<String> = String::from_utf8_lossy(&snmp.stdout)
            .lines()
            .filter(|l| l.starts_with("Udp:"))
            .map(str::to_string)
            .collect();
        Ok(format!(
            "{}{}\n",
            String::from_utf8_lossy(&out.stdout),
            udp.join("\n")
        ))
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        if let Err(e) = run(&["ip", "netns", "del", &self.name]) {
            eprintln!("*** could not delete network namespace {}: {e}", self.name);
        }
    }
}

fn kernel_loss() -> Result<(), Failed> {
    let root = root();
    let reports = std::env::temp_dir().join(format!("phloss-reports-{}", std::process::id()));
    let ns = Namespace::lossy()?;
    let profile = root.join("fixtures/suts/reference-netns.yaml");
    let binary = env!("CARGO_BIN_EXE_presence-harness");
    let started = Instant::now();
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns.name, binary, "run", "--quiet"])
        .arg("--root")
        .arg(&root)
        .arg("--sut")
        .arg(&profile)
        .arg("--reports")
        .arg(&reports)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the harness in {}: {e}", ns.name))?;
    // Bounded wait: poll the child's exit (the run itself has bounded timeouts throughout).
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > RUN_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("the run in {} did not end within {RUN_LIMIT:?}", ns.name).into());
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let rules = ns.listing()?;
    drop(ns);
    let run_json = reports.join("latest/run.json");
    let record: serde_json::Value = std::fs::read_to_string(&run_json)
        .map_err(|e| format!("{}: {e}\n{stdout}", run_json.display()))
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))?;
    // The flows that judge a UE do not apply to the reference server: they are unsupported.
    let flows: Vec<serde_json::Value> = record["flows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|f| {
            !(f["verdict"] == "unsupported"
                && f["reason"]
                    .as_str()
                    .is_some_and(|r| r.contains("judges a presence client")))
        })
        .cloned()
        .collect();
    let not_pass: Vec<String> = flows
        .iter()
        .filter(|f| f["verdict"] != "pass")
        .map(|f| {
            let failed: Vec<String> = f["checks"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| c["outcome"] == "fail")
                .map(|c| format!("step {}: {}: {}", c["step"], c["check"], c["actual"]))
                .collect();
            format!("{} {} {} {failed:?}", f["id"], f["verdict"], f["reason"])
        })
        .collect();
    let retransmissions = flows
        .iter()
        .flat_map(|f| f["trace"].as_array().cloned().unwrap_or_default())
        .filter(|m| {
            m["note"]
                .as_str()
                .is_some_and(|n| n.contains("retransmission"))
        })
        .count();
    let counter = rules
        .lines()
        .find(|l| l.contains("counter"))
        .unwrap_or("(no counter)")
        .trim();
    println!(
        "    {} runs in {:.1} s inside the namespace; {retransmissions} retransmissions seen; rule: {counter}",
        flows.len(),
        elapsed.as_secs_f64()
    );
    let mut problems = Vec::new();
    if !status.success() {
        problems.push(format!("the harness exited with {status}:\n{stdout}"));
    }
    if flows.is_empty() || !not_pass.is_empty() {
        problems.push(format!(
            "want every flow to pass; these did not: {not_pass:?}"
        ));
    }
    // The rule must have lost something, or the test proved nothing.
    if retransmissions == 0 {
        problems.push(format!(
            "no retransmission in any trace: did the rule drop anything?\n{rules}"
        ));
    }
    if problems.is_empty() {
        let _ = std::fs::remove_dir_all(&reports);
        println!("{rules}");
        Ok(())
    } else {
        problems.push(format!("reports kept in {}\n{rules}", reports.display()));
        Err(problems.join("\n").into())
    }
}

fn main() {
    let args = Arguments::from_args();
    let missing = missing_prerequisite();
    if let Some(why) = &missing {
        eprintln!("*** SKIPPED: netns_loss::kernel-drops-20-percent-of-udp: {why}");
    }
    let trial = Trial::test("netns_loss::kernel-drops-20-percent-of-udp", kernel_loss)
        .with_ignored_flag(missing.is_some());
    libtest_mimic::run(&args, vec![trial]).exit();
}
