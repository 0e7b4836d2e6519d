//! Loading flow files: YAML parsing with unknown keys rejected, then validation of references,
//! variables, requirements, regular expressions and paths, all before anything is sent.
//! Every error names the file, line and column.

use super::catalogue::Catalogue;
use super::model::{
    Flow, HeaderCheck, HeaderCheckSpec, Requirement, RoleKind, Step, StepKind, XmlCheck,
};
use super::vars::{referenced, ROLE_ATTRIBUTES};
use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The roles that own a node of the harness: where a message can arrive.
const NODE_KINDS: &[RoleKind] = &[
    RoleKind::Ue,
    RoleKind::PCscf,
    RoleKind::SCscf,
    RoleKind::ICscf,
];

/// A flow that failed to load, located in its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowError {
    /// The flow file.
    pub file: PathBuf,
    /// 1-based line (0 when unknown).
    pub line: usize,
    /// 1-based column (0 when unknown).
    pub column: usize,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file.display(),
            self.line,
            self.column,
            self.message
        )
    }
}

impl std::error::Error for FlowError {}

impl FlowError {
    /// A YAML error located in `file`, without the location serde repeats in its message.
    pub fn from_yaml(file: &Path, error: &serde_yaml::Error) -> FlowError {
        let (line, column) = error
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        let message = error.to_string();
        let message = message
            .split(" at line ")
            .next()
            .unwrap_or(&message)
            .to_string();
        FlowError {
            file: file.to_path_buf(),
            line,
            column,
            message,
        }
    }
}

/// Largest flow, profile or catalogue file read, in bytes; a larger one is refused before it
/// is read.
pub const MAX_SOURCE_BYTES: u64 = 1024 * 1024;

/// Reads a YAML source file (flow, profile, catalogue) of at most [`MAX_SOURCE_BYTES`]; the
/// size is checked before anything is read, and the read itself stops at the limit (a file
/// that grows meanwhile is refused too).
pub fn read_source(path: &Path) -> Result<String, FlowError> {
    use std::io::Read;
    let error = |line, column, message: String| FlowError {
        file: path.to_path_buf(),
        line,
        column,
        message,
    };
    let too_large = |size: u64| {
        error(
            1,
            1,
            format!("the file is {size} bytes, over the limit of {MAX_SOURCE_BYTES} bytes"),
        )
    };
    let file = std::fs::File::open(path).map_err(|e| error(0, 0, format!("cannot read: {e}")))?;
    let size = file
        .metadata()
        .map_err(|e| error(0, 0, format!("cannot read: {e}")))?
        .len();
    if size > MAX_SOURCE_BYTES {
        return Err(too_large(size));
    }
    // Sized from the metadata, so that the file is read in one call (plus the one that sees
    // its end) rather than in growing probes.
    let mut bytes = Vec::with_capacity(size as usize + 1);
    file.take(MAX_SOURCE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| error(0, 0, format!("cannot read: {e}")))?;
    if bytes.len() as u64 > MAX_SOURCE_BYTES {
        return Err(too_large(bytes.len() as u64));
    }
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let text = String::from_utf8_lossy(&e.as_bytes()[..offset]).into_owned();
        let (line, column) = line_col(&text, offset.min(text.len()));
        error(line, column, "the file is not UTF-8".into())
    })
}

/// A validated flow with where it came from.
#[derive(Debug, Clone)]
pub struct LoadedFlow {
    /// The flow.
    pub flow: Flow,
    /// The shared requirement catalogue, which the flow's checks cite beside its own entries.
    pub catalogue: Arc<Catalogue>,
    /// Its file.
    pub path: PathBuf,
    /// The project root that `file:` references are relative to.
    pub root: PathBuf,
    /// The requirement keys the flow's checks name with `req` (its own and the catalogue's).
    pub cited: BTreeSet<String>,
}

impl LoadedFlow {
    /// The requirement `key` names: the flow's own entry or the catalogue's.
    pub fn requirement(&self, key: &str) -> Option<&Requirement> {
        self.flow
            .requirements
            .get(key)
            .or_else(|| self.catalogue.get(key))
    }

    /// Reads a file a flow refers to (relative to the project root).
    pub fn read_fixture(&self, relative: &str) -> std::io::Result<String> {
        // Bounded like the flow itself: a fixture path may name anything (even /dev/zero).
        read_source(&self.root.join(relative))
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.message))
    }
}

/// Loads every `*.yaml` below `dir`, sorted by path, with the catalogue of `root`.
/// Stops at the first invalid flow.
pub fn load_dir(dir: &Path, root: &Path) -> Result<Vec<LoadedFlow>, FlowError> {
    load_selected(dir, root, &[])
}

/// Loads the flows below `dir` whose id contains one of `patterns` (every flow when there are
/// none), sorted by path. Only those files are validated: a file is skipped unread beyond its
/// top-level `id:` line when that id matches no pattern (a file whose id line cannot be read
/// that way is loaded to learn its id). Stops at the first invalid flow it loads.
pub fn load_selected(
    dir: &Path,
    root: &Path,
    patterns: &[String],
) -> Result<Vec<LoadedFlow>, FlowError> {
    Selection::scan(dir, root, patterns)?.load()
}

/// The flow files a selection may load, read but not yet parsed: the cheap half of
/// [`load_selected`], so that a run can start its SUT while the files are parsed.
pub struct Selection {
    root: PathBuf,
    patterns: Vec<String>,
    catalogue: Arc<Catalogue>,
    candidates: Vec<(PathBuf, Cow<'static, str>)>,
}

impl Selection {
    /// Reads the catalogue of `root` and the files below `dir` whose id may match `patterns`.
    pub fn scan(dir: &Path, root: &Path, patterns: &[String]) -> Result<Self, FlowError> {
        let catalogue = super::catalogue::load(root)?;
        let mut files = Vec::new();
        collect_yaml(dir, &mut files).map_err(|e| FlowError {
            file: dir.to_path_buf(),
            line: 0,
            column: 0,
            message: format!("cannot read flow directory: {e}"),
        })?;
        // In path order, each path split into its components once (comparing paths splits
        // both at every comparison).
        files.sort_by_cached_key(|path| {
            path.components()
                .map(|c| c.as_os_str().to_owned())
                .collect::<Vec<_>>()
        });
        let mut selection = Selection {
            root: root.to_path_buf(),
            patterns: patterns.to_vec(),
            catalogue,
            candidates: Vec::new(),
        };
        for file in files {
            let (wanted, source) = match unchanged_built(dir, &file) {
                Some(built) => (
                    built.id.is_none_or(|id| selection.wants(id)),
                    Cow::Borrowed(built.source),
                ),
                None => {
                    let source = read_source(&file)?;
                    let wanted = scanned_id(&source).is_none_or(|id| selection.wants(id));
                    (wanted, Cow::Owned(source))
                }
            };
            if wanted {
                selection.candidates.push((file, source));
            }
        }
        Ok(selection)
    }

    /// How many files may hold a selected flow (an upper bound on the flows loaded).
    pub fn candidates(&self) -> usize {
        self.candidates.len()
    }

    fn wants(&self, id: &str) -> bool {
        self.patterns.is_empty() || self.patterns.iter().any(|p| id.contains(p.as_str()))
    }

    /// Parses and validates the candidates; keeps the flows whose id is selected.
    pub fn load(self) -> Result<Vec<LoadedFlow>, FlowError> {
        let mut flows = Vec::new();
        for loaded in load_all(&self.candidates, &self.root, &self.catalogue)? {
            if self.wants(&loaded.flow.id) {
                flows.push(loaded);
            }
        }
        let mut ids = HashSet::new();
        for loaded in &flows {
            if !ids.insert(loaded.flow.id.clone()) {
                return Err(FlowError {
                    file: loaded.path.clone(),
                    line: 1,
                    column: 1,
                    message: format!(
                        "flow id {} is used by another flow file too",
                        loaded.flow.id
                    ),
                });
            }
        }
        Ok(flows)
    }
}

/// Parses and validates `(file, source)` pairs, in order, on every core (YAML parsing and
/// regular expression compiling are most of a short run's start); the first error in file
/// order wins.
fn load_all(
    candidates: &[(PathBuf, Cow<'static, str>)],
    root: &Path,
    catalogue: &Arc<Catalogue>,
) -> Result<Vec<LoadedFlow>, FlowError> {
    let load =
        |(file, source): &(PathBuf, Cow<'static, str>)| load_str(source, file, root, catalogue);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if candidates.len() < 2 || cores < 2 {
        return candidates.iter().map(load).collect();
    }
    let per_thread = candidates.len().div_ceil(cores);
    std::thread::scope(|scope| {
        let workers: Vec<_> = candidates
            .chunks(per_thread)
            .map(|chunk| scope.spawn(move || chunk.iter().map(load).collect::<Vec<_>>()))
            .collect();
        let mut loaded = Vec::with_capacity(candidates.len());
        for (worker, chunk) in workers.into_iter().zip(candidates.chunks(per_thread)) {
            let results = worker.join().unwrap_or_else(|_| {
                chunk
                    .iter()
                    .map(|(file, _)| {
                        Err(FlowError {
                            file: file.clone(),
                            line: 0,
                            column: 0,
                            message: "the flow loader panicked".into(),
                        })
                    })
                    .collect()
            });
            for result in results {
                loaded.push(result?);
            }
        }
        Ok(loaded)
    })
}

/// The flow id on the file's one top-level `id:` line, when it is a plain or simply quoted
/// scalar; `None` when there is no such line, several, or a value that needs YAML to read.
fn scanned_id(source: &str) -> Option<&str> {
    let mut lines = source.lines().filter_map(|l| l.strip_prefix("id:"));
    let value = lines.next()?.trim();
    if lines.next().is_some() {
        return None;
    }
    let unquoted = ['"', '\'']
        .iter()
        .find_map(|q| value.strip_prefix(*q)?.strip_suffix(*q))
        .unwrap_or(value);
    let plain = !unquoted.is_empty()
        && unquoted
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._@-".contains(c));
    plain.then_some(unquoted)
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        // The entry's type comes with the listing; only a symbolic link needs a stat.
        let kind = entry.file_type()?;
        if kind.is_dir() || (kind.is_symlink() && path.is_dir()) {
            collect_yaml(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    Ok(())
}

/// Loads and validates one flow file with the catalogue of `root`.
pub fn load_file(path: &Path, root: &Path) -> Result<LoadedFlow, FlowError> {
    let catalogue = super::catalogue::load(root)?;
    let source = read_source(path)?;
    load_str(&source, path, root, &catalogue)
}

/// The flow files as parsed at build time (`build.rs`).
mod built {
    /// A flow file the binary was built with.
    pub struct BuiltFlow {
        /// Its path below `flows/`.
        pub path: &'static str,
        /// Its size in bytes.
        pub len: u64,
        /// Its modification time, in nanoseconds since the Unix epoch.
        pub modified_ns: u128,
        /// The flow's id.
        pub id: Option<&'static str>,
        /// Its text.
        pub source: &'static str,
        /// The same document as JSON.
        pub json: &'static str,
    }

    include!(concat!(env!("OUT_DIR"), "/flows.rs"));
}

/// The built copy of `file` (a file below `dir`) when the file's size and modification time
/// are those it had when the binary was built: an edited file has a newer time and is read.
fn unchanged_built(dir: &Path, file: &Path) -> Option<&'static built::BuiltFlow> {
    let relative = file.strip_prefix(dir).ok()?.to_str()?;
    let flow = built::FLOWS.iter().find(|f| f.path == relative)?;
    let meta = std::fs::metadata(file).ok()?;
    let modified = meta
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos();
    (meta.len() == flow.len && modified == flow.modified_ns).then_some(flow)
}

/// The flow in `source`: from its build-time JSON when `source` is byte for byte a file the
/// binary was built with (deserializing JSON costs a tenth of parsing the YAML), else from the
/// YAML, whose errors are located.
fn parse_flow(source: &str) -> Result<Flow, serde_yaml::Error> {
    crate::built::parse(source, built::FLOWS.iter().map(|f| (f.source, f.json)))
}

/// Loads and validates a flow from text (`path` names it in errors); catalogue entries are
/// added to the flow's requirements.
pub fn load_str(
    source: &str,
    path: &Path,
    root: &Path,
    catalogue: &Arc<Catalogue>,
) -> Result<LoadedFlow, FlowError> {
    let flow = parse_flow(source).map_err(|e| FlowError::from_yaml(path, &e))?;
    for key in flow.requirements.keys() {
        if catalogue.contains_key(key) {
            let (line, column) = source
                .find(&format!("{key}:"))
                .map_or((1, 1), |o| line_col(source, o));
            return Err(FlowError {
                file: path.to_path_buf(),
                line,
                column,
                message: format!(
                    "requirement {key} is in the shared catalogue; cite it, do not redefine it"
                ),
            });
        }
    }
    let mut loaded = LoadedFlow {
        flow,
        catalogue: Arc::clone(catalogue),
        path: path.to_path_buf(),
        root: root.to_path_buf(),
        cited: BTreeSet::new(),
    };
    let validator = Validator {
        loaded: &loaded,
        source,
        cited: RefCell::default(),
    };
    validator.validate()?;
    loaded.cited = validator.cited.into_inner();
    Ok(loaded)
}

struct Validator<'a> {
    loaded: &'a LoadedFlow,
    source: &'a str,
    /// The keys the checks validated so far name.
    cited: RefCell<BTreeSet<String>>,
}

/// Names defined so far while walking the steps in order.
#[derive(Default, Clone)]
struct Scope {
    vars: BTreeSet<String>,
    sent_labels: BTreeSet<String>,
    received_labels: BTreeSet<String>,
    dialogs: BTreeSet<String>,
}

impl Validator<'_> {
    fn flow(&self) -> &Flow {
        &self.loaded.flow
    }

    /// An error located at the first occurrence of any of `needles` in the source.
    fn error(&self, needles: &[String], message: String) -> FlowError {
        let (line, column) = needles
            .iter()
            .filter(|n| !n.is_empty())
            .find_map(|n| self.source.find(n.as_str()))
            .map(|offset| line_col(self.source, offset))
            .unwrap_or((1, 1));
        FlowError {
            file: self.loaded.path.clone(),
            line,
            column,
            message,
        }
    }

    fn validate(&self) -> Result<(), FlowError> {
        self.validate_roles()?;
        let mut scope = Scope::default();
        for (name, role) in &self.flow().roles {
            for attr in ROLE_ATTRIBUTES {
                scope.vars.insert(format!("{name}.{attr}"));
            }
            if role.kind == RoleKind::Sut {
                scope.vars.insert(format!("{name}.xcap_root"));
                scope.vars.insert(format!("{name}.xcap_tls_root"));
            }
            let placed = role.address.is_some() || !role.trusted;
            if role.kind == RoleKind::Sut && placed {
                return Err(self.error(
                    &[format!("{name}:")],
                    format!(
                        "role {name} is the SUT: `address` and `trusted` place the harness's nodes"
                    ),
                ));
            }
            match role.address {
                Some(_) if !role.trusted => {
                    return Err(self.error(
                        &[format!("{name}:")],
                        format!("role {name} has an `address` and `trusted: false`, which binds the profile's untrusted_address instead"),
                    ))
                }
                Some(ip) if !ip.is_loopback() => {
                    return Err(self.error(
                        &[format!("{name}:")],
                        format!("role {name}'s address {ip} is not a loopback address (127.0.0.0/8)"),
                    ))
                }
                _ => {}
            }
            match (role.kind, role.provisioned, role.user.is_some()) {
                (RoleKind::Ue, true, false) => {
                    return Err(self.error(
                        &[format!("{name}:")],
                        format!("role {name} is a ue and needs a user"),
                    ))
                }
                (RoleKind::Ue, false, true) => {
                    return Err(self.error(
                        &[format!("{name}:")],
                        format!("role {name} is not provisioned: its user is the profile's unknown_user, so it names none"),
                    ))
                }
                (RoleKind::Ue, _, _) => {}
                (_, false, _) => {
                    return Err(self.error(
                        &[format!("{name}:")],
                        format!("role {name} is not a ue: only a ue can be a user the SUT has not provisioned"),
                    ))
                }
                _ => {}
            }
        }
        for key in self.flow().requirements.keys() {
            if key.contains(char::is_whitespace) {
                return Err(self.error(
                    std::slice::from_ref(key),
                    format!("requirement key {key:?} has whitespace"),
                ));
            }
        }
        self.validate_exemptions()?;
        self.validate_steps(&self.flow().steps, &mut scope, false)
    }

    /// A UE under test has a user and an outbound proxy (the first of its `path`); what it
    /// `watches` are UE roles. Only a UE under test watches or publishes.
    fn validate_ue_under_test(&self) -> Result<(), FlowError> {
        let roles = &self.flow().roles;
        for (name, role) in roles {
            let is_ue = role.kind == RoleKind::Sut
                && role.service.as_deref() == Some(super::model::UE_SERVICE);
            if (!role.watches.is_empty() || role.publishes || role.registers) && !is_ue {
                return Err(self.error(
                    &[format!("{name}:")],
                    format!("role {name} watches, publishes or registers, which only a UE under test (`kind: sut, service: ue`) is told to"),
                ));
            }
            if !is_ue {
                continue;
            }
            if role.user.is_none() || role.path.is_empty() {
                return Err(self.error(
                    &[format!("{name}:")],
                    format!("role {name} is a UE under test and needs a user and a path (its outbound proxy first)"),
                ));
            }
            for watched in &role.watches {
                if roles.get(watched).is_none_or(|r| r.kind != RoleKind::Ue) {
                    return Err(self.error(
                        std::slice::from_ref(watched),
                        format!("role {name} watches {watched}, which is no ue role"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// An exemption names a message rule and cites a requirement the flow knows.
    fn validate_exemptions(&self) -> Result<(), FlowError> {
        for exemption in &self.flow().exempt {
            if !crate::check::rules::keys().any(|k| k == exemption.rule) {
                return Err(self.error(
                    std::slice::from_ref(&exemption.rule),
                    format!(
                        "exempt: {} is not a message rule (one of {})",
                        exemption.rule,
                        crate::check::rules::keys().collect::<Vec<_>>().join(", ")
                    ),
                ));
            }
            if self.loaded.requirement(&exemption.because).is_none() {
                return Err(self.error(
                    std::slice::from_ref(&exemption.because),
                    format!(
                        "exempt: {} cites {}, which is not a requirement of the flow or the catalogue",
                        exemption.rule, exemption.because
                    ),
                ));
            }
        }
        Ok(())
    }

    fn validate_roles(&self) -> Result<(), FlowError> {
        let roles = &self.flow().roles;
        if !roles.values().any(|r| r.kind == RoleKind::Sut) {
            return Err(self.error(&["roles:".into()], "no role has kind: sut".into()));
        }
        self.validate_ue_under_test()?;
        for (name, role) in roles {
            for hop in &role.path {
                match roles.get(hop) {
                    Some(r)
                        if matches!(
                            r.kind,
                            RoleKind::PCscf | RoleKind::SCscf | RoleKind::ICscf
                        ) => {}
                    Some(_) => {
                        return Err(self.error(
                            std::slice::from_ref(hop),
                            format!("path of {name}: {hop} is not a CSCF role"),
                        ))
                    }
                    None => {
                        return Err(self.error(
                            std::slice::from_ref(hop),
                            format!("path of {name}: unknown role {hop}"),
                        ))
                    }
                }
            }
        }
        Ok(())
    }

    fn validate_steps(
        &self,
        steps: &[Step],
        scope: &mut Scope,
        only_expects: bool,
    ) -> Result<(), FlowError> {
        for step in steps {
            self.validate_step(step, scope, only_expects)?;
        }
        Ok(())
    }

    fn role_of_kind(
        &self,
        name: &Option<String>,
        field: &str,
        want: &[RoleKind],
    ) -> Result<(), FlowError> {
        let Some(name) = name else {
            return Err(self.error(&[], format!("a step needs `{field}`")));
        };
        match self.flow().roles.get(name) {
            Some(role) if want.contains(&role.kind) => Ok(()),
            Some(_) => Err(self.error(
                &[format!("{field}: {name}")],
                format!("`{field}: {name}`: role {name} has the wrong kind here"),
            )),
            None => Err(self.error(
                &[format!("{field}: {name}")],
                format!("`{field}: {name}`: no such role"),
            )),
        }
    }

    fn validate_step(
        &self,
        step: &Step,
        scope: &mut Scope,
        only_expects: bool,
    ) -> Result<(), FlowError> {
        let kinds = step.kinds();
        let here = step
            .label
            .clone()
            .map(|l| format!("as: {l}"))
            .unwrap_or_default();
        if kinds.len() != 1 {
            return Err(self.error(
                &[here],
                format!("a step must have exactly one of send, http, expect, reply, withhold, resend, cancel, await_copy, act, any_order, alternatives; found {kinds:?}"),
            ));
        }
        let absent_allowed = match step.kind() {
            StepKind::Expect => !only_expects && !step.expects_response(),
            StepKind::AwaitCopy => true,
            _ => false,
        };
        if step.absent == Some(true) && !absent_allowed {
            return Err(self.error(
                &["absent:".into()],
                "`absent` is for an await_copy step or an expect step on a request, outside any_order and alternatives' first steps".into(),
            ));
        }
        if only_expects && step.kind() != StepKind::Expect {
            return Err(self.error(
                &[here],
                "any_order groups and alternatives' first steps hold only expect steps".into(),
            ));
        }
        self.check_requirement_ref(&step.req)?;
        if let Some(timeout) = step.timeout {
            if !(timeout > 0.0 && timeout <= 3600.0) {
                return Err(self.error(
                    &[format!("timeout: {timeout}")],
                    format!("timeout {timeout}: want seconds in (0, 3600]"),
                ));
            }
        }
        self.validate_spec_steps(step)?;
        match (step.malformed, step.kind()) {
            (None, _)
            | (Some(_), StepKind::Reply)
            | (Some(super::model::Malformed::ShortBody), StepKind::Send) => {}
            _ => {
                return Err(self.error(
                    &["malformed:".into()],
                    "`malformed` is for a reply step (and `short-body` for a send step too)".into(),
                ))
            }
        }
        if step.new_connection.is_some() && step.kind() != StepKind::Reply {
            return Err(self.error(
                &["new_connection:".into()],
                "`new_connection` is for a reply step".into(),
            ));
        }
        if step.authenticate.is_some() && step.kind() != StepKind::Http {
            return Err(self.error(
                &["authenticate:".into()],
                "`authenticate` is for an http step".into(),
            ));
        }
        if step.fork && (step.kind() != StepKind::Send || step.dialog.is_none()) {
            return Err(self.error(
                &["fork:".into()],
                "`fork` is for a send step in a dialog".into(),
            ));
        }
        if let Some(digest) = &step.digest {
            if step.kind() != StepKind::Expect || step.expects_response() {
                return Err(self.error(
                    &["digest:".into()],
                    "`digest` is for an expect step of a request".into(),
                ));
            }
            self.check_requirement_ref(&Some(digest.req.clone()))?;
        }
        if step.kind() == StepKind::Send && step.transport == Some(crate::net::Transport::Tls) {
            return Err(self.error(
                &["transport:".into()],
                "a send step switches to udp or tcp on the run's SUT port; a flow runs over TLS with `transports: [tls]`".into(),
            ));
        }
        if step.via_port_of.is_some() {
            if step.kind() != StepKind::Send {
                return Err(self.error(
                    &["via_port_of:".into()],
                    "`via_port_of` is for a send step".into(),
                ));
            }
            self.role_of_kind(&step.via_port_of, "via_port_of", NODE_KINDS)?;
        } else if step.maddr {
            return Err(self.error(
                &["maddr:".into()],
                "`maddr` names the node of the step's `via_port_of`, which it lacks".into(),
            ));
        }
        if step.via_host.is_some() && step.kind() != StepKind::Send {
            return Err(self.error(
                &["via_host:".into()],
                "`via_host` is for a send step".into(),
            ));
        }
        if let Some(host) = &step.via_host {
            if host.is_empty()
                || !host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
            {
                return Err(self.error(
                    &[format!("via_host: {host}")],
                    format!("via_host {host:?}: want a domain name"),
                ));
            }
        }
        if let Some(label) = &step.label {
            if scope.sent_labels.contains(label) || scope.received_labels.contains(label) {
                return Err(self.error(
                    &[format!("as: {label}")],
                    format!("label {label} is used twice"),
                ));
            }
        }
        match step.kind() {
            StepKind::Send => self.validate_send(step, scope),
            StepKind::Http => self.validate_http(step, scope),
            StepKind::Expect => self.validate_expect(step, scope),
            StepKind::Reply => self.validate_reply(step, scope),
            StepKind::Withhold => self.require_earlier(
                "withhold",
                step.withhold.as_deref().unwrap_or_default(),
                &scope.received_labels,
                "expected request",
            ),
            StepKind::Resend => self.require_earlier(
                "resend",
                step.resend.as_deref().unwrap_or_default(),
                &scope.sent_labels,
                "send step",
            ),
            StepKind::AwaitCopy => {
                self.require_req(None, step, "await_copy")?;
                self.require_earlier(
                    "await_copy",
                    step.await_copy.as_deref().unwrap_or_default(),
                    &scope.received_labels,
                    "expected request",
                )
            }
            StepKind::Cancel => {
                self.require_earlier(
                    "cancel",
                    step.cancel.as_deref().unwrap_or_default(),
                    &scope.sent_labels,
                    "send step",
                )?;
                if let Some(label) = &step.label {
                    scope.sent_labels.insert(label.clone());
                }
                Ok(())
            }
            StepKind::Act => self.validate_act(step),
            StepKind::AnyOrder => {
                let group = step.any_order.as_deref().unwrap_or_default();
                self.validate_steps(group, scope, true)
            }
            StepKind::Alternatives => self.validate_alternatives(step, scope),
        }
    }

    /// An `act` step names an action of a UE under test.
    fn validate_act(&self, step: &Step) -> Result<(), FlowError> {
        let action = step.act.as_deref().unwrap_or_default();
        let here = || vec![format!("act: {action}")];
        if self.flow().ue_under_test().is_none() {
            return Err(self.error(
                &here(),
                "`act` is for a flow whose SUT role is a UE under test (`service: ue`)".into(),
            ));
        }
        if action.trim().is_empty() || action.trim() != action {
            return Err(self.error(
                &here(),
                format!("act {action:?}: want an action name without surrounding spaces"),
            ));
        }
        Ok(())
    }

    /// `spec_steps` number the messages of a send (one per hop: its UE's path and the SUT),
    /// expect, reply or http step, in a flow that names its `figure`.
    fn validate_spec_steps(&self, step: &Step) -> Result<(), FlowError> {
        let Some(numbers) = &step.spec_steps else {
            return Ok(());
        };
        let here = || vec!["spec_steps:".to_string()];
        if self.flow().figure.is_none() {
            return Err(self.error(
                &here(),
                "`spec_steps` need the flow's `figure` (whose steps they number)".into(),
            ));
        }
        let most = match step.kind() {
            StepKind::Send => {
                let path = step
                    .from
                    .as_ref()
                    .and_then(|from| self.flow().roles.get(from))
                    .map_or(0, |role| role.path.len());
                path + 1
            }
            StepKind::Expect | StepKind::Reply | StepKind::Http => 1,
            _ => 0,
        };
        if numbers.is_empty() || numbers.len() > most || numbers.contains(&0) {
            return Err(self.error(
                &here(),
                format!(
                    "spec_steps {numbers:?}: this step puts {most} message(s) on the ladder; want 1 to {most} step numbers, each from 1"
                ),
            ));
        }
        Ok(())
    }

    fn validate_send(&self, step: &Step, scope: &mut Scope) -> Result<(), FlowError> {
        // A CSCF sends requests of its own too (e.g. the S-CSCF's third-party REGISTER, or
        // its NOTIFYs as the reg-event notifier).
        self.role_of_kind(
            &step.from,
            "from",
            &[
                RoleKind::Ue,
                RoleKind::PCscf,
                RoleKind::SCscf,
                RoleKind::ICscf,
            ],
        )?;
        self.role_of_kind(&step.to, "to", &[RoleKind::Sut])?;
        let method = step.send.as_deref().unwrap_or_default();
        if method.is_empty() || !method.chars().all(|c| c.is_ascii_uppercase()) {
            return Err(self.error(
                &[format!("send: {method}")],
                format!("bad method {method:?}"),
            ));
        }
        let in_dialog = step
            .dialog
            .as_ref()
            .is_some_and(|d| scope.dialogs.contains(d));
        if step.uri.is_none() && !in_dialog {
            return Err(self.error(
                &[format!("send: {method}")],
                "an initial request needs `uri`".into(),
            ));
        }
        self.check_vars(step.uri.as_deref().unwrap_or_default(), scope)?;
        self.validate_content(step, scope)?;
        if let Some(dialog) = &step.dialog {
            scope.dialogs.insert(dialog.clone());
        }
        if let Some(label) = &step.label {
            scope.sent_labels.insert(label.clone());
        }
        Ok(())
    }

    fn validate_http(&self, step: &Step, scope: &mut Scope) -> Result<(), FlowError> {
        self.role_of_kind(&step.from, "from", &[RoleKind::Ue])?;
        self.role_of_kind(&step.to, "to", &[RoleKind::Sut])?;
        let method = step.http.as_deref().unwrap_or_default();
        if !["GET", "PUT", "DELETE", "POST", "HEAD"].contains(&method) {
            return Err(self.error(
                &[format!("http: {method}")],
                format!("HTTP method {method:?}: want GET, PUT, DELETE, POST or HEAD"),
            ));
        }
        let Some(url) = &step.url else {
            return Err(self.error(
                &[format!("http: {method}")],
                "an http step needs `url`".into(),
            ));
        };
        if step.uri.is_some() || step.dialog.is_some() {
            return Err(self.error(
                &[format!("http: {method}")],
                "an http step takes `url`, not `uri` or `dialog`".into(),
            ));
        }
        self.check_vars(url, scope)?;
        self.validate_content(step, scope)?;
        if let Some(label) = &step.label {
            scope.sent_labels.insert(label.clone());
        }
        Ok(())
    }

    /// Headers and body of a request to send: scalars, known variables, a readable fixture.
    fn validate_content(&self, step: &Step, scope: &Scope) -> Result<(), FlowError> {
        for (name, value) in step.headers.iter().flat_map(|h| h.iter()) {
            let text = scalar_text(value).ok_or_else(|| {
                self.error(
                    &[format!("{name}:")],
                    format!("header {name}: a sent header value must be a scalar"),
                )
            })?;
            self.check_vars(&text, scope)?;
        }
        if let Some(body) = &step.body {
            let text = match (&body.file, &body.text) {
                (Some(file), None) => self.loaded.read_fixture(file).map_err(|e| {
                    self.error(std::slice::from_ref(file), format!("body file {file}: {e}"))
                })?,
                (None, Some(text)) => text.clone(),
                _ => {
                    return Err(self.error(
                        &["body:".into()],
                        "body needs exactly one of file, text".into(),
                    ))
                }
            };
            self.check_vars(&text, scope)?;
        }
        Ok(())
    }

    fn validate_expect(&self, step: &Step, scope: &mut Scope) -> Result<(), FlowError> {
        let what = step.expect.as_deref().unwrap_or_default();
        if step.expects_response() {
            match &step.of {
                Some(of) if scope.sent_labels.contains(of) => {}
                Some(of) => {
                    return Err(self.error(
                        &[format!("of: {of}")],
                        format!("`of: {of}`: no earlier send has `as: {of}`"),
                    ))
                }
                None => {
                    return Err(self.error(
                        &[format!("expect: {what}")],
                        "expect response needs `of`".into(),
                    ))
                }
            }
            if step.at.is_some() {
                self.role_of_kind(&step.at, "at", NODE_KINDS)?;
                self.require_req(step.req.clone(), step, "at")?;
            }
            if let Some(status) = &step.status {
                self.check_requirement_ref(&status.req().map(str::to_string))?;
                self.require_req(status.req().map(str::to_string), step, "status")?;
                let named = [
                    !status.codes().is_empty(),
                    !status.refused().is_empty(),
                    status.any_final(),
                ];
                if named.iter().filter(|n| **n).count() != 1 {
                    return Err(self.error(
                        &["status:".to_string()],
                        "status needs exactly one of `one_of` codes, `none_of` codes, `any_final: true`".into(),
                    ));
                }
            } else {
                return Err(self.error(
                    &[format!("of: {}", step.of.as_deref().unwrap_or_default())],
                    "expect response needs `status`".into(),
                ));
            }
        } else {
            if what.is_empty() || !what.chars().all(|c| c.is_ascii_uppercase()) {
                return Err(self.error(
                    &[format!("expect: {what}")],
                    format!("expect {what:?}: want `response` or a method"),
                ));
            }
            match &step.dialog {
                Some(d) if scope.dialogs.contains(d) => {}
                // A request from the SUT arriving at `at` opens the dialog (we are its UAS).
                Some(d) if step.at.is_some() => {
                    scope.dialogs.insert(d.clone());
                }
                Some(d) => {
                    return Err(self.error(
                        &[format!("dialog: {d}")],
                        format!("`dialog: {d}`: no earlier request opens it, and no `at` says where a request opening it arrives"),
                    ))
                }
                // A request outside any dialog (PUBLISH, MESSAGE, OPTIONS, REGISTER).
                None if step.at.is_some() && !super::model::creates_dialog(what) => {}
                None => {
                    return Err(self.error(
                        &[format!("expect: {what}")],
                        "an expected request needs `dialog` (or `at`, for a method that creates no dialog)".into(),
                    ))
                }
            }
            if step.at.is_some() {
                self.role_of_kind(&step.at, "at", NODE_KINDS)?;
            }
            self.require_req(None, step, "arrival")?;
            for (name, value) in step.select.iter().flat_map(|h| h.iter()) {
                let spec: HeaderCheckSpec = serde_yaml::from_value(value.clone()).map_err(|e| {
                    self.error(
                        &[format!("{name}:")],
                        format!("select on header {name}: {e}"),
                    )
                })?;
                for check in spec.checks().iter() {
                    if check.capture.is_some() || check.capture_uri.is_some() {
                        return Err(self.error(
                            &[format!("{name}:")],
                            format!("select on header {name}: no capture in a selector"),
                        ));
                    }
                    if let Some(re) = &check.matches {
                        self.check_regex(re)?;
                    }
                }
            }
            for check in step.select_xml.iter().flatten() {
                if check.capture.is_some() {
                    return Err(self.error(
                        std::slice::from_ref(&check.path),
                        format!("select_xml {}: no capture in a selector", check.path),
                    ));
                }
                self.check_path(&check.path)?;
                self.check_vars(&check.path, scope)?;
                for text in check.equals.iter().chain(check.one_of.iter().flatten()) {
                    self.check_vars(text, scope)?;
                }
                if let Some(re) = &check.matches {
                    self.check_regex(re)?;
                }
            }
            if let Some(label) = &step.label {
                scope.received_labels.insert(label.clone());
            }
        }
        for (name, value) in step.headers.iter().flat_map(|h| h.iter()) {
            let spec: HeaderCheckSpec = serde_yaml::from_value(value.clone()).map_err(|e| {
                self.error(
                    &[format!("{name}:")],
                    format!("check on header {name}: {e}"),
                )
            })?;
            for check in spec.checks().iter() {
                self.validate_header_check(name, check, step, scope)?;
            }
        }
        if let Some(spec) = &step.multipart {
            self.check_requirement_ref(&Some(spec.req.clone()))?;
            self.check_requirement_ref(&spec.cid_req)?;
        }
        if step.parts.is_some() && step.multipart.is_none() {
            return Err(self.error(
                &["parts:".into()],
                "`parts` needs `multipart` (the parts are named by the multipart root)".into(),
            ));
        }
        for part in step.parts.iter().flatten() {
            self.check_requirement_ref(&Some(part.req.clone()))?;
            self.check_vars(&part.resource, scope)?;
            self.validate_xml_checks(&part.xml, step, scope)?;
        }
        self.validate_xml_checks(step.xml.as_deref().unwrap_or_default(), step, scope)?;
        if let Some(eq) = &step.xml_equals {
            self.check_requirement_ref(&eq.req)?;
            self.require_req(eq.req.clone(), step, "xml_equals")?;
            let text = self.loaded.read_fixture(&eq.file).map_err(|e| {
                self.error(
                    std::slice::from_ref(&eq.file),
                    format!("xml_equals file {}: {e}", eq.file),
                )
            })?;
            self.check_vars(&text, scope)?;
            if let Some(path) = &eq.path {
                self.check_path(path)?;
            }
        }
        if step.select.is_some() && step.expects_response() {
            return Err(self.error(
                &["select:".into()],
                "`select` chooses among requests; a response is chosen by `of`".into(),
            ));
        }
        if step.body_empty.is_some() {
            self.require_req(None, step, "body_empty")?;
        }
        if let Some(value) = &step.body_text {
            let spec: HeaderCheckSpec = serde_yaml::from_value(value.clone()).map_err(|e| {
                self.error(&["body_text:".into()], format!("check on the body: {e}"))
            })?;
            for check in spec.checks().iter() {
                self.validate_header_check("body", check, step, scope)?;
            }
        }
        if let Some(value) = &step.request_uri {
            if step.expects_response() || step.expect.is_none() {
                return Err(self.error(
                    &["request_uri:".into()],
                    "`request_uri` checks an expected request".into(),
                ));
            }
            let spec: HeaderCheckSpec = serde_yaml::from_value(value.clone()).map_err(|e| {
                self.error(
                    &["request_uri:".into()],
                    format!("check on the Request-URI: {e}"),
                )
            })?;
            for check in spec.checks().iter() {
                self.validate_header_check("Request-URI", check, step, scope)?;
            }
        }
        Ok(())
    }

    fn validate_xml_checks(
        &self,
        checks: &[XmlCheck],
        step: &Step,
        scope: &mut Scope,
    ) -> Result<(), FlowError> {
        for xml in checks {
            self.check_requirement_ref(&xml.req)?;
            self.require_req(xml.req.clone(), step, &xml.path)?;
            self.check_path(&xml.path)?;
            self.check_vars(&xml.path, scope)?;
            for text in xml.equals.iter().chain(xml.one_of.iter().flatten()) {
                self.check_vars(text, scope)?;
            }
            if let Some(re) = &xml.matches {
                self.check_regex(re)?;
            }
            if let Some(var) = &xml.capture {
                scope.vars.insert(var.clone());
            }
        }
        Ok(())
    }

    fn validate_header_check(
        &self,
        name: &str,
        check: &super::model::HeaderCheck,
        step: &Step,
        scope: &mut Scope,
    ) -> Result<(), FlowError> {
        self.check_requirement_ref(&check.req)?;
        if check.if_present && (check.present.is_some() || !check.checks_value()) {
            return Err(self.error(
                &[format!("{name}:")],
                format!("{name}: if_present goes with a value check and without present"),
            ));
        }
        let asserts = check.present.is_some() || check.checks_value();
        if asserts {
            self.require_req(check.req.clone(), step, name)?;
        }
        for text in check
            .equals
            .iter()
            .chain(check.not_equal.iter())
            .chain(check.one_of.iter().flatten())
        {
            self.check_vars(text, scope)?;
        }
        for re in check.matches.iter().chain(&check.any_matches) {
            self.check_regex(re)?;
        }
        for (param, spec) in check.params.iter().flat_map(|p| p.iter()) {
            for inner in spec.checks().iter() {
                let inner = HeaderCheck {
                    req: inner.req.clone().or(check.req.clone()),
                    ..inner.clone()
                };
                self.validate_header_check(&format!("{name};{param}"), &inner, step, scope)?;
            }
        }
        for var in check.capture.iter().chain(&check.capture_uri) {
            scope.vars.insert(var.clone());
        }
        Ok(())
    }

    fn validate_reply(&self, step: &Step, scope: &mut Scope) -> Result<(), FlowError> {
        match &step.of {
            Some(of) if scope.received_labels.contains(of) => {}
            Some(of) => {
                return Err(self.error(
                    &[format!("of: {of}")],
                    format!("`of: {of}`: no earlier expected request has `as: {of}`"),
                ))
            }
            None => return Err(self.error(&["reply:".into()], "reply needs `of`".into())),
        }
        let code = step.reply.unwrap_or_default();
        if !(100..700).contains(&code) {
            return Err(self.error(
                &[format!("reply: {code}")],
                format!("reply {code}: want a status 100-699"),
            ));
        }
        for (name, value) in step.headers.iter().flat_map(|h| h.iter()) {
            let text = scalar_text(value).ok_or_else(|| {
                self.error(
                    &[format!("{name}:")],
                    format!("header {name}: must be a scalar"),
                )
            })?;
            self.check_vars(&text, scope)?;
        }
        Ok(())
    }

    /// A `key: label` step names a label an earlier step gave (`known`, steps of `what`).
    fn require_earlier(
        &self,
        key: &str,
        label: &str,
        known: &BTreeSet<String>,
        what: &str,
    ) -> Result<(), FlowError> {
        if known.contains(label) {
            return Ok(());
        }
        Err(self.error(
            &[format!("{key}: {label}")],
            format!("`{key}: {label}`: no earlier {what} has `as: {label}`"),
        ))
    }

    fn validate_alternatives(&self, step: &Step, scope: &mut Scope) -> Result<(), FlowError> {
        let branches = step.alternatives.as_deref().unwrap_or_default();
        if branches.len() < 2 {
            return Err(self.error(
                &["alternatives:".into()],
                "alternatives need at least two branches".into(),
            ));
        }
        self.require_req(None, step, "alternatives")?;
        let has_non_strict = branches
            .iter()
            .any(|b| b.grade == super::model::Grade::NonStrict);
        let level = step
            .req
            .as_ref()
            .and_then(|k| self.loaded.requirement(k))
            .map(|r| r.level);
        if has_non_strict && level != Some(super::model::Level::Should) {
            return Err(self.error(
                &["alternatives:".into()],
                "alternatives with a non-strict branch need a `req` of level should: taking that branch breaks it".into(),
            ));
        }
        let mut after: Option<Scope> = None;
        for branch in branches {
            let Some((first, rest)) = branch.steps.split_first() else {
                return Err(self.error(
                    &[format!("name: {}", branch.name)],
                    "an alternative needs steps".into(),
                ));
            };
            let mut inner = scope.clone();
            self.validate_step(first, &mut inner, true)?;
            self.validate_steps(rest, &mut inner, false)?;
            // Only names every branch defines are defined after the alternatives.
            after = Some(match after {
                None => inner,
                Some(prev) => Scope {
                    vars: prev.vars.intersection(&inner.vars).cloned().collect(),
                    sent_labels: prev
                        .sent_labels
                        .intersection(&inner.sent_labels)
                        .cloned()
                        .collect(),
                    received_labels: prev
                        .received_labels
                        .intersection(&inner.received_labels)
                        .cloned()
                        .collect(),
                    dialogs: prev.dialogs.intersection(&inner.dialogs).cloned().collect(),
                },
            });
        }
        if let Some(after) = after {
            *scope = after;
        }
        Ok(())
    }

    fn check_vars(&self, text: &str, scope: &Scope) -> Result<(), FlowError> {
        for name in referenced(text) {
            if !scope.vars.contains(&name) {
                return Err(self.error(
                    &[format!("${{{name}}}")],
                    format!("undefined variable ${{{name}}} (not a role attribute and not captured by an earlier step)"),
                ));
            }
        }
        Ok(())
    }

    fn check_path(&self, path: &str) -> Result<(), FlowError> {
        let parsed = crate::check::xpath::parse_path(path)
            .map_err(|e| self.error(&[path.to_string()], format!("path {path}: {e}")))?;
        for prefix in parsed.prefixes() {
            if !self.flow().namespaces.contains_key(&prefix) {
                return Err(self.error(
                    &[path.to_string()],
                    format!("path {path}: prefix {prefix} is not in `namespaces`"),
                ));
            }
        }
        Ok(())
    }

    fn check_regex(&self, re: &str) -> Result<(), FlowError> {
        crate::check::pattern::compiled(re)
            .map(|_| ())
            .map_err(|e| self.error(&[re.to_string()], format!("bad regular expression: {e}")))
    }

    fn check_requirement_ref(&self, req: &Option<String>) -> Result<(), FlowError> {
        match req {
            Some(key) if self.loaded.requirement(key).is_none() => Err(self.error(
                &[format!("req: {key}")],
                format!("`req: {key}`: no such key in `requirements`"),
            )),
            Some(key) => {
                self.cited.borrow_mut().insert(key.clone());
                Ok(())
            }
            None => Ok(()),
        }
    }

    fn require_req(&self, own: Option<String>, step: &Step, what: &str) -> Result<(), FlowError> {
        if own.is_some() || step.req.is_some() {
            return Ok(());
        }
        let needle = step
            .label
            .clone()
            .map(|l| format!("as: {l}"))
            .unwrap_or_else(|| what.to_string());
        Err(self.error(
            &[needle],
            format!("check on {what} names no requirement: give it or its step a `req`"),
        ))
    }
}

/// A scalar YAML value as text (numbers and booleans included).
pub fn scalar_text(value: &serde_yaml::Value) -> Option<String> {
    match value {
        serde_yaml::Value::String(s) => Some(s.clone()),
        serde_yaml::Value::Number(n) => Some(n.to_string()),
        serde_yaml::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn line_col(source: &str, offset: usize) -> (usize, usize) {
    let before = &source[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rfind('\n').map_or(offset, |nl| offset - nl - 1) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_flow_reads_from_its_json_as_from_its_yaml() {
        assert!(
            built::FLOWS.len() >= 30,
            "the build converted the flows: {}",
            built::FLOWS.len()
        );
        for built in built::FLOWS {
            let from_yaml: Flow = crate::built::assert_reads_the_same(built.source, built.json);
            assert_eq!(built.id, Some(from_yaml.id.as_str()), "{}", built.path);
            assert_eq!(built.len, built.source.len() as u64, "{}", built.path);
        }
    }

    #[test]
    fn an_edited_flow_is_read_from_its_yaml() {
        let source = built::FLOWS[0].source;
        let edited = format!("{source}\n# edited\n");
        let flow = parse_flow(&edited).expect("the edited flow parses");
        let built: Flow = serde_json::from_str(built::FLOWS[0].json).expect("the built JSON reads");
        assert_eq!(flow.id, built.id);
        assert!(
            parse_flow("id: [").is_err(),
            "bad YAML is an error, not a built flow"
        );
    }

    #[test]
    fn a_flow_file_is_trusted_unread_only_with_its_built_size_and_time() {
        let built = &built::FLOWS[0];
        let dir = std::env::temp_dir().join(format!("flows-built-{}", std::process::id()));
        let file = dir.join(built.path);
        std::fs::create_dir_all(file.parent().expect("a flow file is in a folder")).unwrap();
        let built_time =
            std::time::UNIX_EPOCH + std::time::Duration::from_nanos(built.modified_ns as u64);
        let write = |text: &str, modified: Option<std::time::SystemTime>| {
            std::fs::write(&file, text).unwrap();
            if let Some(time) = modified {
                std::fs::File::options()
                    .write(true)
                    .open(&file)
                    .and_then(|f| f.set_modified(time))
                    .unwrap();
            }
        };
        write(built.source, None);
        assert!(
            unchanged_built(&dir, &file).is_none(),
            "a copy written now has another time: it is read"
        );
        write(built.source, Some(built_time));
        assert!(unchanged_built(&dir, &file).is_some());
        write(&built.source.replace("id:", "id: x"), Some(built_time));
        assert!(
            unchanged_built(&dir, &file).is_none(),
            "an edit of another size is read, whatever its time"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
