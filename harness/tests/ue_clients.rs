//! Real presence clients as the UE under test: baresip (`fixtures/suts/baresip.yaml`) and
//! linphonec (`fixtures/suts/linphonec.yaml`). For
//! each client on PATH, the harness plays every flow that judges a UE once, starting the
//! client afresh for each run from its profile, and judges each flow by the gate with the
//! profile's expected deviations. A client that is not installed has its tests ignored, with
//! the reason printed.

mod common;

use common::{flows, recorded_trials, root, run_once, stale_trial};
use libtest_mimic::{Arguments, Trial};
use presence_harness::sut::process::on_path;
use presence_harness::sut::Profile;

/// The clients: program, profile, Debian package.
const CLIENTS: &[(&str, &str, &str)] = &[
    ("baresip", "fixtures/suts/baresip.yaml", "baresip-core"),
    ("linphonec", "fixtures/suts/linphonec.yaml", "linphone-cli"),
];

fn main() {
    let args = Arguments::from_args();
    let root = root();
    let mut trials = Vec::new();
    for (program, path, package) in CLIENTS {
        if !on_path(program) {
            eprintln!(
                "\n*** SKIPPED: {program} is not on PATH, so no flow runs against it. Install it with\n***   apt-get install {package}\n"
            );
            trials.push(
                Trial::test(format!("{program}::not-installed"), || Ok(())).with_ignored_flag(true),
            );
            continue;
        }
        let flows = match flows() {
            Ok(flows) => flows,
            Err(e) => {
                trials.push(Trial::test("load-flows", move || Err(e.clone().into())));
                break;
            }
        };
        // A filtered `cargo test` that selects none of this client's trials does not start it.
        let names = flows
            .iter()
            .map(|f| format!("{program}::{}", f.flow.id))
            .chain([format!("{program}::deviations-none-stale")]);
        let mut selected = names.filter(|name| match &args.filter {
            None => true,
            Some(filter) if args.exact => name == filter,
            Some(filter) => name.contains(filter.as_str()),
        });
        if selected.next().is_none() {
            continue;
        }
        let record = Profile::load(&root.join(path)).and_then(|profile| run_once(&profile, &flows));
        match record {
            Ok(record) => {
                trials.extend(recorded_trials(&format!("{program}::"), &record));
                trials.push(stale_trial(
                    &format!("{program}::deviations-none-stale"),
                    &record,
                ));
            }
            Err(e) => trials.push(Trial::test(format!("{program}::run"), move || {
                Err(e.clone().into())
            })),
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
