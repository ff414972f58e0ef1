//! Login rate limiting: failed sign-ins per client address and per username.
//!
//! Each key (`ip:<addr>`, `user:<name>`) gets a window that opens with its first failure;
//! after [`MAX_FAILURES`] failures of one username (or [`ADDRESS_FACTOR`] times as many from
//! one address) within [`WINDOW`] further attempts are refused with 429 until the window
//! ends. Limiting by username stops many clients guessing one account (at the cost that they
//! can lock it for a while, which is why the window is short); limiting by address stops one
//! client guessing many accounts. The address allows more failures than a username so that
//! people sharing an address (an office NAT, a proxy) do not lock each other out when one of
//! them mistypes a password. A successful sign-in clears the username's window.
//!
//! The table lives in memory and is bounded ([`MAX_KEYS`]): when full, expired windows are
//! dropped, then the oldest ones. Several server processes each keep their own table.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed per key and window.
pub const MAX_FAILURES: u32 = 10;
/// An address may fail this many times more often than one username.
pub const ADDRESS_FACTOR: u32 = 5;
/// Single sign-on starts allowed per address and window, as a multiple of [`MAX_FAILURES`]
/// (each start holds a pending login until it completes or expires).
pub const OIDC_FACTOR: u32 = 30;
/// How long a window lasts.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Most keys kept.
pub const MAX_KEYS: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Window {
    started: Instant,
    failures: u32,
}

/// Failed sign-ins by key.
#[derive(Debug)]
pub struct LoginLimiter {
    windows: Mutex<HashMap<String, Window>>,
    max_failures: u32,
    window: Duration,
    max_keys: usize,
}

impl Default for LoginLimiter {
    fn default() -> Self {
        LoginLimiter::new(MAX_FAILURES, WINDOW, MAX_KEYS)
    }
}

impl LoginLimiter {
    pub fn new(max_failures: u32, window: Duration, max_keys: usize) -> LoginLimiter {
        LoginLimiter {
            windows: Mutex::new(HashMap::new()),
            max_failures,
            window,
            max_keys: max_keys.max(1),
        }
    }

    /// The keys for a sign-in attempt.
    pub fn keys(ip: Option<&str>, username: &str) -> Vec<String> {
        let mut keys = vec![format!("user:{}", username.trim().to_lowercase())];
        if let Some(ip) = ip {
            keys.push(format!("ip:{ip}"));
        }
        keys
    }

    /// Seconds until another attempt is allowed, when any key is locked out.
    pub fn retry_after(&self, keys: &[String]) -> Option<u64> {
        let now = Instant::now();
        let windows = self.windows.lock().ok()?;
        keys.iter()
            .filter_map(|k| windows.get(k).map(|w| (k, w)))
            .filter(|(k, w)| w.failures >= self.limit(k))
            .map(|(_, w)| w)
            .filter_map(|w| (w.started + self.window).checked_duration_since(now))
            .max()
            .map(|d| d.as_secs().max(1))
    }

    /// The key counting single sign-on starts from an address.
    pub fn oidc_key(ip: Option<&str>) -> String {
        format!("oidc:{}", ip.unwrap_or("unknown"))
    }

    fn limit(&self, key: &str) -> u32 {
        if key.starts_with("oidc:") {
            self.max_failures.saturating_mul(OIDC_FACTOR)
        } else if key.starts_with("ip:") {
            self.max_failures.saturating_mul(ADDRESS_FACTOR)
        } else {
            self.max_failures
        }
    }

    /// Records a failed attempt against every key.
    pub fn failed(&self, keys: &[String]) {
        let now = Instant::now();
        let Ok(mut windows) = self.windows.lock() else {
            return;
        };
        for k in keys {
            if !windows.contains_key(k) && windows.len() >= self.max_keys {
                self.make_room(&mut windows, now);
            }
            let w = windows.entry(k.clone()).or_insert(Window {
                started: now,
                failures: 0,
            });
            if now.duration_since(w.started) >= self.window {
                *w = Window {
                    started: now,
                    failures: 0,
                };
            }
            w.failures = w.failures.saturating_add(1);
        }
    }

    /// Clears a key (the username after a successful sign-in).
    pub fn clear(&self, key: &str) {
        if let Ok(mut windows) = self.windows.lock() {
            windows.remove(key);
        }
    }

    pub fn len(&self) -> usize {
        self.windows.lock().map(|w| w.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn make_room(&self, windows: &mut HashMap<String, Window>, now: Instant) {
        windows.retain(|_, w| now.duration_since(w.started) < self.window);
        if windows.len() >= self.max_keys {
            // Still full of live windows: drop the oldest tenth.
            let mut starts: Vec<Instant> = windows.values().map(|w| w.started).collect();
            starts.sort_unstable();
            let cut = starts[(starts.len() / 10).min(starts.len() - 1)];
            windows.retain(|_, w| w.started > cut);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_out_after_the_limit_and_clears_on_success() {
        let l = LoginLimiter::new(3, Duration::from_secs(60), 100);
        let keys = LoginLimiter::keys(Some("10.0.0.1"), "Admin");
        assert_eq!(keys[0], "user:admin");
        for _ in 0..2 {
            l.failed(&keys);
            assert_eq!(l.retry_after(&keys), None);
        }
        l.failed(&keys);
        let after = l.retry_after(&keys).unwrap();
        assert!((1..=60).contains(&after), "{after}");
        // Another user from the same address is not (yet): the address allows five times
        // as many failures...
        let bob = LoginLimiter::keys(Some("10.0.0.1"), "bob");
        assert!(l.retry_after(&bob).is_none());
        for i in 0..(3 * ADDRESS_FACTOR - 3) {
            assert!(
                l.retry_after(&LoginLimiter::keys(Some("10.0.0.1"), &format!("u{i}")))
                    .is_none()
            );
            l.failed(&LoginLimiter::keys(Some("10.0.0.1"), &format!("u{i}")));
        }
        // ... after which everyone from it waits.
        assert!(l.retry_after(&bob).is_some());
        // The same user from elsewhere as well (by username).
        assert!(
            l.retry_after(&LoginLimiter::keys(Some("10.0.0.2"), "admin"))
                .is_some()
        );
        l.clear("user:admin");
        assert!(
            l.retry_after(&LoginLimiter::keys(Some("10.0.0.2"), "admin"))
                .is_none()
        );
    }

    #[test]
    fn single_sign_on_starts_are_counted_per_address() {
        let l = LoginLimiter::new(2, Duration::from_secs(60), 100);
        let a = [LoginLimiter::oidc_key(Some("10.0.0.1"))];
        for _ in 0..2 * OIDC_FACTOR {
            assert!(l.retry_after(&a).is_none());
            l.failed(&a);
        }
        assert!(l.retry_after(&a).is_some());
        assert!(
            l.retry_after(&[LoginLimiter::oidc_key(Some("10.0.0.2"))])
                .is_none()
        );
        // Password sign-ins from that address are not affected.
        assert!(
            l.retry_after(&LoginLimiter::keys(Some("10.0.0.1"), "bob"))
                .is_none()
        );
    }

    #[test]
    fn windows_expire_and_the_table_stays_bounded() {
        let l = LoginLimiter::new(1, Duration::from_millis(20), 10);
        let keys = LoginLimiter::keys(None, "a");
        l.failed(&keys);
        assert!(l.retry_after(&keys).is_some());
        std::thread::sleep(Duration::from_millis(30));
        assert!(l.retry_after(&keys).is_none());
        let l = LoginLimiter::new(5, Duration::from_secs(60), 10);
        for i in 0..1000 {
            l.failed(&[format!("user:{i}")]);
        }
        assert!(l.len() <= 10, "{}", l.len());
    }
}
