//! Answering the broker for a consume channel's deliveries, one batch at a time.
//!
//! Every delivery is acked only after what follows it is published and confirmed; the runner
//! decides that per message. This module only chooses how many frames the answer takes. On a
//! quorum queue each ack is a command in the queue's Raft log, so a batch of 64 acked one by one
//! costs the broker 64 commands. When every delivery before the batch on this channel has been
//! answered already, the batch is acked with a single `multiple` ack of its last tag, which can
//! then cover nothing but the batch. A batch that finishes while an earlier one is still at work
//! is acked message by message, as before: waiting for the earlier batch would hold the later
//! one's deliveries unacked and shrink the prefetch window for nothing.
//!
//! Delivery tags on a channel count up from 1, one per delivery, and one reader takes them in
//! order, so a batch normally holds consecutive tags. Nothing here depends on it for correctness:
//! a batch whose tags are not consecutive is answered message by message and never lets the
//! "answered up to" mark move past it.

use lapin::message::Delivery;
use lapin::options::{BasicAckOptions, BasicNackOptions};
use std::collections::BTreeMap;
use tokio::sync::Mutex;

/// What the broker is told about one delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Done with: what follows it is confirmed.
    Ack,
    /// Back to its queue, to be taken again.
    Requeue,
}

/// How a batch was acked, for the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acked {
    /// With one `multiple` ack (or none needed: everything was requeued).
    AtOnce,
    /// One ack per delivery.
    OneByOne,
}

/// The answers of one consume channel. A new channel needs a new tracker: tags start again at 1.
#[derive(Debug, Default)]
pub struct Acks {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Every delivery tag up to this one has been answered.
    answered_upto: u64,
    /// Runs of consecutive tags answered beyond `answered_upto`: first tag to last tag.
    ahead: BTreeMap<u64, u64>,
}

impl State {
    /// Records that tags `first..=last` are answered and moves the mark over every run it reaches.
    fn answered(&mut self, first: u64, last: u64) {
        if first == self.answered_upto + 1 {
            self.answered_upto = last;
            while let Some(end) = self.ahead.remove(&(self.answered_upto + 1)) {
                self.answered_upto = end;
            }
        } else if first > self.answered_upto {
            self.ahead.insert(first, last);
        }
    }
}

/// The first and last tag of `batch` when its tags are consecutive and ascending.
fn consecutive(batch: &[Delivery]) -> Option<(u64, u64)> {
    let first = batch.first()?.delivery_tag;
    let mut next = first;
    for delivery in batch {
        if delivery.delivery_tag != next {
            return None;
        }
        next += 1;
    }
    Some((first, next - 1))
}

impl Acks {
    pub fn new() -> Self {
        Self::default()
    }

    /// Answers the broker for `batch`, whose `answers` are in the same order. Requeues go first,
    /// each on its own; then the acks, with one frame when the batch is the oldest unanswered
    /// work on the channel.
    pub async fn answer(&self, batch: &[Delivery], answers: &[Answer]) -> Result<Acked, lapin::Error> {
        debug_assert_eq!(batch.len(), answers.len());
        // Held from the decision to the frames and the mark: a batch that finds itself the oldest
        // unanswered one stays so until its `multiple` ack is out. Frames go out in the order
        // they are asked for, so the requeues below go before the ack that follows them.
        let mut state = self.state.lock().await;
        for (delivery, _) in batch.iter().zip(answers).filter(|(_, a)| **a == Answer::Requeue) {
            delivery.acker.nack(BasicNackOptions { requeue: true, multiple: false }).await?;
        }
        let last_acked = batch.iter().zip(answers).rev().find(|(_, a)| **a == Answer::Ack).map(|(d, _)| d);
        match consecutive(batch) {
            Some((first, last)) if first == state.answered_upto + 1 => {
                if let Some(delivery) = last_acked {
                    delivery.acker.ack(BasicAckOptions { multiple: true }).await?;
                }
                state.answered(first, last);
                Ok(Acked::AtOnce)
            }
            run => {
                for (delivery, _) in batch.iter().zip(answers).filter(|(_, a)| **a == Answer::Ack) {
                    delivery.acker.ack(BasicAckOptions::default()).await?;
                }
                if let Some((first, last)) = run {
                    state.answered(first, last);
                }
                Ok(Acked::OneByOne)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mark_moves_over_runs_answered_ahead_of_it() {
        let mut s = State::default();
        s.answered(65, 128);
        s.answered(129, 130);
        assert_eq!(s.answered_upto, 0, "tags 1 to 64 are still at work");
        s.answered(1, 64);
        assert_eq!(s.answered_upto, 130);
        assert!(s.ahead.is_empty());
        s.answered(140, 150);
        s.answered(131, 139);
        assert_eq!(s.answered_upto, 150);
    }

    #[test]
    fn a_run_behind_the_mark_changes_nothing() {
        let mut s = State::default();
        s.answered(1, 10);
        s.answered(5, 7);
        assert_eq!(s.answered_upto, 10);
        assert!(s.ahead.is_empty());
    }
}
