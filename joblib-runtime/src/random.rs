//! Random numbers where the runtime needs unpredictable ones (hash seeds, unique names, a
//! loop's secret), from the operating system's randomness that seeds std's hasher keys.

use std::hash::BuildHasher;

/// 64 random bits: a hash of a constant under fresh random keys (SipHash, keyed from the
/// operating system's randomness; each call's keys differ).
pub(crate) fn random_u64() -> u64 {
    std::collections::hash_map::RandomState::new().hash_one(0x6a6f_626c_6962u64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn calls_differ() {
        assert_ne!(super::random_u64(), super::random_u64());
    }
}
