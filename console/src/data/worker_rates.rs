//! Queue rates from the workers' own metrics, for when the RabbitMQ management API is not
//! enabled: the console scrapes every worker process's `/metrics` (`console.workers_metrics`, by
//! default the `metrics.workers_listen` of this host) and turns the counters into per-second rates
//! between two scrapes. What the counters tell is reported, nothing more: messages settled by each
//! stage (its work queue's ack rate), retries into each delay tier (that tier queue's publish rate)
//! and dead letters (the dead-letter queue's publish rate).

use ariza_shared::config::Settings;
use ariza_shared::metrics::catalogue::{STAGE_DEAD_LETTERED, STAGE_PROCESSED, STAGE_RETRIED};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// A sample older than this is not used for a rate: a fresh pair is taken instead.
const MAX_AGE: Duration = Duration::from_secs(600);
/// The gap between the two scrapes of a fresh pair.
const FRESH_GAP: Duration = Duration::from_secs(1);

/// The counters of one scrape, summed over every worker process.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counters {
    /// Messages settled, by stage.
    pub processed: HashMap<String, f64>,
    /// Retries, by (stage, tier in ms).
    pub retried: HashMap<(String, u64), f64>,
    /// Dead letters, all stages and reasons.
    pub dead_lettered: f64,
}

/// Per-second rates between two scrapes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rates {
    pub processed: HashMap<String, f64>,
    pub retried: HashMap<(String, u64), f64>,
    pub dead_lettered: f64,
}

/// The labels of a series line, e.g. `{stage="validation",tier_ms="50"}`.
fn labels(text: &str) -> HashMap<&str, &str> {
    text.trim_start_matches('{')
        .trim_end_matches('}')
        .split(',')
        .filter_map(|pair| {
            let (k, v) = pair.split_once('=')?;
            Some((k.trim(), v.trim().trim_matches('"')))
        })
        .collect()
}

/// Reads the counters ariza's rates need from a scrape in the Prometheus text format, adding
/// them to `into` (several worker processes add up).
pub fn parse_into(text: &str, into: &mut Counters) {
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let Some((series, value)) = line.rsplit_once(' ') else { continue };
        let Ok(value) = value.trim().parse::<f64>() else { continue };
        let (name, label_text) = series.split_once('{').map_or((series, ""), |(n, l)| (n, l));
        let l = labels(label_text);
        match name {
            STAGE_PROCESSED => {
                if let Some(stage) = l.get("stage") {
                    *into.processed.entry((*stage).to_owned()).or_default() += value;
                }
            }
            STAGE_RETRIED => {
                if let (Some(stage), Some(tier)) = (l.get("stage"), l.get("tier_ms").and_then(|t| t.parse().ok())) {
                    *into.retried.entry(((*stage).to_owned(), tier)).or_default() += value;
                }
            }
            STAGE_DEAD_LETTERED => into.dead_lettered += value,
            _ => {}
        }
    }
}

/// The rate of a counter between two readings `seconds` apart; a counter that went down (a
/// worker restarted) counts from zero.
fn rate(before: Option<f64>, now: f64, seconds: f64) -> f64 {
    let delta = match before {
        Some(b) if now >= b => now - b,
        _ => now,
    };
    delta / seconds
}

impl Rates {
    pub fn between(before: &Counters, now: &Counters, seconds: f64) -> Rates {
        let seconds = seconds.max(0.001);
        Rates {
            processed: now.processed.iter().map(|(k, v)| (k.clone(), rate(before.processed.get(k).copied(), *v, seconds))).collect(),
            retried: now.retried.iter().map(|(k, v)| (k.clone(), rate(before.retried.get(k).copied(), *v, seconds))).collect(),
            dead_lettered: rate(Some(before.dead_lettered), now.dead_lettered, seconds),
        }
    }
}

/// Scrapes the workers and keeps the last sample, so each look at the queues gives the rates
/// since the previous one.
#[derive(Debug)]
pub struct RateSampler {
    urls: Vec<String>,
    http: reqwest::Client,
    last: Mutex<Option<(Instant, Counters)>>,
}

impl RateSampler {
    pub fn new(settings: &Settings) -> Self {
        let configured: Vec<String> =
            settings.console.workers_metrics.split(',').map(str::trim).filter(|u| !u.is_empty()).map(str::to_owned).collect();
        let urls = if configured.is_empty() {
            let listen = settings.metrics.workers_listen.trim();
            if listen.is_empty() { Vec::new() } else { vec![format!("http://{listen}/metrics")] }
        } else {
            configured
        };
        let http = reqwest::Client::builder().no_proxy().timeout(Duration::from_secs(5)).build().unwrap_or_default();
        Self { urls, http, last: Mutex::new(None) }
    }

    /// Whether there is anywhere to scrape.
    pub fn configured(&self) -> bool {
        !self.urls.is_empty()
    }

    async fn scrape(&self) -> Result<Counters, String> {
        let mut counters = Counters::default();
        for url in &self.urls {
            let text = self
                .http
                .get(url)
                .send()
                .await
                .and_then(reqwest::Response::error_for_status)
                .map_err(|e| format!("{url}: {}", e.without_url()))?
                .text()
                .await
                .map_err(|e| format!("{url}: {}", e.without_url()))?;
            parse_into(&text, &mut counters);
        }
        Ok(counters)
    }

    /// The rates since the previous call (or over a fresh one-second pair when there is no recent
    /// previous sample).
    pub async fn rates(&self) -> Result<Rates, String> {
        let mut last = self.last.lock().await;
        let now_counters = self.scrape().await?;
        let now = Instant::now();
        let previous = match last.take() {
            Some((at, counters)) if now.duration_since(at) <= MAX_AGE => (at, counters),
            _ => {
                tokio::time::sleep(FRESH_GAP).await;
                let later = self.scrape().await?;
                let later_at = Instant::now();
                let rates = Rates::between(&now_counters, &later, later_at.duration_since(now).as_secs_f64());
                *last = Some((later_at, later));
                return Ok(rates);
            }
        };
        let rates = Rates::between(&previous.1, &now_counters, now.duration_since(previous.0).as_secs_f64());
        *last = Some((now, now_counters));
        Ok(rates)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRAPE: &str = "# HELP ariza_stage_processed_total x\n\
        # TYPE ariza_stage_processed_total counter\n\
        ariza_stage_processed_total{stage=\"validation\"} 10\n\
        ariza_stage_processed_total{stage=\"persistence\"} 8\n\
        ariza_stage_retried_total{stage=\"persistence\",tier_ms=\"1000\"} 2\n\
        ariza_stage_dead_lettered_total{stage=\"workflow\",reason=\"malformed\"} 1\n\
        ariza_stage_dead_lettered_total{stage=\"persistence\",reason=\"retries_exhausted\"} 2\n\
        ariza_queue_messages{queue=\"x\"} 99\n";

    #[test]
    fn counters_of_several_processes_add_up() {
        let mut c = Counters::default();
        parse_into(SCRAPE, &mut c);
        parse_into(SCRAPE, &mut c);
        assert_eq!(c.processed.get("validation"), Some(&20.0));
        assert_eq!(c.retried.get(&("persistence".to_owned(), 1000)), Some(&4.0));
        assert_eq!(c.dead_lettered, 6.0);
    }

    #[test]
    fn rates_are_per_second_and_survive_a_restart() {
        let mut before = Counters::default();
        parse_into(SCRAPE, &mut before);
        let mut now = before.clone();
        now.processed.insert("validation".into(), 30.0);
        now.processed.insert("persistence".into(), 3.0); // restarted: counts from zero
        let r = Rates::between(&before, &now, 2.0);
        assert_eq!(r.processed.get("validation"), Some(&10.0));
        assert_eq!(r.processed.get("persistence"), Some(&1.5));
        assert_eq!(r.dead_lettered, 0.0);
    }
}
