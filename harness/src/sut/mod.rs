//! Systems under test: profiles, managed processes, readiness, expected deviations, and
//! UEs under test (the embedded reference UE or a client process, one per flow run).

pub mod client;
pub mod deviations;
pub mod probe;
pub mod process;
pub mod profile;
pub mod ue;

pub use profile::Profile;
