//! `presence-harness`: plays the Annex A flows of 3GPP TS 24.141 against a presence server.

mod commands;

use clap::{Args, Parser, Subcommand};
use presence_harness::check::verdict::Gate;
use presence_harness::flow::loader::Selection;
use presence_harness::project;
use presence_harness::report::console::Console;
use presence_harness::report::RunRecord;
use presence_harness::runner::{load_profile, play_suite, ready_sut};
use presence_harness::schema::Document;
use presence_harness::sut::profile::Parallel;
use presence_harness::sut::Profile;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// mimalloc instead of the system allocator: the reference server and the load generator
/// allocate per message on several threads, where glibc's malloc took a quarter of the
/// server's CPU under load (the README's Performance section has the figures).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Turns off mimalloc's purging (returning freed pages to the OS) for a command that ends in
/// milliseconds: a three-flow run made some 170 `madvise` calls, most of them at exit, where
/// mimalloc purges everything, and pages purged during the run fault in again when reused.
/// Long-running commands (`serve`, `load`) keep purging, so their memory goes back.
fn no_purging_for_a_short_command() {
    /// `mi_option_purge_delay` in mimalloc.h (v2 and v3): milliseconds, -1 for never.
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: mi_option_set only stores the value in mimalloc's option table.
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, -1) };
}

/// Exit code when the gate holds.
const EXIT_PASS: u8 = 0;
/// Exit code when a flow broke the gate (or a listed deviation went stale).
const EXIT_FAIL: u8 = 1;
/// Exit code when the harness could not judge (bad flow, bad arguments, SUT unreachable).
const EXIT_ERROR: u8 = 2;
/// Exit code after Ctrl-C (128 + SIGINT).
const EXIT_INTERRUPTED: u8 = 130;

#[derive(Parser)]
#[command(
    name = "presence-harness",
    version,
    about = "Conformance test harness for IMS presence (3GPP TS 24.141, IETF SIMPLE)"
)]
struct Cli {
    /// Project folder holding flows/ and fixtures/ (default: the current folder if it holds
    /// both, else the copy built into the binary, written out once under
    /// $XDG_CACHE_HOME/presence-harness/).
    #[arg(long, global = true)]
    root: Option<PathBuf>,
    /// Read the flows from this folder instead of the project's flows/ (e.g. a vendor's own
    /// flows; their fixtures references still name fixtures/...).
    #[arg(long = "flows", global = true, value_name = "DIR")]
    flows_dir: Option<PathBuf>,
    /// Read the fixtures (bodies, profiles, the requirement catalogue, snapshots) from this
    /// folder instead of the project's fixtures/.
    #[arg(long = "fixtures", global = true, value_name = "DIR")]
    fixtures_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Play the flows against a SUT and write reports/<run-id>/run.json.
    ///
    /// Exit status: 0 when the gate holds; 1 when a flow breaks it (a failed check the
    /// profile does not list as an expected deviation) or a listed deviation no longer occurs;
    /// 2 when the harness could not judge (bad flow file, bad arguments, SUT unreachable);
    /// 130 when interrupted (the SUT the harness started is stopped first).
    Run(RunArgs),
    /// List the flows with their clauses.
    List {
        /// Only flows whose id contains this text (repeatable).
        #[arg(long = "flow", value_name = "PATTERN")]
        flows: Vec<String>,
    },
    /// List every MUST and SHOULD that binds a server role (fixtures/coverage/*.yaml, read
    /// from RFC 3261, 3680, 3856, 3857, 3858, 3903, 4662, 4825, 4826, 5025, 6665 and TS
    /// 24.141) with the checks that enforce it, or why none does.
    Coverage {
        /// Print the full table as Markdown (fixtures/coverage/README.md) instead of the
        /// terminal listing.
        #[arg(long)]
        markdown: bool,
        /// Print only the per-document summary as Markdown (the README's coverage section).
        #[arg(long, conflicts_with = "markdown")]
        summary: bool,
    },
    /// List the fault switches of the embedded reference server and of the reference UE (`ue-` names).
    Faults,
    /// List the embedded reference server's variation switches: legal behaviours (compact
    /// headers, folding, foreign XML, NOTIFY before the 200...) under which every flow must
    /// keep its verdict.
    Variations,
    /// Play a presence workload at a target rate against a SUT and judge it: latencies
    /// (HDR histograms), errors, and the message rules on every message, idle and under load.
    ///
    /// Exit status: 0 when no requirement broke past the gate; 1 when one did; 2 when the
    /// harness could not judge (bad arguments, the SUT unreachable or refusing the idle probe).
    Load(commands::load::LoadArgs),
    /// Run the embedded reference presence server alone, printing where it listens, until
    /// Ctrl-C: for trying a client or a load against it.
    Serve(commands::serve::ServeArgs),
    /// Write starter SUT profiles (presence-sut.yaml for a server, presence-ue.yaml for a
    /// client) and CI jobs for GitHub Actions and GitLab (presence-ci-github.yml,
    /// presence-ci-gitlab.yml) into the current folder.
    Init(commands::init::InitArgs),
    /// Render the reports of a run again from its run.json (into the same folder).
    Report {
        /// The run.json to render, e.g. reports/latest/run.json.
        run_json: PathBuf,
    },
    /// Print the JSON Schema (draft 2020-12) of run.json, load.json or a SUT profile, as
    /// fixtures/schemas/<document>.schema.json holds it.
    Schema {
        /// The document.
        #[arg(value_enum)]
        document: Document,
    },
}

#[derive(Args)]
struct RunArgs {
    /// SUT profile: a file, or the name of a profile shipped in fixtures/suts/ (`kamailio`).
    /// Default: the embedded reference server (fixtures/suts/reference.yaml).
    #[arg(long)]
    sut: Option<PathBuf>,
    /// The folder of snapshot folders: the profile's snapshots are DIR/<profile>/ (default:
    /// the profile's `snapshots` key, else fixtures/snapshots for a shipped profile and
    /// ./snapshots for any other).
    #[arg(long, value_name = "DIR")]
    snapshots: Option<PathBuf>,
    /// Only flows whose id contains this text (repeatable).
    #[arg(long = "flow", value_name = "PATTERN")]
    flows: Vec<String>,
    /// Turn on a fault switch of the embedded reference server (repeatable; see
    /// `presence-harness faults`).
    #[arg(long = "fault", value_name = "NAME")]
    faults: Vec<String>,
    /// Turn on a variation switch of the embedded reference server: something the RFCs allow
    /// that must not change any verdict (repeatable; see `presence-harness variations`).
    #[arg(long = "variation", value_name = "NAME")]
    variations: Vec<String>,
    /// What breaks the gate: `must` (a broken MUST) or `strict` (a broken SHOULD too).
    #[arg(long, value_enum, default_value_t = Gate::Must)]
    gate: Gate,
    /// Where run folders are written (relative to the current folder).
    #[arg(long, default_value = "reports")]
    reports: PathBuf,
    /// Print only the summary (no progress, no per-flow lines).
    #[arg(long, short)]
    quiet: bool,
    /// Also print every message of each flow run (time, direction, nodes, start line).
    #[arg(long, short)]
    verbose: bool,
}

/// Writes a listing to standard output. A reader that stops early (`| head`) is not an error.
fn print_listing(text: &str) -> ExitCode {
    use std::io::Write;
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
    ExitCode::from(EXIT_PASS)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    log_to_stderr_if_asked();
    if !matches!(cli.command, Command::Load(_) | Command::Serve(_)) {
        no_purging_for_a_short_command();
    }
    let needs_files = !matches!(
        cli.command,
        Command::Faults
            | Command::Variations
            | Command::Serve(_)
            | Command::Init(_)
            | Command::Report { .. }
    );
    let project = if needs_files {
        match project::resolve(
            cli.root.as_deref(),
            cli.flows_dir.as_deref(),
            cli.fixtures_dir.as_deref(),
        ) {
            Ok(project) => Some(project),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_ERROR);
            }
        }
    } else {
        None
    };
    let root = project.as_ref().map(|p| p.root.clone()).unwrap_or_default();
    match cli.command {
        Command::Coverage { markdown, summary } => {
            let coverage =
                presence_harness::flow::load_dir(&root.join("flows"), &root).and_then(|flows| {
                    let enforcers = presence_harness::report::coverage::enforcers(&flows);
                    presence_harness::report::coverage::load(&root, enforcers)
                });
            match coverage {
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(EXIT_ERROR)
                }
                Ok(coverage) if markdown => print_listing(&coverage.render_markdown()),
                Ok(coverage) if summary => print_listing(&coverage.render_summary()),
                Ok(coverage) => print_listing(&coverage.render_text()),
            }
        }
        Command::Schema { document } => print_listing(&document.render()),
        Command::Faults => print_listing(
            &presence_harness::reference::Fault::all()
                .iter()
                .map(|fault| (fault.name(), fault.description()))
                .chain(
                    presence_harness::reference::ue::UeFault::all()
                        .iter()
                        .map(|fault| (fault.name(), fault.description())),
                )
                .map(|(name, description)| format!("{name:<36} {description}\n"))
                .collect::<String>(),
        ),
        Command::Variations => print_listing(
            &presence_harness::reference::Variation::all()
                .iter()
                .map(|v| format!("{:<24} {}\n", v.name(), v.description()))
                .collect::<String>(),
        ),
        // `list` validates every flow, whatever it prints, so that it doubles as a check of the files.
        Command::List { flows } => {
            match presence_harness::flow::load_dir(&root.join("flows"), &root) {
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(EXIT_ERROR)
                }
                Ok(all) => {
                    let mut listing = String::new();
                    for loaded in all.iter().filter(|f| {
                        flows.is_empty() || flows.iter().any(|p| f.flow.id.contains(p.as_str()))
                    }) {
                        let clauses: Vec<String> = loaded
                            .flow
                            .spec
                            .iter()
                            .map(|c| format!("{} {}", c.doc, c.clause))
                            .collect();
                        listing.push_str(&format!(
                            "{:<28} {}\n{:<28} {}\n",
                            loaded.flow.id,
                            loaded.flow.title,
                            "",
                            clauses.join("; ")
                        ));
                    }
                    print_listing(&listing)
                }
            }
        }
        Command::Load(args) => match commands::load::load(&root, &args) {
            Ok(commands::load::LoadEnd::Held) => ExitCode::from(EXIT_PASS),
            Ok(commands::load::LoadEnd::Broke) => ExitCode::from(EXIT_FAIL),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_ERROR)
            }
        },
        Command::Init(args) => match commands::init::init(Path::new("."), &args) {
            Ok(written) => {
                for file in written {
                    println!("wrote {file}");
                }
                ExitCode::from(EXIT_PASS)
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_ERROR)
            }
        },
        Command::Serve(args) => match commands::serve::serve(&args) {
            Ok(()) => ExitCode::from(EXIT_PASS),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_ERROR)
            }
        },
        Command::Report { run_json } => match RunRecord::read(&run_json).and_then(|record| {
            let dir = run_json.parent().unwrap_or(Path::new("."));
            record.render_reports(dir).map(|()| dir.to_path_buf())
        }) {
            Ok(dir) => {
                println!("reports written to {}", dir.display());
                ExitCode::from(EXIT_PASS)
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(EXIT_ERROR)
            }
        },
        Command::Run(args) => {
            let code = run(&root, &args);
            // The overlay of --flows/--fixtures goes before the exit that skips destructors.
            drop(project);
            exit_without_cleanup(code)
        }
    }
}

/// Loads the profile (with `--fault` and `--variation` switches added) and plays the selected
/// flows against its SUT, which starts while the flow files are parsed.
fn run(root: &Path, args: &RunArgs) -> u8 {
    let fail = |e: String| {
        eprintln!("error: {e}");
        EXIT_ERROR
    };
    let sut = args.sut.as_deref().map(|p| project::profile_path(root, p));
    let mut profile = match load_profile(root, sut.as_deref(), &args.faults, &args.variations) {
        Ok(profile) => profile,
        Err(e) => return fail(e),
    };
    if let Some(dir) = &args.snapshots {
        profile.snapshots = Some(dir.clone());
    } else if profile.snapshots.is_none() && !is_shipped(root, sut.as_deref()) {
        profile.snapshots = Some(PathBuf::from("snapshots"));
    }
    let selection = match Selection::scan(&root.join("flows"), root, &args.flows) {
        Ok(selection) => selection,
        Err(e) => return fail(e.to_string()),
    };
    // One run needs one thread (the cheapest start); several overlap on every core.
    let one_run = selection.candidates() * profile.transports.len() <= 1;
    let mut builder = if one_run || profile.parallel == Parallel::None {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    let played = runtime.block_on(async {
        tokio::select! {
            played = ready_and_play(&profile, selection, root, args) => Some(played),
            // Dropping the suite stops what it started (the SUT's process group is killed).
            _ = tokio::signal::ctrl_c() => None,
        }
    });
    let (record, console) = match played {
        None => {
            eprintln!("interrupted; the SUT the harness started has been stopped");
            return EXIT_INTERRUPTED;
        }
        Some(Err(e)) => return fail(e),
        Some(Ok(played)) => played,
    };
    console.summary(&record, args.gate);
    let written = record.write(&args.reports);
    match written {
        Ok(path) => println!("report: {}", path.display()),
        Err(e) => {
            eprintln!("error: cannot write the report: {e}");
            return EXIT_ERROR;
        }
    }
    if record.has_error() {
        EXIT_ERROR
    } else if record.gate_holds(args.gate) {
        EXIT_PASS
    } else {
        EXIT_FAIL
    }
}

/// True when the profile is one shipped in the project's fixtures/suts/ (the default is).
fn is_shipped(root: &Path, profile: Option<&Path>) -> bool {
    let suts = std::fs::canonicalize(root.join("fixtures/suts")).ok();
    profile.is_none_or(|file| {
        let folder = std::fs::canonicalize(file)
            .ok()
            .and_then(|f| f.parent().map(Path::to_path_buf));
        folder.is_some() && folder == suts
    })
}

/// Starts the SUT while the flows are parsed, then plays them with the
/// console reporting each run; a flow file that does not load stops the SUT and is the error.
async fn ready_and_play(
    profile: &Profile,
    selection: Selection,
    root: &Path,
    args: &RunArgs,
) -> Result<(RunRecord, Console), String> {
    let parse = async move { selection.load() };
    tokio::pin!(parse);
    let sut = ready_sut(profile, root);
    tokio::pin!(sut);
    let mut ready = None;
    // Biased: the SUT's start is polled first (it spawns the process or opens the probe's
    // socket, then waits), and the flows parse on this thread while it waits: no thread of
    // their own to start.
    let parsed = tokio::select! {
        biased;
        readied = &mut sut => {
            ready = Some(readied);
            parse.await
        }
        parsed = &mut parse => parsed,
    };
    let flows = match parsed {
        Ok(flows) if !flows.is_empty() => Ok(flows),
        Ok(_) => Err(format!("no flow matches {:?}", args.flows)),
        Err(e) => Err(e.to_string()),
    };
    let flows = match flows {
        Ok(flows) => flows,
        Err(e) => {
            // A SUT still starting is stopped by dropping its start (its process is killed).
            if let Some(ready) = ready {
                ready.stop().await;
            }
            return Err(e);
        }
    };
    let ready = match ready {
        Some(ready) => ready,
        None => sut.await,
    };
    let runs = flows
        .iter()
        .map(|f| f.flow.run_transports(&profile.transports).len())
        .sum::<usize>();
    let console = Console::new(runs, args.quiet, args.verbose);
    console.line(&format!(
        "presence-harness {} against {} ({} flows, {runs} runs)",
        env!("CARGO_PKG_VERSION"),
        profile.name,
        flows.len()
    ));
    let record = play_suite(ready, profile, flows, root, |outcome| {
        console.flow_done(outcome)
    })
    .await;
    Ok((record, console))
}

/// Sends debug logs to standard error when RUST_LOG asks for them (`debug`, or per target:
/// `presence_harness=debug,tokio=info`). Without RUST_LOG no subscriber is installed.
fn log_to_stderr_if_asked() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let Some(spec) = std::env::var_os("RUST_LOG") else {
        return;
    };
    match spec
        .to_string_lossy()
        .parse::<tracing_subscriber::filter::Targets>()
    {
        Ok(targets) => tracing_subscriber::registry()
            .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
            .with(targets)
            .init(),
        Err(e) => eprintln!("warning: RUST_LOG={spec:?} is not a log filter ({e}); no logs"),
    }
}

/// Ends the process once everything is written, without freeing the run's record or joining
/// the runtime's threads: the kernel reclaims both at once, where dropping them took 1 to 2 ms
/// at the end of a three-flow run.
fn exit_without_cleanup(code: u8) -> ! {
    use std::io::Write;
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // SAFETY: _exit ends the process; nothing runs after it, so nothing sees freed state.
    unsafe { libc::_exit(i32::from(code)) }
}
