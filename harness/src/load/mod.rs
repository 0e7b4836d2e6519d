//! Load mode: a presence workload played at a target rate against a SUT, judged as it runs.
//! Many users' small state machines (publishers and watchers) in one engine driven by one
//! timer queue over one UDP socket; open-loop arrivals; HDR histograms; the message rules
//! applied to every message (or every Nth), once with the server idle and once under load.

pub mod conformance;
pub mod driver;
pub mod engine;
pub mod figures;
pub mod messages;
pub mod metrics;
pub mod page;
pub mod provision;
pub mod result;
pub mod run;
pub mod schedule;
pub mod workload;

#[cfg(test)]
mod testing;
