//! Subcommands of the binary that are more than a few lines: `serve` and `load`.

pub mod load;
pub mod serve;
