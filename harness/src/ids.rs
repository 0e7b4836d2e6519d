//! Random identifiers for tags, branches, Call-IDs and icid values.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A random 64-bit value (std's randomly keyed SipHash over a process-wide counter).
pub fn random_u64() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

/// A token of 16 hex digits.
pub fn token() -> String {
    format!("{:016x}", random_u64())
}

/// A Via branch with the RFC 3261 magic cookie.
pub fn branch() -> String {
    format!("z9hG4bK{}", token())
}
