//! Checks: header matchers, XML canonicalisation and paths, multipart bodies, snapshots, verdicts.

pub mod audit;
pub mod digest;
pub mod headers;
pub mod multipart;
pub mod pattern;
pub mod rules;
pub mod snapshot;
pub mod verdict;
pub mod xml;
pub mod xml_patch;
pub mod xpath;

pub use verdict::{CheckResult, Outcome, RequirementRef, Verdict};
