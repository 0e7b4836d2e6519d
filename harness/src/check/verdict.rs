//! Verdicts of flows and outcomes of single checks, graded by the level of the words enforced.

use crate::flow::model::{Level, Requirement};
use serde::{Deserialize, Serialize};

/// A flow's verdict.
#[derive(
    Debug,
    Clone,
    Copy,
    Serialize,
    Deserialize,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    schemars::JsonSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Every check held.
    Pass,
    /// The profile does not declare a capability the flow needs.
    Unsupported,
    /// Not run, with a reason.
    Skipped,
    /// A SHOULD was broken, or a permitted but discouraged alternative was taken.
    NonStrict,
    /// A MUST was broken.
    Fail,
    /// The harness could not judge (bad flow, SUT unreachable).
    Error,
}

impl Verdict {
    /// Lower-case name as printed.
    pub fn name(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Unsupported => "unsupported",
            Verdict::Skipped => "skipped",
            Verdict::NonStrict => "non-strict",
            Verdict::Fail => "fail",
            Verdict::Error => "error",
        }
    }
}

/// Outcome of one check.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The assertion held.
    Pass,
    /// The assertion did not hold (graded by the requirement's level).
    Fail,
    /// Not evaluated (e.g. an optional message that did not come), with the reason in `actual`.
    Skipped,
}

/// A requirement as reported: its key in the flow plus the cited words.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, schemars::JsonSchema)]
pub struct RequirementRef {
    /// Key in the flow's `requirements`, or a built-in key.
    pub key: String,
    /// The requirement.
    #[serde(flatten)]
    pub requirement: Requirement,
}

impl RequirementRef {
    /// One-line citation: `RFC 3903 §6 (MUST): "..."`.
    pub fn cite(&self) -> String {
        let level = match self.requirement.level {
            Level::Must => "MUST",
            Level::Should => "SHOULD",
            Level::May => "MAY",
            Level::Informative => "informative",
        };
        format!(
            "{} §{} ({level}): \"{}\"",
            self.requirement.doc, self.requirement.clause, self.requirement.text
        )
    }
}

/// One evaluated check. Serialised with its derived `verdict` beside the outcome (ignored
/// when read back: it is derived again).
#[derive(Debug, Clone, Deserialize)]
pub struct CheckResult {
    /// Step path, e.g. `4` or `3.2` (1-based; nested steps joined by dots).
    pub step: String,
    /// What was checked, e.g. `header SIP-ETag present`.
    pub check: String,
    /// The requirement it enforces.
    pub requirement: RequirementRef,
    /// Outcome.
    pub outcome: Outcome,
    /// Expected value or condition.
    pub expected: String,
    /// What was observed.
    pub actual: String,
    /// A line diff of expected against actual, when they are documents.
    pub diff: Option<String>,
    /// Trace sequence number of the message checked.
    pub message: Option<usize>,
    /// Why the SUT is known to fail this check, when its profile lists it as an expected
    /// deviation (set after the run).
    pub deviation: Option<String>,
}

/// One evaluated check as `run.json` holds it, with the verdict it alone gives the flow beside
/// its outcome.
// `CheckResult` serialises through this view and takes its JSON Schema from it: the two agree.
#[derive(Serialize, schemars::JsonSchema)]
#[schemars(rename = "CheckResult")]
struct CheckResultOut<'a> {
    /// Step path, e.g. `4` or `3.2` (1-based; nested steps joined by dots).
    step: &'a str,
    /// What was checked, e.g. `header SIP-ETag present`.
    check: &'a str,
    /// The requirement it enforces.
    requirement: &'a RequirementRef,
    /// Outcome.
    outcome: Outcome,
    /// The verdict this check alone gives the flow (derived from the outcome and the level).
    verdict: Verdict,
    /// Expected value or condition.
    expected: &'a str,
    /// What was observed.
    actual: &'a str,
    /// A line diff of expected against actual, when they are documents.
    diff: Option<&'a str>,
    /// Trace sequence number of the message checked.
    message: Option<usize>,
    /// Why the SUT is known to fail this check, when its profile lists it as an expected
    /// deviation.
    deviation: Option<&'a str>,
}

impl Serialize for CheckResult {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        CheckResultOut {
            step: &self.step,
            check: &self.check,
            requirement: &self.requirement,
            outcome: self.outcome,
            verdict: self.verdict(),
            expected: &self.expected,
            actual: &self.actual,
            diff: self.diff.as_deref(),
            message: self.message,
            deviation: self.deviation.as_deref(),
        }
        .serialize(serializer)
    }
}

impl schemars::JsonSchema for CheckResult {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        CheckResultOut::schema_name()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        CheckResultOut::json_schema(generator)
    }
}

impl CheckResult {
    /// The verdict this check alone gives the flow.
    pub fn verdict(&self) -> Verdict {
        match (self.outcome, self.requirement.requirement.level) {
            (Outcome::Skipped, _) => Verdict::Skipped,
            (Outcome::Fail, Level::Must) => Verdict::Fail,
            (Outcome::Fail, Level::Should) => Verdict::NonStrict,
            _ => Verdict::Pass,
        }
    }
}

/// Which verdicts break the build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Gate {
    /// A broken MUST (fail) or a harness error breaks it.
    #[default]
    Must,
    /// A broken SHOULD (non-strict) breaks it too.
    Strict,
}

impl CheckResult {
    /// True when this check breaks the gate: it failed at a level the gate counts and the
    /// profile does not list it as an expected deviation.
    pub fn breaks(&self, gate: Gate) -> bool {
        let counted = match gate {
            Gate::Must => self.verdict() == Verdict::Fail,
            Gate::Strict => matches!(self.verdict(), Verdict::Fail | Verdict::NonStrict),
        };
        counted && self.deviation.is_none()
    }
}

/// The verdict of a flow: the worst its checks give. A skipped check says what could not be
/// checked; it neither passes nor fails the flow.
pub fn flow_verdict(checks: &[CheckResult]) -> Verdict {
    checks
        .iter()
        .map(CheckResult::verdict)
        .filter(|v| *v != Verdict::Skipped)
        .max()
        .unwrap_or(Verdict::Pass)
}
