//! `GET /api/v1/events/`: every change of a request or a machine, as server-sent events, in
//! the order the store numbered them (see [`crate::storage::Store::events_after`]), so every
//! replica streams the same changes. A client replays from a number (`since_seq`, or the
//! `Last-Event-ID` its EventSource sends on reconnecting) or a time (`since`); a replay from
//! before the oldest change kept starts with a `replay_truncated` event. Each event carries the
//! row as it is when sent.

use std::collections::{BTreeSet, VecDeque};

use axum::http::HeaderMap;

use super::*;
use crate::storage::ChangeEvent;

/// How often the store is asked for new changes that other processes made: this process's
/// own are sent as soon as they are written.
const POLL: Duration = Duration::from_secs(1);

/// How many changes are read at a time.
const PAGE: u32 = 500;

/// How far below the newest change sent each read looks again: on PostgreSQL a change may
/// commit after one numbered above it, and is sent when it shows up.
const LOOKBACK: i64 = 256;

/// Where to start and what to send.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct EventQuery {
    /// Replay the changes numbered above this one.
    since_seq: Option<i64>,
    /// Replay the changes made at or after this time: RFC 3339, or seconds since the epoch.
    since: Option<String>,
    /// `request` or `machine` (or the Python ORB's `requests`, `machines`): only those.
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// Every change of a request or a machine, as it happens, and replayed from a number or a time.
#[utoipa::path(get, path = "/api/v1/events/", tag = "requests", security(("bearer" = [])), params(EventQuery),
    responses((status = 200, description = "Server-sent events `request` and `machine`, each `{seq, type, id, at, data}` with `id` its number; `replay_truncated` first when older changes are gone", content_type = "text/event-stream", body = String), (status = 422, description = "A start or type that does not read", body = ErrorBody)))]
pub(super) async fn stream_events(
    State(s): State<AppState>,
    Query(q): Query<EventQuery>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let invalid = |parameter: &str, message: String| {
        ApiError::invalid(
            StatusCode::UNPROCESSABLE_ENTITY,
            &["query", parameter],
            message,
        )
    };
    let kind = match q.kind.as_deref() {
        None => None,
        Some("request" | "requests") => Some("request"),
        Some("machine" | "machines") => Some("machine"),
        Some(other) => {
            return Err(invalid(
                "type",
                format!("'{other}' is not request or machine"),
            ))
        }
    };
    let since_time = q
        .since
        .as_deref()
        .map(|t| {
            t.parse::<i64>()
                .ok()
                .or_else(|| {
                    humantime::parse_rfc3339_weak(t).ok().and_then(|at| {
                        at.duration_since(std::time::UNIX_EPOCH)
                            .ok()
                            .map(|d| d.as_secs() as i64)
                    })
                })
                .ok_or_else(|| {
                    invalid("since", format!("'{t}' is not a time: RFC 3339 or seconds"))
                })
        })
        .transpose()?;
    let last_event = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let since_seq = q.since_seq.or(last_event);
    let dialect = crate::server::dialect::of_call(&s, &headers)?;
    let (oldest, newest) = s
        .broker()
        .store()
        .event_bounds()
        .map_err(BrokerError::from)?;
    let floor = match (since_seq, since_time) {
        (Some(seq), _) => seq.max(0),
        (None, Some(_)) => oldest - 1,
        (None, None) => newest,
    };
    let mut pending = VecDeque::new();
    if since_seq.is_some_and(|seq| oldest > 0 && seq < oldest - 1) {
        pending.push_back(
            Event::default()
                .event("replay_truncated")
                .data(json!({"since_seq": floor, "oldest_seq": oldest}).to_string()),
        );
    }
    let cursor = Cursor {
        dialect,
        floor,
        newest: floor,
        seen: BTreeSet::new(),
        pending,
        kind,
        since_time,
    };
    // The stream ends when the server starts to stop: a graceful stop waits for every
    // answer in flight, and this one would never end by itself.
    let events = futures_util::stream::unfold(cursor, move |mut cursor| {
        let (s, mut stopping) = (s.clone(), s.stopping.clone());
        async move {
            loop {
                if let Some(event) = cursor.pending.pop_front() {
                    return Some((Ok(event), cursor));
                }
                if *stopping.borrow() {
                    return None;
                }
                // Made before the read, so that a write during it is heard of.
                let written = crate::storage::written().notified();
                match cursor.read(&s.broker()).await {
                    Ok(()) if !cursor.pending.is_empty() => continue,
                    Ok(()) => {}
                    Err(e) => tracing::warn!(error = %e, "event stream: cannot read changes"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(POLL) => {}
                    _ = written => {}
                    _ = stopping.changed() => return None,
                }
            }
        }
    });
    Ok(Sse::new(events).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Where a stream is: what it started after, what it sent, what it has yet to send.
struct Cursor {
    /// The dialect of the events' data.
    dialect: crate::dialect::Dialect,
    /// Changes at or below this number are never sent.
    floor: i64,
    /// The newest change read.
    newest: i64,
    /// The changes sent within the look-back.
    seen: BTreeSet<i64>,
    /// Events read and not sent yet.
    pending: VecDeque<Event>,
    /// Only changes of this kind.
    kind: Option<&'static str>,
    /// Only changes made at or after this time.
    since_time: Option<i64>,
}

impl Cursor {
    /// Reads the changes not sent yet into `pending`, each with its row as it is now.
    async fn read(&mut self, broker: &crate::broker::Broker) -> Result<(), BrokerError> {
        let from = self.floor.max(self.newest - LOOKBACK);
        let changes = broker.store().events_after(from, PAGE)?;
        for change in changes {
            self.newest = self.newest.max(change.seq);
            if !self.seen.insert(change.seq)
                || self.kind.is_some_and(|k| k != change.kind)
                || self.since_time.is_some_and(|t| change.at < t)
            {
                continue;
            }
            let mut data = row_of(broker, &change).await?;
            self.dialect.apply(&mut data);
            let body = json!({"seq": change.seq, "type": change.kind, "id": change.id,
                "at": crate::views::time(change.at), "data": data});
            self.pending.push_back(
                Event::default()
                    .id(change.seq.to_string())
                    .event(change.kind.clone())
                    .data(body.to_string()),
            );
        }
        let keep_from = self.newest - LOOKBACK;
        self.seen.retain(|seq| *seq > keep_from);
        Ok(())
    }
}

/// The request or machine a change is of, as the API shows it now; null once it is purged.
async fn row_of(
    broker: &crate::broker::Broker,
    change: &ChangeEvent,
) -> Result<Value, BrokerError> {
    Ok(match change.kind.as_str() {
        "request" => {
            let views = broker
                .stored_status(std::slice::from_ref(&change.id))
                .await?;
            match output::request_status(&views).requests.pop() {
                Some(found @ RequestEntry::Found(_)) => to_json(&found),
                _ => Value::Null,
            }
        }
        _ => broker
            .store()
            .get_machine(&change.id)?
            .map_or(Value::Null, |m| to_json(&MachineSummary::from(&m))),
    })
}
