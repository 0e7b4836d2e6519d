//! SUT profiles (`fixtures/suts/*.yaml`): where the SUT is, what it supports, how to time it.

use crate::net::Transport;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A system under test as the harness sees it.
#[derive(Debug, Clone, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Short name; also the snapshot directory name.
    pub name: String,
    /// What it is.
    #[serde(default)]
    pub description: String,
    /// What the SUT is: a presence `server` (the default) or a presence client, `ue`, started
    /// afresh for each flow run and judged by the flows whose SUT role has `service: ue`.
    #[serde(default)]
    pub role: SutRole,
    /// Run the embedded reference server in-process (with these fault and variation switches);
    /// with `role: ue`, the embedded reference UE (with these fault switches).
    #[serde(default)]
    pub embedded: Option<Embedded>,
    /// With `role: ue`: how to start the client for each run and make it act.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<super::client::ClientSpec>,
    /// Or: the SUT's SIP address (UDP, and TCP unless `tcp_address` says otherwise).
    #[serde(default)]
    pub address: Option<SocketAddr>,
    /// The SUT's SIP address for TCP, when it differs from `address`.
    #[serde(default)]
    pub tcp_address: Option<SocketAddr>,
    /// The SUT's SIP address for TLS (`sips:` URIs), when it has one; a run over TLS of a
    /// profile without it is `unsupported` (the embedded reference has one of its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_address: Option<SocketAddr>,
    /// With `tls_address`: a PEM file (relative to the project folder) of the certificates the
    /// harness trusts there: the SUT's own, when it signs for itself, or its authority's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_tls_ca: Option<PathBuf>,
    /// With `tls_address`: the name the SUT's certificate must carry, when it is not the
    /// address's IP, e.g. `ps.example.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sip_tls_name: Option<String>,
    /// The certificate (PEM, relative to the project folder) the harness's nodes present to a
    /// SUT that connects to them over TLS; default `fixtures/tls/node-cert.pem`, a test
    /// certificate for localhost and 127.0.0.1 to 127.0.0.9 a SUT can be told to trust.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_tls_certificate: Option<PathBuf>,
    /// The private key (PEM) of `node_tls_certificate`; default `fixtures/tls/node-key.pem`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node_tls_key: Option<PathBuf>,
    /// Transports every flow runs over (default: udp); over TCP a run is named `<flow>@tcp`,
    /// over TLS `<flow>@tls`. A flow whose `transports` name `tls` runs over TLS as well.
    #[serde(default = "udp_only")]
    pub transports: Vec<Transport>,
    /// Which runs may overlap in time (default: all).
    #[serde(default)]
    pub parallel: Parallel,
    /// With `address`: how the harness resets, starts and stops the SUT itself.
    #[serde(default)]
    pub process: Option<super::process::ProcessSpec>,
    /// Known deviations: failed checks the gate forgives, each with its reason.
    #[serde(default)]
    pub deviations: Vec<super::deviations::Deviation>,
    /// Another profile (path relative to this file) whose deviations this one shares: another
    /// configuration of the same server. Only its `deviations` are taken.
    #[serde(default)]
    pub deviations_from: Option<String>,
    /// Capabilities the SUT has; flows requiring others are `unsupported`.
    pub capabilities: Vec<String>,
    /// Multiplies every step timeout.
    #[serde(default = "one")]
    #[schemars(extend("exclusiveMinimum" = 0, "maximum" = 100))]
    pub timer_scale: f64,
    /// Default wait of an expect step, in seconds.
    #[serde(default = "two")]
    #[schemars(extend("exclusiveMinimum" = 0, "maximum" = 600))]
    pub step_timeout: f64,
    /// RFC 3261 T1 for the harness's retransmissions, in milliseconds (and the embedded
    /// reference server's).
    #[serde(default = "five_hundred")]
    #[schemars(range(min = 1, max = 10_000))]
    pub t1_ms: u64,
    /// RFC 3261 T2, the cap on the retransmission interval of non-INVITE requests, in
    /// milliseconds (default 4000; at least `t1_ms`).
    #[serde(default = "four_thousand")]
    #[schemars(range(min = 1, max = 60_000))]
    pub t2_ms: u64,
    /// A seeded lossy path for the emulated nodes' UDP datagrams (drop, duplicate, reorder,
    /// delay); none by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chaos: Option<crate::net::Chaos>,
    /// The path to the SUT loses datagrams of its own (a lossy link, a kernel drop rule): the
    /// harness then does not judge retransmission timing (`withhold`, `resend`), which a lost
    /// datagram would distort. Implied by `chaos`.
    #[serde(default)]
    pub lossy: bool,
    /// Flow domains mapped to the domains the SUT serves.
    #[serde(default)]
    pub domains: BTreeMap<String, String>,
    /// Flow users mapped to users the SUT has provisioned (by default a flow's users are used
    /// as they are; each flow has users of its own).
    #[serde(default)]
    pub users: BTreeMap<String, String>,
    /// The user part of a user the SUT has not provisioned, in the domains it serves (e.g.
    /// `nobody`): the flows' `provisioned: false` roles take it, and such flows are
    /// unsupported without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_user: Option<String>,
    /// A loopback address of this host outside the SUT's trust domain (e.g. `127.0.0.2`): the
    /// SUT takes no request from it as authenticated without credentials. The flows'
    /// `trusted: false` roles bind it, and such flows are unsupported without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub untrusted_address: Option<std::net::Ipv4Addr>,
    /// The SUT's XCAP root URI (RFC 4825), e.g. `http://127.0.0.1:8080/xcap-root`; flows read
    /// it as `${<sut role>.xcap_root}`.
    #[serde(default)]
    pub xcap_root: Option<String>,
    /// The SUT's XCAP root over TLS (RFC 4825 §8, RFC 2818), e.g.
    /// `https://127.0.0.1:8443/xcap-root`; flows read it as `${<sut role>.xcap_tls_root}`
    /// (capability `xcap-tls`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xcap_tls_root: Option<String>,
    /// With `xcap_tls_root`: a PEM file (relative to the project folder) of the certificates
    /// to trust there: the server's own when it signs for itself, or its authority's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xcap_tls_ca: Option<PathBuf>,
    /// With `xcap_tls_root`: the name the server's certificate must carry, when it is not the
    /// root's host (an IP address), e.g. `xcap.example.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub xcap_tls_name: Option<String>,
    /// HTTP Digest credentials for XCAP, used when the server answers 401.
    #[serde(default)]
    pub xcap_credentials: Option<CredentialsTemplate>,
    /// The Digest credentials the SUT, as notifier, holds for its watchers (a shared secret,
    /// RFC 3856 §9.4): `${user}` and `${aor}` in the user name are the watcher's. Flows that
    /// challenge a NOTIFY (rfc3856-notify-digest) check its answer with them, and are
    /// unsupported without them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_credentials: Option<CredentialsTemplate>,
    /// The folder of snapshot folders: this profile's snapshots are `<snapshots>/<name>/`
    /// (relative to the profile's folder). Default: the project's `fixtures/snapshots` for a
    /// profile shipped in `fixtures/suts/`, `./snapshots` for any other (`run --snapshots`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshots: Option<PathBuf>,
}

/// Digest credentials (RFC 2617) with a user name that may name the role it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CredentialsTemplate {
    /// User name; `${user}` and `${aor}` stand for the requesting role's user part and AOR.
    pub username: String,
    /// Password (the same for every user).
    pub password: String,
}

impl CredentialsTemplate {
    /// The credentials of the user `user` whose AoR is `aor`.
    pub fn resolve(&self, user: &str, aor: &str) -> crate::net::http::Credentials {
        crate::net::http::Credentials {
            username: self
                .username
                .replace("${user}", user)
                .replace("${aor}", aor),
            password: self.password.clone(),
        }
    }
}

/// The embedded reference server's settings.
#[derive(Debug, Clone, Default, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Embedded {
    /// Fault switches to turn on (names as `presence-harness run --help` lists).
    #[serde(default)]
    pub faults: Vec<String>,
    /// Variation switches to turn on (names as `presence-harness variations` lists).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variations: Vec<String>,
}

/// What a SUT is.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum SutRole {
    /// A presence server (PS, RLS, XCAP server, PNA): the flows with a server SUT role.
    #[default]
    Server,
    /// A presence client (PUA and watcher, TS 24.141 §5.3.1 and §5.3.2): the flows whose SUT
    /// role is `service: ue`.
    Ue,
}

/// How much of a suite runs at once against one SUT.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Parallel {
    /// Every run at once (each flow has users of its own).
    #[default]
    All,
    /// The runs of one transport at once, one transport after the other.
    PerTransport,
    /// One run at a time.
    None,
}

fn udp_only() -> Vec<Transport> {
    vec![Transport::Udp]
}
fn one() -> f64 {
    1.0
}
fn two() -> f64 {
    2.0
}
fn five_hundred() -> u64 {
    500
}
fn four_thousand() -> u64 {
    4000
}

/// The profiles of `fixtures/suts/` as parsed at build time (`build.rs`).
mod built {
    /// A profile the binary was built with.
    pub struct BuiltProfile {
        /// Its text.
        pub source: &'static str,
        /// The same document as JSON.
        pub json: &'static str,
    }

    include!(concat!(env!("OUT_DIR"), "/profiles.rs"));
}

impl Profile {
    /// Reads a profile file; errors name the file, line and column.
    pub fn load(path: &Path) -> Result<Profile, String> {
        let text = crate::flow::loader::read_source(path).map_err(|e| e.to_string())?;
        let mut profile: Profile =
            crate::built::parse(&text, built::PROFILES.iter().map(|p| (p.source, p.json)))
                .map_err(|e| crate::flow::FlowError::from_yaml(path, &e).to_string())?;
        if let Some(other) = &profile.deviations_from {
            let other_path = path.parent().unwrap_or(Path::new(".")).join(other);
            let shared = Profile::load(&other_path)
                .map_err(|e| format!("{}: deviations_from: {e}", path.display()))?;
            if shared.deviations_from.is_some() {
                return Err(format!(
                    "{}: deviations_from: {} takes its deviations from a third profile; one level only",
                    path.display(),
                    other_path.display()
                ));
            }
            let own = std::mem::take(&mut profile.deviations);
            profile.deviations = shared.deviations.into_iter().chain(own).collect();
        }
        if let Some(snapshots) = &profile.snapshots {
            profile.snapshots = Some(path.parent().unwrap_or(Path::new(".")).join(snapshots));
        }
        profile
            .check_role()
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if profile.process.as_ref().is_some_and(|p| p.start.is_empty()) {
            return Err(format!("{}: `process.start` is empty", path.display()));
        }
        let in_range = |value: f64, max: f64| value > 0.0 && value <= max;
        if !in_range(profile.timer_scale, 100.0)
            || !in_range(profile.step_timeout, 600.0)
            || !(1..=10_000).contains(&profile.t1_ms)
            || !(profile.t1_ms..=60_000).contains(&profile.t2_ms)
        {
            return Err(format!(
                "{}: want 0 < timer_scale <= 100, 0 < step_timeout <= 600, 1 <= t1_ms <= 10000 and t1_ms <= t2_ms <= 60000",
                path.display()
            ));
        }
        if let Some(chaos) = &profile.chaos {
            chaos
                .validate()
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(profile)
    }

    /// The SUT is one of its role's kinds: a server is `embedded` or at an `address`; a UE
    /// is `embedded` or a `client`.
    fn check_role(&self) -> Result<(), String> {
        match self.role {
            SutRole::Server => {
                if self.client.is_some() {
                    return Err("`client` is for a profile with `role: ue`".into());
                }
                if self.embedded.is_some() == self.address.is_some() {
                    return Err("give exactly one of `embedded` and `address`".into());
                }
            }
            SutRole::Ue => {
                if self.address.is_some() || self.process.is_some() {
                    return Err("a UE (`role: ue`) is started for each run: give `embedded` or `client`, not `address` or `process`".into());
                }
                if self.embedded.is_some() == self.client.is_some() {
                    return Err("`role: ue`: give exactly one of `embedded` and `client`".into());
                }
                if let Some(client) = &self.client {
                    client.validate()?;
                }
            }
        }
        Ok(())
    }

    /// How long the readiness probe waits for the SUT's answer to OPTIONS: 5 s times the
    /// timer scale, at most 10 minutes.
    pub fn probe_limit(&self) -> std::time::Duration {
        std::time::Duration::from_secs_f64((5.0 * self.timer_scale).min(600.0))
    }

    /// True when the profile declares every capability in `required`.
    pub fn missing_capabilities(&self, required: &[String]) -> Vec<String> {
        required
            .iter()
            .filter(|c| !self.capabilities.contains(c))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_profile_reads_from_its_json_as_from_its_yaml() {
        assert!(
            built::PROFILES.len() >= 6,
            "the build converted the profiles: {}",
            built::PROFILES.len()
        );
        for profile in built::PROFILES {
            crate::built::assert_reads_the_same::<Profile>(profile.source, profile.json);
        }
    }
}
