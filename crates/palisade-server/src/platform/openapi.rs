//! The OpenAPI 3.1 document at `/api/openapi.json`, generated from the route table.
//!
//! Paths, methods, summaries, parameters, access (`security` and `x-palisade-min-role`) and
//! the schema names of bodies and answers come from `api::routes()`, so the document lists
//! exactly what the router serves. The component schemas are written here, next to each
//! other; a test serialises the store's model types and checks that every field they send
//! is in their schema and no schema property is invented, so the two cannot drift apart.
//! (utoipa would derive them, at the price of a proc-macro dependency and annotations on the
//! store's types; see docs/decisions/0005-openapi-from-the-route-table.md.)

use serde_json::{Map, Value, json};

use super::api::{Access, Answer, Route};

fn ref_(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn error_response(description: &str) -> Value {
    json!({ "description": description, "content": { "application/json": { "schema": ref_("Error") } } })
}

/// The handler's name, prefixed with the route's tag: handlers of different resources share
/// names (`list`, `create`), and OpenAPI wants every operationId unique.
fn operation_id(route: &Route) -> String {
    let name = route.handler_name.replace("::", "_");
    if route.tag.is_empty() || name.starts_with(&format!("{}_", route.tag)) {
        name
    } else {
        format!("{}_{name}", route.tag)
    }
}

fn operation(route: &Route) -> Value {
    let mut op = Map::new();
    op.insert("summary".into(), json!(route.summary));
    op.insert("operationId".into(), json!(operation_id(route)));
    if !route.tag.is_empty() {
        op.insert("tags".into(), json!([route.tag]));
    }
    let mut params: Vec<Value> = route
        .path
        .split('/')
        .filter_map(|seg| seg.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            let ty = if name == "id" { "integer" } else { "string" };
            json!({ "name": name, "in": "path", "required": true, "schema": { "type": ty } })
        })
        .collect();
    params.extend(route.query.iter().map(|p| {
        json!({ "name": p.name, "in": "query", "required": false,
                "description": p.description, "schema": { "type": p.ty } })
    }));
    if !params.is_empty() {
        op.insert("parameters".into(), Value::Array(params));
    }
    if let Some(body) = route.body {
        let content = match body {
            "Report" => json!({
                "application/json": { "schema": ref_("Report") },
                "application/sarif+json": { "schema": ref_("Report") },
                "application/vnd.cyclonedx+json": { "schema": ref_("Report") },
            }),
            "LoginRequest" | "PasswordChange" => json!({
                "application/json": { "schema": ref_(body) },
                "application/x-www-form-urlencoded": { "schema": ref_(body) },
            }),
            _ => json!({ "application/json": { "schema": ref_(body) } }),
        };
        op.insert(
            "requestBody".into(),
            json!({ "required": true, "content": content }),
        );
    }
    let mut responses = Map::new();
    match route.answer {
        Answer::Json(status, schema) => {
            responses.insert(
                status.to_string(),
                json!({ "description": "success", "content": { "application/json": { "schema": ref_(schema) } } }),
            );
        }
        Answer::NoContent => {
            responses.insert("204".into(), json!({ "description": "done" }));
        }
        Answer::Text(media) => {
            responses.insert(
                "200".into(),
                json!({ "description": "success", "content": { media: { "schema": { "type": "string" } } } }),
            );
        }
        Answer::Redirect => {
            responses.insert(
                "303".into(),
                json!({ "description": "redirect; sets the session cookie" }),
            );
        }
    }
    responses.insert("400".into(), error_response("bad request"));
    if route.access != Access::Public {
        responses.insert("401".into(), error_response("not authenticated"));
        responses.insert(
            "403".into(),
            error_response("role too low, CSRF token missing, or cross-origin"),
        );
    }
    if route.path.contains('{') {
        responses.insert("404".into(), error_response("not found"));
    }
    if route.body == Some("EventBatch") {
        responses.insert("413".into(), error_response("over max_upload_mb"));
        responses.insert(
            "415".into(),
            error_response("a Content-Encoding other than gzip"),
        );
        responses.insert(
            "429".into(),
            error_response("the event store is busy: retry after Retry-After seconds"),
        );
        responses.insert(
            "503".into(),
            error_response("the event store failed: retry"),
        );
    }
    if route.body == Some("Report") {
        responses.insert("413".into(), error_response("over a size or count limit"));
        responses.insert(
            "415".into(),
            error_response("not a format the server reads"),
        );
        responses.insert(
            "422".into(),
            error_response("valid JSON of the wrong shape"),
        );
    }
    if route.handler_name.ends_with("login") {
        responses.insert("429".into(), error_response("too many failed sign-ins"));
    }
    op.insert("responses".into(), Value::Object(responses));
    match route.access {
        Access::Public => {
            op.insert("security".into(), json!([]));
        }
        Access::Role(role) => {
            op.insert("x-palisade-min-role".into(), json!(role.as_str()));
        }
        Access::Metrics => {
            op.insert("x-palisade-min-role".into(), json!("viewer"));
            op.insert(
                "description".into(),
                json!("Public when `metrics_public = true` in [server]."),
            );
        }
    }
    Value::Object(op)
}

/// The document for a route table.
pub fn document(routes: &[Route]) -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for r in routes {
        let entry = paths
            .entry(r.path.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(m) = entry {
            m.insert(r.method.as_str().to_ascii_lowercase(), operation(r));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Palisade API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "The API of `palisade serve`: sign-in, users and tokens, the audit log, report uploads and the findings ledger, security event ingestion (/ingest/…) and search. Authenticate with `Authorization: Bearer pal_…` (an API token) or the console session cookie plus the `X-CSRF-Token` header on state-changing requests.",
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearerAuth": [] }, { "sessionCookie": [] }],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": { "type": "http", "scheme": "bearer", "description": "An API token (pal_…) or, with OIDC, a JWT from the identity provider" },
                "sessionCookie": { "type": "apiKey", "in": "cookie", "name": "palisade_session" },
            },
            "schemas": schemas(),
        },
    })
}

fn obj(required: &[&str], props: Value) -> Value {
    json!({ "type": "object", "required": required, "properties": props })
}

const STRING: &str = "string";

fn t(ty: &str) -> Value {
    json!({ "type": ty })
}

fn nullable(ty: &str) -> Value {
    json!({ "type": [ty, "null"] })
}

fn list_of(name: &str) -> Value {
    obj(
        &["items"],
        json!({ "items": { "type": "array", "items": ref_(name) } }),
    )
}

fn page_of(name: &str) -> Value {
    obj(
        &["items", "total"],
        json!({ "items": { "type": "array", "items": ref_(name) }, "total": t("integer") }),
    )
}

fn role() -> Value {
    json!({ "type": "string", "enum": ["viewer", "analyst", "admin"] })
}

/// The component schemas.
pub fn schemas() -> Value {
    let counts = obj(
        &["critical", "high", "medium", "low", "info", "unknown"],
        json!({
            "critical": t("integer"), "high": t("integer"), "medium": t("integer"),
            "low": t("integer"), "info": t("integer"), "unknown": t("integer"),
        }),
    );
    let user = obj(
        &[
            "id",
            "username",
            "display_name",
            "role",
            "disabled",
            "created_at",
        ],
        json!({
            "id": t("integer"), "username": t(STRING), "display_name": t(STRING), "role": role(),
            "oidc_subject": nullable(STRING), "disabled": t("boolean"),
            "created_at": t("integer"), "last_login_at": nullable("integer"),
        }),
    );
    let token = obj(
        &["id", "user_id", "name", "prefix", "scope", "created_at"],
        json!({
            "id": t("integer"), "user_id": t("integer"), "name": t(STRING), "prefix": t(STRING),
            "scope": role(), "created_at": t("integer"), "expires_at": nullable("integer"),
            "last_used_at": nullable("integer"), "revoked_at": nullable("integer"),
        }),
    );
    let mut created_token = token.clone();
    created_token["properties"]["token"] =
        json!({ "type": "string", "description": "the secret: shown in this answer only" });
    created_token["required"] = json!(["id", "name", "scope", "token"]);
    let audit_entry = obj(
        &[
            "id",
            "at",
            "actor",
            "action",
            "target",
            "outcome",
            "details",
            "prev_hash",
            "hash",
        ],
        json!({
            "id": t("integer"), "at": t("integer"), "actor": t(STRING),
            "actor_user_id": nullable("integer"), "action": t(STRING), "target": t(STRING),
            "outcome": { "type": "string", "enum": ["success", "failure", "denied"] },
            "ip": nullable(STRING), "user_agent": nullable(STRING), "details": t("object"),
            "prev_hash": t(STRING), "hash": t(STRING),
        }),
    );
    let asset = obj(
        &[
            "id",
            "kind",
            "key",
            "name",
            "first_seen",
            "last_seen",
            "open",
        ],
        json!({
            "id": t("integer"),
            "kind": { "type": "string", "enum": ["image", "workload", "repository", "other"] },
            "key": t(STRING), "name": t(STRING), "first_seen": t("integer"),
            "last_seen": t("integer"), "last_report_id": nullable("integer"),
            "open": ref_("SeverityCounts"),
        }),
    );
    let report = obj(
        &[
            "id",
            "asset_id",
            "received_at",
            "format",
            "scanners",
            "uploaded_by",
            "size",
            "finding_count",
        ],
        json!({
            "id": t("integer"), "asset_id": t("integer"), "received_at": t("integer"),
            "format": t(STRING), "scanners": { "type": "array", "items": t(STRING) },
            "uploaded_by": t(STRING), "size": t("integer"), "finding_count": t("integer"),
        }),
    );
    let finding_props = json!({
        "id": t("integer"), "asset_id": t("integer"), "fingerprint": t(STRING),
        "rule_id": t(STRING), "scanner": t(STRING),
        "severity": { "type": "string", "enum": ["CRITICAL", "HIGH", "MEDIUM", "LOW", "INFO", "UNKNOWN"] },
        "title": t(STRING), "message": t(STRING), "location": t(STRING),
        "package": nullable(STRING), "installed_version": nullable(STRING),
        "fixed_version": nullable(STRING),
        "status": { "type": "string", "enum": ["open", "fixed"] },
        "first_seen": t("integer"), "last_seen": t("integer"), "fixed_at": nullable("integer"),
        "last_report_id": t("integer"),
    });
    let finding_required = [
        "id",
        "asset_id",
        "fingerprint",
        "rule_id",
        "scanner",
        "severity",
        "title",
        "message",
        "location",
        "status",
        "first_seen",
        "last_seen",
        "last_report_id",
    ];
    let finding = obj(&finding_required, finding_props.clone());
    let mut detail_props = finding_props;
    detail_props["raw"] = json!({ "description": "the finding as the uploaded report had it" });
    let finding_detail = obj(&finding_required, detail_props);
    let outcome = obj(
        &[
            "report_id",
            "asset_id",
            "new",
            "unchanged",
            "reopened",
            "fixed",
        ],
        json!({
            "report_id": t("integer"), "asset_id": t("integer"), "new": t("integer"),
            "unchanged": t("integer"), "reopened": t("integer"), "fixed": t("integer"),
            "format": t(STRING), "asset_key": t(STRING), "findings": t("integer"),
        }),
    );
    let trend_point = obj(
        &["day", "open"],
        json!({ "day": { "type": "integer", "description": "days since 1970-01-01 (UTC)" }, "open": ref_("SeverityCounts") }),
    );
    let dashboard = obj(
        &[
            "open",
            "assets",
            "reports",
            "fixed_30d",
            "new_30d",
            "trend",
            "riskiest",
        ],
        json!({
            "open": ref_("SeverityCounts"), "assets": t("integer"), "reports": t("integer"),
            "fixed_30d": t("integer"), "new_30d": t("integer"),
            "trend": { "type": "array", "items": ref_("TrendPoint") },
            "riskiest": { "type": "array", "items": ref_("Asset") },
        }),
    );
    let session_info = obj(
        &["user", "role", "csrf_token", "expires_at"],
        json!({ "user": ref_("User"), "role": role(), "csrf_token": t(STRING), "expires_at": t("integer") }),
    );
    let event_batch = json!({
        "description": "Kubernetes: an audit.k8s.io/v1 EventList or Event. JSON: NDJSON, a JSON array, CloudTrail {\"Records\": [...]}, Falco JSON lines.",
        "oneOf": [{ "type": "object" }, { "type": "array" }, { "type": "string" }],
    });
    let event_ingest = obj(
        &[
            "accepted",
            "parse_errors",
            "rejected",
            "rejections",
            "kind",
            "source",
        ],
        json!({
            "accepted": { "type": "integer", "description": "events stored (durably) before this answer" },
            "parse_errors": { "type": "integer", "description": "events that could not be parsed; stored raw with parse_error set" },
            "rejected": { "type": "integer", "description": "events the store refused (see rejections)" },
            "rejections": { "type": "array", "items": obj(&["index", "reason"], json!({ "index": t("integer"), "reason": t(STRING) })) },
            "kind": t(STRING), "source": t(STRING),
        }),
    );
    let event = obj(
        &[
            "id",
            "time",
            "received",
            "source",
            "kind",
            "raw",
            "fields",
            "truncated",
        ],
        json!({
            "id": t(STRING), "time": t(STRING), "received": t(STRING), "source": t(STRING),
            "kind": t(STRING), "host": nullable(STRING), "user": nullable(STRING),
            "action": nullable(STRING), "object": nullable(STRING), "outcome": nullable(STRING),
            "source_ip": nullable(STRING), "parse_error": nullable(STRING),
            "truncated": t("boolean"), "fields": t("object"), "raw": t(STRING),
        }),
    );
    let event_page = obj(
        &["events", "total", "total_exact", "took_ms"],
        json!({
            "events": { "type": "array", "items": ref_("Event") },
            "total": { "type": "integer", "description": "matching events, counted up to 10000" },
            "total_exact": t("boolean"), "next": nullable(STRING), "took_ms": t("integer"),
        }),
    );
    let event_histogram = obj(
        &["from", "to", "width_ms", "total", "buckets"],
        json!({
            "from": nullable(STRING), "to": nullable(STRING), "width_ms": nullable("integer"),
            "total": t("integer"),
            "buckets": { "type": "array", "items": obj(&["start", "count"], json!({ "start": t(STRING), "count": t("integer") })) },
        }),
    );
    let saved_search = obj(
        &["id", "user_id", "owner", "name", "query", "created_at"],
        json!({
            "id": t("integer"), "user_id": t("integer"),
            "owner": { "type": "string", "description": "the owner's username" },
            "name": t(STRING),
            "query": { "type": "string", "description": "the search, as q of /api/v1/events" },
            "created_at": { "type": "integer", "description": "Unix milliseconds" },
        }),
    );
    let new_saved_search = obj(
        &["name", "query"],
        json!({
            "name": { "type": "string", "minLength": 1, "maxLength": 100 },
            "query": { "type": "string", "maxLength": 2000, "description": "the search, as q of /api/v1/events" },
        }),
    );
    let level =
        json!({ "type": "string", "enum": ["informational", "low", "medium", "high", "critical"] });
    let alert_state = json!({ "type": "string", "enum": ["new", "acknowledged", "closed"] });
    let alert = obj(
        &[
            "id",
            "rule_id",
            "rule_title",
            "level",
            "tags",
            "entities",
            "dedup_key",
            "correlation",
            "state",
            "count",
            "first_seen",
            "last_seen",
            "event_count",
        ],
        json!({
            "id": t("integer"), "rule_id": t(STRING), "rule_title": t(STRING), "level": level,
            "tags": { "type": "array", "items": t(STRING), "description": "the rule's tags (attack.t1609, …)" },
            "entities": { "type": "object", "additionalProperties": t(STRING), "description": "user, namespace, pod, source_ip, …" },
            "dedup_key": { "type": "string", "description": "hex SHA-256 of the rule id and entities" },
            "correlation": t("boolean"), "state": alert_state,
            "state_reason": nullable(STRING), "state_by": nullable(STRING),
            "state_at": nullable("integer"),
            "count": { "type": "integer", "description": "matches added to this alert" },
            "first_seen": { "type": "integer", "description": "Unix milliseconds (event time)" },
            "last_seen": { "type": "integer", "description": "Unix milliseconds (event time)" },
            "event_count": { "type": "integer", "description": "sample events kept (at most 20)" },
        }),
    );
    let alert_event = obj(
        &["time_ns", "source", "event", "truncated"],
        json!({
            "event_id": nullable(STRING), "time_ns": t("integer"), "source": t(STRING),
            "event": { "description": "the event; a string holding the start of its JSON when truncated" },
            "truncated": t("boolean"),
        }),
    );
    let mut alert_detail = alert.clone();
    alert_detail["properties"]["events"] = json!({ "type": "array", "items": ref_("AlertEvent") });
    alert_detail["properties"]["attack"] = json!({ "type": "array", "items": t(STRING), "description": "ATT&CK technique ids from the tags (T1609)" });
    let alert_state_change = obj(
        &["state"],
        json!({
            "state": alert_state,
            "reason": { "type": "string", "maxLength": 1000, "description": "required to close" },
        }),
    );
    let mut all = json!({
        "Error": obj(&["error"], json!({
            "error": { "type": "string", "description": "what is wrong, for people" },
            "detail": { "description": "where (JSON path, line and column) or a request id" },
        })),
        "Object": t("object"),
        "Report": {
            "type": "object",
            "description": "A Palisade JSON report (`palisade scan … -f json`), a SARIF 2.1.0 log, or a CycloneDX JSON BOM; told apart by content.",
        },
        "LoginRequest": obj(&["username", "password"], json!({
            "username": t(STRING), "password": t(STRING),
            "next": { "type": "string", "description": "forms: the path to go to afterwards" },
        })),
        "SessionInfo": session_info,
        "Me": obj(&["user", "role", "via"], json!({
            "user": ref_("User"), "role": role(),
            "via": { "type": "object", "properties": { "kind": { "type": "string", "enum": ["session", "token", "jwt"] } } },
            "csrf_token": nullable(STRING),
        })),
        "PasswordChange": obj(&["new_password"], json!({
            "current_password": { "type": "string", "description": "required when a password is set" },
            "new_password": { "type": "string", "minLength": 12 },
        })),
        "User": user,
        "UserList": list_of("User"),
        "NewUser": obj(&["username", "role"], json!({
            "username": t(STRING), "display_name": t(STRING), "role": role(),
            "password": { "type": "string", "minLength": 12, "description": "leave out to get a login link instead" },
        })),
        "CreatedUser": obj(&["user"], json!({
            "user": ref_("User"), "login_link": t(STRING), "login_link_expires_at": t("integer"),
        })),
        "UserUpdate": obj(&[], json!({ "role": role(), "disabled": t("boolean") })),
        "LoginLinkAnswer": obj(&["login_link", "expires_at"], json!({
            "login_link": t(STRING), "expires_at": t("integer"),
        })),
        "NewToken": obj(&["name"], json!({
            "name": t(STRING), "scope": role(),
            "expires_in_days": { "type": "integer", "minimum": 1, "maximum": 3650 },
        })),
        "ApiToken": token,
        "CreatedToken": created_token,
        "TokenList": list_of("ApiToken"),
        "AuditEntry": audit_entry,
        "AuditPage": obj(&["items"], json!({
            "items": { "type": "array", "items": ref_("AuditEntry") },
            "next_before_id": nullable("integer"),
        })),
        "AuditExport": { "type": "array", "items": ref_("AuditEntry") },
        "AuditVerify": obj(&["ok"], json!({ "ok": t("boolean"), "first_bad_id": nullable("integer") })),
        "SeverityCounts": counts,
        "Asset": asset,
        "AssetPage": page_of("Asset"),
        "ReportRecord": report,
        "ReportList": list_of("ReportRecord"),
        "ReportOutcome": outcome,
        "Finding": finding,
        "FindingDetail": finding_detail,
        "FindingPage": page_of("Finding"),
        "TrendPoint": trend_point,
        "Dashboard": dashboard,
        "EventBatch": event_batch,
        "EventIngestOutcome": event_ingest,
        "Event": event,
        "EventPage": event_page,
        "EventHistogram": event_histogram,
        "SavedSearch": saved_search,
        "SavedSearchList": list_of("SavedSearch"),
        "NewSavedSearch": new_saved_search,
    });
    // Added one by one: one more key in the literal above exceeds json!'s recursion limit.
    for (name, schema) in [
        ("Alert", alert),
        ("AlertPage", page_of("Alert")),
        ("AlertEvent", alert_event),
        ("AlertDetail", alert_detail),
        ("AlertStateChange", alert_state_change),
    ] {
        all[name] = schema;
    }
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_store::*;
    use std::collections::BTreeSet;

    fn keys(v: &Value) -> BTreeSet<String> {
        v.as_object().unwrap().keys().cloned().collect()
    }

    /// Every field the model sends is in the schema, and the schema invents none.
    fn same_fields(schema: &str, sample: Value) {
        let all = schemas();
        let props = keys(&all[schema]["properties"]);
        assert_eq!(
            props,
            keys(&sample),
            "schema {schema} differs from the model"
        );
        for r in all[schema]["required"].as_array().unwrap() {
            assert!(
                props.contains(r.as_str().unwrap()),
                "{schema}: required {r} not a property"
            );
        }
    }

    #[test]
    fn schemas_match_the_store_model() {
        let counts = SeverityCounts::default();
        same_fields(
            "User",
            json!(User {
                id: 1,
                username: "a".into(),
                display_name: "A".into(),
                role: Role::Admin,
                password_hash: None,
                oidc_subject: None,
                disabled: false,
                created_at: 0,
                last_login_at: None,
            }),
        );
        same_fields(
            "ApiToken",
            json!(ApiToken {
                id: 1,
                user_id: 1,
                name: "n".into(),
                secret_hash: "h".into(),
                prefix: "pal_".into(),
                scope: Role::Viewer,
                created_at: 0,
                expires_at: None,
                last_used_at: None,
                revoked_at: None,
            }),
        );
        same_fields(
            "AuditEntry",
            json!(AuditEntry {
                id: 1,
                at: 0,
                actor: "a".into(),
                actor_user_id: None,
                action: "x".into(),
                target: "".into(),
                outcome: "success".into(),
                ip: None,
                user_agent: None,
                details: json!({}),
                prev_hash: "0".into(),
                hash: "1".into(),
            }),
        );
        let asset = Asset {
            id: 1,
            kind: AssetKind::Image,
            key: "k".into(),
            name: "n".into(),
            first_seen: 0,
            last_seen: 0,
            last_report_id: None,
            open: counts,
        };
        same_fields("Asset", json!(asset));
        same_fields("SeverityCounts", json!(counts));
        same_fields(
            "ReportRecord",
            json!(Report {
                id: 1,
                asset_id: 1,
                received_at: 0,
                format: "sarif".into(),
                scanners: vec![],
                uploaded_by: "a".into(),
                size: 0,
                finding_count: 0,
            }),
        );
        let finding = LedgerFinding {
            id: 1,
            asset_id: 1,
            fingerprint: "f".into(),
            rule_id: "r".into(),
            scanner: "s".into(),
            severity: "HIGH".into(),
            title: "t".into(),
            message: "m".into(),
            location: "l".into(),
            package: None,
            installed_version: None,
            fixed_version: None,
            status: FindingStatus::Open,
            first_seen: 0,
            last_seen: 0,
            fixed_at: None,
            last_report_id: 1,
        };
        same_fields("Finding", json!(finding));
        let mut outcome = json!(ReportOutcome::default());
        outcome["format"] = json!("sarif");
        outcome["asset_key"] = json!("k");
        outcome["findings"] = json!(0);
        same_fields("ReportOutcome", outcome);
        same_fields(
            "TrendPoint",
            json!(TrendPoint {
                day: 1,
                open: counts
            }),
        );
        same_fields(
            "Dashboard",
            json!(Dashboard {
                open: counts,
                assets: 0,
                reports: 0,
                fixed_30d: 0,
                new_30d: 0,
                trend: vec![],
                riskiest: vec![asset],
            }),
        );
        let alert = Alert {
            id: 1,
            rule_id: "r".into(),
            rule_title: "t".into(),
            level: AlertLevel::High,
            tags: vec![],
            entities: Default::default(),
            dedup_key: "k".into(),
            correlation: false,
            state: AlertState::New,
            state_reason: None,
            state_by: None,
            state_at: None,
            count: 1,
            first_seen: 0,
            last_seen: 0,
            event_count: 0,
        };
        same_fields("Alert", json!(alert));
        same_fields(
            "AlertEvent",
            json!(StoredAlertEvent {
                event_id: None,
                time_ns: 0,
                source: "s".into(),
                event: json!({}),
                truncated: false,
            }),
        );
        let mut detail = json!(alert);
        detail["events"] = json!([]);
        detail["attack"] = json!([]);
        same_fields("AlertDetail", detail);
        same_fields(
            "AssetPage",
            json!(Page::<Asset> {
                items: vec![],
                total: 0
            }),
        );
    }

    #[test]
    fn every_reference_resolves() {
        let doc = document(&crate::platform::api::routes());
        let names = keys(&doc["components"]["schemas"]);
        let text = doc.to_string();
        for part in text.split("#/components/schemas/").skip(1) {
            let name: String = part.chars().take_while(|c| c.is_alphanumeric()).collect();
            assert!(names.contains(&name), "dangling $ref {name}");
        }
    }
}
