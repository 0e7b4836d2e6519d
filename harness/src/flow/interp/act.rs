//! `act` steps: the user of the UE under test does something (changes status, quits), and
//! later steps expect what the UE then sends.

use super::Runner;
use crate::flow::model::Step;

impl Runner<'_> {
    /// Makes the UE under test perform the step's action. A UE that cannot take it ends the
    /// run as an error: the flow cannot go on as written.
    pub(super) async fn act(&mut self, step: &Step) -> Result<(), String> {
        let name = step.act.as_deref().unwrap_or_default();
        let timeout = self.timeout_of(step);
        let ue = self
            .ue
            .as_mut()
            .ok_or("an act step, and the run has no UE under test")?;
        ue.act(name, timeout)
            .await
            .map_err(|e| format!("act {name}: {e}"))
    }
}
