//! Credentials in well-known configuration formats: Kubernetes Secret manifests, `.npmrc`,
//! `.pypirc`, Docker's `config.json`, kubeconfig users, `.netrc` and URLs with a password
//! (`.git-credentials`). The patterns match the formats' own structure rather than file
//! names, so the same content is found where it is written by a CI script or a Dockerfile
//! heredoc too.

use palisade_core::{RuleMeta, Scanner, Severity};

use super::decode;
use super::generic::{is_default_password, owned_by_specific_rule};
use crate::rule::{Check, DEFAULT_WINDOW, SecretRule};

pub static RULES: &[&SecretRule] = &[
    &K8S_SECRET,
    &K8S_SECRET_SORTED,
    &NPMRC_TOKEN,
    &NPMRC_AUTH,
    &PYPIRC_PASSWORD,
    &DOCKER_AUTH,
    &KUBECONFIG_TOKEN,
    &KUBECONFIG_CLIENT_KEY,
    &NETRC_PASSWORD,
    &URL_CREDENTIALS,
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

/// A YAML line that is not a `---` document separator (so a match stays in one document).
macro_rules! doc_line {
    () => {
        r"(?:(?:[^\n-]|-[^\n-]|--[^\n-])[^\n]*)?\n"
    };
}

/// The first value under `data:` / `stringData:` that may be secret: comment lines, empty
/// values and keys that name non-secret settings (`username`, `apiAddress`, `monitors`,
/// `azurestorageaccountname`) are skipped when a later key follows.
macro_rules! first_value {
    () => {
        concat!(
            r#"(?:[ \t]*#[^\n]*\n"#,
            r#"|[ \t]+["']?[A-Za-z0-9._-]*(?i:name|user|username|login|address|addr|url|uri|endpoint|host|hostname|port|server|region|namespace|monitors|pool|domain|email|crt|cert|certificate)["']?:[^\n]*\n"#,
            r#"|[ \t]+[^\s:#][^\n:]*:[ \t]*(?:""|'')?[ \t]*\r?\n){0,20}"#,
            r#"[ \t]+["']?[A-Za-z0-9._-]+["']?:[ \t]*["']?(?P<secret>[^\s"'#|>][^\s"']*)"#
        )
    };
}

/// A value a config file carries: not a default or placeholder, not another rule's token.
fn check_config_value(v: &str) -> Check {
    if is_default_password(v) || owned_by_specific_rule(v) {
        Check::Invalid
    } else {
        Check::Unknown
    }
}

/// A Secret's value: `data` values are base64, so look at what they decode to as well.
fn check_k8s_value(v: &str) -> Check {
    if is_default_password(v) {
        return Check::Invalid;
    }
    if let Some(raw) = decode::b64(v)
        && let Ok(text) = String::from_utf8(raw)
    {
        let text = text.trim();
        if text.is_empty()
            || is_default_password(text)
            || (text.contains("://") && !text.contains('@'))
        {
            return Check::Invalid;
        }
    }
    Check::Unknown
}

/// `_auth` (base64 of `user:password`) and `_password` (base64 of the password).
fn check_npm_base64(v: &str) -> Check {
    let Some(text) = decode::b64(v).and_then(|raw| String::from_utf8(raw).ok()) else {
        return Check::Invalid;
    };
    if text.len() < 3 || !text.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        return Check::Invalid;
    }
    let password = text.split_once(':').map_or(text.as_str(), |(_, p)| p);
    if password.is_empty() || is_default_password(password) {
        Check::Invalid
    } else {
        Check::Valid
    }
}

/// Docker's `auth` is base64 of `user:password`.
fn check_docker_auth(v: &str) -> Check {
    let Some(text) = decode::b64(v).and_then(|raw| String::from_utf8(raw).ok()) else {
        return Check::Invalid;
    };
    match text.split_once(':') {
        Some((user, pass))
            if !user.is_empty() && !pass.is_empty() && !is_default_password(pass) =>
        {
            Check::Valid
        }
        _ => Check::Invalid,
    }
}

/// kubeconfig `client-key-data` is a base64-encoded PEM private key.
fn check_client_key(v: &str) -> Check {
    match decode::b64(v).map(|raw| String::from_utf8_lossy(&raw).into_owned()) {
        Some(pem) if pem.contains("-----BEGIN") && pem.contains("PRIVATE KEY-----") => Check::Valid,
        _ => Check::Invalid,
    }
}

fn check_kubeconfig_token(v: &str) -> Check {
    if is_default_password(v) {
        Check::Invalid
    } else {
        Check::Unknown
    }
}

// ---------------------------------------------------------------------------------------------
// Kubernetes Secret manifests

const K8S_FIX: &str = "Remove the Secret manifest from the repository, rotate every credential it held, and manage the Secret with External Secrets, Sealed Secrets or SOPS instead.";
macro_rules! k8s_refs {
    () => {
        "- [Kubernetes: Secrets](https://kubernetes.io/docs/concepts/configuration/secret/)\n\
     - [Good practices for Kubernetes Secrets](https://kubernetes.io/docs/concepts/security/secrets-good-practices/)"
    };
}

pub static K8S_SECRET: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-038",
        "Kubernetes Secret manifest with data",
        Severity::High,
        K8S_FIX,
        K8S_SECRET_DOC,
    ),
    keywords: &["kind: secret", "kind: \"secret\"", "kind: 'secret'"],
    pattern: concat!(
        r#"kind:[ \t]*["']?Secret["']?[ \t]*\r?\n"#,
        "(?:",
        doc_line!(),
        "){0,80}?",
        r"[ \t]*(?:data|stringData):[ \t]*\r?\n",
        first_value!()
    ),
    min_entropy: None,
    path: None,
    allow: &["MWYyZDFlMmU2N2Rm"],
    check: Some(check_k8s_value),
    window: 4096,
};

const K8S_SECRET_DOC: &str = crate::secret_doc!(
    "Finds Kubernetes `Secret` manifests (`kind: Secret`) that carry values under `data:` \
     (base64) or `stringData:` (plain text), pointing at the first non-empty value. Helm \
     templates (`{{ … }}`), placeholders, values that decode to defaults, and the example \
     values of the Kubernetes documentation are ignored.",
    "`data` is only base64-encoded, not encrypted: anyone who can read the repository reads \
     the database passwords, API keys and TLS keys in it, in every clone and fork and forever \
     in the history.",
    "```yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: billing-db\ntype: Opaque\ndata:\n  password: WnI4TG0yWHYwVGI3TmNLcQ==\n```",
    "```yaml\n# External Secrets Operator: the manifest names the secret, the value stays in the store\napiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\nmetadata:\n  name: billing-db\nspec:\n  secretStoreRef: {name: vault, kind: ClusterSecretStore}\n  target: {name: billing-db}\n  data:\n    - secretKey: password\n      remoteRef: {key: billing/db, property: password}\n```\nRevoke and rotate: change each credential at its source (database, API provider), update \
     the secret store, and remove the manifest from the repository history.",
    k8s_refs!(),
);

pub static K8S_SECRET_SORTED: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-039",
        "Kubernetes Secret manifest with data (kubectl output order)",
        Severity::High,
        K8S_FIX,
        K8S_SECRET_SORTED_DOC,
    ),
    keywords: &["data:"],
    pattern: concat!(
        r"(?m)^(?:data|stringData):[ \t]*\r?\n",
        first_value!(),
        r#"["']?[ \t]*\r?\n"#,
        "(?:",
        doc_line!(),
        "){0,400}?",
        r#"kind:[ \t]*["']?Secret["']?[ \t]*\r?$"#
    ),
    min_entropy: None,
    path: None,
    allow: &["MWYyZDFlMmU2N2Rm"],
    check: Some(check_k8s_value),
    window: 16384,
};

const K8S_SECRET_SORTED_DOC: &str = crate::secret_doc!(
    "Finds Secret manifests written with sorted keys, as `kubectl get secret -o yaml` prints \
     them: a top-level `data:` (or `stringData:`) block with a value, followed later in the \
     same document by `kind: Secret`. This is the usual shape of a Secret exported from a \
     cluster and committed.",
    "An exported Secret holds the live values of the cluster: service-account tokens, \
     registry credentials, TLS keys, database passwords. They are only base64-encoded.",
    "```yaml\napiVersion: v1\ndata:\n  .dockerconfigjson: eyJhdXRocyI6eyJyZWdpc3RyeS5jb3JwLmlvIjp7ImF1dGgiOiJabTl2T21KaGNnPT0ifX19\nkind: Secret\nmetadata:\n  name: regcred\ntype: kubernetes.io/dockerconfigjson\n```",
    "```yaml\n# Sealed Secrets: only the cluster's controller can decrypt the committed values\napiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: regcred\nspec:\n  encryptedData:\n    .dockerconfigjson: AgBy3i4OJSWK+PiTySYZZA9rO43cGDEq...\n```\nRevoke and rotate: rotate every value the Secret held at its source, re-create the Secret \
     from the secret store, and purge the export from the repository history.",
    k8s_refs!(),
);

// ---------------------------------------------------------------------------------------------
// Package registries

pub static NPMRC_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-040",
        "npm registry auth token in .npmrc",
        Severity::High,
        "Revoke the token at the registry (npm: Access Tokens page or `npm token revoke`), and write .npmrc from an environment variable (`_authToken=${NPM_TOKEN}`) at build time.",
        NPMRC_TOKEN_DOC,
    ),
    keywords: &["_authtoken"],
    pattern: r#"(?m)(?:^[ \t]*|//\S*?:)_authToken[ \t]*=[ \t]*["']?(?P<secret>[^\s"'#;]{8,})"#,
    min_entropy: Some(3.0),
    path: None,
    allow: &[],
    check: Some(check_config_value),
    window: DEFAULT_WINDOW,
};

const NPMRC_TOKEN_DOC: &str = crate::secret_doc!(
    "Finds registry tokens in npm configuration: `_authToken=…` lines, usually scoped to a \
     registry (`//registry.npmjs.org/:_authToken=…`, `//npm.pkg.github.com/:_authToken=…`), in \
     `.npmrc` files or in scripts and Dockerfiles that write one. References such as \
     `${NPM_TOKEN}` are ignored; tokens with a known prefix (`npm_`, `ghp_`…) are left to their \
     provider's rule.",
    "A publish-capable token lets an attacker release malicious versions of your packages, \
     the classic supply-chain attack; read tokens expose private packages.",
    "```ini\n//registry.npmjs.org/:_authToken=3f1c9e0a7b2d4c5e6f708192a3b4c5d6e7f8\n```",
    "```ini\n# .npmrc committed with a reference; the value comes from the CI secret store\n//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n```\nRevoke and rotate: `npm token list` and `npm token revoke ID` (or the *Access Tokens* page \
     on npmjs.com; for GitHub Packages revoke the PAT), create a granular token limited to the \
     packages and an expiry, and use trusted publishing where available.",
    "- [npm: .npmrc](https://docs.npmjs.com/cli/v10/configuring-npm/npmrc)\n\
     - [npm: revoking access tokens](https://docs.npmjs.com/revoking-access-tokens)",
);

pub static NPMRC_AUTH: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-041",
        "npm registry basic-auth credentials in .npmrc (_auth / _password)",
        Severity::High,
        "Change the registry user's password (or revoke its token), and generate .npmrc from environment variables in CI.",
        NPMRC_AUTH_DOC,
    ),
    keywords: &["_auth", "_password"],
    pattern: r#"(?m)(?:^[ \t]*|//\S*?:)_(?:auth|password)[ \t]*=[ \t]*["']?(?P<secret>[A-Za-z0-9+/]{4,}={0,2})(?:["'\s]|$)"#,
    min_entropy: None,
    path: None,
    allow: &[],
    check: Some(check_npm_base64),
    window: DEFAULT_WINDOW,
};

const NPMRC_AUTH_DOC: &str = crate::secret_doc!(
    "Finds basic-auth credentials in npm configuration: `_auth=` (base64 of `user:password`) \
     and `_password=` (base64 of the password, next to `username=`), global or scoped to a \
     registry such as Nexus or Artifactory. The value must decode to printable text.",
    "Base64 is an encoding, not protection: the registry password is right there, and private \
     registry accounts often have deploy rights to internal packages.",
    "```ini\n//nexus.corp.io/repository/npm-private/:username=ci\n//nexus.corp.io/repository/npm-private/:_password=WnI4TG0yWHYwVGI3TmM=\n```",
    "```ini\n//nexus.corp.io/repository/npm-private/:_auth=${NPM_AUTH}\n```\nRevoke and rotate: change the password of the registry user (or revoke its token in \
     Nexus/Artifactory), store the new value in the CI secret store, and purge the old file \
     from history.",
    "- [npm: .npmrc (auth-related configuration)](https://docs.npmjs.com/cli/v10/configuring-npm/npmrc#auth-related-configuration)",
);

pub static PYPIRC_PASSWORD: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-042",
        "Package index password in .pypirc",
        Severity::High,
        "Revoke the token (PyPI: Account settings → API tokens) or change the password of the private index, and use trusted publishing or a CI secret instead of .pypirc.",
        PYPIRC_PASSWORD_DOC,
    ),
    keywords: &["[pypi]", "[testpypi]", "repository"],
    pattern: r"(?m)(?:\[(?:pypi|testpypi)\]|^[ \t]*repository[ \t]*[:=][ \t]*https?://\S+)[^\[]{0,500}?\n[ \t]*password[ \t]*[:=][ \t]*(?P<secret>\S{6,})",
    min_entropy: None,
    path: None,
    allow: &[],
    check: Some(check_config_value),
    window: DEFAULT_WINDOW,
};

const PYPIRC_PASSWORD_DOC: &str = crate::secret_doc!(
    "Finds `password =` entries of `.pypirc` index sections: `[pypi]`, `[testpypi]` or any \
     section with a `repository = https://…` URL (private indexes). PyPI API tokens \
     (`pypi-…`) are left to the PyPI token rule.",
    "The password or token uploads packages to the index under your project names: an \
     attacker can publish a malicious release that every `pip install` picks up.",
    "```ini\n[private]\nrepository = https://nexus.corp.io/repository/pypi-internal/\nusername = deploy\npassword = Zr8Lm2Xv0Tb7NcKq9H\n```",
    "```yaml\n# GitHub Actions: PyPI trusted publishing, no stored credential\npermissions:\n  id-token: write\nsteps:\n  - uses: pypa/gh-action-pypi-publish@release/v1\n```\nRevoke and rotate: on PyPI, *Account settings → API tokens → Remove*; for a private index \
     change the user's password or token there; then configure trusted publishing or a CI \
     secret (`TWINE_PASSWORD`).",
    "- [The .pypirc file](https://packaging.python.org/en/latest/specifications/pypirc/)\n\
     - [PyPI: trusted publishers](https://docs.pypi.org/trusted-publishers/)",
);

pub static DOCKER_AUTH: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-043",
        "Container registry credentials in Docker config.json",
        Severity::High,
        "Change the registry password or revoke the access token, and use a credential helper (`credsStore`) or short-lived registry tokens instead of stored auths.",
        DOCKER_AUTH_DOC,
    ),
    keywords: &["\"auths\""],
    pattern: r#""auths"\s*:\s*\{[\s\S]{0,2000}?"auth"\s*:\s*"(?P<secret>[A-Za-z0-9+/]{6,}={0,2})""#,
    min_entropy: None,
    path: None,
    allow: &[],
    check: Some(check_docker_auth),
    window: 4096,
};

const DOCKER_AUTH_DOC: &str = crate::secret_doc!(
    "Finds registry credentials stored by `docker login` without a credential helper: the \
     `\"auth\"` field under `\"auths\"` in `~/.docker/config.json` (and in \
     `.dockerconfigjson` Secrets), base64 of `username:password`. The value must decode to \
     a user and a non-default password.",
    "The credentials pull (and usually push) images of every repository the account can \
     access: an attacker can read private images and the secrets baked into them, or replace \
     images that production pulls.",
    "```json\n{\"auths\": {\"registry.corp.io\": {\"auth\": \"ZGVwbG95OlpyOExtMlh2MFRiN05jS3E=\"}}}\n```",
    "```json\n{\"credsStore\": \"desktop\", \"credHelpers\": {\"123456789012.dkr.ecr.us-east-1.amazonaws.com\": \"ecr-login\"}}\n```\nRevoke and rotate: change the account's password or revoke the access token in the \
     registry (Docker Hub *Account settings → Personal access tokens*, Harbor/Nexus/GitLab \
     user settings), log in again with a credential helper, and delete the file from images \
     and repositories.",
    "- [docker login: credential stores](https://docs.docker.com/reference/cli/docker/login/)\n\
     - [Kubernetes: pull an image from a private registry](https://kubernetes.io/docs/tasks/configure-pod-container/pull-image-private-registry/)",
);

// ---------------------------------------------------------------------------------------------
// kubeconfig

macro_rules! kubeconfig_refs {
    () => {
        "- [Organizing cluster access using kubeconfig files](https://kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/)\n\
     - [Kubernetes: authenticating](https://kubernetes.io/docs/reference/access-authn-authz/authentication/)"
    };
}

pub static KUBECONFIG_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-044",
        "Bearer token in a kubeconfig user",
        Severity::High,
        "Revoke the token (delete the service-account token Secret or the static token), and use an exec credential plugin (cloud CLI, OIDC) in kubeconfig files.",
        KUBECONFIG_TOKEN_DOC,
    ),
    keywords: &["users:"],
    pattern: r#"(?m)^users:[ \t]*\r?\n[\s\S]{0,2000}?^[ \t]*-?[ \t]*user:[ \t]*\r?\n(?:[ \t]+[^\n]*\n){0,20}?[ \t]+token:[ \t]*["']?(?P<secret>[A-Za-z0-9._~+/=-]{16,})"#,
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: Some(check_kubeconfig_token),
    window: 4096,
};

const KUBECONFIG_TOKEN_DOC: &str = crate::secret_doc!(
    "Finds static bearer tokens in kubeconfig files: a `token:` under a `user:` entry of the \
     top-level `users:` list (service-account tokens, static tokens, tokens copied from a \
     dashboard).",
    "The token authenticates to the cluster's API server as its service account or user; \
     CI kubeconfigs often carry cluster-admin. Service-account tokens created as Secrets never \
     expire.",
    "```yaml\nusers:\n- name: ci-deployer\n  user:\n    token: eyJhbGciOiJSUzI1NiIsImtpZCI6Ij...\n```",
    "```yaml\nusers:\n- name: ci-deployer\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: aws\n      args: [eks, get-token, --cluster-name, prod]\n```\nRevoke and rotate: for a service-account token Secret, delete the Secret (`kubectl delete \
     secret NAME -n NS`) or the service account; for bound tokens rotate the signing key or \
     wait for expiry; audit what the identity did (API server audit log).",
    kubeconfig_refs!(),
);

pub static KUBECONFIG_CLIENT_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-045",
        "Client certificate private key in a kubeconfig (client-key-data)",
        Severity::Critical,
        "Revoke the client certificate (rotate the cluster CA or remove the user's RBAC bindings), delete the kubeconfig from the repository, and use an exec credential plugin or OIDC.",
        KUBECONFIG_CLIENT_KEY_DOC,
    ),
    keywords: &["client-key-data"],
    pattern: r#"client-key-data["']?\s*:\s*["']?(?P<secret>[A-Za-z0-9+/]{40,}={0,2})"#,
    min_entropy: None,
    path: None,
    allow: &[],
    check: Some(check_client_key),
    window: 16384,
};

const KUBECONFIG_CLIENT_KEY_DOC: &str = crate::secret_doc!(
    "Finds `client-key-data:` in kubeconfig users: the base64-encoded PEM private key of a \
     client certificate. The value must decode to a PEM private key.",
    "With the key and its certificate (`client-certificate-data`, next to it) anyone can \
     authenticate to the API server as that user and group, often `system:masters` for \
     kubeconfigs made by installers. Client certificates cannot be revoked individually in \
     Kubernetes: the access lasts until the certificate expires or the CA is rotated.",
    "```yaml\nusers:\n- name: kubernetes-admin\n  user:\n    client-certificate-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t...\n    client-key-data: LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQ...\n```",
    "```yaml\nusers:\n- name: oidc\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: kubectl\n      args: [oidc-login, get-token, --oidc-issuer-url=https://sso.corp.io]\n```\nRevoke and rotate: remove the RBAC bindings of the certificate's user and groups (not \
     possible for `system:masters`), and rotate the cluster CA if the certificate must stop \
     working before it expires (`kubeadm certs renew` does not revoke it).",
    kubeconfig_refs!(),
);

// ---------------------------------------------------------------------------------------------
// .netrc and URLs

pub static NETRC_PASSWORD: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-046",
        "Password in a .netrc entry",
        Severity::High,
        "Change the password or revoke the token for that host, and keep .netrc out of repositories and images (mount it or use a credential helper).",
        NETRC_PASSWORD_DOC,
    ),
    keywords: &["machine"],
    pattern: r"\bmachine[ \t]+\S+\s+login[ \t]+\S+\s+password[ \t]+(?P<secret>\S{3,})",
    min_entropy: None,
    path: None,
    allow: &[],
    check: Some(check_config_value),
    window: DEFAULT_WINDOW,
};

const NETRC_PASSWORD_DOC: &str = crate::secret_doc!(
    "Finds `.netrc` entries (`machine HOST login USER password SECRET`, on one line or \
     several), which curl, git, pip and Heroku's CLI read for credentials.",
    "The password (often an API token: GitHub, Heroku, artifact repositories) authenticates \
     as the user on that host. `.netrc` files get copied into images by `COPY . .` and into \
     repositories with dotfiles.",
    "```text\nmachine git.corp.io\n  login deploy\n  password Zr8Lm2Xv0Tb7NcKq9Hc0Rr3m\n```",
    "```sh\n# Use the tool's credential helper or a mounted secret at build time\ndocker build --secret id=netrc,src=$HOME/.netrc .\n```\nRevoke and rotate: revoke the token or change the password at the host named by \
     `machine`, and remove the file from the repository and image history.",
    "- [GNU inetutils: the .netrc file](https://www.gnu.org/software/inetutils/manual/html_node/The-_002enetrc-file.html)\n\
     - [curl: .netrc](https://everything.curl.dev/usingcurl/netrc)",
);

pub static URL_CREDENTIALS: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-047",
        "Credentials in an HTTP(S) URL",
        Severity::High,
        "Change the password or revoke the token in the URL, and pass credentials through a credential helper or header from a secret store instead of the URL.",
        URL_CREDENTIALS_DOC,
    ),
    keywords: &["http://", "https://"],
    // The first alternative (no `secret` group) consumes Sentry DSNs, which PAL-SEC-143 owns.
    pattern: r#"\bhttps?://(?:[0-9a-f]{32}:[0-9a-f]{32}@|[^\s:@/"'<>]*:[^\s:@/"'<>]{3,128}@[A-Za-z0-9_.-]*sentry)|\bhttps?://[^\s:@/"'<>]*:(?P<secret>[^\s:@/"'<>]{3,128})@[A-Za-z0-9_.-]+"#,
    min_entropy: None,
    path: None,
    allow: &[],
    check: Some(check_config_value),
    window: DEFAULT_WINDOW,
};

const URL_CREDENTIALS_DOC: &str = crate::secret_doc!(
    "Finds HTTP and HTTPS URLs with a password or token in their user-info part \
     (`https://user:token@host/…`), as stored in `.git-credentials`, Git remotes, pip index \
     URLs and proxy settings. Default passwords and placeholders are ignored; tokens with a \
     known prefix are left to their provider's rule.",
    "URLs are logged, cached and shown in error messages: the credential in them travels to \
     CI logs, shell histories and package manager caches, and grants whatever the account can \
     do on that host.",
    "```text\nhttps://deploy:Zr8Lm2Xv0Tb7NcKq9Hc0@git.corp.io/team/billing.git\n```",
    "```sh\n# Let git ask a credential helper, or send the token as a header from the secret store\ngit config --global credential.helper store   # outside the repository, or a manager-core helper\ngit -c http.extraHeader=\"Authorization: Bearer $TOKEN\" clone https://git.corp.io/team/billing.git\n```\nRevoke and rotate: revoke the token or change the password on the host, remove the URL \
     from remotes, config and history, and check the host's audit log.",
    "- [RFC 3986 §3.2.1: user information (deprecated password use)](https://www.rfc-editor.org/rfc/rfc3986#section-3.2.1)\n\
     - [git-credential-store](https://git-scm.com/docs/git-credential-store)",
);

#[cfg(test)]
pub(crate) fn samples(rng: &mut crate::testing::Rng) -> Vec<crate::testing::Sample> {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::keys::sample_keys::{armor, der_key, pem};
    use crate::engine::{entropy, is_placeholder};
    use crate::testing::{Rng, Sample};

    fn fresh(rng: &mut Rng, mut make: impl FnMut(&mut Rng) -> String) -> String {
        loop {
            let s = make(rng);
            if !is_placeholder(&s) && entropy(&s) >= 3.6 && s.bytes().any(|b| b.is_ascii_digit()) {
                return s;
            }
        }
    }
    let b64 = |s: &str| STANDARD.encode(s);

    let k8s_value = b64(&fresh(rng, |r| r.alnum(20)));
    let k8s_value2 = b64(&fresh(rng, |r| r.alnum(24)));
    // The encoded PEM is the secret: regenerate until no placeholder word appears in it.
    let key_data = loop {
        let k = b64(&pem(
            "RSA PRIVATE KEY",
            &armor(rng, "\n", |r| der_key(r, 600)),
        ));
        if !is_placeholder(&k) {
            break k;
        }
    };

    vec![
        Sample {
            rule: "PAL-SEC-038",
            text: format!(
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: billing-db\n  labels:\n    - app\ntype: Opaque\ndata:\n  username: YmlsbGluZw==\n  password: {k8s_value}\n"
            ),
            near_misses: vec![
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ntype: Opaque\ndata:\n  password: {{ .Values.db.password | b64enc }}\n".into(),
                "apiVersion: v1\nkind: Secret\nmetadata:\n  name: mysecret\ntype: Opaque\ndata:\n  username: YWRtaW4=\n  password: MWYyZDFlMmU2N2Rm\n".into(),
                format!(
                    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: sa-token\n  annotations:\n    kubernetes.io/service-account.name: build\ntype: kubernetes.io/service-account-token\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  feature: {}\n",
                    rng.alnum(20)
                ),
            ],
        },
        Sample {
            rule: "PAL-SEC-039",
            text: format!(
                "apiVersion: v1\ndata:\n  api-token: {k8s_value2}\nkind: Secret\nmetadata:\n  creationTimestamp: \"2024-05-02T10:11:12Z\"\n  name: notifier\n  namespace: prod\ntype: Opaque\n"
            ),
            near_misses: vec![
                format!("apiVersion: v1\ndata:\n  settings: {}\nkind: ConfigMap\nmetadata:\n  name: notifier\n", b64(&rng.alnum(20))),
                "apiVersion: v1\ndata:\n  password: cGFzc3dvcmQ=\nkind: Secret\nmetadata:\n  name: demo\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-040",
            text: format!("registry=https://registry.corp.io/npm/\n//registry.corp.io/npm/:_authToken={}\n", fresh(rng, |r| r.hex(40))),
            near_misses: vec![
                "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n".into(),
                format!("//registry.npmjs.org/:_authToken=npm_{}\n", rng.alnum(20)),
                "_authToken=<token>\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-041",
            text: format!(
                "//nexus.corp.io/repository/npm-private/:username=ci\n//nexus.corp.io/repository/npm-private/:_password={}\n",
                b64(&fresh(rng, |r| r.alnum(16)))
            ),
            near_misses: vec![
                "_auth=${NPM_AUTH}\n".into(),
                format!("_auth={}\n", b64("deploy:password")),
                format!("_auth = {}\n", STANDARD.encode([0xff, 0x00, 0x13, 0x88, 0x9a, 0x01])),
            ],
        },
        Sample {
            rule: "PAL-SEC-042",
            text: format!(
                "[distutils]\nindex-servers =\n    private\n\n[private]\nrepository = https://nexus.corp.io/repository/pypi-internal/\nusername = deploy\npassword = {}\n",
                fresh(rng, |r| r.alnum(18))
            ),
            near_misses: vec![
                "[pypi]\nusername = __token__\npassword = <your-pypi-token>\n".into(),
                "[pypi]\nusername = __token__\npassword = ${PYPI_TOKEN}\n".into(),
                format!("[pypi]\nusername = __token__\npassword = pypi-AgEIcHlwaS5vcmc{}\n", rng.alnum(10)),
            ],
        },
        Sample {
            rule: "PAL-SEC-043",
            text: format!(
                "{{\n  \"auths\": {{\n    \"registry.corp.io\": {{\n      \"auth\": \"{}\"\n    }}\n  }}\n}}\n",
                b64(&format!("deploy:{}", fresh(rng, |r| r.alnum(20))))
            ),
            near_misses: vec![
                "{\"auths\": {\"https://index.docker.io/v1/\": {}}, \"credsStore\": \"desktop\"}\n".into(),
                format!("{{\"auths\": {{\"registry.corp.io\": {{\"auth\": \"{}\"}}}}}}\n", b64(&rng.alnum(20))),
                format!("{{\"auths\": {{\"registry.corp.io\": {{\"auth\": \"{}\"}}}}}}\n", b64("user:password")),
            ],
        },
        Sample {
            rule: "PAL-SEC-044",
            text: format!(
                "apiVersion: v1\nkind: Config\ncurrent-context: prod\nusers:\n- name: ci-deployer\n  user:\n    token: {}\n",
                fresh(rng, |r| r.alnum(40))
            ),
            near_misses: vec![
                "users:\n- name: ci\n  user:\n    token: ${KUBE_TOKEN}\n".into(),
                "users:\n- name: eks\n  user:\n    exec:\n      command: aws\n      args: [eks, get-token]\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-045",
            text: format!(
                "users:\n- name: kubernetes-admin\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\n",
                b64(&pem("CERTIFICATE", &rng.base64(64))),
                key_data
            ),
            near_misses: vec![
                "users:\n- name: admin\n  user:\n    client-key-data: DATA+OMITTED\n".into(),
                format!("users:\n- name: admin\n  user:\n    client-key-data: {}\n", b64(&rng.alnum(60))),
            ],
        },
        Sample {
            rule: "PAL-SEC-046",
            text: format!("machine git.corp.io\n  login deploy\n  password {}\n", fresh(rng, |r| r.alnum(24))),
            near_misses: vec![
                "machine example.com login user password password\n".into(),
                "machine git.corp.io login deploy password ${GIT_PASSWORD}\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-047",
            text: format!("https://deploy:{}@git.corp.io\n", fresh(rng, |r| r.alnum(24))),
            near_misses: vec![
                "proxy = https://user:pass@proxy.corp.io:3128\n".into(),
                "git clone https://x-access-token:${GITHUB_TOKEN}@github.com/org/repo.git\n".into(),
                "https://username:password@host/path\n".into(),
            ],
        },
    ]
}
