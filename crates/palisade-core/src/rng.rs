//! A small deterministic generator (xorshift64) for randomised tests and benchmark data:
//! the same seed gives the same sequence on every machine, so a failure replays.

/// Xorshift64 (shifts 13, 7, 17). Not for anything secret.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator from a seed (0, which xorshift cannot leave, becomes 1).
    pub fn new(seed: u64) -> XorShift {
        XorShift(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number below `n` (`n` > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    /// One of the items (not empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_is_fixed_by_the_seed() {
        let mut a = XorShift::new(7);
        let mut b = XorShift::new(7);
        let first: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        assert_eq!(first, (0..5).map(|_| b.next_u64()).collect::<Vec<_>>());
        // xorshift64 from 7: 7 ^ 7<<13 = 57351, ^ >>7 = 57799, ^ <<17 = 7575888327.
        assert_eq!(first[0], 7_575_888_327);
        assert!(first.windows(2).all(|w| w[0] != w[1]));
        assert_ne!(XorShift::new(0).next_u64(), 0);
        assert!((0..100).all(|_| a.below(3) < 3));
        assert_eq!(*XorShift::new(1).pick(&[5]), 5);
    }
}
