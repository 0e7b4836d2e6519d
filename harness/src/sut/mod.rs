//! Systems under test: profiles, managed processes, readiness, expected deviations.

pub mod deviations;
pub mod probe;
pub mod process;
pub mod profile;

pub use profile::Profile;
