//! `--upload URL --token T`: send a finished report to `palisade serve`
//! (`POST URL/api/v1/reports`), and say what the server made of it.
//!
//! The report is written first, as without `--upload`; an upload that fails is an error
//! (exit status 2) with the server's reason, but the report stays written.

use std::time::Duration;

use serde_json::Value;

use crate::cli::UploadArgs;
use crate::{Ctx, UserError};

/// The server's endpoint for reports.
pub const REPORTS_PATH: &str = "/api/v1/reports";
/// The most of an answer read.
const MAX_ANSWER: u64 = 1 << 20;

/// Media types of what can be uploaded (the server tells formats apart by content; the type
/// is for proxies and logs).
pub const JSON: &str = "application/json";
pub const SARIF: &str = "application/sarif+json";
pub const CYCLONEDX: &str = "application/vnd.cyclonedx+json";

/// Where and how to upload.
#[derive(Debug, Clone)]
pub struct Upload {
    /// The full endpoint URL.
    endpoint: String,
    token: String,
    /// `--asset`: the asset's identity, else what the report names.
    asset: Option<String>,
}

/// Checks the upload flags; `None` when there is nothing to upload.
pub fn prepare(args: &UploadArgs) -> Result<Option<Upload>, UserError> {
    let Some(url) = args
        .upload
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
    else {
        return Ok(None);
    };
    let Some(token) = args
        .token
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    else {
        return Err(UserError(
            "--upload needs an API token: pass --token or set PALISADE_TOKEN (create one in the console under Tokens)"
                .into(),
        ));
    };
    let base = url.trim_end_matches('/');
    let rest = base
        .strip_prefix("https://")
        .or_else(|| base.strip_prefix("http://"));
    if rest.is_none_or(|r| r.is_empty() || r.contains(['?', '#', ' '])) {
        return Err(UserError(format!(
            "--upload {url:?}: expected the server's http:// or https:// address, e.g. https://palisade.example.com"
        )));
    }
    if let Some(rest) = base.strip_prefix("http://")
        && !args.insecure_upload
        && !is_loopback(rest)
    {
        return Err(UserError(format!(
            "--upload {url:?}: plain http:// would send the API token in clear to another machine; use https://, or pass --insecure-upload if the network is trusted"
        )));
    }
    if token.chars().any(|c| c.is_control() || c == ' ') {
        return Err(UserError(
            "--token: the token has spaces or control characters; copy it again".into(),
        ));
    }
    let endpoint = if base.ends_with(REPORTS_PATH) {
        base.to_string()
    } else {
        format!("{base}{REPORTS_PATH}")
    };
    let asset = args
        .asset
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string);
    Ok(Some(Upload {
        endpoint,
        token: token.to_string(),
        asset,
    }))
}

impl Upload {
    /// Posts the report; on success prints the server's summary on stderr (unless quiet).
    /// `default_asset` (identity and kind) names the asset for reports that do not say
    /// (SARIF); `--asset` wins over it.
    pub fn send(
        &self,
        ctx: &Ctx,
        body: Vec<u8>,
        content_type: &str,
        default_asset: Option<(String, &str)>,
    ) -> Result<(), UserError> {
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_connect(Some(Duration::from_secs(15)))
            .timeout_global(Some(Duration::from_secs(300)))
            .user_agent(concat!("palisade/", env!("CARGO_PKG_VERSION")))
            .build();
        let agent = ureq::Agent::new_with_config(config);
        let endpoint = &self.endpoint;
        let size = body.len();
        let mut req = agent.post(endpoint);
        match (&self.asset, default_asset) {
            (Some(a), Some((_, kind))) => req = req.query("asset", a).query("kind", kind),
            (Some(a), None) => req = req.query("asset", a),
            (None, Some((identity, kind))) => {
                req = req.query("asset", &identity).query("kind", kind);
            }
            (None, None) => {}
        }
        // `Expect: 100-continue`: the body goes only once the server has accepted the
        // headers. A server refusing the token answers at once and closes the connection;
        // had the body already been on its way, that close would reset the connection and the
        // client would report a broken pipe instead of the server's answer. Servers that do
        // not answer 100 get the body after a second (ureq's `timeout_await_100`).
        let mut resp = req
            .header("Authorization", &format!("Bearer {}", self.token))
            .header("Content-Type", content_type)
            .header("Accept", "application/json")
            .header("Expect", "100-continue")
            .send(&body[..])
            .map_err(|e| {
                UserError(format!(
                    "upload to {endpoint} failed: {e}\n  (the report was written; is the server running and the URL right?)"
                ))
            })?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_string()
            .unwrap_or_default();
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !(200..300).contains(&status) {
            let reason = answer
                .get("error")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| text.chars().take(300).collect::<String>());
            let hint = match status {
                401 => "\n  (check the token: it may be mistyped, expired or revoked)",
                403 => "\n  (uploading needs a token of the analyst role or above)",
                404 => "\n  (is this a palisade serve address?)",
                413 => "\n  (the server's [server] max_upload_mb is lower than this report)",
                _ => "",
            };
            return Err(UserError(format!(
                "upload to {endpoint} failed: HTTP {status}: {}{hint}\n  (the report was written)",
                palisade_report::printable(reason.trim())
            )));
        }
        if !ctx.quiet {
            let n = |k: &str| answer.get(k).and_then(Value::as_i64).unwrap_or(0);
            let asset = answer
                .get("asset_key")
                .and_then(Value::as_str)
                .unwrap_or("?");
            eprintln!(
                "uploaded {} to {endpoint}: report {} for asset {} (id {}): {} findings: {} new, {} unchanged, {} reopened, {} fixed",
                human_size(size),
                n("report_id"),
                palisade_report::printable(asset),
                n("asset_id"),
                n("findings"),
                n("new"),
                n("unchanged"),
                n("reopened"),
                n("fixed"),
            );
        }
        Ok(())
    }
}

/// The asset a report is about, as the server reads it from a Palisade JSON report (its
/// first target), for formats that do not carry it: identity and kind.
pub fn asset_of(report: &palisade_core::Report) -> Option<(String, &'static str)> {
    let target = report.targets.first().map(|t| t.trim())?;
    if target.is_empty() {
        return None;
    }
    let file_kind = report.files.first().map(|f| f.kind.as_str()).unwrap_or("");
    Some(match (report.scan.as_str(), file_kind) {
        ("vuln", "image") => (target.to_string(), "image"),
        ("vuln", "sbom") => (target.to_string(), "other"),
        _ if target == "-" || target == "<stdin>" => ("stdin".to_string(), "other"),
        _ => (target.to_string(), "repository"),
    })
}

fn human_size(n: usize) -> String {
    if n < 10 * 1024 {
        format!("{n} bytes")
    } else if n < 10 * 1024 * 1024 {
        format!("{} KiB", n / 1024)
    } else {
        format!("{} MiB", n / (1024 * 1024))
    }
}

/// Is the host of `authority[/path]` this machine (localhost, 127.0.0.0/8, ::1)?
fn is_loopback(rest: &str) -> bool {
    let authority = rest.split('/').next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(url: Option<&str>, token: Option<&str>) -> UploadArgs {
        UploadArgs {
            upload: url.map(str::to_string),
            token: token.map(str::to_string),
            asset: None,
            insecure_upload: false,
        }
    }

    #[test]
    fn flags_are_checked() {
        assert!(prepare(&args(None, Some("pal_x"))).unwrap().is_none());
        let u = prepare(&args(Some("http://127.0.0.1:7878/"), Some("pal_x")))
            .unwrap()
            .unwrap();
        assert_eq!(u.endpoint, "http://127.0.0.1:7878/api/v1/reports");
        let u = prepare(&args(
            Some("https://pal.example.com/api/v1/reports"),
            Some("pal_x"),
        ))
        .unwrap()
        .unwrap();
        assert_eq!(u.endpoint, "https://pal.example.com/api/v1/reports");
        assert!(prepare(&args(Some("http://x"), None)).is_err());
        assert!(prepare(&args(Some("pal.example.com"), Some("pal_x"))).is_err());
        assert!(prepare(&args(Some("http://localhost"), Some("a b"))).is_err());
        // Plain HTTP to another machine would send the token in clear.
        let err = prepare(&args(Some("http://palisade.corp:7878"), Some("pal_x"))).unwrap_err();
        assert!(err.0.contains("--insecure-upload"), "{}", err.0);
        let mut a = args(Some("http://palisade.corp:7878"), Some("pal_x"));
        a.insecure_upload = true;
        assert!(prepare(&a).unwrap().is_some());
    }

    #[test]
    fn only_this_machine_is_loopback() {
        for yes in [
            "127.0.0.1:7878",
            "localhost",
            "LOCALHOST:1/x",
            "[::1]:7878",
            "127.9.9.9/api",
        ] {
            assert!(is_loopback(yes), "{yes}");
        }
        for no in [
            "palisade.corp:7878",
            "10.0.0.1",
            "[2001:db8::1]:80",
            "localhost.evil.com",
            "127.0.0.1.nip.io",
        ] {
            assert!(!is_loopback(no), "{no}");
        }
    }
}
