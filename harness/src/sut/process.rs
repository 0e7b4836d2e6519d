//! A SUT process the harness manages itself: reset commands, start in its own process group,
//! readiness by OPTIONS probe, stop by PID (SIGTERM to the group, SIGKILL after a grace time).
//! Nothing is left running: dropping the handle kills the group.

use super::probe::probe;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::process::{Child, Command};

/// How to reset, start and stop a SUT (profile `process`). Arguments may use `${rundir}` (a
/// fresh directory per start, on tmpfs where the system has one, removed after the stop) and
/// `${root}` (the project root).
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProcessSpec {
    /// Commands run to completion, in order, before the start (e.g. recreate the database).
    #[serde(default)]
    pub reset: Vec<Vec<String>>,
    /// The server in the foreground; its output goes to `${rundir}/sut.log`.
    pub start: Vec<String>,
    /// Seconds to wait for the first answer to OPTIONS.
    #[serde(default = "ten")]
    pub ready_timeout: f64,
    /// Seconds between SIGTERM and SIGKILL.
    #[serde(default = "five")]
    pub stop_timeout: f64,
}

fn ten() -> f64 {
    10.0
}
fn five() -> f64 {
    5.0
}

/// A process started in a process group of its own (its PID is the group's id), with its
/// output in `sut.log` of its run directory; stopped by that PID, never by name.
#[derive(Debug)]
pub(crate) struct GroupChild {
    pub(crate) child: Child,
    /// Process group id (the main PID).
    pub(crate) pid: i32,
}

impl GroupChild {
    /// Starts `args` (program first) in `cwd` with `RUNDIR` set, its output appended to
    /// `<rundir>/sut.log`.
    pub(crate) fn spawn(
        args: &[String],
        cwd: &Path,
        rundir: &Path,
        stdin: Stdio,
    ) -> Result<GroupChild, String> {
        let (program, rest) = args.split_first().ok_or("an empty start command")?;
        if !program.contains('/') && !on_path(program) {
            return Err(format!("cannot start the SUT: {program} is not on PATH"));
        }
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(rundir.join("sut.log"))
            .map_err(|e| format!("cannot create the SUT log: {e}"))?;
        let log_err = log.try_clone().map_err(|e| e.to_string())?;
        let child = Command::new(program)
            .args(rest)
            .current_dir(cwd)
            .env("RUNDIR", rundir)
            .stdin(stdin)
            .stdout(log)
            .stderr(log_err)
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("cannot start {program}: {e}"))?;
        let pid = child
            .id()
            .map(|p| p as i32)
            .ok_or("the SUT exited at once")?;
        tracing::debug!(pid, command = %args.join(" "), "SUT process started");
        Ok(GroupChild { child, pid })
    }

    /// SIGTERM to the group, SIGKILL if the process is still there after `grace`; workers
    /// of the group that outlive the main process get SIGKILL too.
    pub(crate) async fn stop(&mut self, grace: Duration) {
        tracing::debug!(pid = self.pid, "stopping the SUT process group");
        signal_group(self.pid, libc::SIGTERM);
        if tokio::time::timeout(grace, self.child.wait())
            .await
            .is_err()
        {
            signal_group(self.pid, libc::SIGKILL);
            let _ = self.child.wait().await;
        }
        signal_group(self.pid, libc::SIGKILL);
    }

    /// SIGKILL to the group (an interrupted run: leave nothing running).
    pub(crate) fn kill(&self) {
        signal_group(self.pid, libc::SIGKILL);
    }
}

/// A running SUT process.
#[derive(Debug)]
pub struct SutProcess {
    group: GroupChild,
    rundir: PathBuf,
    stop_timeout: Duration,
    stopped: bool,
}

/// Creates the run directory `name`: in /dev/shm where that works, else in the temporary
/// directory. A run's state is thrown away, and on a disk file system a SUT's database writes
/// are slower and uneven (right after a build, creating a file on this project's ext4 test
/// machine took milliseconds), which widens the window in which a database that admits one
/// writer at a time (Kamailio's sqlite) refuses a second one and the SUT answers 500.
pub(crate) fn make_rundir(name: &str) -> Result<PathBuf, String> {
    let shm = Path::new("/dev/shm").join(name);
    if std::fs::create_dir_all(&shm).is_ok() {
        return Ok(shm);
    }
    let tmp = std::env::temp_dir().join(name);
    std::fs::create_dir_all(&tmp).map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
    Ok(tmp)
}

fn expand(arg: &str, rundir: &Path, root: &Path) -> String {
    arg.replace("${rundir}", &rundir.display().to_string())
        .replace("${root}", &root.display().to_string())
}

pub(crate) fn log_tail(rundir: &Path) -> String {
    let text = std::fs::read_to_string(rundir.join("sut.log")).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

impl SutProcess {
    /// Resets and starts the SUT, then waits until it answers OPTIONS at `addr`.
    pub async fn start(
        spec: &ProcessSpec,
        root: &Path,
        addr: SocketAddr,
        t1: Duration,
    ) -> Result<SutProcess, String> {
        refuse_a_taken_address(addr)?;
        let rundir = make_rundir(&format!("presence-harness-sut-{}", crate::ids::token()))?;
        for command in &spec.reset {
            let args: Vec<String> = command.iter().map(|a| expand(a, &rundir, root)).collect();
            let (program, rest) = args.split_first().ok_or("an empty reset command")?;
            let output = Command::new(program)
                .args(rest)
                .current_dir(root)
                .env("RUNDIR", &rundir)
                .output()
                .await
                .map_err(|e| format!("reset command {program}: {e}"))?;
            if !output.status.success() {
                return Err(format!(
                    "reset command {} failed ({}): {}",
                    args.join(" "),
                    output.status,
                    String::from_utf8_lossy(&output.stderr).trim()
                ));
            }
        }
        let args: Vec<String> = spec
            .start
            .iter()
            .map(|a| expand(a, &rundir, root))
            .collect();
        let group = GroupChild::spawn(&args, root, &rundir, Stdio::null())?;
        let mut process = SutProcess {
            group,
            rundir,
            stop_timeout: Duration::from_secs_f64(spec.stop_timeout),
            stopped: false,
        };
        let ready = probe(addr, t1, Duration::from_secs_f64(spec.ready_timeout));
        tokio::select! {
            answer = ready => match answer {
                Ok(_) => Ok(process),
                Err(e) => {
                    let tail = log_tail(&process.rundir);
                    process.stop().await;
                    Err(format!("{e}; the SUT's log ends:\n{tail}"))
                }
            },
            status = process.group.child.wait() => {
                let tail = log_tail(&process.rundir);
                Err(format!("the SUT exited before it was ready ({}); its log ends:\n{tail}", status.map(|s| s.to_string()).unwrap_or_default()))
            }
        }
    }

    /// How the process ended, when it has ended on its own (a crash in the middle of a run).
    pub fn exited(&mut self) -> Option<String> {
        let status = self.group.child.try_wait().ok().flatten()?;
        Some(status.to_string())
    }

    /// The last lines of its log.
    pub fn log_end(&self) -> String {
        log_tail(&self.rundir)
    }

    /// Stops the SUT: SIGTERM to its process group, SIGKILL if it is still there after the
    /// grace time; then removes its run directory.
    pub async fn stop(mut self) {
        self.group.stop(self.stop_timeout).await;
        let _ = std::fs::remove_dir_all(&self.rundir);
        self.stopped = true;
    }
}

impl Drop for SutProcess {
    fn drop(&mut self) {
        // Reached without `stop` only on an interrupted run or a panic: leave nothing running.
        if self.stopped {
            return;
        }
        self.group.kill();
        let _ = std::fs::remove_dir_all(&self.rundir);
    }
}

/// True when `program` is an executable file in a folder of PATH.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// Sends a signal to the process group led by `pid` (never to anything found by name).
fn signal_group(pid: i32, signal: i32) {
    if pid > 1 {
        // SAFETY: kill(2) has no memory effects; a negative pid addresses the group we created.
        unsafe {
            libc::kill(-pid, signal);
        }
    }
}

/// Fails when a socket is already bound at the SUT's address: the server started there would
/// fail to bind while the other one answered the readiness probe and every flow in its place.
fn refuse_a_taken_address(addr: SocketAddr) -> Result<(), String> {
    match std::net::UdpSocket::bind(addr) {
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(format!(
            "{addr} is in use before the SUT was started: another server there would answer in \
             its place (stop it, or give the profile another address)"
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_server_already_at_the_address_stops_the_start() {
        let squatter = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = squatter.local_addr().unwrap();
        let spec = ProcessSpec {
            reset: Vec::new(),
            start: vec!["true".into()],
            ready_timeout: 1.0,
            stop_timeout: 1.0,
        };
        let error = SutProcess::start(&spec, Path::new("."), addr, Duration::from_millis(50))
            .await
            .unwrap_err();
        assert!(
            error.contains("is in use before the SUT was started"),
            "{error}"
        );
    }
}
