//! Package registries and infrastructure tooling: npm, PyPI, RubyGems, NuGet, Docker Hub,
//! Terraform Cloud, HashiCorp Vault, JFrog Artifactory and Fly.io.

use base64::Engine as _;
use palisade_core::{RuleMeta, Scanner, Severity};

use crate::rule::{Check, DEFAULT_WINDOW, SecretRule};

pub static RULES: &[&SecretRule] = &[
    &NPM_ACCESS_TOKEN,
    &PYPI_API_TOKEN,
    &RUBYGEMS_API_KEY,
    &NUGET_API_KEY,
    &DOCKER_HUB_TOKEN,
    &TERRAFORM_CLOUD_TOKEN,
    &VAULT_TOKEN,
    &VAULT_LEGACY_TOKEN,
    &ARTIFACTORY_API_KEY,
    &JFROG_REFERENCE_TOKEN,
    &FLY_TOKEN,
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

pub static NPM_ACCESS_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-126",
        "npm access token",
        Severity::High,
        "Revoke the token on npmjs.com (Access Tokens) or with `npm token revoke`, and publish from CI with trusted publishing or a granular token.",
        crate::secret_doc!(
            "Finds npm access tokens: `npm_` followed by 36 letters and digits (classic and granular\ntokens since 2021).",
            "A publish-capable npm token lets anyone release new versions of every package the user or\norganization maintains; a malicious version reaches every project that installs it. Read-only\ntokens still expose private packages.",
            "```bash\nnpm config set //registry.npmjs.org/:_authToken npm_Tq9…4Lx\n```",
            "```yaml\n# GitHub Actions: trusted publishing (OIDC), no long-lived token at all\npermissions:\n  id-token: write\nsteps:\n  - run: npm publish --provenance\n```\nRevoke and rotate: on npmjs.com open *Access Tokens*, delete the token (or run `npm token\nrevoke <id>`), create a granular token limited to the packages and expiry needed if one is\nstill required, and check the packages' recent versions for releases you did not make.",
            "- [npm: About access tokens](https://docs.npmjs.com/about-access-tokens)\n- [npm: Revoking access tokens](https://docs.npmjs.com/revoking-access-tokens)\n- [GitHub blog: npm's new access token format](https://github.blog/changelog/2021-09-23-npm-has-a-new-access-token-format/)",
        ),
    ),
    keywords: &["npm_"],
    pattern: r"\b(?P<secret>npm_[0-9A-Za-z]{36})\b",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static PYPI_API_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-127",
        "PyPI API token",
        Severity::High,
        "Remove the token in PyPI (Account settings → API tokens) and publish with trusted publishing instead.",
        crate::secret_doc!(
            "Finds PyPI and TestPyPI API tokens: `pypi-` followed by a base64url macaroon whose first bytes\nname the index, so real tokens start with `pypi-AgEIcHlwaS5vcmc` (pypi.org) or\n`pypi-AgENdGVzdC5weXBpLm9yZw` (test.pypi.org).",
            "An account-wide token uploads new releases of every project the user maintains; a\nproject-scoped token uploads releases of that project. A malicious release is installed by\neveryone who does not pin hashes.",
            "```ini\n# ~/.pypirc\n[pypi]\nusername = __token__\npassword = pypi-AgEIcHlwaS5vcmc…Rk\n```",
            "```yaml\n# GitHub Actions: trusted publishing, no token stored anywhere\npermissions:\n  id-token: write\nsteps:\n  - uses: pypa/gh-action-pypi-publish@release/v1\n```\nRevoke and rotate: on PyPI open *Account settings → API tokens*, *Options → Remove token*, then\nconfigure a trusted publisher for the project (or create a new project-scoped token) and review\nthe project's release history and security log.",
            "- [PyPI: API tokens](https://pypi.org/help/#apitoken)\n- [PyPI: Trusted publishers](https://docs.pypi.org/trusted-publishers/)",
        ),
    ),
    keywords: &["pypi-ag"],
    pattern: r"\b(?P<secret>pypi-(?:AgEIcHlwaS5vcmc|AgENdGVzdC5weXBpLm9yZw)[0-9A-Za-z_-]{50,1000})(?:[^0-9A-Za-z_-]|$)",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: 1536,
};

pub static RUBYGEMS_API_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-128",
        "RubyGems API key",
        Severity::High,
        "Delete the key on rubygems.org (Settings → API keys) and publish with trusted publishing or a scoped key from a secret store.",
        crate::secret_doc!(
            "Finds RubyGems.org API keys: `rubygems_` followed by 48 hexadecimal characters.",
            "Depending on its scopes the key can push new versions of the owner's gems, yank versions and\nmanage owners. A pushed malicious version runs on every machine that installs it.",
            "```yaml\n# ~/.gem/credentials\n:rubygems_api_key: rubygems_3f0b…9e1d\n```",
            "```yaml\n# GitHub Actions: trusted publishing\n- uses: rubygems/release-gem@v1\n```\nRevoke and rotate: on rubygems.org open *Settings → API keys*, delete the key, create a new one\nwith only the scopes and gem it needs (or use trusted publishing), and review the gems'\nversion history.",
            "- [RubyGems: API key scopes](https://guides.rubygems.org/api-key-scopes/)\n- [RubyGems: Trusted publishing](https://guides.rubygems.org/trusted-publishing/)",
        ),
    ),
    keywords: &["rubygems_"],
    pattern: r"\b(?P<secret>rubygems_[0-9a-f]{48})\b",
    min_entropy: Some(2.7),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static NUGET_API_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-129",
        "NuGet API key",
        Severity::High,
        "Delete or regenerate the key on nuget.org (API Keys) and push from CI with trusted publishing or a scoped, expiring key.",
        crate::secret_doc!(
            "Finds nuget.org API keys: 46 lowercase letters and digits starting with `oy2`.",
            "A nuget.org key with push scope publishes new versions of the packages it covers (by glob,\noften `*`); every project that updates gets the new code.",
            "```bash\ndotnet nuget push pkg.nupkg --api-key oy2hq…5bm --source https://api.nuget.org/v3/index.json\n```",
            "```bash\ndotnet nuget push pkg.nupkg --api-key \"$NUGET_API_KEY\" --source https://api.nuget.org/v3/index.json\n```\nRevoke and rotate: on nuget.org open *API Keys*, *Delete* (or *Regenerate*) the key, create a\nnew key limited to the package glob, scope and expiry needed, and check the packages' version\nhistory.",
            "- [NuGet: Scoped API keys](https://learn.microsoft.com/en-us/nuget/nuget-org/scoped-api-keys)",
        ),
    ),
    keywords: &["oy2"],
    pattern: r"\b(?P<secret>oy2[0-9a-z]{43})\b",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static DOCKER_HUB_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-130",
        "Docker Hub access token",
        Severity::High,
        "Delete the token in Docker Hub (Account settings → Personal access tokens, or the organization's access tokens) and store a new one in the CI secret store.",
        crate::secret_doc!(
            "Finds Docker Hub personal access tokens (`dckr_pat_`) and organization access tokens\n(`dckr_oat_`) followed by 27 or more URL-safe characters.",
            "With read-write scope the token pushes images to every repository the account or\norganization owns: a poisoned `latest` tag is pulled by every deployment that trusts it.\nRead-only tokens still expose private images, which often contain further secrets.",
            "```bash\necho dckr_pat_0n3…Xw | docker login -u builder --password-stdin\n```",
            "```yaml\n- uses: docker/login-action@v3\n  with:\n    username: ${{ vars.DOCKERHUB_USERNAME }}\n    password: ${{ secrets.DOCKERHUB_TOKEN }}\n```\nRevoke and rotate: in Docker Hub open *Account settings → Personal access tokens* (or the\norganization's *Access tokens*), deactivate and delete the token, create a replacement with the\nsmallest scope, and check the repositories' tag history.",
            "- [Docker: Personal access tokens](https://docs.docker.com/security/access-tokens/)\n- [Docker: Organization access tokens](https://docs.docker.com/enterprise/security/access-tokens/)",
        ),
    ),
    keywords: &["dckr_pat_", "dckr_oat_"],
    pattern: r"\b(?P<secret>dckr_(?:pat|oat)_[0-9A-Za-z_-]{27,64})(?:[^0-9A-Za-z_-]|$)",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static TERRAFORM_CLOUD_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-131",
        "Terraform Cloud / Enterprise API token",
        Severity::High,
        "Delete the token in HCP Terraform (user, team or organization token settings) and use dynamic credentials or a CI secret.",
        crate::secret_doc!(
            "Finds HCP Terraform (Terraform Cloud) and Terraform Enterprise API tokens: a 14-character ID,\n`.atlasv1.`, and the secret.",
            "The token acts as its user, team or organization: it reads state (which holds every output\nand often plaintext secrets), changes variables, and queues runs that apply with the\nworkspace's cloud credentials.",
            "```hcl\n# ~/.terraformrc\ncredentials \"app.terraform.io\" {\n  token = \"Zx4…Qa.atlasv1.kT9…Lm\"\n}\n```",
            "```bash\n# CI provides the token through the environment, never a file in the repo\nexport TF_TOKEN_app_terraform_io=\"$TFC_TOKEN\"\nterraform plan\n```\nRevoke and rotate: delete the token under *User settings → Tokens*, the team's *API token*, or\n*Organization settings → API tokens*, create a replacement, and review the organization's\naudit trail and recent runs and state versions.",
            "- [HCP Terraform: API tokens](https://developer.hashicorp.com/terraform/cloud-docs/users-teams-organizations/api-tokens)\n- [Terraform CLI: Credentials](https://developer.hashicorp.com/terraform/cli/config/config-file#credentials)",
        ),
    ),
    keywords: &["atlasv1"],
    pattern: r"\b(?P<secret>[0-9A-Za-z]{14}\.atlasv1\.[0-9A-Za-z_=-]{60,70})(?:[^0-9A-Za-z_=-]|$)",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static VAULT_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-132",
        "HashiCorp Vault token",
        Severity::High,
        "Revoke the token (`vault token revoke`) and give the workload an auth method (Kubernetes, AppRole, cloud IAM) instead of a stored token.",
        crate::secret_doc!(
            "Finds HashiCorp Vault tokens in the prefixed format of Vault 1.10 and later: `hvs.` (service\ntokens), `hvb.` (batch tokens) and `hvr.` (recovery tokens) followed by at least 24 URL-safe\ncharacters.",
            "A Vault token reads and writes whatever its policies allow, and Vault is where the other\nsecrets are: database credentials, cloud keys, PKI. Root tokens (also `hvs.`) have no limits\nat all.",
            "```bash\nexport VAULT_TOKEN=hvs.CAESIJ…Rz\n```",
            "```hcl\n# Vault Agent authenticates with the pod's service account and renders secrets\nauto_auth {\n  method \"kubernetes\" {\n    config = { role = \"app\" }\n  }\n}\n```\nRevoke and rotate: `vault token revoke <token>` (or `vault token revoke -accessor <accessor>`;\n`-mode=orphan` keeps children), then rotate every secret its policies could read, and search\nthe audit device logs for the token's accessor.",
            "- [Vault: Tokens (token prefixes)](https://developer.hashicorp.com/vault/docs/concepts/tokens)\n- [Vault: token revoke](https://developer.hashicorp.com/vault/docs/commands/token/revoke)",
        ),
    ),
    keywords: &["hvs.", "hvb.", "hvr."],
    pattern: r"\b(?P<secret>hv[sbr]\.[0-9A-Za-z_-]{24,512})(?:[^0-9A-Za-z_.-]|$)",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static VAULT_LEGACY_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-133",
        "HashiCorp Vault token (legacy format)",
        Severity::High,
        "Revoke the token with `vault token revoke` and use an auth method instead of a stored token.",
        crate::secret_doc!(
            "Finds Vault tokens in the format used before Vault 1.10 (`s.` followed by 24 letters and\ndigits for service tokens, `b.` for batch tokens) where the context says they are Vault's:\n`VAULT_TOKEN=…`, `vault_token: …` or an `X-Vault-Token` header.",
            "Like any Vault token it reads and writes whatever its policies allow, and root tokens allow\neverything; old tokens created before an upgrade keep working until they expire or are\nrevoked.",
            "```bash\ncurl -H 'X-Vault-Token: s.Qf3…9Lm' https://vault.example.com/v1/secret/data/app\n```",
            "```bash\nvault login -method=oidc   # short-lived token in ~/.vault-token, never committed\n```\nRevoke and rotate: `vault token revoke <token>`, rotate the secrets its policies could read,\nand review the audit log for its accessor.",
            "- [Vault: Tokens](https://developer.hashicorp.com/vault/docs/concepts/tokens)\n- [Vault: token revoke](https://developer.hashicorp.com/vault/docs/commands/token/revoke)",
        ),
    ),
    keywords: &["vault"],
    pattern: r#"(?i:vault)[\w.-]{0,20}?(?i:token)["']?\s*[:=]\s*["']?(?P<secret>s\.[0-9A-Za-z]{24}|b\.[0-9A-Za-z_-]{24,512})(?:[^0-9A-Za-z_.-]|$)"#,
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static ARTIFACTORY_API_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-134",
        "JFrog Artifactory API key",
        Severity::High,
        "Revoke the API key in the JFrog Platform (Edit Profile) and move to access tokens; API keys are deprecated.",
        crate::secret_doc!(
            "Finds JFrog Artifactory API keys: 73 letters and digits starting with `AKCp`.",
            "An API key authenticates as its user to Artifactory with all of the user's permissions:\ndownload from and deploy to every repository the user can reach, which is enough to replace\nartifacts that builds and deployments consume.",
            "```ini\n# ~/.gradle/gradle.properties\nartifactory_password=AKCp8k…Vq1\n```",
            "```ini\n# ~/.gradle/gradle.properties is generated in CI from the secret store:\n# artifactory_password=${ARTIFACTORY_ACCESS_TOKEN}\n```\nRevoke and rotate: in the JFrog Platform open *Edit Profile → Authentication Settings* and\nrevoke the API key (admins can revoke all users' keys from *User Management*), replace it with\na scoped, expiring access token, and review the repositories' deploy history.",
            "- [JFrog: API key deprecation and access tokens](https://jfrog.com/help/r/jfrog-platform-administration-documentation/access-tokens)",
        ),
    ),
    keywords: &["akcp"],
    pattern: r"\b(?P<secret>AKCp[0-9A-Za-z]{69})\b",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static JFROG_REFERENCE_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-135",
        "JFrog reference token",
        Severity::High,
        "Revoke the token in the JFrog Platform (Administration → User Management → Access Tokens) and store its replacement in a secret manager.",
        crate::secret_doc!(
            "Finds JFrog Platform reference tokens: 64 characters of base64 whose decoded form starts\nwith `reftkn:` (so the token starts with `cmVmdGtu`).",
            "A reference token stands for a full access token: it carries the scopes of the user or\ngroup it was issued for, typically read and deploy rights on repositories, or admin.",
            "```bash\njf config add prod --url https://example.jfrog.io --access-token cmVmdGtuOjAxOj…3NA\n```",
            "```bash\njf config add prod --url https://example.jfrog.io --access-token \"$JFROG_ACCESS_TOKEN\"\n```\nRevoke and rotate: in the JFrog Platform open *Administration → User Management → Access\nTokens*, revoke the token, issue a new one with the narrowest scope and an expiry, and review\nthe audit and deploy logs.",
            "- [JFrog: Access tokens](https://jfrog.com/help/r/jfrog-platform-administration-documentation/access-tokens)",
        ),
    ),
    keywords: &["cmvmdgtu"],
    pattern: r"\b(?P<secret>cmVmdGtu[0-9A-Za-z+/]{56})(?:[^0-9A-Za-z+/=]|$)",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: Some(jfrog_reference_check),
    window: DEFAULT_WINDOW,
};

/// A reference token is base64 of `reftkn:<version>:<expiry>:<id>`.
fn jfrog_reference_check(secret: &str) -> Check {
    match base64::engine::general_purpose::STANDARD_NO_PAD_INDIFFERENT.decode(secret) {
        Ok(raw) if raw.starts_with(b"reftkn:") && raw.iter().all(|b| b.is_ascii_graphic()) => {
            Check::Valid
        }
        _ => Check::Invalid,
    }
}

pub static FLY_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-136",
        "Fly.io access token",
        Severity::High,
        "Revoke the token with `fly tokens revoke` (or in the dashboard) and issue a narrowly scoped deploy token kept in the CI secret store.",
        crate::secret_doc!(
            "Finds Fly.io tokens: macaroon tokens (`FlyV1 fm2_` followed by one or more comma-separated\nbase64 macaroons, as printed by `fly tokens create`) and OAuth-style `fo1_` tokens from\n`fly auth token`.",
            "An organization or deploy token deploys new code to the apps it covers, reads their secrets\nat runtime, and starts machines billed to the organization; a user token (`fo1_`) can do all\nof that for every organization the user belongs to.",
            "```yaml\nenv:\n  FLY_API_TOKEN: FlyV1 fm2_lJPECAAAAAAA…,fm2_lJPE…\n```",
            "```yaml\nenv:\n  FLY_API_TOKEN: ${{ secrets.FLY_API_TOKEN }}   # a deploy token scoped to one app\n```\nRevoke and rotate: list tokens with `fly tokens list` and revoke the leaked one with `fly tokens\nrevoke <id>` (or in the dashboard under *Tokens*); for a user token, log out the session with\n`fly auth logout` and review the organization's activity. Create replacements with `fly\ntokens create deploy --app <app> --expiry …`.",
            "- [Fly.io: Access tokens](https://fly.io/docs/security/tokens/)\n- [Fly.io: fly tokens create](https://fly.io/docs/flyctl/tokens-create/)",
        ),
    ),
    keywords: &["fm2_", "fo1_"],
    pattern: r"(?:^|[^0-9A-Za-z+/_])(?P<secret>fm2_[0-9A-Za-z+/]{64,4096}={0,2}(?:,fm2_[0-9A-Za-z+/]{16,4096}={0,2})*|fo1_[0-9A-Za-z_-]{39,64})(?:[^0-9A-Za-z+/=_-]|$)",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: 4096,
};

#[cfg(test)]
pub(crate) fn samples(rng: &mut crate::testing::Rng) -> Vec<crate::testing::Sample> {
    use crate::testing::Sample;
    let rng = &mut super::fresh::Fresh(rng);
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    let b64url = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    // A PyPI macaroon: version byte, location "pypi.org", identifier and signature.
    let mut macaroon = vec![0x02, 0x01, 0x08];
    macaroon.extend_from_slice(b"pypi.org");
    macaroon.extend_from_slice(&[0x02, 0x01, 0x2a]);
    macaroon.extend(rng.alnum(120).bytes());
    let pypi = format!("pypi-{}", b64url(&macaroon));
    let reference = b64(format!("reftkn:01:{}:{}", rng.digits(10), rng.alnum(27)).as_bytes());
    let fly = format!("fm2_lJPE{}", rng.base64(400));
    vec![
        Sample {
            rule: "PAL-SEC-126",
            text: format!("//registry.npmjs.org/:_authToken=npm_{}\n", rng.alnum(36)),
            near_misses: vec![
                "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n".into(),
                format!("//registry.npmjs.org/:_authToken=npm_{}\n", rng.alnum(20)),
                "const npm_package_version = process.env.npm_package_version_for_release_builds;\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-127",
            text: format!("[pypi]\nusername = __token__\npassword = {pypi}\n"),
            near_misses: vec![
                "[pypi]\nusername = __token__\npassword = pypi-AgEIcHlwaS5vcmc...\n".into(),
                "password = pypi-<your-token>\n".into(),
                format!("password = pypi-{}\n", rng.base64url(150)),
            ],
        },
        Sample {
            rule: "PAL-SEC-128",
            text: format!(":rubygems_api_key: rubygems_{}\n", rng.hex(48)),
            near_misses: vec![
                ":rubygems_api_key: rubygems_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n".into(),
                format!(":rubygems_api_key: rubygems_{}\n", rng.hex(32)),
            ],
        },
        Sample {
            rule: "PAL-SEC-129",
            text: format!("dotnet nuget push pkg.nupkg --api-key oy2{} --source nuget.org\n", rng.lower_alnum(43)),
            near_misses: vec![
                "dotnet nuget push pkg.nupkg --api-key oy2... --source nuget.org\n".into(),
                format!("toy2{} is a product code\n", rng.lower_alnum(43)),
                format!("dotnet nuget push pkg.nupkg --api-key oy2{} --source nuget.org\n", rng.lower_alnum(20)),
            ],
        },
        Sample {
            rule: "PAL-SEC-130",
            text: format!("echo dckr_pat_{} | docker login -u ci --password-stdin\n", rng.base64url(27)),
            near_misses: vec![
                "echo dckr_pat_xxxxxxxxxxxxxxxxxxxxxxxxxxx | docker login -u ci --password-stdin\n".into(),
                format!("echo dckr_pat_{} | docker login\n", rng.base64url(10)),
            ],
        },
        Sample {
            rule: "PAL-SEC-131",
            text: format!("credentials \"app.terraform.io\" {{\n  token = \"{}.atlasv1.{}\"\n}}\n", rng.alnum(14), rng.base64url(67)),
            near_misses: vec![
                "credentials \"app.terraform.io\" {\n  token = \"xxxxxxxxxxxxxx.atlasv1.zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz\"\n}\n".into(),
                format!("token = \"{}.atlasv1.{}\"\n", rng.alnum(14), rng.base64url(20)),
            ],
        },
        Sample {
            rule: "PAL-SEC-132",
            text: format!("export VAULT_TOKEN=hvs.{}\n", rng.base64url(90)),
            near_misses: vec![
                "export VAULT_TOKEN=hvs.xxxxxxxxxxxxxxxxxxxxxxxx\n".into(),
                format!("export VAULT_TOKEN=hvs.{}\n", rng.alnum(10)),
                "see docs/hvs.md and the hvs.example.com host\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-132",
            text: format!("VAULT_TOKEN: \"hvb.{}\"\n", rng.base64url(138)),
            near_misses: vec![],
        },
        Sample {
            rule: "PAL-SEC-133",
            text: format!("  -H 'X-Vault-Token: s.{}' \\\n", rng.alnum(24)),
            near_misses: vec![
                "  -H 'X-Vault-Token: $VAULT_TOKEN' \\\n".into(),
                format!("vault_token_ttl = s.{}\n", rng.alnum(8)),
                format!("the vault token is in s.{}.json\n", rng.alnum(24)),
            ],
        },
        Sample {
            rule: "PAL-SEC-134",
            text: format!("artifactory_password=AKCp8{}\n", rng.alnum(68)),
            near_misses: vec![
                "artifactory_password=AKCpXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\n".into(),
                format!("artifactory_password=AKCp{}\n", rng.alnum(30)),
            ],
        },
        Sample {
            rule: "PAL-SEC-135",
            text: format!("JFROG_ACCESS_TOKEN={reference}\n"),
            near_misses: vec![
                "JFROG_ACCESS_TOKEN=cmVmdGtu...\n".into(),
                format!("JFROG_ACCESS_TOKEN=cmVmdGtu{}\n", rng.alnum(56)),
            ],
        },
        Sample {
            rule: "PAL-SEC-136",
            text: format!("FLY_API_TOKEN=\"FlyV1 {fly},fm2_lJPE{}\"\n", rng.base64(120)),
            near_misses: vec![
                "FLY_API_TOKEN=\"FlyV1 fm2_...\"\n".into(),
                "assert_eq!(fly_auth(\"fm2_example\"), \"FlyV1 fm2_example\");\n".into(),
                format!("FLY_API_TOKEN=fo1_{}\n", rng.base64url(12)),
            ],
        },
        Sample {
            rule: "PAL-SEC-136",
            text: format!("export FLY_API_TOKEN=fo1_{}\n", rng.base64url(43)),
            near_misses: vec![],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jfrog_reference_tokens_decode_to_reftkn() {
        let token = base64::engine::general_purpose::STANDARD
            .encode("reftkn:01:1767225600:Q8r2LmXv0Tb7NcKq8Zr2LmXv0Tb");
        assert_eq!(token.len(), 64);
        assert_eq!(jfrog_reference_check(&token), Check::Valid);
        assert_eq!(
            jfrog_reference_check(
                "cmVmdGtuQ8r2LmXv0Tb7NcKq8Zr2LmXv0Tb7NcKq8Zr2LmXv0Tb7NcKq8Zr2LmXv"
            ),
            Check::Invalid
        );
    }
}
