//! `/events`: searching security events in the console.
//!
//! The same search as `GET /api/v1/events` (`platform::api::events`): the query language,
//! `from`/`to` as RFC 3339, dates, `now` or ages. Without a `from` the page shows the last
//! 24 hours; `from=all` (or an empty `from`) shows all time. Above the table, a histogram of the
//! matches over the range, drawn on the server; each bar narrows the range to itself.
//! Each row opens (`<details>`, no script) to the raw event and its parsed fields.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Form, Query, State};
use axum::response::Response;
use palisade_siem::event::Nanos;
use palisade_siem::parse::time;
use palisade_siem::store::{self, Search};

use super::chart::{self, HistogramBar};
use super::html::{Nav, PageError, csrf_field, esc, notice, page, pager, query, redirect};
use crate::platform::api::events::{histogram_of, parse_range, parse_search, store_error};
use crate::platform::api::searches;
use crate::platform::audit::Audit;
use crate::platform::auth::Identity;
use crate::platform::error::{ApiJson, ApiPath};
use crate::platform::state::{AppState, now_nanos};
use palisade_store::Role;
use serde::Deserialize;

const PAGE_SIZE: u32 = 50;
const BUCKETS: u32 = 60;
/// The range shown when the address names none.
const DEFAULT_FROM: &str = "24h";
/// `from=all` (or an empty `from`): no lower bound.
const ALL: &str = "all";
const PRESETS: [(&str, &str); 5] = [
    ("15m", "15 minutes"),
    ("1h", "hour"),
    ("24h", "24 hours"),
    ("7d", "7 days"),
    ("30d", "30 days"),
];

fn cell(s: Option<&str>) -> String {
    match s {
        Some(v) if !v.is_empty() => esc(v),
        _ => "<span class=\"muted\">—</span>".into(),
    }
}

/// `2024-05-01 12:00:00.104 UTC`.
fn when(t: Nanos) -> String {
    let s = time::format_rfc3339(t);
    let s = s.strip_suffix('Z').unwrap_or(&s).replacen('T', " ", 1);
    // Milliseconds are enough to read; the API has the rest.
    let s = match s.find('.') {
        Some(dot) => s[..(dot + 4).min(s.len())].to_string(),
        None => s,
    };
    format!("{s} UTC")
}

fn rows(hits: &[store::Hit]) -> String {
    let mut s = String::new();
    for h in hits {
        let e = &h.event;
        let outcome = match &e.parse_error {
            Some(err) => format!(
                "<span class=\"parse-error\" title=\"{}\">parse error</span>",
                esc(err)
            ),
            None => cell(e.outcome.as_deref()),
        };
        let error = match &e.parse_error {
            Some(err) => format!("<p class=\"parse-error\">{}</p>", esc(err)),
            None => String::new(),
        };
        let fields = serde_json::to_string_pretty(&e.fields).unwrap_or_default();
        let truncated = if e.truncated {
            " <span class=\"muted\">(truncated)</span>"
        } else {
            ""
        };
        let _ = write!(
            s,
            "<tr><td class=\"small\">{time}</td><td>{source}</td><td>{user}</td><td><code>{action}</code></td><td>{object}</td><td>{outcome}</td><td class=\"small\">{ip}</td></tr>\
<tr class=\"raw\"><td colspan=\"7\"><details><summary class=\"small\">{kind} event{truncated}</summary>{error}<h3 class=\"small\">Raw</h3><pre>{raw}</pre><h3 class=\"small\">Fields</h3><pre>{fields}</pre></details></td></tr>",
            time = esc(&when(e.time)),
            source = esc(&e.source),
            user = cell(e.user.as_deref()),
            action = cell(e.action.as_deref()),
            object = cell(e.object.as_deref()),
            ip = cell(e.source_ip.as_deref()),
            kind = esc(&e.kind),
            raw = esc(&e.raw),
            fields = esc(&fields),
        );
    }
    s
}

/// Saved searches (`/api/v1/searches`) as links that run them, with a delete button on those
/// the user may delete, and (analysts) a form to save the current search.
fn saved_list(identity: &Identity, text: &str, saved: &[palisade_store::SavedSearch]) -> String {
    let analyst = identity.at_least(Role::Analyst);
    let mut s = String::new();
    if !saved.is_empty() {
        s.push_str("<p class=\"small saved-searches\">Saved searches:");
        for x in saved {
            let _ = write!(
                s,
                " <a href=\"/events{href}\" title=\"{q} (by {owner})\">{name}</a>",
                href = esc(&query(&[("q", x.query.clone())])),
                q = esc(&x.query),
                owner = esc(&x.owner),
                name = esc(&x.name),
            );
            if analyst && (x.user_id == identity.user.id || identity.at_least(Role::Admin)) {
                let _ = write!(
                    s,
                    "<form method=\"post\" action=\"/events/searches/{id}/delete\" class=\"inline\">{csrf}<button type=\"submit\" class=\"link\" data-confirm=\"Delete the saved search {name}?\" title=\"Delete\">×</button></form>",
                    id = x.id,
                    csrf = csrf_field(identity),
                    name = esc(&x.name),
                );
            }
        }
        s.push_str("</p>");
    }
    if analyst && !text.is_empty() {
        let _ = write!(
            s,
            "<form method=\"post\" action=\"/events/searches\" class=\"filters\">{csrf}<input type=\"hidden\" name=\"q\" value=\"{q}\">\
<label>Save this search as <input type=\"text\" name=\"name\" required maxlength=\"100\" size=\"24\"></label> <button type=\"submit\">Save</button></form>",
            csrf = csrf_field(identity),
            q = esc(text),
        );
    }
    s
}

#[derive(Debug, Deserialize)]
pub struct SaveSearchForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    q: String,
}

/// `POST /events/searches`: saves the search, then shows it.
pub async fn save_search(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    audit: Audit,
    Form(f): Form<SaveSearchForm>,
) -> Result<Response, PageError> {
    let back = format!("/events{}", query(&[("q", f.q.trim().to_string())]));
    let request = searches::CreateSearch {
        name: f.name,
        query: f.q,
    };
    searches::create(State(state), identity, audit, ApiJson(request)).await?;
    Ok(redirect(&back))
}

/// `POST /events/searches/{id}/delete`.
pub async fn delete_search(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    audit: Audit,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, PageError> {
    searches::delete(State(state), identity, audit, ApiPath(id)).await?;
    Ok(redirect("/events"))
}

/// The live tail panel: `console.js` streams `/api/v1/events/tail` into it (EventSource) when
/// its button is pressed; without the script it stays an idle button.
fn live_tail(text: &str) -> String {
    let url = format!("/api/v1/events/tail{}", query(&[("q", text.to_string())]));
    format!(
        "<section class=\"panel live-tail\" id=\"live-tail\" data-tail-url=\"{url}\">\
<p class=\"small\"><button type=\"button\" id=\"live-tail-toggle\">Start live tail</button> \
<span id=\"live-tail-status\" class=\"muted\">New events matching this search, as they are stored.</span></p>\
<table class=\"events\" id=\"live-tail-table\" hidden><thead><tr><th>Time</th><th>Source</th><th>User</th><th>Action</th><th>Object</th><th>Outcome</th><th>Source IP</th></tr></thead>\
<tbody id=\"live-tail-rows\"></tbody></table></section>",
        url = esc(&url),
    )
}

pub async fn events(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    Query(p): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let text: String = p
        .get("q")
        .map(|q| q.trim().chars().take(2000).collect())
        .unwrap_or_default();
    let from_text: String = match p.get("from").map(|f| f.trim()) {
        None => DEFAULT_FROM.to_string(),
        Some("") => ALL.to_string(),
        Some(f) => f.chars().take(64).collect(),
    };
    let to_text: String = p
        .get("to")
        .map(|t| t.trim().chars().take(64).collect())
        .unwrap_or_default();
    let off = p
        .get("offset")
        .and_then(|o| o.parse::<u32>().ok())
        .unwrap_or(0)
        .min(u32::try_from(store::MAX_OFFSET).unwrap_or(u32::MAX));
    let now = now_nanos();
    let mut problems = String::new();
    let mut results = String::new();
    let parsed = parse_search(Some(&text)).and_then(|q| {
        let from = (from_text != ALL).then_some(from_text.as_str());
        let (from, to) = parse_range(from, Some(&to_text), now)?;
        Ok((q, from, to))
    });
    match parsed {
        Err(e) => problems.push_str(&notice("error", &e.error)),
        Ok((q, from, to)) => {
            let mut s = Search::new(&q, from.unwrap_or(i64::MIN), to.unwrap_or(i64::MAX));
            s.limit = PAGE_SIZE;
            s.offset = u64::from(off);
            let result = state.events.search(&s).await.map_err(store_error)?;
            let chart = match histogram_of(&state, &q, from, to, BUCKETS).await? {
                Some((hfrom, hto, width, buckets)) => {
                    let bars: Vec<HistogramBar> = buckets
                        .iter()
                        .map(|b| {
                            let end = b.start.saturating_add(width).min(hto);
                            HistogramBar {
                                label: format!("{} to {}", when(b.start), when(end)),
                                count: b.count,
                                href: format!(
                                    "/events{}",
                                    query(&[
                                        ("q", text.clone()),
                                        ("from", time::format_rfc3339(b.start)),
                                        ("to", time::format_rfc3339(end)),
                                    ])
                                ),
                            }
                        })
                        .collect();
                    chart::event_histogram(&bars, &when(hfrom), &when(hto))
                }
                None => String::new(),
            };
            let total = if result.total_exact {
                result.total.to_string()
            } else {
                format!("more than {}", result.total)
            };
            let all_time = format!(
                "/events{}",
                query(&[("q", text.clone()), ("from", ALL.to_string())])
            );
            let table = if result.events.is_empty() {
                format!(
                    "<p class=\"muted\">No events match in this range. <a href=\"{}\">Search all time</a></p>",
                    esc(&all_time)
                )
            } else {
                format!(
                    "<table class=\"events\"><thead><tr><th>Time</th><th>Source</th><th>User</th><th>Action</th><th>Object</th><th>Outcome</th><th>Source IP</th></tr></thead><tbody>{}</tbody></table>",
                    rows(&result.events)
                )
            };
            let pairs = [
                ("q", text.clone()),
                ("from", from_text.clone()),
                ("to", to_text.clone()),
            ];
            let links = pager(
                "/events",
                &pairs,
                off,
                PAGE_SIZE,
                i64::try_from(result.total).unwrap_or(i64::MAX),
            );
            let _ = write!(
                results,
                "<section class=\"panel\">{chart}</section><p class=\"small muted\">{total} matching events · {ms} ms · <a href=\"/api/v1/events{api_q}\">as JSON (API)</a></p>{table}{links}",
                total = esc(&total),
                ms = result.took.as_millis(),
                api_q = esc(&query(&pairs)),
            );
        }
    }
    let mut ranges = String::new();
    for (value, label) in PRESETS {
        if from_text == value && to_text.is_empty() {
            let _ = write!(ranges, "<strong>{label}</strong>");
        } else {
            let _ = write!(
                ranges,
                "<a href=\"/events{}\">{label}</a>",
                esc(&query(&[("q", text.clone()), ("from", value.to_string())]))
            );
        }
    }
    if from_text == ALL && to_text.is_empty() {
        ranges.push_str("<strong>all time</strong>");
    } else {
        let _ = write!(
            ranges,
            "<a href=\"/events{}\">all time</a>",
            esc(&query(&[("q", text.clone()), ("from", ALL.to_string())]))
        );
    }
    let body = format!(
        "<form method=\"get\" action=\"/events\" class=\"filters\">\
<label>Search <input type=\"search\" name=\"q\" value=\"{q}\" size=\"48\" placeholder=\"verb:create objectRef.resource:pods\"></label>\
<label>From <input type=\"text\" name=\"from\" value=\"{from}\" size=\"22\" placeholder=\"24h or 2024-05-01T12:00:00Z\"></label>\
<label>To <input type=\"text\" name=\"to\" value=\"{to}\" size=\"22\" placeholder=\"now\"></label>\
<button type=\"submit\">Search</button> <a href=\"/events\">Clear</a></form>\
<p class=\"small ranges\">Last: {ranges}</p>{saved}{problems}{live}{results}",
        saved = saved_list(&identity, &text, &state.store.list_saved_searches().await?),
        live = live_tail(&text),
        q = esc(&text),
        from = esc(&from_text),
        to = esc(&to_text),
    );
    Ok(page(&identity, Nav::Events, "Events", &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_live_tail_follows_the_search() {
        let html = live_tail("user:\"bob\" <x>");
        assert!(
            html.contains("data-tail-url=\"/api/v1/events/tail?q=user%3A%22bob%22+%3Cx%3E\""),
            "{html}"
        );
        assert!(!html.contains("<x>"));
    }

    #[test]
    fn times_read_to_the_millisecond() {
        assert_eq!(when(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(when(1_500_000_000), "1970-01-01 00:00:01.500 UTC");
    }
}
