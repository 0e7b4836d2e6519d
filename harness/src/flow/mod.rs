//! The flow language: schema, loading with validation, variables and the interpreter.

pub mod catalogue;
pub mod interp;
pub mod loader;
pub mod model;
pub mod ordered;
pub mod vars;

pub use loader::{load_dir, load_file, FlowError, LoadedFlow};
pub use model::{Flow, Level, Requirement, Step, StepKind};
