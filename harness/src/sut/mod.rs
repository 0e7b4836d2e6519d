//! Systems under test: profiles, the embedded reference server, readiness.

pub mod probe;
pub mod profile;

pub use profile::Profile;
