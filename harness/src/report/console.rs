//! Console output of a run: a progress bar on a terminal (plain lines otherwise, or with
//! `--quiet` only the summary), one line per flow run with its verdict and duration, the
//! checks that broke a requirement, with `-v` every message of the flow, and the summary.

use super::record::RunRecord;
use crate::check::verdict::{CheckResult, Gate, Verdict};
use crate::flow::interp::FlowOutcome;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;

/// Where a run reports progress.
pub struct Console {
    bar: Option<ProgressBar>,
    quiet: bool,
    verbose: bool,
}

impl Console {
    /// A console for `runs` flow runs; a progress bar only on a terminal and without `quiet`.
    pub fn new(runs: usize, quiet: bool, verbose: bool) -> Console {
        let bar = (!quiet && std::io::stdout().is_terminal()).then(|| {
            let bar = ProgressBar::new(runs as u64);
            if let Ok(style) =
                ProgressStyle::with_template("{bar:40} {pos}/{len} flow runs, {elapsed}")
            {
                bar.set_style(style);
            }
            bar
        });
        Console {
            bar,
            quiet,
            verbose,
        }
    }

    fn emit(&self, lines: &[String]) {
        for line in lines {
            match &self.bar {
                Some(bar) => bar.println(line),
                None => println!("{line}"),
            }
        }
    }

    /// Prints a line, above the progress bar if there is one.
    pub fn line(&self, text: &str) {
        if !self.quiet {
            self.emit(&[text.to_string()]);
        }
    }

    /// Reports a finished flow run.
    pub fn flow_done(&self, outcome: &FlowOutcome) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
        if self.quiet {
            return;
        }
        let mut lines = vec![format!(
            "{:<11} {:<28} {:>7.1} ms  {}",
            outcome.verdict.name(),
            outcome.id,
            outcome.duration_us as f64 / 1000.0,
            outcome.title
        )];
        for check in outcome
            .checks
            .iter()
            .filter(|c| matches!(c.verdict(), Verdict::Fail | Verdict::NonStrict))
        {
            lines.extend(failed_check(check));
        }
        if let Some(reason) = &outcome.reason {
            lines.push(format!("            {reason}"));
        }
        if self.verbose {
            for entry in &outcome.trace {
                lines.push(format!(
                    "            {:>9.3} ms {:<8} {} → {}: {}{}",
                    entry.at_us as f64 / 1000.0,
                    format!("{:?}", entry.direction).to_lowercase(),
                    entry.from_node,
                    entry.to_node,
                    entry.summary,
                    entry
                        .note
                        .as_ref()
                        .map(|n| format!(" ({n})"))
                        .unwrap_or_default()
                ));
            }
        }
        self.emit(&lines);
    }

    /// Removes the progress bar and prints the summary: expected deviations seen and stale,
    /// what breaks the gate, verdict counts.
    pub fn summary(&self, record: &RunRecord, gate: Gate) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        let mut lines = Vec::new();
        for deviation in &record.deviations.seen {
            lines.push(format!(
                "expected deviation  {} {}: {}",
                deviation.flow, deviation.requirement, deviation.reason
            ));
        }
        for deviation in &record.deviations.stale {
            lines.push(format!(
                "STALE deviation     {} {}: listed but did not occur; remove it from the profile",
                deviation.flow, deviation.requirement
            ));
        }
        for flow in record.breaking(gate) {
            lines.push(format!(
                "breaks the gate     {} ({})",
                flow.outcome.id,
                flow.outcome.verdict.name()
            ));
        }
        let counts: Vec<String> = record
            .summary
            .iter()
            .map(|(k, v)| format!("{v} {k}"))
            .collect();
        lines.push(format!(
            "{} in {:.1} ms",
            counts.join(", "),
            record.duration_us as f64 / 1000.0
        ));
        for line in lines {
            println!("{line}");
        }
    }
}

/// A check that broke a requirement: the requirement's words, then the diff when the check
/// compared documents, else expected and actual.
fn failed_check(check: &CheckResult) -> Vec<String> {
    let mut lines = vec![
        format!("            step {}: {}", check.step, check.check),
        format!("              requirement: {}", check.requirement.cite()),
    ];
    match &check.diff {
        Some(diff) => lines.extend(diff.lines().map(|line| format!("              {line}"))),
        None => {
            lines.push(format!("              expected: {}", check.expected));
            lines.push(format!("              actual:   {}", check.actual));
        }
    }
    if let Some(reason) = &check.deviation {
        lines.push(format!("              expected deviation: {reason}"));
    }
    lines
}
