//! Deterministic randomness for the simulator, without the `rand` crate.
//!
//! Nothing in the scenario draws from a running stream: every random choice is a hash of the
//! seed and of *what* is being chosen (which lane, which version, which metric sample). That
//! way the scenario at a given time does not depend on how often it was looked at.

/// One step of splitmix64: a good 64-bit mixer.
pub(crate) fn splitmix64(z: u64) -> u64 {
    let mut z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Hash the seed and a list of parts into one well-mixed word.
pub(crate) fn mix(seed: u64, parts: &[u64]) -> u64 {
    parts
        .iter()
        .fold(splitmix64(seed), |h, &p| splitmix64(h ^ splitmix64(p)))
}

/// A uniform number in `[0, 1)` from a hash.
pub(crate) fn unit(h: u64) -> f64 {
    (h >> 11) as f64 / (1u64 << 53) as f64
}

/// A uniform integer in `lo..=hi` from a hash.
pub(crate) fn between(h: u64, lo: i64, hi: i64) -> i64 {
    debug_assert!(lo <= hi);
    lo + (h % ((hi - lo) as u64 + 1)) as i64
}

/// Pick one element of a non-empty slice.
pub(crate) fn pick<T: Copy>(h: u64, items: &[T]) -> T {
    items[(h % items.len() as u64) as usize]
}

/// A 40-hex-digit git SHA from a hash.
pub(crate) fn sha(h: u64) -> String {
    let words = [
        splitmix64(h),
        splitmix64(h ^ 0x5555),
        splitmix64(h ^ 0xAAAA),
    ];
    let mut s = format!("{:016x}{:016x}{:016x}", words[0], words[1], words[2]);
    s.truncate(40);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_stable_and_spread() {
        assert_eq!(mix(42, &[1, 2]), mix(42, &[1, 2]));
        assert_ne!(mix(42, &[1, 2]), mix(42, &[2, 1]));
        assert_ne!(mix(42, &[1]), mix(43, &[1]));
        let s = sha(mix(42, &[7]));
        assert_eq!(s.len(), 40);
        assert!(s.chars().all(|c| c.is_ascii_hexdigit()));
        let mean = (0..1000).map(|i| unit(mix(1, &[i]))).sum::<f64>() / 1000.0;
        assert!((0.45..0.55).contains(&mean), "{mean}");
        for i in 0..200 {
            let v = between(mix(3, &[i]), 5, 9);
            assert!((5..=9).contains(&v));
        }
    }
}
