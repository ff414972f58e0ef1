//! Alert notifications to webhooks: the `[alerts]` settings, a bounded queue, and a delivery
//! task that posts each alert to every webhook whose `min_level` it reaches, with retries.
//!
//! ```toml
//! [alerts]
//! dedup_window = "15m"            # matches of one rule and entities within this add to one alert
//! queue = 10000                   # matches waiting to be recorded
//!
//! [[alerts.webhook]]
//! name = "soc-slack"              # in logs and metrics (default: webhook-1, webhook-2, …)
//! url = "https://hooks.slack.com/services/T000/B000/XXXX"
//! format = "slack"                # "json" (default): the alert as JSON; "slack": text + blocks
//! min_level = "high"              # informational, low, medium (default), high, critical
//! headers = { Authorization = "Bearer …" }   # sent with every request, never logged
//! timeout = "10s"                 # per attempt (1s to 60s)
//! ```
//!
//! Delivery: up to [`MAX_ATTEMPTS`] attempts, waiting 0.5 s, 1 s, 2 s, 4 s between them (at
//! most 8 s; a 429's `Retry-After` in seconds is honoured up to 60 s). Connection errors,
//! timeouts, 408, 429 and 5xx are retried; other answers end the delivery. A full queue
//! drops the notification. URLs and headers hold secrets (a Slack webhook URL is one): logs
//! name the webhook by `name` and host only. `https://` is required except for loopback
//! hosts or with `allow_insecure_http = true`. When the server stops, notifications already
//! queued (including those of alerts recorded during shutdown) are still delivered, and
//! deliveries in flight finish, within the shutdown grace period; what is left then is
//! abandoned.
//!
//! Counters: `palisade_alert_notifications_total{webhook,result}` (`delivered`, `failed`,
//! `dropped`) and `palisade_alert_notification_attempts_total{webhook}`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use palisade_store::{Alert, AlertLevel};
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::{Semaphore, mpsc, watch};

/// Attempts per delivery.
pub const MAX_ATTEMPTS: u32 = 5;
/// The first wait between attempts; it doubles each time up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
pub const MAX_BACKOFF: Duration = Duration::from_secs(8);
/// The longest `Retry-After` honoured.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Default matches waiting to be recorded (`[alerts] queue`).
pub const DEFAULT_ALERT_QUEUE: usize = 10_000;
/// Default dedup window (`[alerts] dedup_window`).
pub const DEFAULT_DEDUP_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Notifications waiting for delivery.
const NOTIFY_QUEUE: usize = 1000;
/// Deliveries in flight at once, over all webhooks.
const CONCURRENT_DELIVERIES: usize = 8;
/// The most of a webhook's answer that is read.
const MAX_ANSWER: u64 = 64 * 1024;

/// How a webhook wants the alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    /// The alert as JSON, with `url` and `notification`.
    Json,
    /// Slack's incoming-webhook shape: `text` and `blocks`.
    Slack,
}

/// One `[[alerts.webhook]]`, checked.
#[derive(Clone)]
pub struct Webhook {
    pub name: String,
    /// Secret (Slack's carries the credential): never logged.
    pub url: String,
    pub format: WebhookFormat,
    pub min_level: AlertLevel,
    /// Secret values: never logged.
    pub headers: Vec<(String, String)>,
    pub timeout: Duration,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Webhook")
            .field("name", &self.name)
            .field("host", &host_of(&self.url))
            .field("format", &self.format)
            .field("min_level", &self.min_level)
            .field("headers", &self.headers.len())
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The `[alerts]` settings, checked.
#[derive(Debug, Clone)]
pub struct AlertSettings {
    pub dedup_window: Duration,
    pub queue: usize,
    pub webhooks: Vec<Webhook>,
}

impl Default for AlertSettings {
    fn default() -> AlertSettings {
        AlertSettings {
            dedup_window: DEFAULT_DEDUP_WINDOW,
            queue: DEFAULT_ALERT_QUEUE,
            webhooks: Vec::new(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AlertsSection {
    #[serde(alias = "dedup-window")]
    dedup_window: Option<String>,
    queue: Option<u64>,
    #[serde(default)]
    webhook: Vec<WebhookSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookSection {
    name: Option<String>,
    url: String,
    format: Option<String>,
    #[serde(alias = "min-level")]
    min_level: Option<String>,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    timeout: Option<String>,
    #[serde(alias = "allow-insecure-http", default)]
    allow_insecure_http: bool,
}

/// `90s`, `15m`, `2h`: a whole number and s, m or h.
fn parse_duration(text: &str) -> Option<Duration> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let mul = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return None,
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mul))
        .map(Duration::from_secs)
}

/// The host of a URL, for messages (never the path or query, which may hold a secret).
pub fn host_of(url: &str) -> String {
    url.parse::<axum::http::Uri>()
        .ok()
        .and_then(|u| u.host().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

impl AlertSettings {
    /// Checks the `[alerts]` table (absent: the defaults). Errors name the key, and the
    /// webhook by its position and name, never its URL or headers.
    pub fn from_table(table: Option<&toml::Value>) -> Result<AlertSettings, String> {
        let Some(table) = table else {
            return Ok(AlertSettings::default());
        };
        let section: AlertsSection = table.clone().try_into().map_err(|e: toml::de::Error| {
            // The message may quote a value; keep it short and free of URLs.
            let m = e.message().to_string();
            if m.contains("://") {
                "a value has the wrong type".to_string()
            } else {
                m
            }
        })?;
        let mut out = AlertSettings::default();
        if let Some(w) = &section.dedup_window {
            out.dedup_window = parse_duration(w)
                .filter(|d| *d <= Duration::from_secs(7 * 86_400))
                .ok_or_else(|| {
                    format!(
                        "dedup_window = {w:?}: a whole number and s, m or h, at most a week, e.g. \"15m\""
                    )
                })?;
        }
        if let Some(q) = section.queue {
            if !(1..=1_000_000).contains(&q) {
                return Err(format!("queue = {q}: use 1 to 1000000"));
            }
            out.queue = q as usize;
        }
        for (i, w) in section.webhook.into_iter().enumerate() {
            let name = match w.name.as_deref().map(str::trim) {
                None | Some("") => format!("webhook-{}", i + 1),
                Some(n) => n.to_string(),
            };
            let at = format!("[[alerts.webhook]] {name}");
            if name.chars().count() > 64
                || !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            {
                return Err(format!(
                    "[[alerts.webhook]] number {}: name: use 1 to 64 letters, digits, '-', '_' or '.'",
                    i + 1
                ));
            }
            super::oidc::http::check_url(&w.url, w.allow_insecure_http).map_err(|_| {
                format!(
                    "{at}: url must be an https:// URL (http:// only to a loopback host, or with allow_insecure_http = true)"
                )
            })?;
            let format = match w.format.as_deref().map(str::trim) {
                None | Some("json") => WebhookFormat::Json,
                Some("slack") => WebhookFormat::Slack,
                Some(f) => return Err(format!("{at}: format = {f:?}: use \"json\" or \"slack\"")),
            };
            let min_level = match w.min_level.as_deref() {
                None => AlertLevel::Medium,
                Some(l) => AlertLevel::parse(l).ok_or_else(|| {
                    format!(
                        "{at}: min_level = {l:?}: use informational, low, medium, high or critical"
                    )
                })?,
            };
            let timeout = match w.timeout.as_deref() {
                None => Duration::from_secs(10),
                Some(t) => parse_duration(t)
                    .filter(|d| (1..=60).contains(&d.as_secs()))
                    .ok_or_else(|| format!("{at}: timeout = {t:?}: use 1s to 60s"))?,
            };
            let mut headers = Vec::new();
            for (k, v) in w.headers {
                let ok_name = axum::http::HeaderName::from_bytes(k.as_bytes()).is_ok();
                let ok_value = axum::http::HeaderValue::from_str(&v).is_ok();
                if !ok_name || !ok_value {
                    // Name the header, not its value.
                    return Err(format!("{at}: headers: {k:?} is not a valid header"));
                }
                if k.eq_ignore_ascii_case("content-type") || k.eq_ignore_ascii_case("host") {
                    return Err(format!("{at}: headers: {k} is set by Palisade"));
                }
                headers.push((k, v));
            }
            if out.webhooks.iter().any(|o| o.name == name) {
                return Err(format!("{at}: another webhook has this name"));
            }
            out.webhooks.push(Webhook {
                name,
                url: w.url,
                format,
                min_level,
                headers,
                timeout,
            });
        }
        Ok(out)
    }
}

/// Why an alert is being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    /// The alert was just created.
    Raised,
    /// Its count reached 10, 100 or 1000.
    Count,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::Raised => "raised",
            NotificationKind::Count => "count",
        }
    }
}

/// One alert to send.
#[derive(Debug, Clone)]
pub struct Notification {
    pub kind: NotificationKind,
    pub alert: Alert,
}

/// `<public_url>/alerts/<id>`.
pub fn alert_link(public_url: &str, id: i64) -> String {
    format!("{}/alerts/{id}", public_url.trim_end_matches('/'))
}

/// The generic JSON body: the alert, plus `url` (its console page) and `notification`
/// (`raised` or `count`).
pub fn json_body(n: &Notification, public_url: &str) -> Value {
    let mut v = json!(n.alert);
    if let Value::Object(m) = &mut v {
        m.insert("url".into(), json!(alert_link(public_url, n.alert.id)));
        m.insert("notification".into(), json!(n.kind.as_str()));
    }
    v
}

/// Escapes text for Slack's mrkdwn (`&`, `<`, `>`: otherwise an entity value could make a
/// link or a mention).
pub fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// ATT&CK technique ids among tags: `attack.t1609` → `T1609`, `attack.t1552.007` →
/// `T1552.007`.
pub fn attack_techniques(tags: &[String]) -> Vec<String> {
    tags.iter()
        .filter_map(|t| {
            let id = t.strip_prefix("attack.")?;
            let mut chars = id.chars();
            let first = chars.next()?;
            let rest: String = chars.collect();
            let (num, sub) = rest.split_once('.').unwrap_or((rest.as_str(), ""));
            let ok = first.eq_ignore_ascii_case(&'t')
                && num.len() == 4
                && num.chars().all(|c| c.is_ascii_digit())
                && (sub.is_empty() || (sub.len() == 3 && sub.chars().all(|c| c.is_ascii_digit())));
            ok.then(|| {
                if sub.is_empty() {
                    format!("T{num}")
                } else {
                    format!("T{num}.{sub}")
                }
            })
        })
        .collect()
}

/// The Slack body: `text` (the notification's fallback) and `blocks`.
pub fn slack_body(n: &Notification, public_url: &str) -> Value {
    let a = &n.alert;
    let link = alert_link(public_url, a.id);
    let level = a.level.as_str().to_uppercase();
    let entities: Vec<String> = a
        .entities
        .iter()
        .map(|(k, v)| format!("{}={}", slack_escape(k), slack_escape(v)))
        .collect();
    let what = match n.kind {
        NotificationKind::Raised => "New alert",
        NotificationKind::Count => "Alert still firing",
    };
    let text = cut(
        &format!(
            "{what} [{level}] {}{}{} (count {})",
            slack_escape(&a.rule_title),
            if entities.is_empty() { "" } else { ": " },
            entities.join(", "),
            a.count
        ),
        3000,
    );
    let mut fields = vec![
        json!({ "type": "mrkdwn", "text": format!("*Level*\n{level}") }),
        json!({ "type": "mrkdwn", "text": format!("*Count*\n{}", a.count) }),
        json!({ "type": "mrkdwn", "text": cut(&format!("*Rule*\n`{}`", slack_escape(&a.rule_id)), 2000) }),
    ];
    for (k, v) in a.entities.iter().take(7) {
        fields.push(json!({
            "type": "mrkdwn",
            "text": cut(&format!("*{}*\n{}", slack_escape(k), slack_escape(v)), 2000),
        }));
    }
    let mut blocks = vec![
        json!({
            "type": "header",
            "text": { "type": "plain_text", "text": cut(&format!("{level}: {}", a.rule_title), 150) },
        }),
        json!({ "type": "section", "fields": fields }),
    ];
    let techniques = attack_techniques(&a.tags);
    if !techniques.is_empty() {
        let links: Vec<String> = techniques
            .iter()
            .map(|t| {
                format!(
                    "<https://attack.mitre.org/techniques/{}/|{t}>",
                    t.replace('.', "/")
                )
            })
            .collect();
        blocks.push(json!({
            "type": "context",
            "elements": [{ "type": "mrkdwn", "text": cut(&format!("ATT&CK: {}", links.join(" ")), 2000) }],
        }));
    }
    blocks.push(json!({
        "type": "actions",
        "elements": [{
            "type": "button",
            "text": { "type": "plain_text", "text": "Open in Palisade" },
            "url": link,
        }],
    }));
    json!({ "text": text, "blocks": blocks })
}

/// Delivery counters per webhook.
#[derive(Debug, Default)]
pub struct NotifyCounters {
    /// (webhook, result) → count.
    results: Mutex<BTreeMap<(String, &'static str), u64>>,
    attempts: Mutex<BTreeMap<String, u64>>,
    queue_full: AtomicU64,
}

impl NotifyCounters {
    fn result(&self, webhook: &str, result: &'static str) {
        if let Ok(mut m) = self.results.lock() {
            *m.entry((webhook.to_string(), result)).or_default() += 1;
        }
    }

    fn attempt(&self, webhook: &str) {
        if let Ok(mut m) = self.attempts.lock() {
            *m.entry(webhook.to_string()).or_default() += 1;
        }
    }

    /// How many deliveries to a webhook ended with `result` (`delivered`, `failed`,
    /// `dropped`).
    pub fn count(&self, webhook: &str, result: &str) -> u64 {
        self.results
            .lock()
            .ok()
            .and_then(|m| {
                m.iter()
                    .find(|((w, r), _)| w == webhook && *r == result)
                    .map(|(_, n)| *n)
            })
            .unwrap_or(0)
    }

    /// Attempts made to a webhook.
    pub fn attempts(&self, webhook: &str) -> u64 {
        self.attempts
            .lock()
            .ok()
            .and_then(|m| m.get(webhook).copied())
            .unwrap_or(0)
    }

    pub fn render(&self, out: &mut String) {
        use crate::admission::metrics::label;
        let _ = writeln!(
            out,
            "# HELP palisade_alert_notifications_total Alert notifications by webhook and how they ended (delivered, failed after retries, dropped on a full queue).\n# TYPE palisade_alert_notifications_total counter"
        );
        if let Ok(m) = self.results.lock() {
            for ((w, r), n) in m.iter() {
                let _ = writeln!(
                    out,
                    "palisade_alert_notifications_total{{webhook=\"{}\",result=\"{r}\"}} {n}",
                    label(w)
                );
            }
        }
        let _ = writeln!(
            out,
            "# HELP palisade_alert_notification_attempts_total HTTP requests made to webhooks, retries included.\n# TYPE palisade_alert_notification_attempts_total counter"
        );
        if let Ok(m) = self.attempts.lock() {
            for (w, n) in m.iter() {
                let _ = writeln!(
                    out,
                    "palisade_alert_notification_attempts_total{{webhook=\"{}\"}} {n}",
                    label(w)
                );
            }
        }
    }
}

/// Retry timing (the defaults in production; tests may shorten them).
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            attempts: MAX_ATTEMPTS,
            first_backoff: FIRST_BACKOFF,
            max_backoff: MAX_BACKOFF,
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt `n` (1-based).
    pub fn backoff(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX);
        self.first_backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }
}

struct NotifierInner {
    webhooks: Vec<Webhook>,
    public_url: String,
    policy: RetryPolicy,
    counters: NotifyCounters,
    tx: mpsc::Sender<Notification>,
    rx: Mutex<Option<mpsc::Receiver<Notification>>>,
    agent: ureq::Agent,
    log: bool,
}

/// Sends alerts to the configured webhooks. Cheap to clone.
#[derive(Clone)]
pub struct Notifier {
    inner: Arc<NotifierInner>,
}

impl std::fmt::Debug for Notifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifier")
            .field("webhooks", &self.inner.webhooks)
            .finish_non_exhaustive()
    }
}

/// What one attempt came to.
enum Attempt {
    Delivered,
    /// Worth another try, after at least this long (a 429's `Retry-After`).
    Retry(Option<Duration>, String),
    /// Not worth another try.
    GiveUp(String),
}

impl Notifier {
    pub fn new(
        webhooks: Vec<Webhook>,
        public_url: &str,
        policy: RetryPolicy,
        log: bool,
    ) -> Notifier {
        let (tx, rx) = mpsc::channel(NOTIFY_QUEUE);
        // Timeouts are per webhook (set on each request); the agent's own is a backstop.
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(120)))
            .user_agent(concat!("palisade/", env!("CARGO_PKG_VERSION")))
            .build();
        Notifier {
            inner: Arc::new(NotifierInner {
                webhooks,
                public_url: public_url.to_string(),
                policy,
                counters: NotifyCounters::default(),
                tx,
                rx: Mutex::new(Some(rx)),
                agent: ureq::Agent::new_with_config(config),
                log,
            }),
        }
    }

    pub fn counters(&self) -> &NotifyCounters {
        &self.inner.counters
    }

    pub fn webhooks(&self) -> &[Webhook] {
        &self.inner.webhooks
    }

    /// Queues an alert for the webhooks whose `min_level` it reaches; never waits. A full
    /// queue drops it (counted per webhook as `dropped`).
    pub fn enqueue(&self, n: Notification) {
        let wanted: Vec<&Webhook> = self
            .inner
            .webhooks
            .iter()
            .filter(|w| n.alert.level >= w.min_level)
            .collect();
        if wanted.is_empty() {
            return;
        }
        let names: Vec<String> = wanted.iter().map(|w| w.name.clone()).collect();
        if self.inner.tx.try_send(n).is_err() {
            self.inner
                .counters
                .queue_full
                .fetch_add(1, Ordering::Relaxed);
            for name in names {
                self.inner.counters.result(&name, "dropped");
            }
        }
    }

    /// Starts the delivery task (once; later calls give `None`). When `stop` turns true it
    /// takes what is queued, delivers it and waits for every delivery in flight; the handle
    /// finishes then (the caller bounds the wait).
    pub fn spawn(&self, mut stop: watch::Receiver<bool>) -> Option<tokio::task::JoinHandle<()>> {
        let rx = self.inner.rx.lock().ok().and_then(|mut r| r.take());
        let mut rx = rx?;
        let inner = Arc::clone(&self.inner);
        Some(tokio::spawn(async move {
            let slots = Arc::new(Semaphore::new(CONCURRENT_DELIVERIES));
            loop {
                let n = tokio::select! {
                    n = rx.recv() => match n { Some(n) => n, None => break },
                    _ = crate::serving::stopped(&mut stop) => break,
                };
                dispatch(&inner, &slots, n).await;
            }
            // Stopping: what is queued goes out too, then every delivery is waited for (each
            // holds a slot until it ends).
            while let Ok(n) = rx.try_recv() {
                dispatch(&inner, &slots, n).await;
            }
            let _ = slots.acquire_many(CONCURRENT_DELIVERIES as u32).await;
        }))
    }

    /// Delivers one notification to one webhook now, with the retries; `true` when it was
    /// accepted. (The delivery task calls the same.)
    pub async fn deliver_now(&self, webhook: usize, n: &Notification) -> bool {
        deliver(&self.inner, webhook, n).await
    }
}

/// Starts one delivery per webhook that wants `n`, each once a slot is free (waiting for it:
/// the queue behind stays bounded).
async fn dispatch(inner: &Arc<NotifierInner>, slots: &Arc<Semaphore>, n: Notification) {
    for (i, w) in inner.webhooks.iter().enumerate() {
        if n.alert.level < w.min_level {
            continue;
        }
        let Ok(permit) = Arc::clone(slots).acquire_owned().await else {
            return;
        };
        let (inner, n) = (Arc::clone(inner), n.clone());
        tokio::spawn(async move {
            let _permit = permit;
            deliver(&inner, i, &n).await;
        });
    }
}

async fn deliver(inner: &NotifierInner, index: usize, n: &Notification) -> bool {
    let Some(w) = inner.webhooks.get(index) else {
        return false;
    };
    let body = match w.format {
        WebhookFormat::Json => json_body(n, &inner.public_url),
        WebhookFormat::Slack => slack_body(n, &inner.public_url),
    }
    .to_string();
    let mut last = String::new();
    for attempt in 1..=inner.policy.attempts.max(1) {
        inner.counters.attempt(&w.name);
        match post(inner.agent.clone(), w.clone(), body.clone()).await {
            Attempt::Delivered => {
                inner.counters.result(&w.name, "delivered");
                return true;
            }
            Attempt::GiveUp(why) => {
                last = why;
                break;
            }
            Attempt::Retry(after, why) => {
                last = why;
                if attempt == inner.policy.attempts {
                    break;
                }
                let wait = after
                    .map(|a| a.min(MAX_RETRY_AFTER))
                    .unwrap_or_else(|| inner.policy.backoff(attempt));
                tokio::time::sleep(wait).await;
            }
        }
    }
    inner.counters.result(&w.name, "failed");
    if inner.log {
        eprintln!(
            "palisade serve: alert {} not delivered to webhook {} ({}): {last}",
            n.alert.id,
            w.name,
            host_of(&w.url)
        );
    }
    false
}

/// One POST, on the blocking pool (ureq is blocking).
async fn post(agent: ureq::Agent, w: Webhook, body: String) -> Attempt {
    let joined = tokio::task::spawn_blocking(move || {
        let mut req = agent
            .post(&w.url)
            .config()
            .timeout_global(Some(w.timeout))
            .build()
            .header("Content-Type", "application/json");
        for (k, v) in &w.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        match req.send(body.as_bytes()) {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                let retry_after = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs);
                // Read (a bounded amount of) the answer so the connection can be reused.
                let _ = resp
                    .body_mut()
                    .with_config()
                    .limit(MAX_ANSWER)
                    .read_to_vec();
                match status {
                    200..=299 => Attempt::Delivered,
                    429 => Attempt::Retry(retry_after, format!("HTTP {status}")),
                    408 | 500..=599 => Attempt::Retry(None, format!("HTTP {status}")),
                    _ => Attempt::GiveUp(format!("HTTP {status}")),
                }
            }
            // ureq's errors name the URL for some kinds; keep only the kind.
            Err(e) => Attempt::Retry(None, error_kind(&e)),
        }
    })
    .await;
    joined.unwrap_or_else(|_| Attempt::GiveUp("the delivery task failed".into()))
}

fn error_kind(e: &ureq::Error) -> String {
    match e {
        ureq::Error::Timeout(_) => "timed out".into(),
        ureq::Error::Io(io) => format!("connection failed ({:?})", io.kind()),
        ureq::Error::ConnectionFailed => "connection failed".into(),
        ureq::Error::HostNotFound => "host not found".into(),
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => "TLS failed".into(),
        _ => "request failed".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use palisade_store::AlertState;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn alert() -> Alert {
        Alert {
            id: 42,
            rule_id: "8f2b-exec".into(),
            rule_title: "Exec into a pod".into(),
            level: AlertLevel::High,
            tags: vec![
                "attack.execution".into(),
                "attack.t1609".into(),
                "attack.t1552.007".into(),
            ],
            entities: [
                (
                    "user".to_string(),
                    "<!channel> & <http://evil|x>".to_string(),
                ),
                ("namespace".to_string(), "shop".to_string()),
            ]
            .into_iter()
            .collect(),
            dedup_key: "ab".repeat(32),
            correlation: false,
            state: AlertState::New,
            state_reason: None,
            state_by: None,
            state_at: None,
            count: 1,
            first_seen: 1_700_000_000_000,
            last_seen: 1_700_000_000_000,
            event_count: 1,
        }
    }

    #[test]
    fn settings_are_checked_without_leaking_secrets() {
        let t: toml::Value = toml::from_str(
            "dedup_window = \"5m\"\nqueue = 50\n[[webhook]]\nurl = \"https://hooks.slack.com/services/T1/B2/SECRET\"\nformat = \"slack\"\nmin_level = \"high\"\nheaders = { Authorization = \"Bearer TOPSECRET\" }\n[[webhook]]\nname = \"siem\"\nurl = \"http://127.0.0.1:9/x\"\ntimeout = \"3s\"\n",
        )
        .unwrap();
        let s = AlertSettings::from_table(Some(&t)).unwrap();
        assert_eq!(s.dedup_window, Duration::from_secs(300));
        assert_eq!(s.queue, 50);
        assert_eq!(s.webhooks.len(), 2);
        assert_eq!(s.webhooks[0].name, "webhook-1");
        assert_eq!(s.webhooks[0].format, WebhookFormat::Slack);
        assert_eq!(s.webhooks[0].min_level, AlertLevel::High);
        assert_eq!(s.webhooks[1].format, WebhookFormat::Json);
        assert_eq!(s.webhooks[1].min_level, AlertLevel::Medium);
        assert_eq!(s.webhooks[1].timeout, Duration::from_secs(3));
        let debug = format!("{s:?}");
        assert!(!debug.contains("SECRET"), "{debug}");
        assert!(debug.contains("hooks.slack.com"), "{debug}");
        assert!(AlertSettings::from_table(None).unwrap().webhooks.is_empty());

        for (bad, expect) in [
            (
                "[[webhook]]\nurl = \"http://hooks.example.com/SECRET\"\n",
                "https://",
            ),
            (
                "[[webhook]]\nurl = \"https://h/SECRET\"\nformat = \"xml\"\n",
                "format",
            ),
            (
                "[[webhook]]\nurl = \"https://h/SECRET\"\nmin_level = \"urgent\"\n",
                "min_level",
            ),
            (
                "[[webhook]]\nurl = \"https://h/SECRET\"\ntimeout = \"5m\"\n",
                "timeout",
            ),
            (
                "[[webhook]]\nurl = \"https://h/SECRET\"\nheaders = { \"Bad Name\" = \"SECRET\" }\n",
                "headers",
            ),
            (
                "[[webhook]]\nurl = \"https://h/SECRET\"\nport = 1\n",
                "unknown field",
            ),
            ("dedup_window = \"15 minutes\"\n", "dedup_window"),
            (
                "[[webhook]]\nname = \"a\"\nurl = \"https://h/1\"\n[[webhook]]\nname = \"a\"\nurl = \"https://h/2\"\n",
                "another webhook",
            ),
        ] {
            let t: toml::Value = toml::from_str(bad).unwrap();
            let e = AlertSettings::from_table(Some(&t)).unwrap_err();
            assert!(e.contains(expect), "{bad}: {e}");
            assert!(!e.contains("SECRET"), "{bad}: {e}");
        }
        let t: toml::Value = toml::from_str(
            "[[webhook]]\nurl = \"http://hooks.example.com/x\"\nallow_insecure_http = true\n",
        )
        .unwrap();
        assert!(AlertSettings::from_table(Some(&t)).is_ok());
    }

    #[test]
    fn the_alerts_table_of_the_settings_file() {
        use crate::platform::config::{ConfigFile, Overrides, Settings};
        let f = ConfigFile::parse(
            "[server]\nlisten = \"127.0.0.1:1\"\n[alerts]\ndedup_window = \"2m\"\n[[alerts.webhook]]\nurl = \"https://h.example/x\"\nformat = \"slack\"\n",
        )
        .unwrap();
        let s = Settings::resolve(Some((f, "p.toml".into())), Overrides::default(), None).unwrap();
        assert_eq!(s.alerts.dedup_window, Duration::from_secs(120));
        assert_eq!(s.alerts.webhooks.len(), 1);
        assert_eq!(s.alerts.webhooks[0].format, WebhookFormat::Slack);
        let none = Settings::resolve(None, Overrides::default(), None).unwrap();
        assert_eq!(none.alerts.dedup_window, DEFAULT_DEDUP_WINDOW);
        assert!(none.alerts.webhooks.is_empty());
        let f = ConfigFile::parse("[alerts]\ndedup_window = \"soon\"\n").unwrap();
        let e = Settings::resolve(Some((f, "p.toml".into())), Overrides::default(), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("p.toml: [alerts] dedup_window = \"soon\""),
            "{e}"
        );
    }

    #[test]
    fn bodies_and_backoff() {
        let n = Notification {
            kind: NotificationKind::Raised,
            alert: alert(),
        };
        let j = json_body(&n, "https://pal.example.com/");
        assert_eq!(j["id"], 42);
        assert_eq!(j["rule_id"], "8f2b-exec");
        assert_eq!(j["level"], "high");
        assert_eq!(j["state"], "new");
        assert_eq!(j["entities"]["namespace"], "shop");
        assert_eq!(j["url"], "https://pal.example.com/alerts/42");
        assert_eq!(j["notification"], "raised");

        let s = slack_body(&n, "https://pal.example.com");
        let text = s["text"].as_str().unwrap();
        assert!(
            text.starts_with("New alert [HIGH] Exec into a pod: "),
            "{text}"
        );
        let blocks = s["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["type"], "header");
        assert_eq!(blocks[0]["text"]["text"], "HIGH: Exec into a pod");
        let fields = blocks[1]["fields"].to_string();
        // Entity values cannot make mentions or links.
        assert!(
            fields.contains("&lt;!channel&gt; &amp; &lt;http://evil|x&gt;"),
            "{fields}"
        );
        assert!(!fields.contains("<!channel>"), "{fields}");
        assert!(
            !text.contains("<!channel>") && !text.contains("<http://evil"),
            "{text}"
        );
        let context = blocks[2]["elements"][0]["text"].as_str().unwrap();
        assert!(
            context.contains("<https://attack.mitre.org/techniques/T1609/|T1609>")
                && context.contains("<https://attack.mitre.org/techniques/T1552/007/|T1552.007>"),
            "{context}"
        );
        assert_eq!(
            blocks[3]["elements"][0]["url"],
            "https://pal.example.com/alerts/42"
        );

        assert_eq!(
            attack_techniques(&[
                "attack.t1609".into(),
                "attack.execution".into(),
                "attack.g0001".into(),
                "cve.2021".into()
            ]),
            ["T1609"]
        );
        let p = RetryPolicy::default();
        let waits: Vec<u128> = (1..=6).map(|n| p.backoff(n).as_millis()).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 8000, 8000]);
        assert_eq!(p.attempts, 5);
    }

    /// A webhook receiver: answers the first `fail` requests with `status` (and
    /// `extra_headers`), then 200. Returns its URL and the requests (head, body) it got.
    async fn receiver(
        fail: usize,
        status: u16,
        extra_headers: &'static str,
    ) -> (String, Arc<Mutex<Vec<(String, String)>>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://127.0.0.1:{}/hook/SECRET",
            listener.local_addr().unwrap().port()
        );
        let seen: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
        let log = Arc::clone(&seen);
        tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let log = Arc::clone(&log);
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    // Head, then Content-Length bytes of body.
                    let (head, body) = loop {
                        let n = sock.read(&mut chunk).await.unwrap_or(0);
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        let text = String::from_utf8_lossy(&buf).to_string();
                        if let Some(end) = text.find("\r\n\r\n") {
                            let head = text[..end].to_string();
                            let len: usize = head
                                .lines()
                                .find_map(|l| {
                                    let (k, v) = l.split_once(':')?;
                                    k.eq_ignore_ascii_case("content-length")
                                        .then(|| v.trim().parse().ok())?
                                })
                                .unwrap_or(0);
                            if buf.len() >= end + 4 + len {
                                let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len])
                                    .to_string();
                                break (head, body);
                            }
                        }
                    };
                    let n = {
                        let mut l = log.lock().unwrap();
                        l.push((head, body));
                        l.len()
                    };
                    let answer = if n <= fail {
                        format!(
                            "HTTP/1.1 {status} Oops\r\ncontent-length: 0\r\nconnection: close\r\n{extra_headers}\r\n"
                        )
                    } else {
                        "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok"
                            .to_string()
                    };
                    let _ = sock.write_all(answer.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        (url, seen)
    }

    fn hook(name: &str, url: &str, format: WebhookFormat) -> Webhook {
        Webhook {
            name: name.into(),
            url: url.into(),
            format,
            min_level: AlertLevel::Medium,
            headers: vec![("X-Token".into(), "s3cr3t".into())],
            timeout: Duration::from_secs(5),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn retries_until_accepted_in_both_formats() {
        let (json_url, json_seen) = receiver(2, 500, "").await;
        let (slack_url, slack_seen) = receiver(2, 500, "").await;
        let notifier = Notifier::new(
            vec![
                hook("generic", &json_url, WebhookFormat::Json),
                hook("chat", &slack_url, WebhookFormat::Slack),
            ],
            "https://pal.example.com",
            RetryPolicy::default(),
            false,
        );
        let n = Notification {
            kind: NotificationKind::Raised,
            alert: alert(),
        };
        let started = std::time::Instant::now();
        let (a, b) = tokio::join!(notifier.deliver_now(0, &n), notifier.deliver_now(1, &n));
        assert!(a && b);
        // Two failures: waits of 0.5 s and 1 s before the third attempt.
        assert!(
            started.elapsed() >= Duration::from_millis(1500),
            "{:?}",
            started.elapsed()
        );

        for (seen, name) in [(&json_seen, "generic"), (&slack_seen, "chat")] {
            let seen = seen.lock().unwrap();
            assert_eq!(seen.len(), 3, "{name}: three attempts");
            // Every attempt carries the same body and the configured header.
            assert!(seen.iter().all(|(_, b)| *b == seen[0].1));
            let head = seen[0].0.to_ascii_lowercase();
            assert!(head.starts_with("post /hook/secret http/1.1"), "{head}");
            assert!(head.contains("content-type: application/json"), "{head}");
            assert!(head.contains("x-token: s3cr3t"), "{head}");
            assert_eq!(notifier.counters().attempts(name), 3);
            assert_eq!(notifier.counters().count(name, "delivered"), 1);
            assert_eq!(notifier.counters().count(name, "failed"), 0);
        }
        let j: Value = serde_json::from_str(&json_seen.lock().unwrap()[0].1).unwrap();
        assert_eq!(j, json_body(&n, "https://pal.example.com"));
        assert_eq!(j["rule_title"], "Exec into a pod");
        assert_eq!(j["url"], "https://pal.example.com/alerts/42");
        let s: Value = serde_json::from_str(&slack_seen.lock().unwrap()[0].1).unwrap();
        assert!(s["text"].as_str().unwrap().contains("Exec into a pod"));
        assert_eq!(s["blocks"][0]["type"], "header");
        assert_eq!(
            s["blocks"].as_array().unwrap().last().unwrap()["elements"][0]["url"],
            "https://pal.example.com/alerts/42"
        );
        let mut metrics = String::new();
        notifier.counters().render(&mut metrics);
        assert!(
            metrics.contains(
                "palisade_alert_notifications_total{webhook=\"chat\",result=\"delivered\"} 1\n"
            ),
            "{metrics}"
        );
        assert!(
            metrics.contains("palisade_alert_notification_attempts_total{webhook=\"generic\"} 3\n"),
            "{metrics}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stopping_delivers_what_is_queued_and_in_flight() {
        // The receiver fails twice: the first notifications are still being retried (0.5 s,
        // then 1 s) when the stop comes; with more than the 8 deliveries that run at once,
        // the rest are still queued.
        let (url, seen) = receiver(2, 503, "").await;
        let notifier = Notifier::new(
            vec![hook("generic", &url, WebhookFormat::Json)],
            "https://pal.example.com",
            RetryPolicy::default(),
            false,
        );
        let (stop, stop_rx) = watch::channel(false);
        let task = notifier
            .spawn(stop_rx)
            .expect("the first spawn starts the task");
        assert!(notifier.spawn(watch::channel(false).1).is_none());
        for id in 42..54 {
            let mut a = alert();
            a.id = id;
            notifier.enqueue(Notification {
                kind: NotificationKind::Raised,
                alert: a,
            });
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(20), task)
            .await
            .expect("the task ends once all are delivered")
            .unwrap();
        assert_eq!(notifier.counters().count("generic", "delivered"), 12);
        let ids: std::collections::BTreeSet<i64> = seen
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(_, b)| serde_json::from_str::<Value>(b).ok()?["id"].as_i64())
            .collect();
        assert_eq!(ids, (42..54).collect());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn gives_up_on_4xx_and_after_the_last_attempt_and_honours_retry_after() {
        let quick = RetryPolicy {
            attempts: 3,
            first_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(20),
        };
        let n = Notification {
            kind: NotificationKind::Count,
            alert: alert(),
        };
        // 404: not retried.
        let (url, seen) = receiver(usize::MAX, 404, "").await;
        let notifier = Notifier::new(
            vec![hook("gone", &url, WebhookFormat::Json)],
            "http://x",
            quick,
            false,
        );
        assert!(!notifier.deliver_now(0, &n).await);
        assert_eq!(seen.lock().unwrap().len(), 1);
        assert_eq!(notifier.counters().count("gone", "failed"), 1);
        // Always 503: exactly `attempts` tries, then failed.
        let (url, seen) = receiver(usize::MAX, 503, "").await;
        let notifier = Notifier::new(
            vec![hook("down", &url, WebhookFormat::Json)],
            "http://x",
            quick,
            false,
        );
        assert!(!notifier.deliver_now(0, &n).await);
        assert_eq!(seen.lock().unwrap().len(), 3);
        // 429 with Retry-After: 1 waits a second although the backoff says 10 ms.
        let (url, seen) = receiver(1, 429, "retry-after: 1\r\n").await;
        let notifier = Notifier::new(
            vec![hook("busy", &url, WebhookFormat::Json)],
            "http://x",
            quick,
            false,
        );
        let started = std::time::Instant::now();
        assert!(notifier.deliver_now(0, &n).await);
        assert!(
            started.elapsed() >= Duration::from_millis(950),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(seen.lock().unwrap().len(), 2);
        let body: Value = serde_json::from_str(&seen.lock().unwrap()[1].1).unwrap();
        assert_eq!(body["notification"], "count");
        // Nobody listening: connection errors are retried, then failed.
        let notifier = Notifier::new(
            vec![hook("nobody", "http://127.0.0.1:9/x", WebhookFormat::Json)],
            "http://x",
            quick,
            false,
        );
        assert!(!notifier.deliver_now(0, &n).await);
        assert_eq!(notifier.counters().attempts("nobody"), 3);
    }
}
