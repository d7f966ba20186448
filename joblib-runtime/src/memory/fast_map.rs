//! A fast hasher for the maps of this process's cache state (packs, the in-process layer):
//! their keys are cache keys (already hashes) and the bytes of paths, which SipHash, the
//! standard maps' default, spends more time on than the lookup itself. Seeded at random, so
//! that keys forged in a pack file cannot be chosen to collide.

use std::hash::{BuildHasher, Hasher};

/// Builds [`Mix`] hashers from a random seed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seeded(u64);

impl Default for Seeded {
    fn default() -> Self {
        Seeded(crate::random::random_u64() | 1)
    }
}

impl BuildHasher for Seeded {
    type Hasher = Mix;
    fn build_hasher(&self) -> Mix {
        Mix(self.0)
    }
}

/// A multiply-rotate hasher over 8-byte words.
#[derive(Debug)]
pub(crate) struct Mix(u64);

impl Mix {
    fn word(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(23) ^ word).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

impl Hasher for Mix {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            self.word(u64::from_le_bytes(chunk.try_into().expect("8 bytes")));
        }
        let mut rest = [0u8; 8];
        rest[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        self.word(u64::from_le_bytes(rest) ^ (chunks.remainder().len() as u64) << 56);
    }

    fn write_u64(&mut self, value: u64) {
        self.word(value);
    }

    fn write_u128(&mut self, value: u128) {
        self.word(value as u64);
        self.word((value >> 64) as u64);
    }

    fn finish(&self) -> u64 {
        // The high bits pick a map's control bytes: fold the low ones in.
        self.0 ^ (self.0 >> 29)
    }
}

/// A map with this hasher.
pub(crate) type FastMap<K, V> = std::collections::HashMap<K, V, Seeded>;
/// A set with this hasher.
pub(crate) type FastSet<K> = std::collections::HashSet<K, Seeded>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_paths_spread_and_seeds_differ() {
        let build = Seeded::default();
        let hashes: FastSet<u64> = (0..10_000u128).map(|k| build.hash_one(k << 100)).collect();
        assert_eq!(hashes.len(), 10_000, "keys differing in their high bits only");
        let paths: FastSet<u64> = (0..1000).map(|i| build.hash_one(format!("/cache/f/packed-entries/{i:x}"))).collect();
        assert_eq!(paths.len(), 1000);
        assert_ne!(Seeded::default().hash_one(7u128), Seeded::default().hash_one(7u128));
    }
}
