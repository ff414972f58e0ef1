//! Test support: a small deterministic generator of fresh fake secrets (seeded from the clock
//! and printed, so a failure can be replayed with `PALISADE_SECRETS_SEED`).

/// Xorshift64*: enough randomness for fake tokens, no dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// A seed from `PALISADE_SECRETS_SEED` or the clock.
    pub fn from_env() -> (Rng, u64) {
        let seed = std::env::var("PALISADE_SECRETS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(42)
            });
        (Rng::new(seed), seed)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn pick(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n)
            .map(|_| alphabet[(self.next() % alphabet.len() as u64) as usize] as char)
            .collect()
    }

    pub fn alnum(&mut self, n: usize) -> String {
        self.pick(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            n,
        )
    }

    pub fn upper_alnum(&mut self, n: usize) -> String {
        self.pick(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", n)
    }

    pub fn lower_alnum(&mut self, n: usize) -> String {
        self.pick(b"abcdefghijklmnopqrstuvwxyz0123456789", n)
    }

    pub fn hex(&mut self, n: usize) -> String {
        self.pick(b"0123456789abcdef", n)
    }

    pub fn digits(&mut self, n: usize) -> String {
        self.pick(b"0123456789", n)
    }

    /// Standard base64 alphabet (without padding).
    pub fn base64(&mut self, n: usize) -> String {
        self.pick(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
            n,
        )
    }

    /// URL-safe base64 alphabet.
    pub fn base64url(&mut self, n: usize) -> String {
        self.pick(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
            n,
        )
    }
}

/// One rule's test material: text holding a freshly generated secret (as it would appear in a
/// file), and near-misses that no rule may report.
pub struct Sample {
    pub rule: &'static str,
    pub text: String,
    pub near_misses: Vec<String>,
}
