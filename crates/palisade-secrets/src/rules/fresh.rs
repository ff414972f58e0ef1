//! Test support for the sample generators of `payments`, `messaging`, `saas`, `registries`,
//! `observability` and `ai`: the same generators as [`Rng`], but a random part that the global
//! placeholder filter would reject (a random run that happens to spell `fake`, `xxxx`, …) is
//! drawn again, so a generated secret is never silently dropped as a placeholder.

use crate::engine::is_placeholder;
use crate::testing::Rng;

pub(crate) struct Fresh<'a>(pub(crate) &'a mut Rng);

impl Fresh<'_> {
    fn again(&mut self, f: impl Fn(&mut Rng) -> String) -> String {
        loop {
            let s = f(self.0);
            if !is_placeholder(&s) {
                return s;
            }
        }
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0.next()
    }

    pub(crate) fn pick(&mut self, alphabet: &[u8], n: usize) -> String {
        self.again(|r| r.pick(alphabet, n))
    }

    pub(crate) fn alnum(&mut self, n: usize) -> String {
        self.again(|r| r.alnum(n))
    }

    pub(crate) fn upper_alnum(&mut self, n: usize) -> String {
        self.again(|r| r.upper_alnum(n))
    }

    pub(crate) fn lower_alnum(&mut self, n: usize) -> String {
        self.again(|r| r.lower_alnum(n))
    }

    pub(crate) fn hex(&mut self, n: usize) -> String {
        self.again(|r| r.hex(n))
    }

    pub(crate) fn digits(&mut self, n: usize) -> String {
        self.again(|r| r.digits(n))
    }

    pub(crate) fn base64(&mut self, n: usize) -> String {
        self.again(|r| r.base64(n))
    }

    pub(crate) fn base64url(&mut self, n: usize) -> String {
        self.again(|r| r.base64url(n))
    }

    /// A random version-4 UUID in lowercase hexadecimal.
    pub(crate) fn uuid(&mut self) -> String {
        format!(
            "{}-{}-4{}-a{}-{}",
            self.hex(8),
            self.hex(4),
            self.hex(3),
            self.hex(3),
            self.hex(12)
        )
    }
}
