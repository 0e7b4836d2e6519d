//! Expected deviations of a real server, listed in its profile: each names the flow, the
//! requirement its failing check cites, and why. A listed deviation marks the matching failed
//! checks; a failure that is not listed still breaks the gate; a listed deviation that no
//! longer occurs is reported as stale, so the list only shrinks.

use crate::check::verdict::{Outcome, Verdict};
use crate::report::FlowRecord;
use serde::{Deserialize, Serialize};

/// One known deviation.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Deviation {
    /// Flow id (it covers the flow's runs over every transport), or `*` for every flow: a
    /// message rule the server breaks wherever it applies. A `*` deviation is stale when a
    /// check of its requirement ran in the run and none failed.
    pub flow: String,
    /// Requirement key the failing check cites.
    pub requirement: String,
    /// Text the failing check's description contains, to single out one check (optional).
    #[serde(default)]
    pub check: Option<String>,
    /// Why the server deviates, in one line.
    pub reason: String,
}

impl Deviation {
    /// True when a failed check of this deviation's flow is the one it describes.
    fn covers(&self, key: &str, check: &str) -> bool {
        self.requirement == key && self.check.as_deref().is_none_or(|c| check.contains(c))
    }
}

/// What the deviation list made of a run.
#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DeviationSummary {
    /// Listed deviations that occurred.
    pub seen: Vec<Deviation>,
    /// Listed deviations whose flow ran without them: the list should lose them.
    pub stale: Vec<Deviation>,
}

/// The `flow` of a deviation that holds in every flow.
pub const EVERY_FLOW: &str = "*";

/// Marks the failed checks the list covers and sorts the list into seen and stale.
/// Deviations of flows that did not run (filtered out, unsupported, errored) are neither.
pub fn apply(list: &[Deviation], flows: &mut [FlowRecord]) -> DeviationSummary {
    let mut summary = DeviationSummary::default();
    for deviation in list {
        let every = deviation.flow == EVERY_FLOW;
        let mut ran = false;
        let mut seen = false;
        for flow in flows
            .iter_mut()
            .filter(|f| every || f.outcome.flow == deviation.flow)
        {
            if matches!(
                flow.outcome.verdict,
                Verdict::Unsupported | Verdict::Skipped | Verdict::Error
            ) {
                continue;
            }
            ran |= !every
                || flow
                    .outcome
                    .checks
                    .iter()
                    .any(|c| c.requirement.key == deviation.requirement);
            for check in &mut flow.outcome.checks {
                if check.outcome == Outcome::Fail
                    && deviation.covers(&check.requirement.key, &check.check)
                {
                    check.deviation = Some(deviation.reason.clone());
                    seen = true;
                }
            }
        }
        match (ran, seen) {
            (_, true) => summary.seen.push(deviation.clone()),
            (true, false) => summary.stale.push(deviation.clone()),
            (false, false) => {}
        }
    }
    summary
}
