//! The alert pages: the list (filters by state and level, text, pagination) and one alert
//! with its rule, ATT&CK techniques, entities, matching events and the form that
//! acknowledges, closes or reopens it.
//!
//! The form calls the API's own handler (`api::alerts::set_state`), so the checks and the
//! audit entry are those of the API. Filters are read leniently, as on the other pages.

use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use palisade_store::{Alert, AlertLevel, AlertQuery, AlertState, Role};
use serde::Deserialize;

use super::html::{
    Nav, PageError, csrf_field, esc, maybe_time, notice, page, pager, redirect, time,
};
use crate::platform::api::alerts::{self as api, StateRequest};
use crate::platform::audit::Audit;
use crate::platform::auth::Identity;
use crate::platform::error::{ApiError, ApiJson, ApiPath};
use crate::platform::notify::attack_techniques;
use crate::platform::state::AppState;

const PAGE_SIZE: u32 = 50;

/// A level as a coloured label (the severity colours of findings).
pub fn level(l: AlertLevel) -> String {
    let class = match l {
        AlertLevel::Critical => "critical",
        AlertLevel::High => "high",
        AlertLevel::Medium => "medium",
        AlertLevel::Low => "low",
        AlertLevel::Informational => "info",
    };
    format!("<span class=\"sev sev-{class}\">{}</span>", l.as_str())
}

fn entities_html(a: &Alert) -> String {
    let mut s = String::new();
    for (k, v) in &a.entities {
        let _ = write!(
            s,
            "<span class=\"entity\"><span class=\"muted\">{}</span> {}</span> ",
            esc(k),
            esc(v)
        );
    }
    s
}

/// The page of one ATT&CK technique (`T1552.007` → `…/techniques/T1552/007/`).
pub fn attack_link(technique: &str) -> String {
    format!(
        "<a href=\"https://attack.mitre.org/techniques/{}/\" rel=\"noopener noreferrer\">{}</a>",
        esc(&technique.replace('.', "/")),
        esc(technique)
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct ListFilters {
    #[serde(default)]
    state: String,
    #[serde(default)]
    level: String,
    #[serde(default)]
    q: String,
    offset: Option<String>,
}

pub async fn list(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    Query(f): Query<ListFilters>,
) -> Result<Response, PageError> {
    let st = AlertState::parse(&f.state);
    let min_level = AlertLevel::parse(&f.level);
    let text: String = f.q.trim().chars().take(200).collect();
    let off = f
        .offset
        .as_deref()
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    let result = state
        .store
        .list_alerts(&AlertQuery {
            state: st,
            min_level,
            text: (!text.is_empty()).then(|| text.clone()),
            offset: off,
            limit: PAGE_SIZE,
            ..AlertQuery::default()
        })
        .await?;
    let mut state_options = String::from("<option value=\"\">any state</option>");
    for s in AlertState::ALL {
        let sel = if st == Some(s) { " selected" } else { "" };
        let _ = write!(
            state_options,
            "<option value=\"{0}\"{sel}>{0}</option>",
            s.as_str()
        );
    }
    let mut level_options = String::from("<option value=\"\">any level</option>");
    for l in AlertLevel::ALL {
        let sel = if min_level == Some(l) {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            level_options,
            "<option value=\"{0}\"{sel}>{0} and above</option>",
            l.as_str()
        );
    }
    let mut rows = String::new();
    for a in &result.items {
        let _ = write!(
            rows,
            "<tr class=\"alert-{st}\"><td>{level}</td><td><a href=\"/alerts/{id}\">{title}</a><div class=\"muted small\"><code>{rule}</code></div></td>\
<td class=\"small\">{entities}</td><td class=\"num\">{count}</td><td>{st}</td><td class=\"small\">{first}</td><td class=\"small\">{last}</td></tr>",
            st = a.state.as_str(),
            level = level(a.level),
            id = a.id,
            title = esc(&a.rule_title),
            rule = esc(&a.rule_id),
            entities = entities_html(a),
            count = a.count,
            first = esc(&time(a.first_seen)),
            last = esc(&time(a.last_seen)),
        );
    }
    let table = if result.items.is_empty() {
        "<p class=\"muted\">No alerts match.</p>".to_string()
    } else {
        format!(
            "<table class=\"alerts\"><thead><tr><th>Level</th><th>Rule</th><th>Entities</th><th class=\"num\">Count</th><th>State</th><th>First seen</th><th>Last seen</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    };
    let pairs = [
        (
            "state",
            st.map(|s| s.as_str().to_string()).unwrap_or_default(),
        ),
        (
            "level",
            min_level
                .map(|l| l.as_str().to_string())
                .unwrap_or_default(),
        ),
        ("q", text.clone()),
    ];
    let body = format!(
        "<form method=\"get\" action=\"/alerts\" class=\"filters\">\
<label>State <select name=\"state\">{state_options}</select></label>\
<label>Level <select name=\"level\">{level_options}</select></label>\
<label>Search <input type=\"search\" name=\"q\" value=\"{q}\" placeholder=\"rule, user, namespace, IP\"></label>\
<button type=\"submit\">Filter</button> <a href=\"/alerts\">Clear</a></form>\
{table}{pager}<p class=\"small\"><a href=\"/api/v1/alerts{api_q}\">These alerts as JSON (API)</a></p>",
        q = esc(&text),
        pager = pager("/alerts", &pairs, off, PAGE_SIZE, result.total),
        api_q = esc(&super::html::query(&pairs)),
    );
    Ok(page(&identity, Nav::Alerts, "Alerts", &body))
}

async fn detail_view(
    state: &AppState,
    identity: &Identity,
    id: i64,
    notices: &str,
    status: StatusCode,
) -> Result<Response, PageError> {
    let (a, events) = state
        .store
        .alert(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("alert {id}")))?;
    let mut rows = String::new();
    let mut row = |k: &str, v: String| {
        let _ = write!(rows, "<tr><th>{k}</th><td>{v}</td></tr>");
    };
    row("Level", level(a.level));
    row(
        "State",
        format!(
            "{}{}",
            a.state.as_str(),
            match (&a.state_by, a.state_at) {
                (Some(by), at) => format!(
                    " <span class=\"muted small\">by {} {}</span>",
                    esc(by),
                    esc(&maybe_time(at))
                ),
                _ => String::new(),
            }
        ),
    );
    if let Some(r) = &a.state_reason {
        row("Reason", esc(r));
    }
    row("Rule", format!("<code>{}</code>", esc(&a.rule_id)));
    if a.correlation {
        row("Kind", "correlation".into());
    }
    let techniques = attack_techniques(&a.tags);
    if !techniques.is_empty() {
        row(
            "ATT&amp;CK",
            techniques
                .iter()
                .map(|t| attack_link(t))
                .collect::<Vec<_>>()
                .join(" "),
        );
    }
    row(
        "Tags",
        a.tags
            .iter()
            .map(|t| format!("<code>{}</code>", esc(t)))
            .collect::<Vec<_>>()
            .join(" "),
    );
    let mut ent = String::new();
    for (k, v) in &a.entities {
        let _ = write!(ent, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v));
    }
    row(
        "Entities",
        if ent.is_empty() {
            "<span class=\"muted\">none</span>".into()
        } else {
            format!("<table class=\"kv compact\">{ent}</table>")
        },
    );
    row("Count", a.count.to_string());
    row("First seen", esc(&time(a.first_seen)));
    row("Last seen", esc(&time(a.last_seen)));

    let form = if identity.at_least(Role::Analyst) {
        let csrf = csrf_field(identity);
        // The likely next step is chosen already.
        let next = match a.state {
            AlertState::New => AlertState::Acknowledged,
            AlertState::Acknowledged => AlertState::Closed,
            AlertState::Closed => AlertState::New,
        };
        let mut options = String::new();
        for s in AlertState::ALL {
            let sel = if s == next { " selected" } else { "" };
            let label = match s {
                AlertState::New => "new (reopen)",
                AlertState::Acknowledged => "acknowledged",
                AlertState::Closed => "closed",
            };
            let _ = write!(
                options,
                "<option value=\"{}\"{sel}>{label}</option>",
                s.as_str()
            );
        }
        format!(
            "<h2>Triage</h2><form method=\"post\" action=\"/alerts/{id}/state\" class=\"filters\">{csrf}\
<label>State <select name=\"state\">{options}</select></label>\
<label>Reason <input type=\"text\" name=\"reason\" maxlength=\"{max}\" size=\"40\" placeholder=\"needed to close: false positive, resolved, …\"></label>\
<button type=\"submit\" class=\"primary\">Save</button></form>",
            max = api::MAX_REASON_CHARS,
        )
    } else {
        String::new()
    };

    let mut ev = String::new();
    for e in &events {
        let pretty = serde_json::to_string_pretty(&e.event).unwrap_or_default();
        let _ = write!(
            ev,
            "<section class=\"panel\"><p class=\"small\">{when} · {source}{id}{cut}</p><pre>{json}</pre></section>",
            when = esc(&time(e.time_ns.div_euclid(1_000_000))),
            source = esc(&e.source),
            id = e
                .event_id
                .as_deref()
                .map(|i| {
                    // The id is the store's (TIME.SEQ), path-safe as it is; escaped all the same.
                    format!(
                        " · event <a href=\"/api/v1/events/{id}\"><code>{id}</code></a>",
                        id = esc(i)
                    )
                })
                .unwrap_or_default(),
            cut = if e.truncated {
                " · <strong>truncated</strong>"
            } else {
                ""
            },
            json = esc(&pretty),
        );
    }
    let more = if a.count > a.event_count {
        format!(
            "<p class=\"muted small\">{} of {} matches kept as samples.</p>",
            a.event_count, a.count
        )
    } else {
        String::new()
    };
    let events_html = if events.is_empty() {
        "<p class=\"muted\">No events kept.</p>".to_string()
    } else {
        ev
    };
    let body = format!(
        "{notices}<table class=\"kv\">{rows}</table>{form}<h2>Matching events</h2>{more}{events_html}\
<p class=\"small\"><a href=\"/api/v1/alerts/{id}\">This alert as JSON (API)</a> · <a href=\"/alerts\">All alerts</a></p>",
    );
    let mut r = page(identity, Nav::Alerts, &a.rule_title, &body);
    *r.status_mut() = status;
    Ok(r)
}

pub async fn detail(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, PageError> {
    detail_view(&state, &identity, id, "", StatusCode::OK).await
}

#[derive(Debug, Deserialize)]
pub struct StateForm {
    #[serde(default)]
    state: String,
    #[serde(default)]
    reason: String,
}

pub async fn set_state(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    audit: Audit,
    ApiPath(id): ApiPath<i64>,
    Form(f): Form<StateForm>,
) -> Result<Response, PageError> {
    let request = StateRequest {
        state: f.state,
        reason: Some(f.reason),
    };
    match api::set_state(
        State(Arc::clone(&state)),
        identity.clone(),
        audit,
        ApiPath(id),
        ApiJson(request),
    )
    .await
    {
        Ok(_) => Ok(redirect(&format!("/alerts/{id}"))),
        Err(e) if e.status == StatusCode::NOT_FOUND => Err(e.into()),
        Err(e) if e.status.is_client_error() => {
            detail_view(&state, &identity, id, &notice("error", &e.error), e.status).await
        }
        Err(e) => Ok(PageError(e).into_response()),
    }
}
