//! `presence-harness`: plays the Annex A flows of 3GPP TS 24.141 against a presence server.

use clap::{Parser, Subcommand};
use presence_harness::check::verdict::Verdict;
use presence_harness::flow::{load_dir, LoadedFlow};
use presence_harness::runner::run_suite;
use presence_harness::sut::Profile;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Exit code when every flow passed the gate.
const EXIT_PASS: u8 = 0;
/// Exit code when a flow failed.
const EXIT_FAIL: u8 = 1;
/// Exit code when the harness could not judge (bad flow, bad arguments, SUT unreachable).
const EXIT_ERROR: u8 = 2;

#[derive(Parser)]
#[command(
    name = "presence-harness",
    version,
    about = "Conformance test harness for IMS presence (3GPP TS 24.141, IETF SIMPLE)"
)]
struct Cli {
    /// Project root holding flows/ and fixtures/ (default: the current directory if it has
    /// flows/, else the source checkout).
    #[arg(long, global = true)]
    root: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Play the flows against a SUT and write reports/<run-id>/run.json.
    ///
    /// Exit status: 0 when no flow failed or errored, 1 when a flow failed, 2 when the harness
    /// could not judge (bad flow file, bad arguments, SUT unreachable).
    Run {
        /// SUT profile (default: fixtures/suts/reference.yaml, the embedded reference server).
        #[arg(long)]
        sut: Option<PathBuf>,
        /// Only flows whose id contains this text (repeatable).
        #[arg(long = "flow", value_name = "PATTERN")]
        flows: Vec<String>,
        /// Turn on a fault switch of the embedded reference server (repeatable; see
        /// `presence-harness faults`).
        #[arg(long = "fault", value_name = "NAME")]
        faults: Vec<String>,
        /// Where run folders are written.
        #[arg(long, default_value = "reports")]
        reports: PathBuf,
        /// Print only the summary.
        #[arg(long, short)]
        quiet: bool,
    },
    /// List the flows with their clauses.
    List {
        /// Only flows whose id contains this text (repeatable).
        #[arg(long = "flow", value_name = "PATTERN")]
        flows: Vec<String>,
    },
    /// List the embedded reference server's fault switches.
    Faults,
}

fn default_root() -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_default();
    if cwd.join("flows").is_dir() {
        cwd
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or(cwd)
    }
}

fn select(flows: Vec<LoadedFlow>, patterns: &[String]) -> Vec<LoadedFlow> {
    flows
        .into_iter()
        .filter(|f| patterns.is_empty() || patterns.iter().any(|p| f.flow.id.contains(p.as_str())))
        .collect()
}

/// Prints a check that broke a requirement: the requirement's words, then the diff when the
/// check compared documents, else expected and actual.
fn print_failed_check(check: &presence_harness::check::CheckResult) {
    println!("            step {}: {}", check.step, check.check);
    println!("              requirement: {}", check.requirement.cite());
    match &check.diff {
        Some(diff) => {
            for line in diff.lines() {
                println!("              {line}");
            }
        }
        None => {
            println!("              expected: {}", check.expected);
            println!("              actual:   {}", check.actual);
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let root = cli.root.clone().unwrap_or_else(default_root);
    match cli.command {
        Command::Faults => {
            for fault in presence_harness::reference::Fault::all() {
                println!("{:<36} {}", fault.name(), fault.description());
            }
            ExitCode::from(EXIT_PASS)
        }
        Command::List { flows } => match load_dir(&root.join("flows"), &root) {
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_ERROR)
            }
            Ok(all) => {
                for loaded in select(all, &flows) {
                    let clauses: Vec<String> = loaded
                        .flow
                        .spec
                        .iter()
                        .map(|c| format!("{} {}", c.doc, c.clause))
                        .collect();
                    println!(
                        "{:<28} {}\n{:<28} {}",
                        loaded.flow.id,
                        loaded.flow.title,
                        "",
                        clauses.join("; ")
                    );
                }
                ExitCode::from(EXIT_PASS)
            }
        },
        Command::Run {
            sut,
            flows,
            faults,
            reports,
            quiet,
        } => run(&root, sut, &flows, faults, &reports, quiet),
    }
}

fn run(
    root: &Path,
    sut: Option<PathBuf>,
    patterns: &[String],
    faults: Vec<String>,
    reports: &Path,
    quiet: bool,
) -> ExitCode {
    let profile_path = sut.unwrap_or_else(|| root.join("fixtures/suts/reference.yaml"));
    let mut profile = match Profile::load(&profile_path) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    if !faults.is_empty() {
        match profile.embedded.as_mut() {
            Some(embedded) => embedded.faults.extend(faults),
            None => {
                eprintln!("error: --fault needs a profile with the embedded reference server");
                return ExitCode::from(EXIT_ERROR);
            }
        }
        if let Err(e) = presence_harness::runner::parse_faults(
            &profile.embedded.clone().unwrap_or_default().faults,
        ) {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    }
    let flows = match load_dir(&root.join("flows"), root) {
        Ok(all) => select(all, patterns),
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    if flows.is_empty() {
        eprintln!("error: no flow matches {patterns:?}");
        return ExitCode::from(EXIT_ERROR);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    };
    if !quiet {
        println!(
            "presence-harness {} against {} ({} flows)",
            env!("CARGO_PKG_VERSION"),
            profile.name,
            flows.len()
        );
    }
    let record = runtime.block_on(run_suite(&profile, &flows, root, |outcome| {
        if !quiet {
            println!(
                "{:<11} {:<28} {:>7.1} ms  {}",
                outcome.verdict.name(),
                outcome.id,
                outcome.duration_us as f64 / 1000.0,
                outcome.title
            );
            for check in outcome
                .checks
                .iter()
                .filter(|c| c.verdict() != Verdict::Pass)
            {
                print_failed_check(check);
            }
            if let Some(reason) = &outcome.reason {
                println!("            {reason}");
            }
        }
    }));
    let summary: Vec<String> = record
        .summary
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    println!(
        "{} in {:.1} ms",
        summary.join(", "),
        record.duration_us as f64 / 1000.0
    );
    match record.write(&root.join(reports)) {
        Ok(path) => println!("report: {}", path.display()),
        Err(e) => {
            eprintln!("error: cannot write the report: {e}");
            return ExitCode::from(EXIT_ERROR);
        }
    }
    match record.worst() {
        Verdict::Error => ExitCode::from(EXIT_ERROR),
        Verdict::Fail => ExitCode::from(EXIT_FAIL),
        _ => ExitCode::from(EXIT_PASS),
    }
}
