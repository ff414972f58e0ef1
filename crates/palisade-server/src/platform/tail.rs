//! Live tail: newly stored security events, pushed to subscribers as server-sent events.
//!
//! Whatever appends events to the store publishes what it stored on the [`TailBus`]
//! (`AppState::tail`) with [`TailBus::publish_stored`] once the store acknowledged the batch:
//! HTTP ingestion does (`api::events`), and so can any other source. Publishing costs nothing
//! when nobody listens.
//!
//! `GET /api/v1/events/tail?q=QUERY` (viewer) answers `text/event-stream`:
//! - `: tail started` at once, then one `data: {event as JSON}` message per stored event that
//!   matches `q` (`Query::matches`, the search language of `/api/v1/events`);
//! - `: keep-alive` comments every [`KEEP_ALIVE`] so proxies keep the connection open;
//! - `event: dropped` with `data: {"dropped": N}` when the client read too slowly and `N`
//!   events went by without it: memory per client is bounded (the bus keeps the last
//!   [`BUS_CAPACITY`] events for all subscribers together, each client at most
//!   [`CLIENT_BUFFER`] messages not yet written to its connection), never unbounded;
//! - the stream ends when the server shuts down.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use http_body_util::Channel;
use palisade_siem::Event;
use palisade_siem::query::Query;
use palisade_siem::store::Receipt;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::{broadcast, watch};

use super::api::events::{event_value, parse_search};
use super::error::{ApiError, ApiQuery};
use super::state::AppState;

/// Events the bus keeps for subscribers that have not taken them yet.
pub const BUS_CAPACITY: usize = 4096;
/// Messages of one client waiting to be written to its connection.
pub const CLIENT_BUFFER: usize = 256;
/// Time between keep-alive comments.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Newly stored events, to whoever subscribes.
pub struct TailBus {
    tx: broadcast::Sender<Arc<Stored>>,
    closed: watch::Sender<bool>,
}

impl Default for TailBus {
    fn default() -> Self {
        TailBus {
            tx: broadcast::channel(BUS_CAPACITY).0,
            closed: watch::channel(false).0,
        }
    }
}

/// A stored event and its id in the store (what `GET /api/v1/events/{id}` takes).
#[derive(Debug)]
pub struct Stored {
    pub event: Event,
    pub id: String,
}

impl TailBus {
    /// Publishes the events of a batch the store acknowledged (`receipt`), leaving out those
    /// it refused.
    pub fn publish_stored(&self, events: &[Event], receipt: &Receipt) {
        if self.tx.receiver_count() == 0 {
            return;
        }
        for (event, id) in receipt.stored(events) {
            let stored = Stored {
                event,
                id: id.to_string(),
            };
            // Fails only when every subscriber left meanwhile.
            let _ = self.tx.send(Arc::new(stored));
        }
    }

    /// A subscription to events published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Stored>> {
        self.tx.subscribe()
    }

    /// Subscribers right now.
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }

    /// Ends every stream (server shutdown).
    pub fn close(&self) {
        self.closed.send_replace(true);
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TailParams {
    q: Option<String>,
}

/// `GET /api/v1/events/tail`.
pub async fn tail(
    State(state): State<Arc<AppState>>,
    ApiQuery(p): ApiQuery<TailParams>,
) -> Result<Response, ApiError> {
    let query = parse_search(p.q.as_deref())?;
    // Subscribed before the answer goes out: whatever is stored after the client has the
    // headers reaches it.
    let events = state.tail.subscribe();
    let closed = state.tail.closed.subscribe();
    let (tx, body) = Channel::<Bytes, std::convert::Infallible>::new(CLIENT_BUFFER);
    tokio::spawn(pump(query, events, closed, tx));
    let mut r = Body::new(body).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Proxies that buffer (nginx) pass the stream on as it comes.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    Ok(r)
}

/// The `data:` message of one event.
fn message(s: &Stored) -> Bytes {
    // JSON has no raw newlines: one `data:` line.
    Bytes::from(format!(
        "data: {}\n\n",
        event_value(&s.event, Some(s.id.clone()))
    ))
}

fn dropped(n: u64) -> Bytes {
    Bytes::from(format!(
        "event: dropped\ndata: {}\n\n",
        json!({ "dropped": n })
    ))
}

/// Feeds one client until it leaves or the server stops.
async fn pump(
    query: Query,
    mut events: broadcast::Receiver<Arc<Stored>>,
    mut closed: watch::Receiver<bool>,
    mut tx: http_body_util::channel::Sender<Bytes>,
) {
    if tx
        .send_data(Bytes::from_static(b": tail started\n\n"))
        .await
        .is_err()
    {
        return;
    }
    let mut tick = tokio::time::interval(KEEP_ALIVE);
    tick.tick().await;
    loop {
        let out = tokio::select! {
            got = events.recv() => match got {
                Ok(s) if query.matches(&s.event) => message(&s),
                Ok(_) => continue,
                Err(broadcast::error::RecvError::Lagged(n)) => dropped(n),
                Err(broadcast::error::RecvError::Closed) => return,
            },
            _ = tick.tick() => Bytes::from_static(b": keep-alive\n\n"),
            _ = closed.wait_for(|c| *c) => return,
        };
        // Waits while the client's buffer is full; the bus meanwhile moves on and the
        // client is told how many it missed.
        tokio::select! {
            sent = tx.send_data(out) => if sent.is_err() { return },
            _ = closed.wait_for(|c| *c) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(msg: &str) -> Event {
        Event {
            time: 1,
            received: 1,
            source: "t".into(),
            kind: "json".into(),
            host: None,
            user: None,
            action: Some(msg.into()),
            object: None,
            outcome: None,
            source_ip: None,
            raw: String::new(),
            fields: json!({}),
            parse_error: None,
            truncated: false,
            fields_from_raw: false,
        }
    }

    /// What the store says of `n` events, refusing those at `refused`: event `i` is `1.i`.
    fn receipt(n: usize, refused: &[usize]) -> Receipt {
        Receipt {
            accepted: (n - refused.len()) as u64,
            rejected: refused
                .iter()
                .map(|&index| palisade_siem::store::Rejection {
                    index,
                    reason: "x".into(),
                })
                .collect(),
            ids: (0..n)
                .map(|i| {
                    (!refused.contains(&i)).then_some(palisade_siem::store::Cursor {
                        time: 1,
                        seq: i as i64,
                    })
                })
                .collect(),
        }
    }

    /// A client that does not read: its buffer fills, the bus moves on, and when it reads
    /// again it gets every event still kept plus a `dropped` notice counting the rest, exactly.
    #[tokio::test]
    async fn a_stalled_stream_accounts_for_every_event() {
        use http_body_util::BodyExt;
        let bus = TailBus::default();
        let (tx, mut body) = Channel::<Bytes, std::convert::Infallible>::new(4);
        let query = palisade_siem::query::parse("").unwrap();
        let pump = tokio::spawn(pump(query, bus.subscribe(), bus.closed.subscribe(), tx));
        let total = BUS_CAPACITY + 1000;
        let batch: Vec<Event> = (0..total).map(|i| ev(&i.to_string())).collect();
        bus.publish_stored(&batch, &receipt(total, &[]));
        let (mut events, mut dropped, mut last) = (0u64, 0u64, String::new());
        while events + dropped < total as u64 {
            let frame = tokio::time::timeout(Duration::from_secs(10), body.frame())
                .await
                .expect("the stream goes on")
                .unwrap()
                .unwrap();
            let text = String::from_utf8(frame.into_data().unwrap().to_vec()).unwrap();
            if let Some(data) = text.strip_prefix("event: dropped\ndata: ") {
                let v: serde_json::Value = serde_json::from_str(data.trim()).unwrap();
                dropped += v["dropped"].as_u64().unwrap();
            } else if let Some(data) = text.strip_prefix("data: ") {
                let v: serde_json::Value = serde_json::from_str(data.trim()).unwrap();
                last = v["action"].as_str().unwrap().to_string();
                // Each event carries its id in the store.
                assert_eq!(v["id"], format!("1.{last}"), "{v}");
                events += 1;
            }
        }
        assert!(dropped > 0, "the stalled client missed some");
        assert_eq!(last, (total - 1).to_string(), "the newest arrive");
        bus.close();
        pump.await.unwrap();
    }

    #[tokio::test]
    async fn slow_clients_are_told_what_they_missed() {
        let bus = TailBus::default();
        // No subscriber: nothing is kept.
        bus.publish_stored(&[ev("a")], &receipt(1, &[]));
        let mut rx = bus.subscribe();
        let batch: Vec<Event> = (0..BUS_CAPACITY + 10).map(|i| ev(&i.to_string())).collect();
        bus.publish_stored(&batch, &receipt(batch.len(), &[0]));
        match rx.recv().await {
            Err(broadcast::error::RecvError::Lagged(n)) => assert_eq!(n, 9),
            other => panic!("{other:?}"),
        }
        let next = rx.recv().await.unwrap();
        assert_eq!(next.event.action.as_deref(), Some("10"));
        assert_eq!(next.id, "1.10");
        assert_eq!(
            &dropped(9)[..],
            b"event: dropped\ndata: {\"dropped\":9}\n\n"
        );
    }
}
