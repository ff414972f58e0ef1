//! Observability: Datadog, New Relic, Sentry, Grafana, Honeycomb, PagerDuty and Splunk.

use base64::Engine as _;
use palisade_core::{RuleMeta, Scanner, Severity};

use crate::rule::{Check, DEFAULT_WINDOW, SecretRule};

pub static RULES: &[&SecretRule] = &[
    &DATADOG_API_KEY,
    &DATADOG_APP_KEY,
    &NEW_RELIC_USER_KEY,
    &NEW_RELIC_INGEST_KEY,
    &SENTRY_ORG_TOKEN,
    &SENTRY_USER_TOKEN,
    &SENTRY_DSN_SECRET,
    &GRAFANA_SERVICE_ACCOUNT_TOKEN,
    &GRAFANA_CLOUD_TOKEN,
    &HONEYCOMB_INGEST_KEY,
    &PAGERDUTY_API_KEY,
    &SPLUNK_HEC_TOKEN,
];

const fn meta(
    id: &'static str,
    title: &'static str,
    severity: Severity,
    fix: &'static str,
    doc: &'static str,
) -> RuleMeta {
    RuleMeta {
        id,
        title,
        severity,
        scanner: Scanner::Secret,
        kinds: &["file"],
        controls: &[],
        fix,
        doc,
    }
}

pub static DATADOG_API_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-137",
        "Datadog API key",
        Severity::High,
        "Revoke the key in Datadog (Organization Settings → API Keys), create a new one and deliver it through a Kubernetes secret or secret manager.",
        crate::secret_doc!(
            "Finds Datadog API keys: 32 hexadecimal characters where the context says they are Datadog's:\nthe `DD-API-KEY` header, a variable such as `DD_API_KEY` or `datadog_api_key`, or `apiKey:` in a\n`datadog:` block of Helm values. Other 32-character hexadecimal values (hashes, IDs) are not\nreported.",
            "An API key submits metrics, logs, traces and events to the organization, so an attacker can\nflood it (and the bill), forge monitoring data that hides an incident or triggers false\nalerts. With an application key it also reads everything in the account.",
            "```yaml\ndatadog:\n  site: datadoghq.eu\n  apiKey: 2f9b0c4e8a1d7f3b6c5e0a9d4b8f1c7e\n```",
            "```yaml\ndatadog:\n  site: datadoghq.eu\n  apiKeyExistingSecret: datadog-secret   # created from the secret manager\n```\nRevoke and rotate: in Datadog open *Organization Settings → API Keys*, create a new key, roll it\nout to the agents, then *Revoke* the leaked key (agents still using it stop reporting).\nCheck the key's *Last used* information and the Audit Trail.",
            "- [Datadog: API and application keys](https://docs.datadoghq.com/account_management/api-app-keys/)\n- [Datadog Helm chart: apiKeyExistingSecret](https://github.com/DataDog/helm-charts/tree/main/charts/datadog)",
        ),
    ),
    keywords: &[
        "datadog",
        "dd_api_key",
        "dd-api-key",
        "ddapikey",
        "dd.api.key",
    ],
    pattern: r#"(?:(?:(?i:datadog)[\w.-]{0,20}?|(?:\b|_)(?i:dd)[_.-]?)(?i:api)[_.-]?(?i:key)|(?i:datadog)["']?\s*:[^\n]*\n(?:[^\n]*\n){0,10}?\s*(?i:api[_-]?key))["']?\s*[:=]\s*["']?(?P<secret>[0-9a-fA-F]{32})\b"#,
    min_entropy: Some(2.7),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static DATADOG_APP_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-138",
        "Datadog application key",
        Severity::High,
        "Revoke the application key in Datadog (Personal or Organization Settings → Application Keys) and issue a scoped replacement from a secret manager.",
        crate::secret_doc!(
            "Finds Datadog application keys: 40 hexadecimal characters where the context says they are\nDatadog's: the `DD-APPLICATION-KEY` header, a variable such as `DD_APP_KEY` or\n`datadog_application_key`, or `appKey:` in a `datadog:` block. Git commit hashes and other\n40-character values are not reported.",
            "With an API key, an application key reads and writes through the Datadog API with the\npermissions of the user or service account that owns it: every dashboard, log and trace\n(which often carry personal data and secrets), monitors, and for admins the organization's\nusers and keys.",
            "```bash\ncurl -H \"DD-API-KEY: ${DD_API_KEY}\" \\\n     -H 'DD-APPLICATION-KEY: 9c1d4e7a0b3f6c2d8e5a1f4b7c0d3e6a9b2c5d8e' \\\n     https://api.datadoghq.com/api/v1/dashboard\n```",
            "```bash\ncurl -H \"DD-API-KEY: ${DD_API_KEY}\" -H \"DD-APPLICATION-KEY: ${DD_APP_KEY}\" \\\n     https://api.datadoghq.com/api/v1/dashboard\n```\nRevoke and rotate: open *Personal Settings → Application Keys* (or *Organization Settings →\nApplication Keys* for service accounts), revoke the key, create a new one with scopes limited\nto what the tool needs, and review the Audit Trail for its use.",
            "- [Datadog: API and application keys](https://docs.datadoghq.com/account_management/api-app-keys/)\n- [Datadog: Scoped application keys](https://docs.datadoghq.com/account_management/api-app-keys/#scopes)",
        ),
    ),
    keywords: &[
        "datadog",
        "dd_app",
        "dd-app",
        "ddapp",
        "dd.app",
        "dd_application",
        "dd-application",
    ],
    pattern: r#"(?:(?:(?i:datadog)[\w.-]{0,20}?|(?:\b|_)(?i:dd)[_.-]?)(?i:app(?:lication)?)[_.-]?(?i:key)|(?i:datadog)["']?\s*:[^\n]*\n(?:[^\n]*\n){0,10}?\s*(?i:app(?:lication)?[_-]?key))["']?\s*[:=]\s*["']?(?P<secret>[0-9a-fA-F]{40})\b"#,
    min_entropy: Some(2.7),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static NEW_RELIC_USER_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-139",
        "New Relic user API key",
        Severity::High,
        "Delete the user key in New Relic (API keys UI) and create a new one kept in a secret manager.",
        crate::secret_doc!(
            "Finds New Relic user API keys: `NRAK-` followed by 27 uppercase letters and digits.",
            "A user key calls NerdGraph (GraphQL) and the REST API as its user, with the user's\npermissions in every account they can reach: query all telemetry (logs often contain personal\ndata and secrets), change alerts and dashboards, and for admins manage users and other keys.",
            "```hcl\nprovider \"newrelic\" {\n  account_id = 1234567\n  api_key    = \"NRAK-7Q2…M4P\"\n}\n```",
            "```hcl\nprovider \"newrelic\" {\n  account_id = 1234567\n  # api_key comes from NEW_RELIC_API_KEY in the environment\n}\n```\nRevoke and rotate: in New Relic open the user menu → *API keys*, find the key (the UI shows its\nlast characters) and *Delete*; create a replacement and review the account's NerdGraph audit\nevents (`NrAuditEvent`).",
            "- [New Relic: API keys](https://docs.newrelic.com/docs/apis/intro-apis/new-relic-api-keys/)",
        ),
    ),
    keywords: &["nrak-"],
    pattern: r"\b(?P<secret>NRAK-[0-9A-Z]{27})\b",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static NEW_RELIC_INGEST_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-140",
        "New Relic license or Insights key",
        Severity::Medium,
        "Rotate the license or Insights key in New Relic (API keys UI) and deliver it through a secret, not the repository.",
        crate::secret_doc!(
            "Finds New Relic ingest license keys (40 characters ending in `NRAL`, EU keys starting with\n`eu01xx`) and Insights insert and query keys (`NRII-` / `NRIQ-` followed by 32 characters).",
            "License and insert keys send data into the account: an attacker can inject fake telemetry,\nhide real errors among noise or run up ingest costs. Insights query keys read the account's\nevent data.",
            "```yaml\n# newrelic.yml\ncommon: &default_settings\n  license_key: 'eu01xx3c…e2NRAL'\n```",
            "```yaml\n# newrelic.yml: the agent reads NEW_RELIC_LICENSE_KEY from the environment\ncommon: &default_settings\n  app_name: checkout\n```\nRevoke and rotate: in the *API keys* UI create a new ingest license key (or Insights key),\nroll it out to the agents, then delete the leaked key; the original account license key can\nonly be rotated through New Relic support.",
            "- [New Relic: API keys](https://docs.newrelic.com/docs/apis/intro-apis/new-relic-api-keys/)\n- [New Relic: License key](https://docs.newrelic.com/docs/apis/intro-apis/new-relic-api-keys/#license-key)",
        ),
    ),
    keywords: &["nral", "nrii-", "nriq-"],
    pattern: r"\b(?P<secret>(?:eu01xx[0-9a-f]{30}|[0-9a-f]{36})NRAL|NRI[IQ]-[0-9A-Za-z_-]{32})(?:[^0-9A-Za-z_-]|$)",
    min_entropy: Some(2.7),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static SENTRY_ORG_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-141",
        "Sentry organization auth token",
        Severity::High,
        "Revoke the organization token in Sentry (Settings → Developer Settings → Organization Tokens) and keep its replacement in CI secrets.",
        crate::secret_doc!(
            "Finds Sentry organization auth tokens: `sntrys_`, a base64-encoded JSON payload (issue time,\nSentry URL, organization), `_`, and a 43-character secret. A payload that does not decode is\nnot reported.",
            "Organization tokens are made for CI: they upload source maps and debug files and create\nreleases. An attacker can replace source maps (to mislead debugging), create releases, and\nread the organization's project and release metadata.",
            "```bash\nexport SENTRY_AUTH_TOKEN=sntrys_eyJpYXQiOjE3…_Tq2…Xw\nsentry-cli sourcemaps upload ./dist\n```",
            "```yaml\n- run: sentry-cli sourcemaps upload ./dist\n  env:\n    SENTRY_AUTH_TOKEN: ${{ secrets.SENTRY_AUTH_TOKEN }}\n```\nRevoke and rotate: in Sentry open *Settings → Developer Settings → Organization Tokens*, revoke\nthe token and create a new one; update the CI secret.",
            "- [Sentry: Auth tokens](https://docs.sentry.io/account/auth-tokens/)",
        ),
    ),
    keywords: &["sntrys_"],
    pattern: r"\b(?P<secret>sntrys_eyJ[0-9A-Za-z+/]{20,1000}={0,2}_[0-9A-Za-z+/]{43})(?:[^0-9A-Za-z+/=_]|$)",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: Some(sentry_org_check),
    window: 1536,
};

/// The payload between `sntrys_` and the last `_` is base64 JSON with an `iat` field.
fn sentry_org_check(secret: &str) -> Check {
    let body = secret.trim_start_matches("sntrys_");
    let Some((payload, _)) = body.rsplit_once('_') else {
        return Check::Invalid;
    };
    match base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT.decode(payload) {
        Ok(json) if json.starts_with(b"{") && json.windows(5).any(|w| w == b"\"iat\"") => {
            Check::Valid
        }
        _ => Check::Invalid,
    }
}

pub static SENTRY_USER_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-142",
        "Sentry user auth token",
        Severity::High,
        "Revoke the personal token in Sentry (User Settings → Personal Tokens) and create a scoped replacement.",
        crate::secret_doc!(
            "Finds Sentry user (personal) auth tokens: `sntryu_` followed by 64 hexadecimal characters.",
            "A personal token acts as its user with the scopes it was given, across every organization\nthe user belongs to: read issues and events (stack traces, request data, user details),\nresolve or delete them, and with admin scopes manage projects and members.",
            "```ini\n# ~/.sentryclirc\n[auth]\ntoken=sntryu_8f2c…71ab\n```",
            "```ini\n# ~/.sentryclirc stays out of the repository; CI uses an organization token from its secrets\n[defaults]\norg=example\n```\nRevoke and rotate: *User Settings → Personal Tokens*, revoke the token and create a new one with\nthe smallest scopes; review the organization's audit log.",
            "- [Sentry: Auth tokens](https://docs.sentry.io/account/auth-tokens/)",
        ),
    ),
    keywords: &["sntryu_"],
    pattern: r"\b(?P<secret>sntryu_[0-9a-f]{64})\b",
    min_entropy: Some(2.7),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static SENTRY_DSN_SECRET: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-143",
        "Sentry DSN with secret key",
        Severity::Medium,
        "Regenerate the project's client key in Sentry (Project Settings → Client Keys) and use the DSN without the secret part.",
        crate::secret_doc!(
            "Finds legacy Sentry DSNs that still carry the secret key: `https://<public key>:<secret\nkey>@host/<project id>`. Current DSNs (`https://<public key>@host/<project id>`) are meant to\nbe public and are not reported.",
            "The secret key authenticated server-side event submission in old SDKs. Anyone holding it can\nsubmit events to the project as a trusted server, filling it with forged errors or using up\nthe quota; it also marks configuration that was copied without review.",
            "```python\nsentry_sdk.init(\"https://9e1b…c0a4:5d7f…b21e@o123456.ingest.sentry.io/654321\")\n```",
            "```python\nsentry_sdk.init(os.environ[\"SENTRY_DSN\"])  # https://<public key>@o123456.ingest.sentry.io/654321\n```\nRevoke and rotate: in *Project Settings → Client Keys (DSN)* create a new key, deploy its DSN,\nthen disable and delete the old key.",
            "- [Sentry: Data Source Name (DSN)](https://docs.sentry.io/concepts/key-terms/dsn-explainer/)",
        ),
    ),
    keywords: &["sentry"],
    pattern: r"\bhttps?://[0-9a-f]{32}:(?P<secret>[0-9a-f]{32})@[0-9A-Za-z.-]+(?::[0-9]{1,5})?/(?:[0-9A-Za-z._-]+/)*[0-9]+\b",
    min_entropy: Some(2.7),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static GRAFANA_SERVICE_ACCOUNT_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-144",
        "Grafana service account token",
        Severity::High,
        "Delete the token on the service account's page in Grafana (Administration → Service accounts) and store a new one in a secret manager.",
        crate::secret_doc!(
            "Finds Grafana service account tokens: `glsa_`, 32 letters and digits, `_`, and an\n8-character CRC-32 checksum of the rest. A token whose checksum does not match is reported one\nseverity lower.",
            "The token calls the Grafana HTTP API with the service account's role (often Editor or Admin):\nit reads every dashboard and queries data sources with their stored credentials, and with\nAdmin changes users, data sources and alerting.",
            "```yaml\n# provisioning for a dashboard sync job\ngrafana_token: glsa_Hx2…Qp_1a2b3c4d\n```",
            "```yaml\ngrafana_token: ${GRAFANA_SERVICE_ACCOUNT_TOKEN}   # from the secret store\n```\nRevoke and rotate: in Grafana open *Administration → Users and access → Service accounts*, select\nthe account and delete the token (or disable the account), add a new token with an expiry, and\ncheck the audit and usage logs.",
            "- [Grafana: Service accounts](https://grafana.com/docs/grafana/latest/administration/service-accounts/)",
        ),
    ),
    keywords: &["glsa_"],
    pattern: r"\b(?P<secret>glsa_[0-9A-Za-z]{32}_[0-9a-f]{8})\b",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: Some(grafana_sa_check),
    window: DEFAULT_WINDOW,
};

/// Grafana's checksum: CRC-32 (IEEE) of `glsa_<secret>`, as 4 little-endian bytes in hex.
fn grafana_sa_check(secret: &str) -> Check {
    let Some((key, checksum)) = secret.rsplit_once('_') else {
        return Check::Invalid;
    };
    let crc = crc32fast::hash(key.as_bytes()).to_le_bytes();
    let expected: String = crc.iter().map(|b| format!("{b:02x}")).collect();
    if expected == checksum {
        Check::Valid
    } else {
        Check::ChecksumMismatch
    }
}

pub static GRAFANA_CLOUD_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-145",
        "Grafana Cloud access policy token",
        Severity::High,
        "Delete the token in the Grafana Cloud portal (Access Policies) and create a new one kept in a secret manager.",
        crate::secret_doc!(
            "Finds Grafana Cloud access policy tokens: `glc_` followed by a base64-encoded JSON document\n(organization, token name, key and region). A value that does not decode is not reported.",
            "An access policy token has the scopes of its policy across the stacks it covers: writing\nand reading metrics, logs and traces, and with admin scopes managing stacks, API keys and\naccess policies.",
            "```river\nprometheus.remote_write \"cloud\" {\n  endpoint {\n    basic_auth { username = \"123456\" password = \"glc_eyJvIjoi…fQ==\" }\n  }\n}\n```",
            "```river\nprometheus.remote_write \"cloud\" {\n  endpoint {\n    basic_auth { username = \"123456\" password = sys.env(\"GRAFANA_CLOUD_TOKEN\") }\n  }\n}\n```\nRevoke and rotate: in the Cloud portal open *Security → Access Policies*, find the token under\nits policy and *Delete* it, add a new token (with an expiry), deploy it, and review the usage\nof the stacks it covered.",
            "- [Grafana Cloud: Access policies and tokens](https://grafana.com/docs/grafana-cloud/account-management/authentication-and-permissions/access-policies/)",
        ),
    ),
    keywords: &["glc_"],
    pattern: r"\b(?P<secret>glc_eyJ[0-9A-Za-z+/]{29,1000}={0,2})",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: Some(grafana_cloud_check),
    window: 1536,
};

/// `glc_` is followed by base64 of a JSON object with at least the organization (`o`) and key
/// (`k`) fields.
fn grafana_cloud_check(secret: &str) -> Check {
    let body = secret.trim_start_matches("glc_");
    match base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT.decode(body) {
        Ok(json)
            if json.starts_with(b"{\"")
                && json.iter().all(|b| b.is_ascii_graphic() || *b == b' ')
                && json.windows(3).any(|w| w == b"\"k\"") =>
        {
            Check::Valid
        }
        _ => Check::Invalid,
    }
}

pub static HONEYCOMB_INGEST_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-146",
        "Honeycomb ingest key",
        Severity::Medium,
        "Disable and delete the ingest key in Honeycomb (Environment settings → API keys) and deliver its replacement through a secret.",
        crate::secret_doc!(
            "Finds Honeycomb ingest API keys: `hcaik_` (or `hcxik_` for Classic environments) followed by\n58 lowercase letters and digits.",
            "An ingest key sends events into the environment: an attacker can inject misleading traces,\nbury real errors or exhaust the event quota. Keys created with *Create datasets* can also add\ndatasets.",
            "```javascript\nconst sdk = new HoneycombWebSDK({ apiKey: 'hcaik_01h…k2', serviceName: 'web' });\n```",
            "```javascript\n// Browser telemetry goes through a collector that holds the key server-side\nconst sdk = new HoneycombWebSDK({ endpoint: 'https://otel.example.com', serviceName: 'web' });\n```\nRevoke and rotate: in Honeycomb open *Environment settings → API keys*, create a new ingest key,\ndeploy it, then disable and delete the leaked one.",
            "- [Honeycomb: API keys](https://docs.honeycomb.io/get-started/configure/environments/manage-api-keys/)",
        ),
    ),
    keywords: &["hcaik_", "hcxik_"],
    pattern: r"\b(?P<secret>hc[ax]ik_[0-9a-z]{58})\b",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static PAGERDUTY_API_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-147",
        "PagerDuty API key",
        Severity::High,
        "Delete the API key in PagerDuty (Integrations → API Access Keys, or the user's token) and create a new one kept in a secret manager.",
        crate::secret_doc!(
            "Finds PagerDuty REST API keys (20 characters; user tokens start with `u+`) in a\n`Token token=` authorization header or assigned to a name such as `PAGERDUTY_API_KEY`. The key\nused in PagerDuty's own API documentation is ignored.",
            "A general access key reads every incident, service, schedule and user in the account\n(on-call phone numbers included) and, unless read-only, can resolve incidents, change\nescalations and silence alerting during an attack.",
            "```bash\ncurl -H 'Authorization: Token token=u+Q3x…8Zk' https://api.pagerduty.com/incidents\n```",
            "```bash\ncurl -H \"Authorization: Token token=${PAGERDUTY_API_KEY}\" https://api.pagerduty.com/incidents\n```\nRevoke and rotate: account keys are under *Integrations → API Access Keys* (delete the key and\ncreate a new, preferably read-only one); user tokens under *My Profile → User Settings → API\nAccess*. Review the account's audit records for changes.",
            "- [PagerDuty: API access keys](https://support.pagerduty.com/main/docs/api-access-keys)\n- [PagerDuty REST API: Authentication](https://developer.pagerduty.com/docs/rest-api-v2/authentication/)",
        ),
    ),
    keywords: &["pagerduty", "token token="],
    pattern: r#"(?:(?i:pagerduty)[\w.-]{0,30}?(?i:token|key)["']?\s*[:=]\s*["']?|Token token=)(?P<secret>u\+[0-9A-Za-z_-]{18}|[0-9A-Za-z_+-]{20})(?:[^0-9A-Za-z_+-]|$)"#,
    min_entropy: Some(3.0),
    path: None,
    allow: &["y_NbAkKc66ryYTWUXYEu"],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static SPLUNK_HEC_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-148",
        "Splunk HTTP Event Collector token",
        Severity::Medium,
        "Disable the token in Splunk (Settings → Data inputs → HTTP Event Collector), create a new one and deliver it through a secret.",
        crate::secret_doc!(
            "Finds Splunk HTTP Event Collector tokens (GUIDs) in an `Authorization: Splunk <token>`\nheader or assigned to a name such as `SPLUNK_HEC_TOKEN` or `hec_token`.",
            "A HEC token writes events into the indexes it allows: an attacker can forge log entries\n(covering tracks or raising false alarms) or flood the license quota.",
            "```bash\ncurl https://splunk.example.com:8088/services/collector/event \\\n  -H 'Authorization: Splunk B5A79AAD-D822-46CC-80D1-819F80D7BFB0' -d '{\"event\": \"hello\"}'\n```",
            "```bash\ncurl https://splunk.example.com:8088/services/collector/event \\\n  -H \"Authorization: Splunk ${SPLUNK_HEC_TOKEN}\" -d '{\"event\": \"hello\"}'\n```\nRevoke and rotate: in Splunk Web open *Settings → Data inputs → HTTP Event Collector*, create a\nnew token for the same indexes, deploy it, then disable and delete the leaked one (or use the\n`/services/data/inputs/http` REST endpoint).",
            "- [Splunk: Set up and use HTTP Event Collector](https://docs.splunk.com/Documentation/Splunk/latest/Data/UsetheHTTPEventCollector)",
        ),
    ),
    keywords: &["splunk", "hec_token", "hec-token", "hectoken"],
    pattern: r#"(?:\bSplunk\s+|(?i:splunk|hec)[\w.-]{0,20}?(?i:token)["']?\s*[:=]\s*["']?)(?P<secret>[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})\b"#,
    min_entropy: Some(3.0),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

#[cfg(test)]
pub(crate) fn samples(rng: &mut crate::testing::Rng) -> Vec<crate::testing::Sample> {
    use crate::testing::Sample;
    let rng = &mut super::fresh::Fresh(rng);
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let glsa = {
        let key = format!("glsa_{}", rng.alnum(32));
        let crc = crc32fast::hash(key.as_bytes()).to_le_bytes();
        format!(
            "{key}_{}",
            crc.iter().map(|b| format!("{b:02x}")).collect::<String>()
        )
    };
    let sentry_payload = b64(&format!(
        "{{\"iat\": {}.{}, \"url\": \"https://sentry.io\", \"region_url\": \"https://us.sentry.io\", \"org\": \"{}\"}}",
        rng.digits(10),
        rng.digits(6),
        rng.lower_alnum(9)
    ));
    let glc_payload = b64(&format!(
        "{{\"o\":\"{}\",\"n\":\"stack-{}-integration-{}\",\"k\":\"{}\",\"m\":{{\"r\":\"prod-us-east-0\"}}}}",
        rng.digits(6),
        rng.digits(6),
        rng.lower_alnum(6),
        rng.alnum(24)
    ));
    vec![
        Sample {
            rule: "PAL-SEC-137",
            text: format!("DD_API_KEY={}\n", rng.hex(32)),
            near_misses: vec![
                "DD_API_KEY=<DATADOG_API_KEY>\n".into(),
                format!("{{\"datadog_monitor\": {{\"id\": \"{}\", \"type\": \"metric alert\"}}}}\n", rng.uuid()),
                format!("datadog-agent 7.52 built from {}\n", rng.hex(32)),
                format!("DD_API_KEY={}\n", rng.hex(31)),
            ],
        },
        Sample {
            rule: "PAL-SEC-137",
            text: format!("datadog:\n  site: datadoghq.eu\n  clusterName: prod\n  apiKey: {}\n", rng.hex(32)),
            near_misses: vec![format!("datadog:\n  site: datadoghq.eu\n  apiKeyExistingSecret: datadog-secret\n  checksum: {}\n", rng.hex(32))],
        },
        Sample {
            rule: "PAL-SEC-138",
            text: format!("  -H 'DD-APPLICATION-KEY: {}' \\\n", rng.hex(40)),
            near_misses: vec![
                "  -H \"DD-APPLICATION-KEY: ${DD_APP_KEY}\" \\\n".into(),
                format!("datadog-agent commit {}\n", rng.hex(40)),
                format!("DD_APP_KEY={}\n", rng.hex(32)),
            ],
        },
        Sample {
            rule: "PAL-SEC-139",
            text: format!("  api_key    = \"NRAK-{}\"\n", rng.upper_alnum(27)),
            near_misses: vec![
                "  api_key    = \"NRAK-XXXXXXXXXXXXXXXXXXXXXXXXXXX\"\n".into(),
                format!("  api_key    = \"NRAK-{}\"\n", rng.upper_alnum(12)),
            ],
        },
        Sample {
            rule: "PAL-SEC-140",
            text: format!("  license_key: '{}NRAL'\n", rng.hex(36)),
            near_misses: vec![
                "  license_key: '<%= ENV[\"NEW_RELIC_LICENSE_KEY\"] %>'\n".into(),
                format!("  license_key: '{}NRAL'\n", rng.hex(20)),
                "The general ledger (NRAL-style accounts) is closed.\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-140",
            text: format!("NEW_RELIC_LICENSE_KEY=eu01xx{}NRAL\nNEW_RELIC_INSERT_KEY=NRII-{}\n", rng.hex(30), rng.base64url(32)),
            near_misses: vec![],
        },
        Sample {
            rule: "PAL-SEC-141",
            text: format!("SENTRY_AUTH_TOKEN=sntrys_{sentry_payload}_{}\n", rng.base64(43)),
            near_misses: vec![
                "SENTRY_AUTH_TOKEN=sntrys_YOUR_TOKEN_HERE\n".into(),
                format!("SENTRY_AUTH_TOKEN=sntrys_eyJ{}_{}\n", rng.alnum(60), rng.base64(43)),
            ],
        },
        Sample {
            rule: "PAL-SEC-142",
            text: format!("[auth]\ntoken=sntryu_{}\n", rng.hex(64)),
            near_misses: vec![
                "[auth]\ntoken=sntryu_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n".into(),
                format!("[auth]\ntoken=sntryu_{}\n", rng.hex(40)),
            ],
        },
        Sample {
            rule: "PAL-SEC-143",
            text: format!("SENTRY_DSN=https://{}:{}@o{}.ingest.sentry.io/{}\n", rng.hex(32), rng.hex(32), rng.digits(6), rng.digits(7)),
            near_misses: vec![
                format!("SENTRY_DSN=https://{}@o{}.ingest.sentry.io/{}\n", rng.hex(32), rng.digits(6), rng.digits(7)),
                "SENTRY_DSN=https://<key>:<secret>@sentry.example.com/1\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-144",
            text: format!("grafana_token: {glsa}\n"),
            near_misses: vec![
                "grafana_token: glsa_...\n".into(),
                format!("grafana_token: glsa_{}\n", rng.alnum(32)),
            ],
        },
        Sample {
            rule: "PAL-SEC-144",
            // A wrong checksum is still reported (one severity lower).
            text: format!("GF_TOKEN={}_{}\n", &glsa[..37], if glsa.ends_with("00000000") { "11111111" } else { "00000000" }),
            near_misses: vec![],
        },
        Sample {
            rule: "PAL-SEC-145",
            text: format!("  password = \"glc_{glc_payload}\"\n"),
            near_misses: vec![
                "  password = \"glc_eyJ...\"\n".into(),
                format!("  password = \"glc_eyJ{}\"\n", rng.alnum(80)),
            ],
        },
        Sample {
            rule: "PAL-SEC-146",
            text: format!("export HONEYCOMB_API_KEY=\"hcaik_01{}\"\n", rng.lower_alnum(56)),
            near_misses: vec![
                "export HONEYCOMB_API_KEY=\"hcaik_01krcjhcvkmt4q...\"\n".into(),
                format!("export HONEYCOMB_API_KEY=\"hcaik_{}\"\n", rng.lower_alnum(30)),
            ],
        },
        Sample {
            rule: "PAL-SEC-147",
            text: format!("curl -H 'Authorization: Token token=u+{}' https://api.pagerduty.com/users\n", rng.base64url(18)),
            near_misses: vec![
                "curl -H 'Authorization: Token token=y_NbAkKc66ryYTWUXYEu' https://api.pagerduty.com/users\n".into(),
                format!("PAGERDUTY_ROUTING_KEY={}\n", rng.hex(32)),
                "PAGERDUTY_API_KEY=${PAGERDUTY_API_KEY}\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-147",
            text: format!("PAGERDUTY_API_KEY={}\n", rng.base64url(20)),
            near_misses: vec![],
        },
        Sample {
            rule: "PAL-SEC-148",
            text: format!("  -H 'Authorization: Splunk {}' \\\n", rng.uuid().to_ascii_uppercase()),
            near_misses: vec![
                "  -H 'Authorization: Splunk $SPLUNK_HEC_TOKEN' \\\n".into(),
                format!("{{\"splunk_search_id\": \"{}\", \"status\": \"done\"}}\n", rng.uuid()),
                format!("splunk_hec_token: {}\n", rng.hex(32)),
            ],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grafana_checksum_follows_grafana() {
        // Built the way Grafana's satokengen does: CRC-32 of "glsa_<secret>", little-endian hex.
        let key = "glsa_Q8r2LmXv0Tb7NcKq8Zr2LmXv0Tb7NcKq";
        let crc = crc32fast::hash(key.as_bytes()).to_le_bytes();
        let token = format!(
            "{key}_{:02x}{:02x}{:02x}{:02x}",
            crc[0], crc[1], crc[2], crc[3]
        );
        assert_eq!(grafana_sa_check(&token), Check::Valid);
        assert_eq!(
            grafana_sa_check(&format!("{key}_00000000")),
            Check::ChecksumMismatch
        );
    }

    #[test]
    fn sentry_org_token_payload_must_decode() {
        let payload = base64::engine::general_purpose::STANDARD
            .encode(r#"{"iat": 1700000000.5, "url": "https://sentry.io", "region_url": "https://us.sentry.io", "org": "acme"}"#);
        let secret = "Q8r2LmXv0Tb7NcKq8Zr2LmXv0Tb7NcKq8Zr2LmXv0Tb";
        assert_eq!(
            sentry_org_check(&format!("sntrys_{payload}_{secret}")),
            Check::Valid
        );
        assert_eq!(
            sentry_org_check(&format!("sntrys_eyJhbGciOi_{secret}")),
            Check::Invalid
        );
    }

    /// The rules that take a bare hexadecimal value or a UUID from its context must not report
    /// hashes and identifiers that merely sit next to a provider's name.
    #[test]
    fn hashes_and_ids_next_to_provider_names_are_not_reported() {
        let text = r#"
datadog-agent 7.52.0 (commit 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b)
{"datadog": {"monitor_id": "3b241101-e2bb-4255-8caf-4136c566a962", "org_id": "5e884898da28047151d0e56f8dc62927"}}
twilio==9.0.4 --hash=sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824
twilio message sid SM2cf24dba5fb0a30e26e83b2ac5b9e29e account AC5e884898da28047151d0e56f8dc62927
mailgun event id 7d793037-a076-4d6f-9c21-0b1c8a9e8e8e for domain 5e884898da28047151d0e56f8dc62927
{"postmark": {"MessageID": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d", "ErrorCode": 0}}
splunk search sid 6ba7b810-9dad-41d1-80b4-00c04fd430c8
cloudflare zone_id: 023e105f4ecef8ad9ca31a8372d0c353
cloudflare account_id = "372e67954025e0ba6aaa6d586b9e0b59"
algolia objectID 8c0a9dd1b6b84e0f9b42d9b0c6a1f3e2
pagerduty service PXXXXXX routing 2cf24dba5fb0a30e26e83b2ac5b9e29e
okta group 00g1a2b3c4d5e6f7g8h9 app 0oa1a2b3c4d5e6f7g8h9
mistral model mistral-large-2411 request 1f0e9d8c7b6a59483726150f4e3d2c1b
"#;
        let engine = crate::builtin();
        let mine: Vec<String> = engine
            .scan("notes.txt", text.as_bytes())
            .iter()
            .map(|h| engine.rules()[h.rule].meta.id)
            .filter(|id| ("PAL-SEC-090"..="PAL-SEC-159").contains(id))
            .map(str::to_string)
            .collect();
        assert!(mine.is_empty(), "{mine:?}");
    }
}
