//! The binary alone, copied into an empty folder as a vendor would install it: it runs the
//! flows it carries against the embedded server, writes its reports and snapshots under that
//! folder, takes a vendor's profile from `init` against a server started apart (`serve`), reads
//! flows from `--flows`, and runs against Kamailio there. No checkout is within its reach: the
//! folder is outside the source tree and the cache is the folder's own.

use libtest_mimic::{Arguments, Failed, Trial};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// An empty folder holding only a copy of the binary.
struct Install {
    dir: PathBuf,
}

impl Install {
    fn new() -> Install {
        let dir = std::env::temp_dir().join(format!(
            "presence-harness-alone-{}",
            presence_harness::ids::token()
        ));
        std::fs::create_dir_all(&dir).expect("an empty folder");
        // Copied by a child process: a copy written by this process would leave its write
        // descriptor in any child another test forks meanwhile, until that child's exec, and
        // running the copy in that window fails with "Text file busy" (ETXTBSY).
        let copied = Command::new("cp")
            .arg(env!("CARGO_BIN_EXE_presence-harness"))
            .arg(dir.join("presence-harness"))
            .status()
            .expect("cp runs");
        assert!(copied.success(), "the binary copied");
        Install { dir }
    }

    /// The copied binary with `args`, run in the folder, its cache there too.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(self.dir.join("presence-harness"));
        command
            .args(args)
            .current_dir(&self.dir)
            .env("XDG_CACHE_HOME", self.dir.join("cache"))
            .env("HOME", &self.dir)
            .env("CI", "true");
        command
    }

    /// Runs the binary; its exit code and output.
    fn run(&self, args: &[&str]) -> (i32, String) {
        let output = self.command(args).output().expect("the binary runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
        (output.status.code().unwrap_or(-1), text)
    }

    /// The run.json files written under the folder's reports/.
    fn run_jsons(&self) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(self.dir.join("reports")) else {
            return Vec::new();
        };
        entries
            .filter_map(|e| e.ok().map(|e| e.path().join("run.json")))
            .filter(|p| p.is_file() && !p.starts_with(self.dir.join("reports/latest")))
            .collect()
    }
}

impl Drop for Install {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A free loopback port (for UDP and TCP alike, which the SIP server binds both).
fn free_port() -> u16 {
    loop {
        let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("a UDP port");
        let port = udp.local_addr().expect("bound").port();
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// `serve` started apart, stopped by its PID when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn runs_the_flows_it_carries_from_an_empty_folder() {
    let install = Install::new();
    let (code, out) = install.run(&["run", "--quiet", "--flow", "A.4.2.1", "--flow", "A.8.2"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("4 pass"), "{out}");
    assert_eq!(
        install.run_jsons().len(),
        1,
        "one run folder under ./reports"
    );
    assert!(
        std::fs::read_dir(install.dir.join("cache/presence-harness"))
            .expect("the built-in files written out")
            .count()
            == 1
    );
    let (code, out) = install.run(&["list"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("A.3.3.2") && out.contains("rfc4825-positional-insert"),
        "{out}"
    );
}

fn takes_a_vendor_profile_from_init_and_flows_from_a_folder() {
    let install = Install::new();
    let (code, out) = install.run(&["init"]);
    assert_eq!(code, 0, "{out}");
    let (sip, xcap) = (free_port(), free_port());
    let profile = install.dir.join("presence-sut.yaml");
    let text = std::fs::read_to_string(&profile).expect("the starter profile");
    std::fs::write(
        &profile,
        text.replace("127.0.0.1:5060", &format!("127.0.0.1:{sip}")),
    )
    .expect("the address set");
    let mut child = install
        .command(&[
            "serve",
            "--udp",
            &format!("127.0.0.1:{sip}"),
            "--xcap",
            &format!("127.0.0.1:{xcap}"),
            "--xcap-tls",
            "127.0.0.1:0",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let stdout = child.stdout.take().expect("its output");
    let server = Server(child);
    // `serve` prints where it listens once it does.
    let mut first = String::new();
    BufReader::new(stdout)
        .read_line(&mut first)
        .expect("serve says where it listens");
    assert!(first.contains(&sip.to_string()), "{first}");

    let flows = install.dir.join("my-flows");
    std::fs::create_dir_all(&flows).expect("a flows folder");
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../flows/A.4/A.4.2.1-publish.yaml");
    std::fs::copy(&source, flows.join("publish.yaml")).expect("one flow copied");
    let (code, out) = install.run(&[
        "--flows",
        "my-flows",
        "run",
        "--quiet",
        "--sut",
        "presence-sut.yaml",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("2 pass"),
        "only the one flow of --flows, over UDP and TCP (its profile lists those): {out}"
    );
    drop(server);

    let (code, out) = install.run(&["--fixtures", "no-such-folder", "list"]);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("--fixtures no-such-folder: not a folder"),
        "{out}"
    );
}

fn runs_against_kamailio_from_an_empty_folder() {
    let install = Install::new();
    let (code, out) = install.run(&["run", "--quiet", "--sut", "kamailio", "--flow", "A.4.2.1"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("2 pass"), "{out}");
}

/// A test body as a trial: its panic is the failure.
fn trial(name: &str, body: fn()) -> Trial {
    Trial::test(name, move || {
        std::panic::catch_unwind(body).map_err(|e| {
            let why = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            Failed::from(why)
        })
    })
}

fn main() {
    let args = Arguments::from_args();
    let kamailio = std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|p| p.join("kamailio").is_file()));
    if !kamailio {
        eprintln!("\n*** SKIPPED: kamailio is not on PATH, so the copied binary is not tried against it (.ci/run installs it)\n");
    }
    let trials = vec![
        trial(
            "alone::runs-the-flows-it-carries",
            runs_the_flows_it_carries_from_an_empty_folder,
        ),
        trial(
            "alone::init-profile-serve-and-flows-folder",
            takes_a_vendor_profile_from_init_and_flows_from_a_folder,
        ),
        trial(
            "alone::kamailio",
            runs_against_kamailio_from_an_empty_folder,
        )
        .with_ignored_flag(!kamailio),
    ];
    libtest_mimic::run(&args, trials).exit();
}
