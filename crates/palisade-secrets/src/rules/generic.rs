//! Format-independent secrets: JSON Web Tokens, database connection URLs and strings with a
//! password, and quoted values assigned to names like `password`, `secret`, `api_key` or
//! `access_token`. The assignment rules are MEDIUM and skip values that are obviously not
//! secrets (references, paths, URLs, identifiers, calls), values that start with another
//! rule's token prefix (that rule owns the format), and well-known default passwords.

use palisade_core::{RuleMeta, Scanner, Severity};

use super::decode::{self, JsonKind};
use crate::engine::is_placeholder;
use crate::rule::{Check, DEFAULT_WINDOW, SecretRule};

pub static RULES: &[&SecretRule] = &[
    &JWT,
    &DATABASE_URL,
    &CONNECTION_STRING,
    &PASSWORD_ASSIGNMENT,
    &SECRET_ASSIGNMENT,
    &API_KEY_ASSIGNMENT,
    &TOKEN_ASSIGNMENT,
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

/// Default, sample and tutorial passwords: values nobody should treat as a leaked secret
/// (compared case-insensitively, whole value).
pub(crate) const DEFAULT_PASSWORDS: &[&str] = &[
    "password",
    "passwd",
    "pass",
    "pwd",
    "pw",
    "secret",
    "s3cr3t",
    "secret123",
    "passw0rd",
    "p@ssw0rd",
    "p@ssword",
    "pa55word",
    "pa$$word",
    "password1",
    "password12",
    "password123",
    "pass123",
    "pass1234",
    "root",
    "toor",
    "admin",
    "admin123",
    "administrator",
    "test",
    "test123",
    "testing",
    "tester",
    "user",
    "username",
    "guest",
    "demo",
    "dev",
    "development",
    "local",
    "docker",
    "default",
    "none",
    "null",
    "nil",
    "empty",
    "foo",
    "bar",
    "baz",
    "foobar",
    "qwerty",
    "letmein",
    "welcome",
    "123",
    "1234",
    "12345",
    "123456",
    "12345678",
    "123456789",
    "postgres",
    "postgresql",
    "mysql",
    "mariadb",
    "mongo",
    "mongodb",
    "redis",
    "rabbitmq",
    "sa",
    "oracle",
    "tiger",
    "scott",
    "mysecretpassword",
    "my-secret-pw",
    "mypassword",
    "mypass",
    "mysecret",
    "yourpassword",
    "secretpassword",
    "supersecret",
    "supersecretpassword",
    "topsecret",
    "dbpass",
    "dbpassword",
    "db_password",
    "db-password",
    "app",
    "apppassword",
    "app_password",
    "pgpassword",
    "yourstrong@passw0rd",
    "yourstrongpassw0rd",
    "pass@word1",
];

/// Whether a password value is a default, a sample, or written as a template.
pub(crate) fn is_default_password(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    DEFAULT_PASSWORDS.contains(&lower.as_str())
        || lower.starts_with("your")
        || lower.starts_with(['{', '%', '[', '('])
        || lower.contains("{}")
        || is_placeholder(value)
}

/// Rules whose check defers to the other rules' prefixes (see [`owned_by_specific_rule`]).
const DEFERRING: &[&str] = &[
    "PAL-SEC-034",
    "PAL-SEC-035",
    "PAL-SEC-036",
    "PAL-SEC-037",
    "PAL-SEC-040",
    "PAL-SEC-042",
    "PAL-SEC-046",
    "PAL-SEC-047",
];

/// A value that starts with a token prefix another built-in rule looks for (`ghp_`,
/// `sk_live_`, `AKIA`, `eyJ`…): that rule knows the format's length and checksum and decides
/// whether it is a secret; a generic rule reporting it too would only duplicate or contradict.
pub(crate) fn owned_by_specific_rule(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    crate::builtin()
        .rules()
        .iter()
        .filter(|r| !DEFERRING.contains(&r.meta.id))
        .flat_map(|r| r.keywords.iter())
        .any(|k| {
            let alnum = |c: char| c.is_ascii_alphanumeric();
            if k.starts_with(|c: char| !alnum(c)) {
                // A suffix or infix marker (`-us6`, `$production$`): anywhere in the value.
                k.len() >= 3 && lower.contains(k)
            } else {
                // A prefix (`ghp_`, `akia`, `sk.eyj`).
                (k.len() >= 4 || k.contains(|c: char| !alnum(c))) && lower.starts_with(k)
            }
        })
}

/// Values of `name = "value"` assignments that are not secrets: references, paths, URLs,
/// identifiers, calls, format strings.
pub(crate) fn is_not_a_secret_value(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    const WORDS: &[&str] = &[
        "true",
        "false",
        "null",
        "none",
        "undefined",
        "required",
        "optional",
        "disabled",
        "enabled",
    ];
    if WORDS.contains(&lower.as_str()) || is_default_password(v) {
        return true;
    }
    let bytes = v.as_bytes();
    let ident = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    // URLs and paths.
    if lower.contains("://")
        || v.starts_with(['/', '~', '.', '\\'])
        || (bytes.len() > 2 && bytes[1] == b':' && bytes[2] == b'\\')
    {
        return true;
    }
    // Calls, templates, format strings, interpolated variables (`$name`, `${…}`, `$(…)`).
    if v.contains(['(', ')']) || lower.contains("%s") || lower.contains("%d") || v.contains("{0}") {
        return true;
    }
    if bytes
        .windows(2)
        .any(|w| w[0] == b'$' && (w[1].is_ascii_alphabetic() || matches!(w[1], b'_' | b'{' | b'(')))
    {
        return true;
    }
    // Publishable keys are public by design (Stripe `pk_live_`, Mapbox `pk.`).
    if lower.starts_with("pk_") || lower.starts_with("pk.") {
        return true;
    }
    // Dotted references: settings.SECRET_KEY, config.auth.token.
    let parts: Vec<&str> = v.split('.').collect();
    if parts.len() > 1
        && parts.iter().all(|p| {
            !p.is_empty() && p.bytes().all(|b| ident(&b)) && !p.as_bytes()[0].is_ascii_digit()
        })
        && !v.bytes().any(|b| b.is_ascii_digit())
    {
        return true;
    }
    // Environment variable names (DB_PASSWORD) and lowercase word lists (my-secret-value).
    if v.bytes()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && v.contains('_')
    {
        return true;
    }
    if v.bytes()
        .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'-' || b == b'.')
    {
        return true;
    }
    // camelCase identifiers without digits: getPasswordFromVault.
    if v.bytes().all(|b| b.is_ascii_alphabetic())
        && bytes[0].is_ascii_lowercase()
        && v.bytes().any(|b| b.is_ascii_uppercase())
    {
        return true;
    }
    false
}

fn check_assignment(v: &str) -> Check {
    if is_not_a_secret_value(v) || owned_by_specific_rule(v) {
        Check::Invalid
    } else {
        Check::Unknown
    }
}

/// Tokens, keys and secrets have digits or are long and mixed; words do not.
fn check_token_assignment(v: &str) -> Check {
    if check_assignment(v) == Check::Invalid {
        return Check::Invalid;
    }
    let digits = v.bytes().any(|b| b.is_ascii_digit());
    let mixed =
        v.bytes().any(|b| b.is_ascii_uppercase()) && v.bytes().any(|b| b.is_ascii_lowercase());
    if digits || (mixed && v.len() >= 20) {
        Check::Unknown
    } else {
        Check::Invalid
    }
}

fn check_db_password(v: &str) -> Check {
    if is_default_password(v) {
        Check::Invalid
    } else {
        Check::Unknown
    }
}

/// Header and payload decode to JSON objects, the header names a signing algorithm.
fn check_jwt(token: &str) -> Check {
    let mut parts = token.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Check::Invalid;
    };
    let header = match decode::b64url(h).as_deref().and_then(decode::json_object) {
        Some(m) => m,
        None => return Check::Invalid,
    };
    let alg_ok = header.iter().any(|(k, kind, v)| {
        k == "alg" && *kind == JsonKind::String && !v.is_empty() && !v.eq_ignore_ascii_case("none")
    });
    let payload_ok = decode::b64url(p)
        .as_deref()
        .and_then(decode::json_object)
        .is_some();
    let sig_ok = decode::b64url(s).is_some_and(|sig| sig.len() >= 16);
    if alg_ok && payload_ok && sig_ok {
        Check::Valid
    } else {
        Check::Invalid
    }
}

// ---------------------------------------------------------------------------------------------

pub static JWT: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-031",
        "JSON Web Token",
        Severity::Medium,
        "Remove the token; if it is long-lived, revoke it at its issuer (or rotate the signing key) and have the client obtain short-lived tokens at runtime.",
        JWT_DOC,
    ),
    keywords: &["eyj"],
    pattern: r"(?:^|[^A-Za-z0-9_-])(?P<secret>eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,})(?:[^A-Za-z0-9_.=-]|$)",
    min_entropy: None,
    path: None,
    allow: &["SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"],
    check: Some(check_jwt),
    window: 8192,
};

const JWT_DOC: &str = crate::secret_doc!(
    "Finds signed JSON Web Tokens (JWS compact form, RFC 7519): three base64url segments \
     separated by dots, the first two starting with `eyJ` (`{\"`). The header and payload must \
     decode to JSON objects and the header must name a signing algorithm (`alg`, not `none`). \
     The jwt.io example token is ignored.",
    "A JWT is a bearer credential: whoever presents it is the subject it names, with its \
     scopes, until `exp`. Service-account tokens, API keys issued as JWTs (Supabase, \
     Kubernetes, many SaaS APIs) and refresh tokens often have no or a distant expiry.",
    "```http\nAuthorization: Bearer eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJzdmMtYmlsbGluZyIsImV4cCI6NDEwMjQ0NDgwMH0.Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0\n```",
    "```sh\n# Obtain a short-lived token at runtime instead of storing one\nTOKEN=$(curl -s -d grant_type=client_credentials -u \"$CLIENT_ID:$CLIENT_SECRET\" https://auth.example.com/oauth/token | jq -r .access_token)\n```\nRevoke and rotate: revoke the token at the issuer if it supports it (session or token \
     revocation endpoint, deleting the Kubernetes Secret of a service-account token), or \
     rotate the issuer's signing key so every token signed with it stops verifying.",
    "- [RFC 7519: JSON Web Token](https://www.rfc-editor.org/rfc/rfc7519)\n\
     - [RFC 8725: JWT Best Current Practices](https://www.rfc-editor.org/rfc/rfc8725)",
);

pub static DATABASE_URL: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-032",
        "Database connection URL with a password",
        Severity::High,
        "Change the database user's password, and pass the connection URL (or just the password) through the environment or a secret store.",
        DATABASE_URL_DOC,
    ),
    keywords: &[
        "postgres",
        "mysql",
        "mariadb",
        "mongodb",
        "redis",
        "amqp",
        "mssql",
        "sqlserver",
    ],
    pattern: r#"(?i:\b(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|amqps?|mssql|sqlserver)(?:\+[a-z0-9]+)?://)[^:@/\s"'<>]*:(?P<secret>[^@/\s"'<>]{3,128})@[A-Za-z0-9_.\[\]-]+"#,
    min_entropy: None,
    path: None,
    allow: &[],
    check: Some(check_db_password),
    window: DEFAULT_WINDOW,
};

const DATABASE_URL_DOC: &str = crate::secret_doc!(
    "Finds connection URLs that carry a password: `postgres://`, `postgresql://`, `mysql://`, \
     `mariadb://`, `mongodb://`, `mongodb+srv://`, `redis://`, `rediss://`, `amqp://`, \
     `amqps://`, `mssql://` and `sqlserver://` (also with SQLAlchemy driver suffixes such as \
     `postgresql+psycopg2://`) in the form `user:password@host`. Placeholders, `${…}` \
     references and well-known default passwords (`postgres`, `guest`, `password`…) are \
     ignored.",
    "The URL is everything needed to connect: an attacker who can reach the host reads, \
     changes or deletes the data with the user's privileges. Managed databases and caches are \
     often reachable from the internet, and connection URLs leak through repositories, images \
     and CI logs.",
    "```ini\nDATABASE_URL=postgres://billing:Zr8Lm2Xv0Tb7NcKq9Hc0@db-prod.internal:5432/billing\n```",
    "```yaml\n# Kubernetes: the URL comes from a Secret managed outside Git\nenv:\n  - name: DATABASE_URL\n    valueFrom:\n      secretKeyRef:\n        name: billing-db\n        key: url\n```\nRevoke and rotate: change the password (`ALTER ROLE billing WITH PASSWORD '…'` in \
     PostgreSQL, `ALTER USER` in MySQL, `db.changeUserPassword()` in MongoDB, `ACL SETUSER` in \
     Redis, `rabbitmqctl change_password`), update the consumers from the secret store, and \
     check the database logs for connections from unknown addresses.",
    "- [PostgreSQL: connection URIs](https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-URIS)\n\
     - [MongoDB: connection strings](https://www.mongodb.com/docs/manual/reference/connection-string/)\n\
     - [OWASP Secrets Management Cheat Sheet](https://cheatsheetseries.owasp.org/cheatsheets/Secrets_Management_Cheat_Sheet.html)",
);

pub static CONNECTION_STRING: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-033",
        "Database connection string with a password (JDBC, ADO.NET)",
        Severity::High,
        "Change the database user's password, and read the connection string from the environment, a secret store, or use managed identity / IAM authentication.",
        CONNECTION_STRING_DOC,
    ),
    keywords: &["password=", "pwd="],
    pattern: r#"(?i:(?:jdbc:[a-z0-9:]+//?[^\s"'<>]*?[?;&]|(?:server|data source|host|hostname|address|addr)\s*=\s*[^;"'\r\n]+;(?:[^;"'\r\n]*;)*?)\s*(?:password|pwd)\s*=\s*)(?P<secret>[^;&\s"'<>]{3,128})"#,
    min_entropy: None,
    path: None,
    allow: &[],
    check: Some(check_db_password),
    window: DEFAULT_WINDOW,
};

const CONNECTION_STRING_DOC: &str = crate::secret_doc!(
    "Finds passwords in JDBC URLs (`jdbc:postgresql://host/db?user=…&password=…`, \
     `jdbc:sqlserver://host;user=…;password=…`) and in ADO.NET / ODBC style connection strings \
     (`Server=…;Database=…;User Id=…;Password=…;`), as found in `appsettings.json`, \
     `application.properties` and `web.config`.",
    "The connection string gives direct access to the database with the configured user, \
     frequently an administrator (`sa`) or the application's owner role.",
    "```json\n{\"ConnectionStrings\": {\"Orders\": \"Server=tcp:sql-prod.database.windows.net,1433;Initial Catalog=orders;User ID=orders_app;Password=Zr8Lm2Xv0Tb7NcKq;Encrypt=True;\"}}\n```",
    "```json\n{\"ConnectionStrings\": {\"Orders\": \"Server=tcp:sql-prod.database.windows.net,1433;Initial Catalog=orders;Authentication=Active Directory Default;Encrypt=True;\"}}\n```\nRevoke and rotate: change the login's password (`ALTER LOGIN orders_app WITH PASSWORD = \
     '…'`), move the application to managed identity / IAM database authentication or a \
     secret store, and review the database audit logs.",
    "- [SqlClient connection string syntax](https://learn.microsoft.com/en-us/dotnet/framework/data/adonet/connection-string-syntax)\n\
     - [PostgreSQL JDBC: connecting to the database](https://jdbc.postgresql.org/documentation/use/)",
);

/// `name = "value"`, `name: 'value'`, `"name": "value"`, `name := "value"`, `name => "value"`
/// where `name` ends with one of the given words; the value is quoted, 8 to 200 characters
/// without spaces or quotes.
///
/// Names that say the value is public by design (`ALGOLIA_SEARCH_API_KEY`, `PUBLIC_API_KEY`,
/// `RECAPTCHA_SITE_KEY`, `publishableKey`) are matched first by an alternative without a
/// `secret` group: the leftmost match wins, so the assignment is consumed and not reported.
macro_rules! assignment {
    ($names:literal) => {
        concat!(
            r#"(?i:(?:search|public|publishable|site)[A-Za-z0-9_.-]{0,30}?(?:"#,
            $names,
            r#"))["']?\s*(?::=|=>|:|=)\s*["'][^"'\s]{8,200}["']|(?i:"#,
            $names,
            r#")["']?\s*(?::=|=>|:|=)\s*["'](?P<secret>[^"'\s]{8,200})["']"#
        )
    };
}

const ASSIGNMENT_FIX: &str =
    "Move the value to a secret store or the environment and rotate it where it is used.";

pub static PASSWORD_ASSIGNMENT: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-034",
        "Hard-coded password",
        Severity::Medium,
        ASSIGNMENT_FIX,
        PASSWORD_ASSIGNMENT_DOC,
    ),
    keywords: &["password", "passwd", "pwd"],
    pattern: assignment!(r"password|passwd|pwd"),
    min_entropy: Some(3.0),
    path: None,
    allow: &[],
    check: Some(check_assignment),
    window: DEFAULT_WINDOW,
};

const PASSWORD_ASSIGNMENT_DOC: &str = crate::secret_doc!(
    "Finds quoted values of at least 8 characters assigned to a name ending in `password`, \
     `passwd` or `pwd` in code and configuration (`DB_PASSWORD = \"…\"`, `\"password\": \"…\"`, \
     `password: '…'`). Values that are references (`${…}`, `os.environ`), paths, URLs, \
     identifiers, calls, placeholders or well-known defaults are skipped, and the value must \
     look random enough (entropy ≥ 3.0 bits per character).",
    "A password in source is readable by everyone with access to the repository, its forks, \
     its CI logs and every image built from it, and it tends to be reused across environments \
     and by people.",
    "```python\nDATABASES = {\"default\": {\"USER\": \"billing\", \"PASSWORD\": \"Zr8Lm2Xv!0Tb7N\"}}\n```",
    "```python\nDATABASES = {\"default\": {\"USER\": \"billing\", \"PASSWORD\": os.environ[\"DB_PASSWORD\"]}}\n```\nRevoke and rotate: change the password at the system it belongs to (database, service \
     account, admin console), store the new one in a secret manager (Vault, AWS Secrets \
     Manager, Azure Key Vault, GCP Secret Manager), and remove the old value from history.",
    "- [CWE-798: Use of Hard-coded Credentials](https://cwe.mitre.org/data/definitions/798.html)\n\
     - [OWASP Secrets Management Cheat Sheet](https://cheatsheetseries.owasp.org/cheatsheets/Secrets_Management_Cheat_Sheet.html)",
);

pub static SECRET_ASSIGNMENT: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-035",
        "Hard-coded secret or client secret",
        Severity::Medium,
        ASSIGNMENT_FIX,
        SECRET_ASSIGNMENT_DOC,
    ),
    keywords: &["secret"],
    pattern: assignment!(r"secret(?:[_.-]?key(?:[_.-]?base)?|[_.-]?token)?"),
    min_entropy: Some(3.3),
    path: None,
    allow: &[],
    check: Some(check_token_assignment),
    window: DEFAULT_WINDOW,
};

const SECRET_ASSIGNMENT_DOC: &str = crate::secret_doc!(
    "Finds quoted values assigned to names ending in `secret`, `secret_key`, `secret_token` or \
     `secret_key_base` (`client_secret`, `JWT_SECRET`, Django's `SECRET_KEY`, Rails' \
     `secret_key_base`, webhook signing secrets). The value must be at least 8 characters, \
     look random (entropy ≥ 3.3), and contain a digit or be long and mixed-case; references, \
     identifiers and values owned by a provider-specific rule are skipped.",
    "Application secrets sign sessions, cookies, password-reset links and webhook payloads: \
     with one an attacker forges sessions as any user or fakes webhook calls. OAuth client \
     secrets let them impersonate the application to the identity provider.",
    "```python\nSECRET_KEY = \"q8Hc0Rr3m6xK2v9Lw1TzYb4nE7sUa5dGf0JpWiXo\"\n```",
    "```python\nSECRET_KEY = os.environ[\"DJANGO_SECRET_KEY\"]\n```\nRevoke and rotate: generate a new secret, deploy it from the secret store (for OAuth \
     clients: add a new client secret at the identity provider, switch, delete the old one), \
     and expect existing sessions or signatures made with the old secret to stop working.",
    "- [CWE-798: Use of Hard-coded Credentials](https://cwe.mitre.org/data/definitions/798.html)\n\
     - [Django settings: SECRET_KEY](https://docs.djangoproject.com/en/stable/ref/settings/#secret-key)",
);

pub static API_KEY_ASSIGNMENT: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-036",
        "Hard-coded API key",
        Severity::Medium,
        ASSIGNMENT_FIX,
        API_KEY_ASSIGNMENT_DOC,
    ),
    keywords: &[
        "apikey",
        "api_key",
        "api-key",
        "api.key",
        "apisecret",
        "api_secret",
        "api-secret",
    ],
    pattern: assignment!(r"api[_.-]?(?:key|secret)"),
    min_entropy: Some(3.3),
    path: None,
    allow: &[],
    check: Some(check_token_assignment),
    window: DEFAULT_WINDOW,
};

const API_KEY_ASSIGNMENT_DOC: &str = crate::secret_doc!(
    "Finds quoted values assigned to names ending in `api_key`, `apikey`, `api-key` or \
     `api_secret` (also as HTTP header names such as `X-Api-Key` in code). The value must be at \
     least 8 characters, look random and contain a digit (or be long and mixed-case); values \
     with a known provider prefix are left to that provider's rule.",
    "An API key authenticates whoever sends it. Depending on the service it reads customer \
     data, sends messages or e-mail in your name, or runs up usage charges.",
    "```js\nconst client = new Client({ apiKey: \"k7Zr2LmXv0Tb7NcKq9Hc0Rr3m6xK2v9L\" });\n```",
    "```js\nconst client = new Client({ apiKey: process.env.SERVICE_API_KEY });\n```\nRevoke and rotate: in the provider's dashboard, create a new key, deploy it from the \
     secret store, then revoke the old key and check the provider's usage logs.",
    "- [CWE-798: Use of Hard-coded Credentials](https://cwe.mitre.org/data/definitions/798.html)\n\
     - [OWASP Secrets Management Cheat Sheet](https://cheatsheetseries.owasp.org/cheatsheets/Secrets_Management_Cheat_Sheet.html)",
);

pub static TOKEN_ASSIGNMENT: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-037",
        "Hard-coded access or auth token",
        Severity::Medium,
        ASSIGNMENT_FIX,
        TOKEN_ASSIGNMENT_DOC,
    ),
    keywords: &[
        "access_token",
        "accesstoken",
        "access-token",
        "auth_token",
        "authtoken",
        "auth-token",
        "api_token",
        "apitoken",
        "api-token",
        "refresh_token",
        "refreshtoken",
        "bearer_token",
    ],
    pattern: assignment!(r"(?:access|auth|api|refresh|bearer)[_.-]?token"),
    min_entropy: Some(3.3),
    path: None,
    allow: &[],
    check: Some(check_token_assignment),
    window: DEFAULT_WINDOW,
};

const TOKEN_ASSIGNMENT_DOC: &str = crate::secret_doc!(
    "Finds quoted values assigned to names ending in `access_token`, `auth_token`, \
     `api_token`, `refresh_token` or `bearer_token`. The value must be at least 8 characters, \
     look random and contain a digit (or be long and mixed-case); references, placeholders and \
     values with a known provider prefix are skipped.",
    "A token is a bearer credential for the account that issued it; refresh tokens keep \
     minting new access tokens until revoked.",
    "```yaml\nnotifier:\n  access_token: \"9f2cQ8Zr2LmXv0Tb7NcKq9Hc0Rr3m6xK2v9Lw1Tz\"\n```",
    "```yaml\nnotifier:\n  access_token: ${NOTIFIER_TOKEN}   # injected from the secret store\n```\nRevoke and rotate: revoke the token where it was issued (the service's token or \
     authorized-apps page, or its OAuth revocation endpoint), issue a new one with the \
     smallest scope, and deliver it through the secret store.",
    "- [CWE-798: Use of Hard-coded Credentials](https://cwe.mitre.org/data/definitions/798.html)\n\
     - [RFC 7009: OAuth 2.0 Token Revocation](https://www.rfc-editor.org/rfc/rfc7009)",
);

#[cfg(test)]
pub(crate) fn samples(rng: &mut crate::testing::Rng) -> Vec<crate::testing::Sample> {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use super::keys::sample_keys::bytes;
    use crate::engine::entropy;
    use crate::testing::{Rng, Sample};

    /// A value from `make` that is no placeholder and random enough for `min` bits/char.
    fn fresh(rng: &mut Rng, min: f64, mut make: impl FnMut(&mut Rng) -> String) -> String {
        loop {
            let s = make(rng);
            if !is_placeholder(&s) && entropy(&s) >= min && s.bytes().any(|b| b.is_ascii_digit()) {
                return s;
            }
        }
    }
    let jwt = |rng: &mut Rng, header: &str| {
        let payload = format!(
            "{{\"sub\":\"svc-{}\",\"iat\":{},\"exp\":{}}}",
            rng.lower_alnum(8),
            rng.digits(10),
            rng.digits(10)
        );
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(bytes(rng, 32))
        )
    };
    let jwt_ok = loop {
        let t = jwt(rng, r#"{"alg":"HS256","typ":"JWT"}"#);
        if !is_placeholder(&t) {
            break t;
        }
    };
    let symbols = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!#&*+-_=@^";

    vec![
        Sample {
            rule: "PAL-SEC-031",
            text: format!("curl -H \"Authorization: Bearer {jwt_ok}\" https://api.internal/v1/invoices\n"),
            near_misses: vec![
                "Authorization: Bearer eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c\n".into(),
                format!("token: {}\n", jwt(rng, r#"{"typ":"JWT"}"#)),
                format!("token: eyJ{}.eyJ{}.{}\n", rng.base64url(30), rng.base64url(40), rng.base64url(43)),
            ],
        },
        Sample {
            rule: "PAL-SEC-032",
            text: format!(
                "DATABASE_URL=postgres://billing_{}:{}@db-prod.internal:5432/billing\n",
                rng.lower_alnum(4),
                fresh(rng, 3.0, |r| r.alnum(20))
            ),
            near_misses: vec![
                "DATABASE_URL=postgres://user:password@localhost:5432/db\n".into(),
                "MONGO_URL=mongodb+srv://admin:${MONGO_PASSWORD}@cluster0.mongodb.net/app\n".into(),
                "REDIS_URL=redis://:<password>@cache:6379/0\n".into(),
                "amqp://guest:guest@rabbitmq:5672/\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-033",
            text: format!(
                "{{\"ConnectionStrings\": {{\"Orders\": \"Server=tcp:sql-prod.database.windows.net,1433;Initial Catalog=orders;User ID=orders_app;Password={};Encrypt=True;\"}}}}\n",
                fresh(rng, 3.0, |r| r.alnum(18))
            ),
            near_misses: vec![
                "spring.datasource.url=jdbc:postgresql://localhost:5432/app?user=app&password=${DB_PASSWORD}\n".into(),
                "Server=localhost;Database=master;User Id=sa;Password=<YourStrong@Passw0rd>;\n".into(),
                "Server=.;Database=app;User Id=app;Password=password;\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-034",
            text: format!("db_password = \"{}\"\n", fresh(rng, 3.2, |r| r.pick(symbols, 16))),
            near_misses: vec![
                "password = \"changeme\"\n".into(),
                "password: \"${DB_PASSWORD}\"\n".into(),
                "\"password\": \"password123\"\n".into(),
                "\"password_file\": \"/run/secrets/db_password\"\npassword = \"/run/secrets/db_password\"\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-035",
            text: format!("SECRET_KEY = '{}'\n", fresh(rng, 3.5, |r| r.pick(symbols, 50))),
            near_misses: vec![
                "secret = \"my_secret_value\"\n".into(),
                "client_secret: \"{{ .Values.oauth.clientSecret }}\"\n".into(),
                "client_secret = \"<client-secret>\"\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-036",
            text: format!("headers = {{\"X-Api-Key\": \"{}\"}}\n", fresh(rng, 3.5, |r| r.alnum(32))),
            near_misses: vec![
                "api_key = \"YOUR_API_KEY_HERE\"\n".into(),
                "apiKey: \"process.env.API_KEY\"\n".into(),
                format!("api_key = \"AIza{}\"\n", rng.alnum(30)),
            ],
        },
        Sample {
            rule: "PAL-SEC-037",
            text: format!("\"access_token\": \"{}\"\n", fresh(rng, 3.5, |r| r.alnum(40))),
            near_misses: vec![
                "access_token: \"{{ secrets.TOKEN }}\"\n".into(),
                "ACCESS_TOKEN = \"ACCESS_TOKEN_NAME\"\n".into(),
                "auth_token = \"getAuthTokenFromVault\"\n".into(),
            ],
        },
    ]
}
