//! Subcommands of the binary that are more than a few lines: `init`, `serve` and `load`.

pub mod init;
pub mod load;
pub mod serve;
