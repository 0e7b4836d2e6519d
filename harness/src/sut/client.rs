//! A presence client under test as a process: its configuration files written from the
//! profile's templates for each run (with that run's emulated P-CSCF as its outbound proxy),
//! started in a process group of its own, made to act through a signal, a line on its
//! standard input, a netstring on its control socket or a command, and stopped by its PID.

use super::process::{log_tail, make_rundir, GroupChild};
use super::ue::UeIdentity;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::ChildStdin;
use tokio::time::Instant;

/// How to run a presence client (profile `client`). Every string is a minijinja template
/// with these variables: `rundir` (the run's own folder, removed after the run), `sip_port`
/// (the port it must listen on, UDP and TCP at 127.0.0.1), `control_port` (a free TCP port
/// for a control socket), `transport` (`udp`, `tcp`, or `tls` in a TLS run), `ue` (`aor`, `user`, `domain`, `ip`,
/// `port`, `host`: its identity and address), `proxy` (`ip`, `port`, `host`: the emulated
/// P-CSCF, its outbound proxy), `watches` (the AoRs it must subscribe to), `publish`
/// (whether it must publish its own presence), `register` (whether it must register) and
/// `password` (its Digest password; the username is `ue.user`).
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientSpec {
    /// Files written into `rundir` before the start, by file name (no folders): templates.
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    /// The client in the foreground, program first. Its output goes to `sut.log` in
    /// `rundir`; its standard input is a pipe held open until it stops.
    pub start: Vec<String>,
    /// The user actions the flows' `act` steps name, each how to make this client do it;
    /// a flow that needs an action the profile lacks is unsupported.
    #[serde(default)]
    pub actions: BTreeMap<String, ClientAction>,
    /// Seconds between SIGTERM and SIGKILL when a run ends.
    #[serde(default = "five")]
    #[schemars(extend("exclusiveMinimum" = 0, "maximum" = 60))]
    pub stop_timeout: f64,
}

fn five() -> f64 {
    5.0
}

/// How a client performs one user action: exactly one of the four.
#[derive(Debug, Clone, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientAction {
    /// Send this signal to the client's process: TERM, INT, HUP, USR1 or USR2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// Write this line (a newline is added) to the client's standard input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
    /// Send this text as one netstring (`<length>:<text>,`) over TCP to
    /// 127.0.0.1:`control_port` and wait for the client's answer (baresip's `ctrl_tcp`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub netstring: Option<String>,
    /// Run this command to completion (program first), in the project root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
}

/// One action, as what it does.
enum How<'a> {
    Signal(&'a str),
    Stdin(&'a str),
    Netstring(&'a str),
    Command(&'a [String]),
}

impl ClientAction {
    /// What the action does; an error unless exactly one way is given.
    fn how(&self) -> Result<How<'_>, String> {
        let ways: Vec<How<'_>> = [
            self.signal.as_deref().map(How::Signal),
            self.stdin.as_deref().map(How::Stdin),
            self.netstring.as_deref().map(How::Netstring),
            self.command.as_deref().map(How::Command),
        ]
        .into_iter()
        .flatten()
        .collect();
        match <[How<'_>; 1]>::try_from(ways) {
            Ok([how]) => Ok(how),
            Err(_) => Err("give exactly one of signal, stdin, netstring and command".into()),
        }
    }

    fn templates(&self) -> Vec<&String> {
        self.stdin
            .iter()
            .chain(&self.netstring)
            .chain(self.command.iter().flatten())
            .collect()
    }
}

impl ClientSpec {
    /// Checks what can be checked before a run: a start command, plain file names, known
    /// signals, templates that parse.
    pub fn validate(&self) -> Result<(), String> {
        if self.start.is_empty() {
            return Err("`client.start` is empty".into());
        }
        for name in self.files.keys() {
            if name.is_empty() || name.contains('/') || name == "." || name == ".." {
                return Err(format!(
                    "client.files: {name:?} is not a plain file name (files go into the run's folder)"
                ));
            }
        }
        if !(self.stop_timeout > 0.0 && self.stop_timeout <= 60.0) {
            return Err("client.stop_timeout: want 0 < seconds <= 60".into());
        }
        let env = minijinja::Environment::new();
        let templates = self
            .files
            .values()
            .chain(&self.start)
            .chain(self.actions.values().flat_map(|a| a.templates()));
        for template in templates {
            env.template_from_str(template)
                .map_err(|e| format!("client: template {template:?}: {e}"))?;
        }
        for (name, action) in &self.actions {
            let checked = match action.how() {
                Ok(How::Signal(signal)) => signal_number(signal).map(|_| ()),
                Ok(How::Command([])) => Err("an empty command".into()),
                Ok(_) => Ok(()),
                Err(e) => Err(e),
            };
            checked.map_err(|e| format!("client.actions.{name}: {e}"))?;
        }
        Ok(())
    }
}

fn signal_number(name: &str) -> Result<i32, String> {
    match name.trim_start_matches("SIG") {
        "TERM" => Ok(libc::SIGTERM),
        "INT" => Ok(libc::SIGINT),
        "HUP" => Ok(libc::SIGHUP),
        "USR1" => Ok(libc::SIGUSR1),
        "USR2" => Ok(libc::SIGUSR2),
        other => Err(format!("signal {other}: want TERM, INT, HUP, USR1 or USR2")),
    }
}

/// The lowest port a client is given (below it, well-known and registered services cluster).
const LOWEST_CLIENT_PORT: u16 = 10_000;

/// A free port of 127.0.0.1 for both UDP and TCP at the moment of asking, and never handed
/// out before by this process (clients of runs that overlap must not get the same one). It
/// is picked below the kernel's ephemeral range (/proc/sys/net/ipv4/ip_local_port_range),
/// so that no socket bound to port 0 meanwhile (an emulated node of another run) takes it
/// before the client binds it; where the range cannot be read, below 32768.
fn free_port() -> Result<u16, String> {
    static GIVEN: std::sync::Mutex<std::collections::BTreeSet<u16>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let ceiling = ephemeral_floor()
        .unwrap_or(32_768)
        .max(LOWEST_CLIENT_PORT + 1_000);
    let span = u64::from(ceiling - LOWEST_CLIENT_PORT);
    for _ in 0..200 {
        let port = LOWEST_CLIENT_PORT + (crate::ids::random_u64() % span) as u16;
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        if given.contains(&port) {
            continue;
        }
        let free = std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok()
            && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok();
        if free {
            given.insert(port);
            return Ok(port);
        }
    }
    Err("found no port of 127.0.0.1 free for both UDP and TCP below the ephemeral range".into())
}

/// The first port of the kernel's ephemeral range.
fn ephemeral_floor() -> Option<u16> {
    std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// A running client.
pub struct ClientProcess {
    group: GroupChild,
    stdin: Option<ChildStdin>,
    rundir: PathBuf,
    root: PathBuf,
    addr: SocketAddr,
    control_port: u16,
    context: minijinja::Value,
    actions: BTreeMap<String, ClientAction>,
    stop_timeout: Duration,
    stopped: bool,
}

impl ClientProcess {
    /// Writes the client's files for `identity` and starts it.
    pub async fn start(
        spec: &ClientSpec,
        root: &Path,
        identity: &UeIdentity,
    ) -> Result<ClientProcess, String> {
        let rundir = make_rundir(&format!("presence-harness-ue-{}", crate::ids::token()))?;
        let sip_port = free_port()?;
        let control_port = free_port()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], sip_port));
        let context = minijinja::context! {
            rundir => rundir.display().to_string(),
            sip_port => sip_port,
            control_port => control_port,
            transport => identity.transport.name(),
            ue => minijinja::context! {
                aor => identity.aor.clone(),
                user => identity.user.clone(),
                domain => identity.domain.clone(),
                ip => addr.ip().to_string(),
                port => sip_port,
                host => addr.to_string(),
            },
            proxy => minijinja::context! {
                ip => identity.proxy.ip().to_string(),
                port => identity.proxy.port(),
                host => identity.proxy.to_string(),
            },
            watches => identity.watches.clone(),
            publish => identity.publish,
            register => identity.register,
            password => super::ue::UE_PASSWORD,
        };
        let written = write_files(spec, &rundir, &context);
        let started = written.and_then(|()| {
            let args = render_all(&spec.start, &context)?;
            GroupChild::spawn(&args, root, &rundir, Stdio::piped())
        });
        let mut group = match started {
            Ok(group) => group,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&rundir);
                return Err(e);
            }
        };
        let stdin = group.child.stdin.take();
        Ok(ClientProcess {
            group,
            stdin,
            rundir,
            root: root.to_path_buf(),
            addr,
            control_port,
            context,
            actions: spec.actions.clone(),
            stop_timeout: Duration::from_secs_f64(spec.stop_timeout),
            stopped: false,
        })
    }

    /// Its SIP address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Performs the action `name` as the profile says, within `timeout`.
    pub async fn act(&mut self, name: &str, timeout: Duration) -> Result<(), String> {
        let action = self.actions.get(name).cloned().ok_or_else(|| {
            format!(
                "the profile has no action {name:?} (it has: {})",
                self.actions.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })?;
        let deadline = Instant::now() + timeout;
        self.await_inbox_read(deadline).await;
        match action.how()? {
            How::Signal(signal) => {
                let number = signal_number(signal)?;
                // SAFETY: kill(2) has no memory effects; the pid is our child's.
                unsafe {
                    libc::kill(self.group.pid, number);
                }
                Ok(())
            }
            How::Stdin(line) => {
                let line = render(line, &self.context)?;
                let stdin = self
                    .stdin
                    .as_mut()
                    .ok_or("the client's standard input is closed")?;
                let write = async {
                    stdin.write_all(format!("{line}\n").as_bytes()).await?;
                    stdin.flush().await
                };
                tokio::time::timeout_at(deadline, write)
                    .await
                    .map_err(|_| "the client did not read its standard input in time".to_string())?
                    .map_err(|e| format!("cannot write to the client's standard input: {e}"))
            }
            How::Netstring(text) => {
                let text = render(text, &self.context)?;
                send_netstring(self.control_port, &text, deadline).await
            }
            How::Command(args) => {
                let args = render_all(args, &self.context)?;
                let (program, rest) = args.split_first().ok_or("an empty command")?;
                let run = tokio::process::Command::new(program)
                    .args(rest)
                    .current_dir(&self.root)
                    .env("RUNDIR", &self.rundir)
                    .output();
                let output = tokio::time::timeout_at(deadline, run)
                    .await
                    .map_err(|_| format!("action {name}: {program} did not end in time"))?
                    .map_err(|e| format!("action {name}: {program}: {e}"))?;
                if output.status.success() {
                    Ok(())
                } else {
                    Err(format!(
                        "action {name}: {program} failed ({}): {}",
                        output.status,
                        String::from_utf8_lossy(&output.stderr).trim()
                    ))
                }
            }
        }
    }

    /// Waits (until `deadline` at most) for the client to read every datagram waiting on its
    /// SIP socket, so that the user acts after what the harness sent before: a status change
    /// right after a 200 must not overtake the 200 in the client's event loop. Linux shows the
    /// socket's receive queue in /proc/net/udp; elsewhere nothing is waited for.
    async fn await_inbox_read(&self, deadline: Instant) {
        while udp_receive_queue(self.addr).is_some_and(|bytes| bytes > 0)
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Stops the client (SIGTERM, then SIGKILL after the grace time) and removes its folder;
    /// returns how it ended and the end of its log.
    pub async fn stop(mut self) -> String {
        let exited_before = self.group.child.try_wait().ok().flatten();
        self.stdin = None;
        self.group.stop(self.stop_timeout).await;
        let tail = without_terminal_escapes(&log_tail(&self.rundir));
        let _ = std::fs::remove_dir_all(&self.rundir);
        self.stopped = true;
        match exited_before {
            Some(status) => format!(
                "the client had exited ({status}) before the run ended; its log ends:\n{tail}"
            ),
            None => format!("the client's log ends:\n{tail}"),
        }
    }
}

impl Drop for ClientProcess {
    fn drop(&mut self) {
        // Reached without `stop` only on an interrupted run: leave nothing running.
        if !self.stopped {
            self.group.kill();
            let _ = std::fs::remove_dir_all(&self.rundir);
        }
    }
}

/// `text` without the terminal's control sequences (colours) a client writes to its log.
fn without_terminal_escapes(text: &str) -> String {
    static ESCAPES: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"\x1b\[[0-9;?]*[A-Za-z]").expect("a valid pattern")
    });
    ESCAPES.replace_all(text, "").into_owned()
}

fn render(template: &str, context: &minijinja::Value) -> Result<String, String> {
    let env = minijinja::Environment::new();
    env.render_str(template, context)
        .map_err(|e| format!("client template {template:?}: {e}"))
}

fn render_all(templates: &[String], context: &minijinja::Value) -> Result<Vec<String>, String> {
    templates.iter().map(|t| render(t, context)).collect()
}

fn write_files(spec: &ClientSpec, rundir: &Path, context: &minijinja::Value) -> Result<(), String> {
    for (name, template) in &spec.files {
        let text = render(template, context)?;
        std::fs::write(rundir.join(name), text)
            .map_err(|e| format!("cannot write the client's {name}: {e}"))?;
    }
    Ok(())
}

/// Connects to the client's control port (retrying until it listens), sends `text` as a
/// netstring and waits for one netstring back (or the connection's end).
async fn send_netstring(port: u16, text: &str, deadline: Instant) -> Result<(), String> {
    let mut stream = loop {
        match tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            Ok(stream) => break stream,
            Err(e) if Instant::now() >= deadline => {
                return Err(format!(
                    "cannot reach the client's control port {port}: {e}"
                ))
            }
            // The client may not listen yet: poll its port, bounded by the deadline.
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    let framed = format!("{}:{text},", text.len());
    let exchange = async {
        stream.write_all(framed.as_bytes()).await?;
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = stream.read(&mut buf).await?;
            if n == 0 || netstring_complete(&answer) {
                return Ok::<_, std::io::Error>(());
            }
            answer.extend_from_slice(&buf[..n]);
            if netstring_complete(&answer) {
                return Ok(());
            }
        }
    };
    tokio::time::timeout_at(deadline, exchange)
        .await
        .map_err(|_| format!("the client did not answer on its control port {port} in time"))?
        .map_err(|e| format!("control port {port}: {e}"))
}

/// The bytes waiting in the receive queue of the UDP socket bound to `addr` (an IPv4
/// address), from /proc/net/udp; `None` where that cannot be read.
fn udp_receive_queue(addr: SocketAddr) -> Option<u64> {
    let SocketAddr::V4(v4) = addr else {
        return None;
    };
    let local = format!(
        "{:08X}:{:04X}",
        u32::from_le_bytes(v4.ip().octets()),
        v4.port()
    );
    let table = std::fs::read_to_string("/proc/net/udp").ok()?;
    receive_queue_in(&table, &local)
}

/// The receive queue of the socket whose local address (as /proc/net/udp writes it) is
/// `local`, in the table's text.
fn receive_queue_in(table: &str, local: &str) -> Option<u64> {
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.get(1) != Some(&local) {
            return None;
        }
        let (_, rx) = fields.get(4)?.split_once(':')?;
        u64::from_str_radix(rx, 16).ok()
    })
}

/// True when `bytes` hold a whole netstring.
fn netstring_complete(bytes: &[u8]) -> bool {
    let Some(colon) = bytes.iter().position(|b| *b == b':') else {
        return false;
    };
    std::str::from_utf8(&bytes[..colon])
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
        .is_some_and(|len| bytes.len() > colon + 1 + len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_are_taken_out_of_a_log() {
        assert_eq!(
            without_terminal_escapes("status \x1b[32mOnline\x1b[;m now"),
            "status Online now"
        );
    }

    #[test]
    fn a_netstring_is_complete_with_its_comma() {
        assert!(!netstring_complete(b""));
        assert!(!netstring_complete(b"5:hel"));
        assert!(!netstring_complete(b"5:hello"));
        assert!(netstring_complete(b"5:hello,"));
    }

    #[test]
    fn the_receive_queue_is_read_from_the_socket_table() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n\
          120: 0100007F:13C4 00000000:0000 07 00000000:00000340 00:00000000 00000000  1000        0 4242 2 0000000000000000 0\n";
        assert_eq!(receive_queue_in(table, "0100007F:13C4"), Some(0x340));
        assert_eq!(receive_queue_in(table, "0100007F:13C5"), None);
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let addr = socket.local_addr().unwrap();
        assert_eq!(udp_receive_queue(addr), Some(0));
        socket.send_to(b"datagram", addr).unwrap();
        assert!(udp_receive_queue(addr).is_some_and(|n| n > 0));
    }

    #[test]
    fn a_file_name_with_a_folder_and_an_unknown_signal_are_refused() {
        let spec = |files: &[(&str, &str)], signal: &str| ClientSpec {
            files: files
                .iter()
                .map(|(n, t)| (n.to_string(), t.to_string()))
                .collect(),
            start: vec!["true".into()],
            actions: [(
                "stop".to_string(),
                ClientAction {
                    signal: Some(signal.into()),
                    ..Default::default()
                },
            )]
            .into(),
            stop_timeout: 1.0,
        };
        assert!(spec(&[("config", "x {{ rundir }}")], "TERM")
            .validate()
            .is_ok());
        let folder = spec(&[("../config", "x")], "TERM").validate().unwrap_err();
        assert!(folder.contains("plain file name"), "{folder}");
        let signal = spec(&[], "KILLALL").validate().unwrap_err();
        assert!(signal.contains("want TERM"), "{signal}");
        let mut two = spec(&[], "TERM");
        if let Some(stop) = two.actions.get_mut("stop") {
            stop.stdin = Some("quit".into());
        }
        let ways = two.validate().unwrap_err();
        assert!(ways.contains("exactly one of"), "{ways}");
        let template = spec(&[("config", "{{ unclosed")], "TERM")
            .validate()
            .unwrap_err();
        assert!(template.contains("template"), "{template}");
    }

    #[tokio::test]
    async fn a_client_gets_its_files_and_takes_its_actions() {
        let spec = ClientSpec {
            files: [(
                "config".to_string(),
                "listen {{ ue.host }} via {{ proxy.host }}\n{% for w in watches %}watch {{ w }}\n{% endfor %}".to_string(),
            )]
            .into(),
            // Echoes its standard input into its log, until the stop closes it.
            start: vec!["cat".into()],
            actions: [
                (
                    "say".to_string(),
                    ClientAction {
                        stdin: Some("hello {{ ue.user }}".into()),
                        ..Default::default()
                    },
                ),
                (
                    // Waits (bounded by the action's timeout) until cat echoed the line.
                    "heard".to_string(),
                    ClientAction {
                        command: Some(vec![
                            "sh".into(),
                            "-c".into(),
                            "until grep -q 'hello alice' \"$RUNDIR/sut.log\"; do sleep 0.01; done"
                                .into(),
                        ]),
                        ..Default::default()
                    },
                ),
                (
                    "check".to_string(),
                    ClientAction {
                        command: Some(vec![
                            "grep".into(),
                            "-q".into(),
                            "watch sip:bob@home1.net".into(),
                            "{{ rundir }}/config".into(),
                        ]),
                        ..Default::default()
                    },
                ),
            ]
            .into(),
            stop_timeout: 2.0,
        };
        spec.validate().unwrap();
        let identity = UeIdentity {
            aor: "sip:alice@home1.net".into(),
            user: "alice".into(),
            domain: "home1.net".into(),
            proxy: "127.0.0.1:5999".parse().unwrap(),
            watches: vec!["sip:bob@home1.net".into()],
            publish: false,
            register: false,
            transport: crate::net::Transport::Udp,
        };
        let mut client = ClientProcess::start(&spec, Path::new("."), &identity)
            .await
            .unwrap();
        let rundir = client.rundir.clone();
        let config = std::fs::read_to_string(rundir.join("config")).unwrap();
        assert!(config.starts_with(&format!("listen {} via 127.0.0.1:5999", client.addr())));
        client.act("check", Duration::from_secs(5)).await.unwrap();
        client.act("say", Duration::from_secs(5)).await.unwrap();
        client.act("heard", Duration::from_secs(5)).await.unwrap();
        let missing = client
            .act("sing", Duration::from_secs(1))
            .await
            .unwrap_err();
        assert!(missing.contains("no action \"sing\""), "{missing}");
        let log = client.stop().await;
        assert!(log.ends_with("hello alice"), "{log}");
        assert!(!rundir.exists());
    }
}
