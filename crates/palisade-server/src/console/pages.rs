//! The pages that read: dashboard, assets, findings, audit log.
//!
//! Query parameters are read leniently (a filter that does not parse is ignored, a page
//! number out of range shows an empty page): these are links people edit by hand, and an
//! error page helps less than the unfiltered list.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::response::Response;
use palisade_store::{
    Asset, AssetKind, AssetQuery, AuditQuery, FindingQuery, FindingSort, FindingStatus,
    LedgerFinding, SeverityCounts,
};
use serde::Deserialize;

use super::chart;
use super::html::{Nav, PageError, esc, maybe_time, page, pager, query, severity, time};
use crate::platform::api::audit::parse_time;
use crate::platform::auth::Identity;
use crate::platform::error::{ApiError, ApiPath};
use crate::platform::state::AppState;

const PAGE_SIZE: u32 = 50;
const SEVERITIES: [&str; 6] = ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO", "UNKNOWN"];

fn counts_cells(c: &SeverityCounts) -> String {
    let mut s = String::new();
    for (n, class) in [
        (c.critical, "critical"),
        (c.high, "high"),
        (c.medium, "medium"),
        (c.low, "low"),
    ] {
        if n > 0 {
            let _ = write!(
                s,
                "<td class=\"num\"><span class=\"count-{class}\">{n}</span></td>"
            );
        } else {
            s.push_str("<td class=\"num muted\">0</td>");
        }
    }
    let _ = write!(s, "<td class=\"num\">{}</td>", c.total());
    s
}

const COUNT_HEADERS: &str = "<th class=\"num\">Critical</th><th class=\"num\">High</th><th class=\"num\">Medium</th><th class=\"num\">Low</th><th class=\"num\">All open</th>";

fn asset_rows(assets: &[Asset]) -> String {
    let mut s = String::new();
    for a in assets {
        let _ = write!(
            s,
            "<tr><td><a href=\"/assets/{id}\">{name}</a><div class=\"muted small\">{key}</div></td><td>{kind}</td>{counts}<td>{seen}</td></tr>",
            id = a.id,
            name = esc(&a.name),
            key = esc(&a.key),
            kind = esc(a.kind.as_str()),
            counts = counts_cells(&a.open),
            seen = esc(&time(a.last_seen)),
        );
    }
    s
}

fn asset_table(assets: &[Asset]) -> String {
    if assets.is_empty() {
        return "<p class=\"muted\">No assets yet. Upload a report: <code>palisade scan config . -f json --upload URL --token TOKEN</code></p>".into();
    }
    format!(
        "<table><thead><tr><th>Asset</th><th>Kind</th>{COUNT_HEADERS}<th>Last report</th></tr></thead><tbody>{}</tbody></table>",
        asset_rows(assets)
    )
}

pub async fn dashboard(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let days = q
        .get("days")
        .and_then(|d| d.parse::<u32>().ok())
        .filter(|d| (1..=365).contains(d))
        .unwrap_or(30);
    let d = state.store.dashboard(state.now(), days, 10).await?;
    let mut body = String::new();
    let _ = write!(
        body,
        "<section class=\"cards\">\
<a class=\"card\" href=\"/findings?status=open\"><span class=\"big\">{open}</span>open findings</a>\
<a class=\"card\" href=\"/findings?status=open&amp;severity=CRITICAL\"><span class=\"big count-critical\">{critical}</span>critical</a>\
<a class=\"card\" href=\"/findings?status=open&amp;severity=HIGH\"><span class=\"big count-high\">{high}</span>high</a>\
<a class=\"card\" href=\"/assets\"><span class=\"big\">{assets}</span>assets</a>\
<div class=\"card\"><span class=\"big\">{reports}</span>reports</div>\
<div class=\"card\"><span class=\"big\">{new}</span>new in 30 days</div>\
<div class=\"card\"><span class=\"big\">{fixed}</span>fixed in 30 days</div></section>",
        open = d.open.total(),
        critical = d.open.critical,
        high = d.open.high,
        assets = d.assets,
        reports = d.reports,
        new = d.new_30d,
        fixed = d.fixed_30d,
    );
    let mut ranges = String::new();
    for n in [7, 30, 90, 365] {
        if n == days {
            let _ = write!(ranges, "<strong>{n} days</strong> ");
        } else {
            let _ = write!(ranges, "<a href=\"/?days={n}\">{n} days</a> ");
        }
    }
    let _ = write!(
        body,
        "<div class=\"grid2\"><section class=\"panel\"><h2>Open findings by severity</h2>{bars}</section>\
<section class=\"panel\"><h2>Trend <span class=\"muted small\">{ranges}</span></h2>{trend}</section></div>\
<section class=\"panel\"><h2>Riskiest assets</h2>{riskiest}</section>",
        bars = chart::severity_bars(&d.open),
        trend = chart::trend(&d.trend),
        riskiest = asset_table(&d.riskiest),
    );
    Ok(page(&identity, Nav::Dashboard, "Dashboard", &body))
}

#[derive(Debug, Default, Deserialize)]
pub struct AssetFilters {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    q: String,
    #[serde(default)]
    sort: String,
    offset: Option<String>,
}

fn offset(s: Option<&str>) -> u32 {
    s.and_then(|o| o.parse().ok()).unwrap_or(0)
}

pub async fn assets(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    Query(f): Query<AssetFilters>,
) -> Result<Response, PageError> {
    let kind = AssetKind::parse(f.kind.trim());
    let text: String = f.q.trim().chars().take(200).collect();
    let by_last_seen = f.sort == "last_seen";
    let off = offset(f.offset.as_deref());
    let page_data = state
        .store
        .list_assets(&AssetQuery {
            kind,
            text: (!text.is_empty()).then(|| text.clone()),
            by_last_seen,
            offset: off,
            limit: PAGE_SIZE,
        })
        .await?;
    let mut kinds = String::from("<option value=\"\">any kind</option>");
    for k in ["image", "workload", "repository", "other"] {
        let sel = if kind.map(|x| x.as_str()) == Some(k) {
            " selected"
        } else {
            ""
        };
        let _ = write!(kinds, "<option value=\"{k}\"{sel}>{k}</option>");
    }
    let sorts = if by_last_seen {
        "<option value=\"risk\">riskiest first</option><option value=\"last_seen\" selected>latest report first</option>"
    } else {
        "<option value=\"risk\" selected>riskiest first</option><option value=\"last_seen\">latest report first</option>"
    };
    let pairs = [
        (
            "kind",
            kind.map(|k| k.as_str().to_string()).unwrap_or_default(),
        ),
        ("q", text.clone()),
        (
            "sort",
            if by_last_seen {
                "last_seen".into()
            } else {
                String::new()
            },
        ),
    ];
    let body = format!(
        "<form method=\"get\" action=\"/assets\" class=\"filters\">\
<label>Search <input type=\"search\" name=\"q\" value=\"{q}\" placeholder=\"name or key\"></label>\
<label>Kind <select name=\"kind\">{kinds}</select></label>\
<label>Order <select name=\"sort\">{sorts}</select></label>\
<button type=\"submit\">Filter</button> <a href=\"/assets\">Clear</a></form>\
{table}{pager}",
        q = esc(&text),
        table = asset_table(&page_data.items),
        pager = pager("/assets", &pairs, off, PAGE_SIZE, page_data.total),
    );
    Ok(page(&identity, Nav::Assets, "Assets", &body))
}

fn finding_rows(items: &[LedgerFinding], names: &HashMap<i64, String>, show_asset: bool) -> String {
    let mut s = String::new();
    for f in items {
        let asset = if show_asset {
            format!(
                "<td><a href=\"/assets/{}\">{}</a></td>",
                f.asset_id,
                esc(names
                    .get(&f.asset_id)
                    .map(String::as_str)
                    .unwrap_or("(unknown asset)"))
            )
        } else {
            String::new()
        };
        let package = match (&f.package, &f.installed_version) {
            (Some(p), Some(v)) => format!("<div class=\"small\">{} {}</div>", esc(p), esc(v)),
            (Some(p), None) => format!("<div class=\"small\">{}</div>", esc(p)),
            _ => String::new(),
        };
        let _ = write!(
            s,
            "<tr class=\"status-{status}\"><td>{sev}</td><td><a href=\"/findings/{id}\">{title}</a><div class=\"muted small\">{message}</div>{package}</td>\
<td><code>{rule}</code></td>{asset}<td class=\"small\">{location}</td><td>{status}</td><td class=\"small\">{first}</td></tr>",
            status = match f.status {
                FindingStatus::Open => "open",
                FindingStatus::Fixed => "fixed",
            },
            sev = severity(&f.severity),
            id = f.id,
            title = esc(&f.title),
            message = esc(&f.message),
            rule = esc(&f.rule_id),
            location = esc(&f.location),
            first = esc(&time(f.first_seen)),
        );
    }
    s
}

fn finding_table(
    items: &[LedgerFinding],
    names: &HashMap<i64, String>,
    show_asset: bool,
) -> String {
    if items.is_empty() {
        return "<p class=\"muted\">No findings match.</p>".into();
    }
    let asset_head = if show_asset { "<th>Asset</th>" } else { "" };
    format!(
        "<table class=\"findings\"><thead><tr><th>Severity</th><th>Finding</th><th>Rule</th>{asset_head}<th>Location</th><th>Status</th><th>First seen</th></tr></thead><tbody>{}</tbody></table>",
        finding_rows(items, names, show_asset)
    )
}

pub async fn asset(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    ApiPath(id): ApiPath<i64>,
    Query(f): Query<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let a = state
        .store
        .asset(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("asset {id}")))?;
    let off = offset(f.get("offset").map(String::as_str));
    let findings = state
        .store
        .list_findings(&FindingQuery {
            asset_id: Some(id),
            status: Some(FindingStatus::Open),
            sort: FindingSort::Severity,
            offset: off,
            limit: PAGE_SIZE,
            ..FindingQuery::default()
        })
        .await?;
    let reports = state.store.asset_reports(id, 20).await?;
    let mut history = String::new();
    for r in &reports {
        let _ = write!(
            history,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
            esc(&time(r.received_at)),
            esc(&r.format),
            esc(&r.scanners.join(", ")),
            esc(&r.uploaded_by),
            r.finding_count,
            r.size,
        );
    }
    let history = if reports.is_empty() {
        "<p class=\"muted\">No reports.</p>".to_string()
    } else {
        format!(
            "<table><thead><tr><th>Received</th><th>Format</th><th>Scanners</th><th>Uploaded by</th><th class=\"num\">Findings</th><th class=\"num\">Bytes</th></tr></thead><tbody>{history}</tbody></table>"
        )
    };
    let sbom = if a.kind == AssetKind::Image || reports.iter().any(|r| r.format == "cyclonedx") {
        format!(" · <a href=\"/api/v1/assets/{id}/sbom\">latest SBOM (CycloneDX JSON)</a>")
    } else {
        String::new()
    };
    let names = HashMap::new();
    let body = format!(
        "<p class=\"muted\">{kind} · <code>{key}</code> · first seen {first} · last report {last}{sbom}</p>\
<table class=\"compact\"><thead><tr>{COUNT_HEADERS}</tr></thead><tbody><tr>{counts}</tr></tbody></table>\
<h2>Open findings</h2>{table}{pager}\
<p><a href=\"/findings?asset={id}&amp;status=fixed\">Fixed findings of this asset</a></p>\
<h2>Report history</h2>{history}",
        kind = esc(a.kind.as_str()),
        key = esc(&a.key),
        first = esc(&time(a.first_seen)),
        last = esc(&time(a.last_seen)),
        counts = counts_cells(&a.open),
        table = finding_table(&findings.items, &names, false),
        pager = pager(
            &format!("/assets/{id}"),
            &[],
            off,
            PAGE_SIZE,
            findings.total
        ),
    );
    Ok(page(&identity, Nav::Assets, &a.name, &body))
}

#[derive(Debug, Default, Deserialize)]
pub struct FindingFilters {
    /// Repeated (`severity=HIGH&severity=CRITICAL`) or comma-separated.
    #[serde(default)]
    severity: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    rule: String,
    #[serde(default)]
    asset: String,
    #[serde(default)]
    q: String,
    offset: Option<String>,
}

pub async fn findings(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    Query(f): Query<FindingFilters>,
) -> Result<Response, PageError> {
    let severities: Vec<String> = f
        .severity
        .split(',')
        .map(|s| s.trim().to_ascii_uppercase())
        .filter(|s| SEVERITIES.contains(&s.as_str()))
        .collect();
    let status = match f.status.trim() {
        "open" => Some(FindingStatus::Open),
        "fixed" => Some(FindingStatus::Fixed),
        _ => None,
    };
    let rule: String = f.rule.trim().chars().take(256).collect();
    let text: String = f.q.trim().chars().take(200).collect();
    let asset_id = f.asset.trim().parse::<i64>().ok();
    let off = offset(f.offset.as_deref());
    let result = state
        .store
        .list_findings(&FindingQuery {
            asset_id,
            severities: severities.clone(),
            scanner: None,
            rule_id: (!rule.is_empty()).then(|| rule.clone()),
            status,
            text: (!text.is_empty()).then(|| text.clone()),
            sort: FindingSort::Severity,
            offset: off,
            limit: PAGE_SIZE,
        })
        .await?;
    let assets = state
        .store
        .list_assets(&AssetQuery {
            limit: 500,
            ..AssetQuery::default()
        })
        .await?;
    let names: HashMap<i64, String> = assets
        .items
        .iter()
        .map(|a| (a.id, a.name.clone()))
        .collect();
    let mut sev_options = String::from("<option value=\"\">any severity</option>");
    let current_sev = severities.join(",");
    for s in SEVERITIES {
        let sel = if current_sev == s { " selected" } else { "" };
        let _ = write!(sev_options, "<option value=\"{s}\"{sel}>{s}</option>");
    }
    if severities.len() > 1 {
        let _ = write!(
            sev_options,
            "<option value=\"{v}\" selected>{v}</option>",
            v = esc(&current_sev)
        );
    }
    let mut status_options = String::new();
    for (v, label) in [("", "open and fixed"), ("open", "open"), ("fixed", "fixed")] {
        let cur = match status {
            Some(FindingStatus::Open) => "open",
            Some(FindingStatus::Fixed) => "fixed",
            None => "",
        };
        let sel = if cur == v { " selected" } else { "" };
        let _ = write!(
            status_options,
            "<option value=\"{v}\"{sel}>{label}</option>"
        );
    }
    let mut asset_options = String::from("<option value=\"\">any asset</option>");
    for a in &assets.items {
        let sel = if asset_id == Some(a.id) {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            asset_options,
            "<option value=\"{}\"{sel}>{}</option>",
            a.id,
            esc(&a.name)
        );
    }
    if let Some(id) = asset_id
        && !names.contains_key(&id)
    {
        let _ = write!(
            asset_options,
            "<option value=\"{id}\" selected>asset {id}</option>"
        );
    }
    let pairs = [
        ("severity", current_sev.clone()),
        (
            "status",
            match status {
                Some(FindingStatus::Open) => "open".into(),
                Some(FindingStatus::Fixed) => "fixed".into(),
                None => String::new(),
            },
        ),
        ("rule", rule.clone()),
        ("asset", asset_id.map(|i| i.to_string()).unwrap_or_default()),
        ("q", text.clone()),
    ];
    let body = format!(
        "<form method=\"get\" action=\"/findings\" class=\"filters\">\
<label>Severity <select name=\"severity\">{sev_options}</select></label>\
<label>Status <select name=\"status\">{status_options}</select></label>\
<label>Rule <input type=\"text\" name=\"rule\" value=\"{rule}\" placeholder=\"PAL-K8S-001\" size=\"14\"></label>\
<label>Asset <select name=\"asset\">{asset_options}</select></label>\
<label>Search <input type=\"search\" name=\"q\" value=\"{q}\" placeholder=\"title, location, package\"></label>\
<button type=\"submit\">Filter</button> <a href=\"/findings\">Clear</a></form>\
{table}{pager}<p class=\"small\"><a href=\"/api/v1/findings{api_q}\">These findings as JSON (API)</a></p>",
        rule = esc(&rule),
        q = esc(&text),
        table = finding_table(&result.items, &names, true),
        pager = pager("/findings", &pairs, off, PAGE_SIZE, result.total),
        api_q = esc(&query(&pairs)),
    );
    Ok(page(&identity, Nav::Findings, "Findings", &body))
}

pub async fn finding(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    ApiPath(id): ApiPath<i64>,
) -> Result<Response, PageError> {
    let (f, raw) = state
        .store
        .finding(id)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("finding {id}")))?;
    let asset = state.store.asset(f.asset_id).await?;
    let asset_name = asset
        .map(|a| a.name)
        .unwrap_or_else(|| "(unknown asset)".into());
    let mut rows = String::new();
    let mut row = |k: &str, v: String| {
        let _ = write!(rows, "<tr><th>{k}</th><td>{v}</td></tr>");
    };
    row("Severity", severity(&f.severity));
    row(
        "Status",
        match f.status {
            FindingStatus::Open => "open".into(),
            FindingStatus::Fixed => format!("fixed {}", esc(&maybe_time(f.fixed_at))),
        },
    );
    row("Rule", format!("<code>{}</code>", esc(&f.rule_id)));
    row("Scanner", esc(&f.scanner));
    row(
        "Asset",
        format!(
            "<a href=\"/assets/{}\">{}</a>",
            f.asset_id,
            esc(&asset_name)
        ),
    );
    row("Location", esc(&f.location));
    row("Message", esc(&f.message));
    if let Some(p) = &f.package {
        row(
            "Package",
            format!(
                "{} {}{}",
                esc(p),
                esc(f.installed_version.as_deref().unwrap_or("")),
                f.fixed_version
                    .as_deref()
                    .map(|v| format!(" (fixed in {})", esc(v)))
                    .unwrap_or_default()
            ),
        );
    }
    row("First seen", esc(&time(f.first_seen)));
    row("Last seen", esc(&time(f.last_seen)));
    row(
        "Fingerprint",
        format!("<code>{}</code>", esc(&f.fingerprint)),
    );
    let raw = serde_json::to_string_pretty(&raw).unwrap_or_default();
    let body = format!(
        "<table class=\"kv\">{rows}</table><h2>As the report had it</h2><pre>{}</pre>",
        esc(&raw)
    );
    Ok(page(&identity, Nav::Findings, &f.title, &body))
}

#[derive(Debug, Default, Deserialize)]
pub struct AuditFilters {
    #[serde(default)]
    actor: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    since: String,
    #[serde(default)]
    until: String,
    before_id: Option<String>,
}

pub async fn audit(
    State(state): State<Arc<AppState>>,
    identity: Identity,
    Query(f): Query<AuditFilters>,
) -> Result<Response, PageError> {
    let nonempty = |s: &str| {
        let s = s.trim();
        (!s.is_empty()).then(|| s.chars().take(200).collect::<String>())
    };
    let mut problems = Vec::new();
    let mut when = |name: &str, s: &str| match nonempty(s) {
        None => None,
        Some(s) => match parse_time(name, &s) {
            Ok(t) => Some(t),
            Err(e) => {
                problems.push(e.error);
                None
            }
        },
    };
    let since = when("since", &f.since);
    let until = when("until", &f.until);
    let before_id = f.before_id.as_deref().and_then(|b| b.parse::<i64>().ok());
    let limit = 100;
    let items = state
        .store
        .list_audit(&AuditQuery {
            actor: nonempty(&f.actor),
            action_prefix: nonempty(&f.action),
            since,
            until,
            before_id,
            limit,
        })
        .await?;
    let mut rows = String::new();
    for e in &items {
        let details = match &e.details {
            serde_json::Value::Object(m) if m.is_empty() => String::new(),
            d => d.to_string(),
        };
        let _ = write!(
            rows,
            "<tr class=\"outcome-{outcome}\"><td class=\"small\">{at}</td><td>{actor}</td><td><code>{action}</code></td><td>{target}</td><td>{outcome}</td><td class=\"small\">{ip}</td><td class=\"small details\">{details}</td></tr>",
            at = esc(&time(e.at)),
            actor = esc(&e.actor),
            action = esc(&e.action),
            target = esc(&e.target),
            outcome = esc(&e.outcome),
            ip = esc(e.ip.as_deref().unwrap_or("")),
            details = esc(&details),
        );
    }
    let pairs = [
        ("actor", f.actor.trim().to_string()),
        ("action", f.action.trim().to_string()),
        ("since", f.since.trim().to_string()),
        ("until", f.until.trim().to_string()),
    ];
    let older = match items.last() {
        Some(last) if items.len() == limit as usize => {
            let mut p = pairs.to_vec();
            p.push(("before_id", last.id.to_string()));
            format!(
                "<div class=\"pager\"><a href=\"/audit{}\" rel=\"next\">Older →</a></div>",
                esc(&query(&p))
            )
        }
        _ => String::new(),
    };
    let table = if items.is_empty() {
        "<p class=\"muted\">No entries match.</p>".to_string()
    } else {
        format!(
            "<table class=\"audit\"><thead><tr><th>When</th><th>Actor</th><th>Action</th><th>Target</th><th>Outcome</th><th>Address</th><th>Details</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    };
    let problems: String = problems
        .iter()
        .map(|p| super::html::notice("error", p))
        .collect();
    let body = format!(
        "<form method=\"get\" action=\"/audit\" class=\"filters\">\
<label>Actor <input type=\"text\" name=\"actor\" value=\"{actor}\" size=\"12\"></label>\
<label>Action <input type=\"text\" name=\"action\" value=\"{action}\" placeholder=\"login.\" size=\"14\"></label>\
<label>Since <input type=\"text\" name=\"since\" value=\"{since}\" placeholder=\"YYYY-MM-DD\" size=\"11\"></label>\
<label>Until <input type=\"text\" name=\"until\" value=\"{until}\" placeholder=\"YYYY-MM-DD\" size=\"11\"></label>\
<button type=\"submit\">Filter</button> <a href=\"/audit\">Clear</a></form>{problems}\
<p class=\"small\"><a href=\"/api/v1/audit/export{export_q}\" download>Export as JSON</a> · \
<a href=\"/api/v1/audit/verify\">Verify the hash chain</a></p>{table}{older}",
        actor = esc(f.actor.trim()),
        action = esc(f.action.trim()),
        since = esc(f.since.trim()),
        until = esc(f.until.trim()),
        export_q = esc(&query(&pairs)),
    );
    Ok(page(&identity, Nav::Audit, "Audit log", &body))
}
