//! Guessing passwords is slowed down: after [`MAX_FAILURES`] failed logins for one name (or for
//! the operator token) within [`WINDOW`], further attempts for it are refused without being
//! checked until the window has passed. A successful login clears the name's count. In memory,
//! per console process: a restart forgets, which is fine for slowing a guesser down.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failed logins allowed per name within [`WINDOW`].
pub const MAX_FAILURES: u32 = 5;
/// How long failures are remembered.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginThrottle {
    fn key(name: &str) -> String {
        name.trim().to_lowercase()
    }

    /// How long until `name` may try again, if it is locked out now.
    pub fn locked_for(&self, name: &str) -> Option<Duration> {
        self.locked_at(name, Instant::now())
    }

    fn locked_at(&self, name: &str, now: Instant) -> Option<Duration> {
        let mut failures = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        failures.retain(|_, (_, first)| now.duration_since(*first) < WINDOW);
        match failures.get(&Self::key(name)) {
            Some((count, first)) if *count >= MAX_FAILURES => Some(WINDOW.saturating_sub(now.duration_since(*first))),
            _ => None,
        }
    }

    pub fn failed(&self, name: &str) {
        self.failed_at(name, Instant::now());
    }

    fn failed_at(&self, name: &str, now: Instant) {
        let mut failures = self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = failures.entry(Self::key(name)).or_insert((0, now));
        entry.0 += 1;
    }

    pub fn succeeded(&self, name: &str) {
        self.failures.lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&Self::key(name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_locked_after_too_many_failures_until_the_window_passes() {
        let t = LoginThrottle::default();
        let start = Instant::now();
        for _ in 0..MAX_FAILURES - 1 {
            t.failed_at("Olga", start);
        }
        assert_eq!(t.locked_at("olga", start), None, "not yet");
        t.failed_at("olga ", start);
        assert_eq!(t.locked_at("OLGA", start + Duration::from_secs(60)), Some(WINDOW - Duration::from_secs(60)), "names are compared without case and spaces");
        assert_eq!(t.locked_at("viktor", start), None, "others are not affected");
        assert_eq!(t.locked_at("olga", start + WINDOW), None, "the window passed");
        t.failed("viktor");
        t.succeeded("viktor");
        assert_eq!(t.failures.lock().map(|f| f.len()).unwrap_or(1), 0, "a success clears the count");
    }
}
