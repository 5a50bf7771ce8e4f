//! A circuit breaker around a dependency (the database, the Bot API). After `threshold`
//! consecutive failures it opens: the stage stops consuming (its messages wait in the queue),
//! probes the dependency with a health check rather than with messages, and closes again when the
//! probe passes. Its state is observable, for logs, metrics and tests: `ariza_breaker_open`,
//! `ariza_breaker_opened_total` and `ariza_breaker_probes_total`, labelled with its name.

use ariza_shared::metrics::catalogue as m;
use metrics::{Counter, Gauge};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    Open,
}

/// One breaker; clones share state.
#[derive(Debug, Clone)]
pub struct Breaker {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    name: String,
    threshold: u32,
    consecutive: AtomicU32,
    opened: AtomicU64,
    probes: AtomicU64,
    state: watch::Sender<BreakerState>,
    metrics: BreakerMetrics,
}

#[derive(Debug)]
struct BreakerMetrics {
    open: Gauge,
    opened: Counter,
    healthy_probes: Counter,
    unhealthy_probes: Counter,
}

impl BreakerMetrics {
    fn new(name: &str) -> Self {
        let open = metrics::gauge!(m::BREAKER_OPEN, "component" => name.to_owned());
        open.set(0.0);
        Self {
            open,
            opened: metrics::counter!(m::BREAKER_OPENED, "component" => name.to_owned()),
            healthy_probes: metrics::counter!(m::BREAKER_PROBES, "component" => name.to_owned(), "result" => "healthy"),
            unhealthy_probes: metrics::counter!(m::BREAKER_PROBES, "component" => name.to_owned(), "result" => "unhealthy"),
        }
    }
}

impl Breaker {
    pub fn new(name: impl Into<String>, threshold: u32) -> Self {
        let (state, _) = watch::channel(BreakerState::Closed);
        let name = name.into();
        Self {
            inner: Arc::new(Inner {
                metrics: BreakerMetrics::new(&name),
                name,
                threshold: threshold.max(1),
                consecutive: AtomicU32::new(0),
                opened: AtomicU64::new(0),
                probes: AtomicU64::new(0),
                state,
            }),
        }
    }

    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Records a failure; returns true when this one opened the breaker.
    pub fn record_failure(&self) -> bool {
        let n = self.inner.consecutive.fetch_add(1, Ordering::SeqCst) + 1;
        if n >= self.inner.threshold && !self.is_open() {
            self.inner.opened.fetch_add(1, Ordering::SeqCst);
            self.inner.state.send_replace(BreakerState::Open);
            self.inner.metrics.opened.increment(1);
            self.inner.metrics.open.set(1.0);
            tracing::warn!(breaker = %self.inner.name, failures = n, "circuit breaker opened");
            return true;
        }
        false
    }

    pub fn record_success(&self) {
        self.inner.consecutive.store(0, Ordering::SeqCst);
    }

    /// Called after each health probe while open.
    pub fn record_probe(&self, healthy: bool) {
        self.inner.probes.fetch_add(1, Ordering::SeqCst);
        if !healthy {
            self.inner.metrics.unhealthy_probes.increment(1);
        }
        if healthy {
            self.inner.metrics.healthy_probes.increment(1);
            self.inner.consecutive.store(0, Ordering::SeqCst);
            self.inner.metrics.open.set(0.0);
            if self.inner.state.send_replace(BreakerState::Closed) == BreakerState::Open {
                tracing::info!(breaker = %self.inner.name, "circuit breaker closed: dependency healthy");
            }
        }
    }

    pub fn is_open(&self) -> bool {
        *self.inner.state.borrow() == BreakerState::Open
    }

    /// How many times it has opened.
    pub fn times_opened(&self) -> u64 {
        self.inner.opened.load(Ordering::SeqCst)
    }

    /// How many health probes ran while open.
    pub fn probes(&self) -> u64 {
        self.inner.probes.load(Ordering::SeqCst)
    }

    pub fn subscribe(&self) -> watch::Receiver<BreakerState> {
        self.inner.state.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opens_after_the_threshold_and_closes_on_a_healthy_probe() {
        let b = Breaker::new("db", 3);
        assert!(!b.record_failure());
        b.record_success();
        assert!(!b.record_failure());
        assert!(!b.record_failure());
        assert!(b.record_failure());
        assert!(b.is_open());
        b.record_probe(false);
        assert!(b.is_open());
        b.record_probe(true);
        assert!(!b.is_open());
        assert_eq!((b.times_opened(), b.probes()), (1, 2));
    }
}
