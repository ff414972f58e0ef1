//! Helpers shared by the workload-hardening and object rules (PAL-K8S-023 .. PAL-K8S-044):
//! telling credential-like names and values apart from ordinary settings, host path
//! normalisation, resource lookups and user/group IDs inherited from the pod.

use palisade_yaml::{Node, Span};

use crate::k8s::{Container, Pod, Resource, entry_span};
use crate::rule::Hit;

/// A node that is present and not `null` (`key: null` and `key:` mean "not set").
pub fn set(n: Option<&Node>) -> Option<&Node> {
    n.filter(|n| !n.is_null())
}

/// The words of an identifier, upper-cased: `DB_PASSWORD`, `dbPassword`, `db.password` and
/// `db-password` all give `["DB", "PASSWORD"]`; `APIKey` gives `["API", "KEY"]`.
pub fn words(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out = Vec::new();
    let mut cur = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if c.is_ascii_uppercase() && !cur.is_empty() {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase());
            if prev.is_ascii_lowercase()
                || prev.is_ascii_digit()
                || (prev.is_ascii_uppercase() && next_lower)
            {
                out.push(std::mem::take(&mut cur));
            }
        }
        cur.push(c.to_ascii_uppercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Last words that make a name describe *where* or *how* a credential is found rather than
/// the credential itself: `TOKEN_URL`, `PASSWORD_FILE`, `PASSWORD_SECRET_NAME`, ...
const NOT_A_SECRET_LAST: &[&str] = &[
    "ADDR",
    "ADDRESS",
    "ALG",
    "ALGORITHM",
    "AUDIENCE",
    "COUNT",
    "DIR",
    "DIRECTORY",
    "DISABLED",
    "DURATION",
    "ENABLE",
    "ENABLED",
    "ENDPOINT",
    "EXPIRATION",
    "EXPIRES",
    "EXPIRY",
    "FILE",
    "FILES",
    "FORMAT",
    "HEADER",
    "HOST",
    "HOSTNAME",
    "ISSUER",
    "LEN",
    "LENGTH",
    "LIFETIME",
    "LOCATION",
    "METHOD",
    "MODE",
    "MOUNT",
    "NAME",
    "NAMESPACE",
    "PATH",
    "POLICY",
    "PORT",
    "PROVIDER",
    "REALM",
    "REF",
    "REQUIRED",
    "SCOPE",
    "SCOPES",
    "SERVER",
    "SERVICE",
    "SIZE",
    "TIMEOUT",
    "TTL",
    "TYPE",
    "URI",
    "URL",
    "URLS",
    "VERSION",
];

/// Words that, in front of `KEY`, make it a secret key.
const KEY_QUALIFIERS: &[&str] = &[
    "API",
    "PRIVATE",
    "ACCESS",
    "SECRET",
    "ENCRYPTION",
    "SIGNING",
    "MASTER",
];

/// Whether an environment variable or configuration key name looks like it holds a
/// credential: passwords, secrets, tokens, API/private/access keys, credentials, and `AUTH`
/// as the last word (`BASIC_AUTH`). Names that point at a credential (`TOKEN_URL`,
/// `PASSWORD_FILE`, `PASSWORD_SECRET_NAME`) do not count.
pub fn credential_name(name: &str) -> bool {
    let w = words(name);
    let Some(last) = w.last() else { return false };
    if NOT_A_SECRET_LAST.contains(&last.as_str()) {
        return false;
    }
    // etcd's initial cluster token only keeps clusters apart; it grants nothing.
    if w.ends_with(&["INITIAL".into(), "CLUSTER".into(), "TOKEN".into()]) {
        return false;
    }
    w.iter().enumerate().any(|(i, word)| {
        let word = word.as_str();
        word.contains("PASSWORD")
            || word.contains("PASSWD")
            || word.contains("PASSPHRASE")
            || word == "PWD"
            || word == "PASS"
            || word.ends_with("SECRET")
            || word.ends_with("SECRETS")
            || word.ends_with("TOKEN")
            || word.ends_with("TOKENS")
            || word.contains("APIKEY")
            || word.contains("PRIVATEKEY")
            || word.contains("ACCESSKEY")
            || word.contains("SECRETKEY")
            || word.starts_with("CREDENTIAL")
            || word.ends_with("CREDENTIALS")
            || (word == "AUTH" && i + 1 == w.len())
            || (word == "KEY" && i > 0 && KEY_QUALIFIERS.contains(&w[i - 1].as_str()))
    })
}

/// Whether a value is a template placeholder rather than a literal: `${IMAGE}`,
/// `{{ .Values.x }}`, `$(VAR)`, `<your-image>`.
pub fn is_placeholder(v: &str) -> bool {
    let v = v.trim();
    v.contains("${")
        || v.contains("{{")
        || v.contains("$(")
        || (v.len() > 2 && v.starts_with('<') && v.ends_with('>'))
}

/// Whether a value under a credential-like name is plausibly the credential itself: not
/// empty, not a placeholder or `$(VAR)` reference, not a boolean or `none`, not a file path
/// and not a URL without user information.
pub fn literal_secret_value(v: &str) -> bool {
    let v = v.trim();
    if v.is_empty() || is_placeholder(v) || v.starts_with('/') {
        return false;
    }
    const WORDS: &[&str] = &[
        "true", "false", "yes", "no", "on", "off", "null", "none", "~", "\"\"", "''",
    ];
    if WORDS.iter().any(|w| v.eq_ignore_ascii_case(w)) {
        return false;
    }
    // Fill-in-the-blank values of examples: `INSERT_TOKEN_HERE`, `replace-me`, `YOUR_KEY`.
    const BLANKS: &[&str] = &[
        "insert_", "insert-", "replace_", "replace-", "your_", "your-",
    ];
    let lower = v.to_ascii_lowercase();
    if BLANKS.iter().any(|b| lower.starts_with(b)) {
        return false;
    }
    if let Some((scheme, rest)) = v.split_once("://")
        && !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
    {
        let authority = rest.split('/').next().unwrap_or("");
        return authority.contains('@');
    }
    true
}

/// A host path in a canonical form: repeated and trailing slashes removed, `.` and `..`
/// resolved lexically; Windows named pipes (`\\.\pipe\...`) lower-cased. `None` for other
/// paths that are not absolute Unix paths.
pub fn normalise_host_path(p: &str) -> Option<String> {
    let p = p.trim();
    let lower = p.to_ascii_lowercase();
    if lower.starts_with(r"\\.\pipe\") {
        return Some(lower);
    }
    if !p.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    Some(format!("/{}", parts.join("/")))
}

/// Whether normalised `path` is `dir` or lies below it.
pub fn is_under(path: &str, dir: &str) -> bool {
    path == dir
        || (path.starts_with(dir) && (dir.ends_with('/') || path[dir.len()..].starts_with('/')))
}

/// Every `hostPath` volume of a workload with its name, normalised path and the span and
/// field of its `path` entry.
pub fn host_paths<'a>(r: &Resource<'a>) -> Vec<(&'a str, String, Span, String)> {
    let Some(pod) = r.pod() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for (i, v) in pod.volumes().iter().enumerate() {
        let Some(hp) = set(v.get("hostPath")) else {
            continue;
        };
        let Some(raw) = hp.get("path").and_then(Node::scalar_text) else {
            continue;
        };
        let Some(path) = normalise_host_path(raw) else {
            continue;
        };
        let Some(span) = entry_span(hp, "path") else {
            continue;
        };
        let name = v
            .get("name")
            .and_then(Node::scalar_text)
            .unwrap_or("<unnamed>");
        out.push((
            name,
            path,
            span,
            pod.field(&format!("volumes[{i}].hostPath.path")),
        ));
    }
    out
}

/// Whether `resources.<section>.<name>` is set (at container or pod level).
fn has_resource(node: &Node, section: &str, name: &str) -> bool {
    set(node.path(&["resources", section, name])).is_some()
}

/// PAL-K8S-024..027: reports every regular and init container that lacks
/// `resources.<section>.<name>`. A request is also satisfied by a limit (the API server
/// copies limits into missing requests), and pod-level resources cover every container.
pub fn missing_resource(
    r: &Resource<'_>,
    section: &str,
    name: &str,
    what: &str,
    out: &mut Vec<Hit>,
) {
    let Some(pod) = r.pod() else { return };
    let satisfied = |node: &Node| {
        has_resource(node, section, name)
            || (section == "requests" && has_resource(node, "limits", name))
    };
    if satisfied(pod.spec) {
        return;
    }
    for c in pod.long_running_containers() {
        if satisfied(c.node) {
            continue;
        }
        let resources = set(c.get("resources"));
        let span = resources
            .and_then(|res| entry_span(res, section))
            .or_else(|| entry_span(c.node, "resources").filter(|_| resources.is_some()))
            .unwrap_or(Span {
                end_line: c.node.span.start_line,
                ..c.node.span
            });
        out.push(
            Hit::new(format!("{} has no {what}", c.label()), span)
                .field(c.field(&format!("resources.{section}.{name}"))),
        );
    }
}

/// An integer `securityContext` field that containers inherit from the pod, as seen
/// by one container or by the pod.
pub enum IdSetter<'c, 'a> {
    /// The pod sets it and at least one container inherits it.
    Pod,
    /// The container sets it itself.
    Container(&'c Container<'a>),
}

/// Calls `report` for every place that sets `securityContext.<key>` to a value that is in
/// effect for some container: each container's own value, and the pod's value once if any
/// container (or none, in a pod without containers) inherits it.
pub fn inherited_id<'a>(
    pod: &Pod<'a>,
    key: &str,
    mut report: impl FnMut(IdSetter<'_, 'a>, i64, Span, String),
) {
    let containers = pod.containers();
    let own = |c: &Container<'a>| {
        set(c.sc(key)).and_then(|v| Some((v.as_i64()?, entry_span(c.security_context()?, key)?)))
    };
    if let Some(pod_sc) = set(pod.security_context())
        && let Some(value) = set(pod_sc.get(key)).and_then(Node::as_i64)
        && let Some(span) = entry_span(pod_sc, key)
        && (containers.is_empty() || containers.iter().any(|c| set(c.sc(key)).is_none()))
    {
        report(
            IdSetter::Pod,
            value,
            span,
            pod.field(&format!("securityContext.{key}")),
        );
    }
    for c in &containers {
        if let Some((value, span)) = own(c) {
            report(
                IdSetter::Container(c),
                value,
                span,
                c.field(&format!("securityContext.{key}")),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_words() {
        assert_eq!(words("DB_PASSWORD"), ["DB", "PASSWORD"]);
        assert_eq!(words("dbPassword"), ["DB", "PASSWORD"]);
        assert_eq!(words("db.password"), ["DB", "PASSWORD"]);
        assert_eq!(words("APIKey"), ["API", "KEY"]);
        assert_eq!(words("oauth2ClientSecret"), ["OAUTH2", "CLIENT", "SECRET"]);
        assert_eq!(words("__x--"), ["X"]);
    }

    #[test]
    fn credential_names() {
        for n in [
            "PASSWORD",
            "DB_PASSWORD",
            "PGPASSWORD",
            "MYSQL_ROOT_PASSWORD",
            "redisPasswd",
            "DB_PWD",
            "SMTP_PASS",
            "CLIENT_SECRET",
            "clientSecret",
            "SECRET_KEY_BASE",
            "GITHUB_TOKEN",
            "accessToken",
            "API_KEY",
            "apiKey",
            "STRIPE_APIKEY",
            "PRIVATE_KEY",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_ACCESS_KEY_ID",
            "GOOGLE_CREDENTIALS",
            "BASIC_AUTH",
            "ENCRYPTION_KEY",
        ] {
            assert!(credential_name(n), "{n}");
        }
        for n in [
            "TOKEN_URL",
            "PASSWORD_FILE",
            "PASSWORD_SECRET_NAME",
            "DB_PASSWORD_PATH",
            "SECRETS_DIR",
            "AUTH_ENDPOINT",
            "TOKEN_TYPE",
            "PASSWORD_MIN_LENGTH",
            "AUTH_ENABLED",
            "TOKENIZERS_PARALLELISM",
            "PASSTHROUGH",
            "OLDPWD_DIR",
            "KEY",
            "CACHE_KEY",
            "OAUTH_CLIENT_ID",
            "ETCD_INITIAL_CLUSTER_TOKEN",
            "HOME",
            "",
        ] {
            assert!(!credential_name(n), "{n}");
        }
    }

    #[test]
    fn literal_values() {
        for v in ["hunter2", "s3cr3t!", "postgres://u:p@db/x", "1234"] {
            assert!(literal_secret_value(v), "{v}");
        }
        for v in [
            "",
            "  ",
            "$(DB_PASSWORD)",
            "${TOKEN}",
            "{{ .Values.pw }}",
            "true",
            "False",
            "/var/run/secrets/token",
            "https://auth.example.com/token",
            "none",
            "<your-password>",
            "INSERT_ETCD_DISCOVERY_TOKEN",
            "replace-me",
        ] {
            assert!(!literal_secret_value(v), "{v}");
        }
    }

    #[test]
    fn host_path_normalisation() {
        assert_eq!(
            normalise_host_path("/var/run/").as_deref(),
            Some("/var/run")
        );
        assert_eq!(normalise_host_path("//etc//").as_deref(), Some("/etc"));
        assert_eq!(normalise_host_path("/").as_deref(), Some("/"));
        assert_eq!(normalise_host_path("///").as_deref(), Some("/"));
        assert_eq!(
            normalise_host_path("/var/lib/../run/./docker.sock").as_deref(),
            Some("/var/run/docker.sock")
        );
        assert_eq!(normalise_host_path("C:\\data"), None);
        assert_eq!(
            normalise_host_path(r"\\.\PIPE\docker_engine").as_deref(),
            Some(r"\\.\pipe\docker_engine")
        );
        assert!(is_under("/etc/ssl", "/etc"));
        assert!(is_under("/etc", "/etc"));
        assert!(!is_under("/etcd", "/etc"));
        assert!(is_under("/anything", "/"));
    }
}
