//! The synthetic load: valid creation requests from every role that creates applications (a
//! junior manager only connection requests), each for a distinct new client with a distinct
//! phone, published with [`publish_creation`], the path the bot uses. Publishing is spread over
//! several confirm channels with many confirms in flight, so it is not what limits the pipeline.

use super::Mode;
use super::setup::Creator;
use super::track::Tracker;
use ariza_shared::domain::{
    ApplicationKind, ClientData, ClientRef, CorrelationId, CreationRequest, CreationSource, Creator as ClaimedCreator, Form,
    SCHEMA_VERSION,
};
use ariza_shared::permissions;
use ariza_shared::topology::Topology;
use ariza_workers::broker::Publisher;
use ariza_workers::submit::publish_creation;
use chrono::{DateTime, Utc};
use futures::StreamExt as _;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

/// Confirm channels the benchmark publishes on.
pub const PUBLISH_CHANNELS: usize = 4;
/// Publishes awaiting their confirm at once, in backlog mode.
const IN_FLIGHT: usize = 1024;

/// How publishing went.
#[derive(Debug, Clone, Copy)]
pub struct PublishStats {
    pub started: DateTime<Utc>,
    pub finished: DateTime<Utc>,
    /// In `--rate` mode, how late the publisher was, at worst, against the schedule.
    pub max_lag: Duration,
}

/// The tracker's request `i`: the creator, the kind and the client all follow from its sequence
/// number, so requests of different trackers (the warm-up and the measured ones) never share a
/// phone.
pub fn request(i: usize, creators: &[Creator], tracker: &Tracker, now: DateTime<Utc>) -> Option<CreationRequest> {
    let application_id = tracker.id(i)?;
    let i = tracker.seq(i);
    let creator = creators.get(i % creators.len().max(1))?;
    let kinds = permissions::creatable_kinds(creator.role);
    let kind = *kinds.get((i / creators.len()) % kinds.len().max(1))?;
    Some(CreationRequest {
        schema: SCHEMA_VERSION,
        application_id,
        correlation_id: CorrelationId::new(),
        kind,
        source: CreationSource::Staff,
        creator: ClaimedCreator { telegram_id: creator.telegram_id, role: creator.role },
        client: ClientRef::New(ClientData {
            name: format!("Mijoz {i}"),
            phone: phone(i),
            address: format!("Toshkent, Chilonzor {}-{}", i % 30 + 1, i % 97 + 1),
            language: None,
        }),
        form: Form {
            address: format!("Toshkent, Yunusobod {}-{}", i % 19 + 1, i % 89 + 1),
            tariff: (kind == ApplicationKind::Connection).then(|| "Optima 50".to_owned()),
            problem: (kind == ApplicationKind::Technical).then(|| "Internet ishlamayapti".to_owned()),
            comment: Some("Qo'ng'iroq qiling".to_owned()),
        },
        submitted_at: now,
    })
}

/// A distinct valid mobile number for every `i` below 100 million: `+998 9X XXXXXXX`.
fn phone(i: usize) -> String {
    format!("+9989{}{:07}", (i / 10_000_000) % 10, i % 10_000_000)
}

/// Publishes every request of the tracker, as `mode` says.
pub async fn publish(
    mode: Mode,
    publishers: &[Publisher],
    topology: &Topology,
    creators: &[Creator],
    tracker: &Arc<Tracker>,
) -> PublishStats {
    match mode {
        Mode::Backlog => backlog(publishers, topology, creators, tracker).await,
        Mode::Rate(rate) => at_rate(rate, publishers, topology, creators, tracker).await,
    }
}

/// Everything at once, `IN_FLIGHT` confirms outstanding over the channels.
async fn backlog(publishers: &[Publisher], topology: &Topology, creators: &[Creator], tracker: &Tracker) -> PublishStats {
    let started = Utc::now();
    futures::stream::iter(0..tracker.len())
        .for_each_concurrent(IN_FLIGHT, |i| async move {
            let Some(publisher) = publishers.get(i % publishers.len().max(1)) else {
                tracker.failed(i, "no publish channel".to_owned());
                return;
            };
            let now = Utc::now();
            let Some(req) = request(i, creators, tracker, now) else {
                tracker.failed(i, "no creator to publish as".to_owned());
                return;
            };
            tracker.sent(i, now);
            match publish_creation(publisher, topology, &req).await {
                Ok(()) => tracker.confirmed(),
                Err(e) => tracker.failed(i, format!("publishing: {e}")),
            }
        })
        .await;
    PublishStats { started, finished: Utc::now(), max_lag: Duration::ZERO }
}

/// Request `i` is due at `i / rate` seconds after the start. Each is published on its own task at
/// its time whatever happened to the ones before, and its latency counts from when it was due, so
/// a stall of the broker shows in the latencies instead of delaying the load (no coordinated
/// omission).
async fn at_rate(
    rate: f64,
    publishers: &[Publisher],
    topology: &Topology,
    creators: &[Creator],
    tracker: &Arc<Tracker>,
) -> PublishStats {
    let topology = Arc::new(topology.clone());
    let (start, started) = (tokio::time::Instant::now(), Utc::now());
    let mut tasks = JoinSet::new();
    let mut max_lag = Duration::ZERO;
    for i in 0..tracker.len() {
        #[allow(clippy::cast_precision_loss)] // i is far below 2^52
        let due = Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(start + due).await;
        max_lag = max_lag.max(start.elapsed().saturating_sub(due));
        let scheduled = started + chrono::Duration::from_std(due).unwrap_or_default();
        let (Some(publisher), Some(req)) = (publishers.get(i % publishers.len().max(1)).cloned(), request(i, creators, tracker, scheduled)) else {
            tracker.failed(i, "no publish channel or creator".to_owned());
            continue;
        };
        tracker.sent(i, scheduled);
        let (tracker, topology) = (tracker.clone(), topology.clone());
        tasks.spawn(async move {
            match publish_creation(&publisher, &topology, &req).await {
                Ok(()) => tracker.confirmed(),
                Err(e) => tracker.failed(i, format!("publishing: {e}")),
            }
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    PublishStats { started, finished: Utc::now(), max_lag }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ariza_shared::domain::{PhoneNumber, Role};
    use std::collections::HashSet;

    fn creators() -> Vec<Creator> {
        [Role::Manager, Role::JuniorManager, Role::Controller, Role::CallCentreOperator]
            .into_iter()
            .enumerate()
            .map(|(i, role)| Creator { telegram_id: 900 + i64::try_from(i).unwrap_or_default(), role })
            .collect()
    }

    #[test]
    fn every_request_passes_the_checks_the_bot_makes() {
        let tracker = Tracker::new(200, 5);
        let creators = creators();
        let mut kinds = HashSet::new();
        for i in 0..200 {
            let req = request(i, &creators, &tracker, Utc::now()).expect("a request");
            ariza_shared::validation::precheck(&req).expect("valid");
            kinds.insert((req.creator.role, req.kind));
        }
        assert!(!kinds.contains(&(Role::JuniorManager, ApplicationKind::Technical)));
        assert_eq!(kinds.len(), 7, "every role with every kind it may create: {kinds:?}");
    }

    #[test]
    fn phones_are_distinct_and_valid() {
        let picks = [0, 1, 9_999_999, 10_000_000, 12_345_678, 99_999_999];
        let phones: HashSet<String> = picks.iter().map(|i| phone(*i)).collect();
        assert_eq!(phones.len(), picks.len());
        for p in &phones {
            assert_eq!(PhoneNumber::parse(p).expect("valid").as_str(), p);
        }
    }
}
