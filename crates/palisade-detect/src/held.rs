//! The events a correlation counted, kept for its alert.
//!
//! rsigma's correlation engine can keep each window's events itself, but it clones, serialises
//! and deflates every event it counts (about 12 µs each on the built-in pack, which made
//! detection 6.5 times slower). Here it keeps references only (rsigma's `Refs` mode): the
//! event it is handed ([`Held`]) reports as its JSON nothing but a number, and notes that it was
//! kept. The detector then keeps that one event's text in [`HeldStore`], a ring bounded in
//! bytes, where the references of a firing correlation find it. An event no longer in the ring
//! is left out of the alert; the ring and the references are saved together across restarts.

use std::borrow::Cow;
use std::cell::Cell;
use std::collections::{HashSet, VecDeque};

use rsigma_eval::event::EventValue;
use rsigma_eval::{CorrelationSnapshot, Event};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::event::FastEvent;

/// Bytes of event text the ring keeps; the oldest go first.
pub const MAX_HELD_BYTES: usize = 32 * 1024 * 1024;

/// The largest event number a saved state may hold (a million events a second for over a
/// hundred thousand years).
const MAX_SEQ: u64 = 1 << 62;

/// Where an event came from, for the correlations that keep it.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    /// The name it came under (a configured source).
    pub source: &'a str,
    /// Its id where it is stored (the event store's), if it is.
    pub id: Option<&'a str>,
    /// Its text as received, when that parses to exactly the event's value (so keeping it
    /// costs a copy, not a serialisation).
    pub raw_json: Option<&'a str>,
}

/// An event a correlation counted, as it came in.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldEvent {
    /// When it happened (ns since the epoch), when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_ns: Option<i64>,
    /// The name it came under ([`Origin::source`]), when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Its id where it is stored ([`Origin::id`]), when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub event: Value,
}

/// The event handed to the correlation engine: rules see the event; what a correlation keeps
/// of it ([`Event::to_json`]) is its number in the [`HeldStore`].
pub(crate) struct Held<'a> {
    pub view: &'a FastEvent<'a>,
    pub seq: u64,
    /// Some correlation kept a reference to it.
    pub kept: Cell<bool>,
}

impl Event for Held<'_> {
    fn get_field(&self, path: &str) -> Option<EventValue<'_>> {
        self.view.get_field(path)
    }

    fn any_string_value(&self, pred: &dyn Fn(&str) -> bool) -> bool {
        self.view.any_string_value(pred)
    }

    fn all_string_values(&self) -> Vec<Cow<'_, str>> {
        self.view.all_string_values()
    }

    fn visit_string_values(&self, visit: &mut dyn FnMut(&str)) {
        self.view.visit_string_values(visit)
    }

    fn to_json(&self) -> Value {
        // rsigma's correlation engine asks for it only to keep a reference (`Refs` mode reads
        // the `id`).
        self.kept.set(true);
        serde_json::json!({ "id": self.seq })
    }

    fn field_keys(&self) -> Vec<Cow<'_, str>> {
        self.view.field_keys()
    }

    fn top_level_keys(&self) -> Option<Vec<Cow<'_, str>>> {
        self.view.top_level_keys()
    }

    fn visit_top_level_keys(&self, visit: &mut dyn FnMut(&str)) -> bool {
        self.view.visit_top_level_keys(visit)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Kept {
    seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time_ns: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    /// The event's JSON text.
    text: String,
}

/// The kept events, oldest first, at most [`MAX_HELD_BYTES`] of text.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct HeldStore {
    /// The number the next kept event gets.
    next: u64,
    ring: VecDeque<Kept>,
    #[serde(skip)]
    bytes: usize,
}

impl HeldStore {
    /// A number for the next event handed to the engine. Every event takes one, kept or not,
    /// so that a number is never given twice (not even when evaluating one panicked after a
    /// window took its reference).
    pub fn take_seq(&mut self) -> u64 {
        let seq = self.next;
        self.next += 1;
        seq
    }

    /// The number [`HeldStore::take_seq`] gives next.
    pub fn peek_next(&self) -> u64 {
        self.next
    }

    /// Keeps the event numbered `seq` (from [`HeldStore::take_seq`]).
    pub fn keep(
        &mut self,
        seq: u64,
        event: &Value,
        time_ns: Option<i64>,
        origin: Option<Origin<'_>>,
    ) {
        let text = match origin.and_then(|o| o.raw_json) {
            Some(raw) => raw.to_owned(),
            None => serde_json::to_string(event).unwrap_or_default(),
        };
        self.bytes += text.len();
        self.ring.push_back(Kept {
            seq,
            time_ns,
            source: origin.map(|o| o.source.to_owned()),
            id: origin.and_then(|o| o.id).map(str::to_owned),
            text,
        });
        self.trim();
    }

    fn trim(&mut self) {
        while self.bytes > MAX_HELD_BYTES {
            match self.ring.pop_front() {
                Some(k) => self.bytes -= k.text.len(),
                None => break,
            }
        }
    }

    /// The kept event numbered `seq`, if it is still kept.
    pub fn get(&self, seq: u64) -> Option<HeldEvent> {
        let i = self.ring.binary_search_by_key(&seq, |k| k.seq).ok()?;
        let k = &self.ring[i];
        Some(HeldEvent {
            time_ns: k.time_ns,
            source: k.source.clone(),
            id: k.id.clone(),
            event: serde_json::from_str(&k.text).unwrap_or_else(|_| Value::String(k.text.clone())),
        })
    }

    /// The kept events `snapshot`'s windows still refer to, with the next number: what is
    /// worth saving.
    pub fn referenced_by(&self, snapshot: &CorrelationSnapshot) -> HeldStore {
        let ids: HashSet<u64> = snapshot
            .event_ref_buffers
            .values()
            .flatten()
            .flat_map(|(_, buffer)| buffer.refs())
            .filter_map(|r| r.id.and_then(|id| id.parse().ok()))
            .collect();
        let ring: VecDeque<Kept> = self
            .ring
            .iter()
            .filter(|k| ids.contains(&k.seq))
            .cloned()
            .collect();
        HeldStore {
            next: self.next,
            bytes: ring.iter().map(|k| k.text.len()).sum(),
            ring,
        }
    }

    /// Restores a saved store (its byte count is not saved). A file edited by hand may hold
    /// the events in any order, or numbers no run reaches: the events are sorted, duplicates
    /// dropped, and numbers past [`MAX_SEQ`] make it start empty.
    pub fn restored(mut self) -> HeldStore {
        if self.next > MAX_SEQ || self.ring.iter().any(|k| k.seq > MAX_SEQ) {
            return HeldStore::default();
        }
        self.ring.make_contiguous().sort_by_key(|k| k.seq);
        let mut last = None;
        self.ring.retain(|k| last.replace(k.seq) != Some(k.seq));
        if let Some(k) = self.ring.back() {
            self.next = self.next.max(k.seq + 1);
        }
        self.bytes = self.ring.iter().map(|k| k.text.len()).sum();
        self.trim();
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(raw: &str) -> Origin<'_> {
        Origin {
            source: "s",
            id: Some("store-id"),
            raw_json: Some(raw),
        }
    }

    #[test]
    fn the_ring_is_bounded_in_bytes_and_found_by_number() {
        let mut store = HeldStore::default();
        let big = format!("{{\"pad\":\"{}\"}}", "x".repeat(1024 * 1024));
        for i in 0..40 {
            let seq = store.take_seq();
            assert_eq!(seq, i);
            store.keep(seq, &Value::Null, Some(i as i64), Some(origin(&big)));
        }
        assert!(store.bytes <= MAX_HELD_BYTES);
        assert!(store.get(0).is_none(), "the oldest went first");
        let newest = store.get(39).unwrap();
        assert_eq!(newest.time_ns, Some(39));
        assert_eq!(newest.source.as_deref(), Some("s"));
        assert_eq!(newest.id.as_deref(), Some("store-id"));
        assert_eq!(
            newest.event["pad"].as_str().map(str::len),
            Some(1024 * 1024)
        );
        assert!(store.get(40).is_none());
        // Without the text, the value is written out; text that is not JSON stays a string.
        let seq = store.take_seq();
        store.keep(seq, &serde_json::json!({"a": 1}), None, None);
        assert_eq!(store.get(40).unwrap().event, serde_json::json!({"a": 1}));
        // A number taken and not kept is not given again.
        assert_eq!(store.take_seq(), 41);
        let seq = store.take_seq();
        store.keep(seq, &Value::Null, None, Some(origin("not json")));
        assert_eq!(store.get(42).unwrap().event, "not json");
        assert!(store.get(41).is_none());
    }

    #[test]
    fn a_restored_store_is_sorted_and_numbers_on() {
        let saved =
            r#"{"next":2,"ring":[{"seq":7,"text":"1"},{"seq":3,"text":"2"},{"seq":7,"text":"3"}]}"#;
        let store: HeldStore = serde_json::from_str(saved).unwrap();
        let mut store = store.restored();
        assert_eq!(store.get(3).unwrap().event, 2);
        assert!(store.get(7).is_some());
        assert_eq!(store.bytes, 2);
        assert_eq!(store.take_seq(), 8);
        // Numbers no run reaches: the saved events are dropped, not trusted.
        let saved = format!(r#"{{"next":{},"ring":[{{"seq":3,"text":"1"}}]}}"#, u64::MAX);
        let store: HeldStore = serde_json::from_str(&saved).unwrap();
        let mut store = store.restored();
        assert!(store.get(3).is_none());
        assert_eq!(store.take_seq(), 0);
    }
}
