//! CI/CD and code-hosting credentials other than GitHub's and GitLab's: Atlassian (Bitbucket
//! app passwords and access tokens, Atlassian API tokens), CircleCI, Buildkite, Docker Hub,
//! Azure DevOps, Jenkins and Travis CI. npm and PyPI tokens live in their own file.
//!
//! Atlassian's tokens carry a CRC32 of their own: an app password is `ATBB`, 24 letters and
//! digits and the CRC32 of those 28 characters as 8 uppercase hex digits; API and access
//! tokens end in `=` and the CRC32 of everything up to and including the `=`. Atlassian does
//! not document this; it was checked against revoked tokens that had been published.

use palisade_core::{RuleMeta, Scanner, Severity};

use crate::rule::{Check, DEFAULT_WINDOW, SecretRule};

pub static RULES: &[&SecretRule] = &[
    &BITBUCKET_APP_PASSWORD,
    &BITBUCKET_ACCESS_TOKEN,
    &ATLASSIAN_API_TOKEN,
    &CIRCLECI_API_TOKEN,
    &BUILDKITE_API_TOKEN,
    &BUILDKITE_AGENT_TOKEN,
    &DOCKER_HUB_ACCESS_TOKEN,
    &AZURE_DEVOPS_PAT,
    &AZURE_DEVOPS_LEGACY_PAT,
    &JENKINS_API_TOKEN,
    &TRAVIS_CI_TOKEN,
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

/// The CRC32 as Atlassian writes it: 8 uppercase hexadecimal digits.
fn crc_hex(data: &[u8]) -> String {
    format!("{:08X}", crc32fast::hash(data))
}

/// `ATBB` app passwords: the last 8 characters are the CRC32 of the first 28.
fn check_app_password(token: &str) -> Check {
    if token.len() != 36 || !token.is_ascii() {
        return Check::Invalid;
    }
    let (data, crc) = token.split_at(28);
    if crc_hex(data.as_bytes()) == crc {
        Check::Valid
    } else {
        Check::ChecksumMismatch
    }
}

/// `ATATT…=XXXXXXXX` and `ATCTT…=XXXXXXXX`: the CRC32 of everything through the `=`.
fn check_atlassian_token(token: &str) -> Check {
    match token.rfind('=') {
        Some(i) if token.len() == i + 9 && token.is_ascii() => {
            if crc_hex(&token.as_bytes()[..=i]) == token[i + 1..] {
                Check::Valid
            } else {
                Check::ChecksumMismatch
            }
        }
        _ => Check::Invalid,
    }
}

pub static BITBUCKET_APP_PASSWORD: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-068",
        "Bitbucket app password",
        Severity::High,
        "Revoke the app password in Bitbucket (Personal settings → App passwords) and move the integration to a scoped API token or access token kept in a secret store.",
        crate::secret_doc!(
            "Finds Bitbucket Cloud app passwords: `ATBB`, 24 letters and digits, and 8 uppercase\nhexadecimal digits that are the CRC32 of the first 28 characters (the CRC is checked).",
            "An app password is used with the account's username for Git over HTTPS and the Bitbucket\nAPI, with the permissions chosen when it was created, often repository write and pull\nrequest access across every workspace of the account. It does not expire.",
            "```shell\ngit clone https://alice:ATBBq8Zr2LmXv0Tb7NcKp4Ws1Yd3E5F6A7B8@bitbucket.org/acme/app.git\n```",
            "```yaml\n# bitbucket-pipelines.yml: use a secured repository variable\nscript:\n  - git clone https://x-token-auth:$REPO_ACCESS_TOKEN@bitbucket.org/acme/app.git\n```\nRevoke and rotate: *Personal settings → App passwords*, revoke the password; app passwords\nare being replaced by API tokens with scopes, so create a scoped API token (or a repository\naccess token) with an expiry instead, store it as a secured variable, and review the\nworkspace audit log.",
            "- [Atlassian Support: App passwords](https://support.atlassian.com/bitbucket-cloud/docs/app-passwords/)\n- [Atlassian Support: Create an API token (Bitbucket Cloud)](https://support.atlassian.com/bitbucket-cloud/docs/create-an-api-token/)",
        ),
    ),
    keywords: &["atbb"],
    pattern: r"\b(?P<secret>ATBB[A-Za-z0-9]{24}[0-9A-F]{8})\b",
    min_entropy: None,
    path: None,
    allow: &[],
    check: Some(check_app_password),
    window: DEFAULT_WINDOW,
};

pub static BITBUCKET_ACCESS_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-069",
        "Bitbucket repository, project or workspace access token",
        Severity::High,
        "Revoke the access token in the repository's, project's or workspace's settings (Security → Access tokens) and create a new one stored as a secured variable.",
        crate::secret_doc!(
            "Finds Bitbucket Cloud access tokens (repository, project and workspace tokens): `ATCTT`,\nabout 180 URL-safe base64 characters, `=`, and 8 uppercase hexadecimal digits that are the\nCRC32 of everything before them (the CRC is checked).",
            "An access token is a bearer token for one repository, project or workspace with the scopes\nit was created with: with `repository:write` or `pipeline:write` an attacker can push code,\nchange pipelines and read their variables.",
            "```python\nheaders = {\"Authorization\": \"Bearer ATCTT3xFfGN0…=A1B2C3D4\"}\n```",
            "```python\nheaders = {\"Authorization\": f\"Bearer {os.environ['BITBUCKET_ACCESS_TOKEN']}\"}\n```\nRevoke and rotate: in the repository, project or workspace open *Settings → Security →\nAccess tokens* and *Revoke* the token; create a replacement with the least scopes and keep it\nin a secured variable or secret manager.",
            "- [Atlassian Support: Access tokens (Bitbucket Cloud)](https://support.atlassian.com/bitbucket-cloud/docs/access-tokens/)\n- [Atlassian Support: Repository access tokens](https://support.atlassian.com/bitbucket-cloud/docs/repository-access-tokens/)",
        ),
    ),
    keywords: &["atctt"],
    pattern: r"\b(?P<secret>ATCTT[A-Za-z0-9_-]{40,400}=[0-9A-F]{8})\b",
    min_entropy: None,
    path: None,
    allow: &[],
    check: Some(check_atlassian_token),
    window: DEFAULT_WINDOW,
};

pub static ATLASSIAN_API_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-070",
        "Atlassian API token",
        Severity::High,
        "Revoke the token at id.atlassian.com → Security → API tokens and create a scoped, expiring token stored in a secret manager.",
        crate::secret_doc!(
            "Finds Atlassian account API tokens (Jira, Confluence, Bitbucket): `ATATT`, about 180\nURL-safe base64 characters, `=`, and 8 uppercase hexadecimal digits that are the CRC32 of\neverything before them (the CRC is checked).",
            "An API token used with the account's email address acts as that person on the Atlassian\nsites they belong to: read and change Jira issues and Confluence pages, including restricted\nones they can see, and with Bitbucket scopes read and write repositories.",
            "```python\njira = JIRA(server=\"https://acme.atlassian.net\", basic_auth=(\"ops@acme.com\", \"ATATT3xFfGF0…=5517D5AA\"))\n```",
            "```python\njira = JIRA(server=\"https://acme.atlassian.net\", basic_auth=(os.environ[\"JIRA_USER\"], os.environ[\"JIRA_API_TOKEN\"]))\n```\nRevoke and rotate: sign in at `id.atlassian.com/manage-profile/security/api-tokens`, *Revoke*\nthe token (an organization admin can revoke users' tokens from Atlassian Administration);\ncreate an API token with scopes and an expiry date and keep it in a secret manager.",
            "- [Atlassian Support: Manage API tokens for your Atlassian account](https://support.atlassian.com/atlassian-account/docs/manage-api-tokens-for-your-atlassian-account/)\n- [Atlassian Bamboo API: BitbucketCloudApiTokenUtils (API tokens start with ATAT)](https://docs.atlassian.com/atlassian-bamboo/11.0.7/com/atlassian/bamboo/repository/configuration/BitbucketCloudApiTokenUtils.html)",
        ),
    ),
    keywords: &["atatt"],
    pattern: r"\b(?P<secret>ATATT[A-Za-z0-9_-]{40,400}=[0-9A-F]{8})\b",
    min_entropy: None,
    path: None,
    allow: &[],
    check: Some(check_atlassian_token),
    window: DEFAULT_WINDOW,
};

pub static CIRCLECI_API_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-071",
        "CircleCI API token",
        Severity::High,
        "Delete the token (User settings → Personal API Tokens, or Project settings → API Permissions) and create a new one kept in a secret store.",
        crate::secret_doc!(
            "Finds CircleCI personal and project API tokens in the current format:\n`CCIPAT_` (personal) or `CCIPRJ_` (project), a base58-encoded UUID, `_`, and 40 hexadecimal\ncharacters.",
            "A personal API token has the full read and write access of its user on every project they\ncan see: an attacker can read and set project environment variables and contexts (and with\nthem the deploy credentials stored there), trigger pipelines and change settings. A project\ntoken with *Admin* scope does the same for one project.",
            "```shell\ncurl -H \"Circle-Token: CCIPAT_5hB2kY…_3c1e…\" https://circleci.com/api/v2/me\n```",
            "```shell\ncurl -H \"Circle-Token: $CIRCLE_TOKEN\" https://circleci.com/api/v2/me\n```\nRevoke and rotate: personal tokens in *User settings → Personal API Tokens* (click *X* to\nremove), project tokens in *Project settings → API Permissions*; create a new token with an\nexpiry, keep it in a secret store, and rotate the environment variables and contexts the\ntoken could read.",
            "- [CircleCI Changelog: New format for API access tokens](https://circleci.com/changelog/new-format-for-api-access-tokens/)\n- [CircleCI Docs: Managing API tokens](https://circleci.com/docs/managing-api-tokens/)",
        ),
    ),
    keywords: &["ccipat_", "cciprj_"],
    pattern: r"\b(?P<secret>CCIP(?:AT|RJ)_[1-9A-HJ-NP-Za-km-z]{20,23}_[0-9a-f]{40})\b",
    min_entropy: None,
    path: None,
    allow: &["ULUhR6rJLxYbyzyrP19iMZ_8fb1e3510325f7f09361de22b9420346c53ca2cb"],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static BUILDKITE_API_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-072",
        "Buildkite API access token",
        Severity::High,
        "Revoke the token under Personal Settings → API Access Tokens and create a new one with only the scopes and organizations it needs.",
        crate::secret_doc!(
            "Finds Buildkite API access tokens: `bkua_`, optionally an organization part and a dot, and\n40 hexadecimal characters.",
            "An API access token acts as its user in the organizations it was granted, with its REST\nscopes and, if enabled, full GraphQL access: an attacker can read build logs and artifacts,\nchange pipelines and start builds that run on the organization's agents.",
            "```shell\nexport BUILDKITE_API_TOKEN=bkua_5e3c…\n```",
            "```shell\nexport BUILDKITE_API_TOKEN=\"$(op read op://ci/buildkite/token)\"\n```\nRevoke and rotate: *Personal Settings → API Access Tokens*, open the token and *Revoke*;\norganization admins can revoke members' tokens too. Create a replacement limited to the\nneeded scopes and IP ranges, with an expiry.",
            "- [Buildkite Docs: Token security](https://buildkite.com/docs/platform/security/tokens)\n- [Buildkite Docs: Managing API access tokens](https://buildkite.com/docs/apis/managing-api-tokens)",
        ),
    ),
    keywords: &["bkua_"],
    pattern: r"\b(?P<secret>bkua_(?:[A-Za-z0-9_-]{2,32}\.)?[0-9a-f]{40})\b",
    min_entropy: Some(2.7),
    path: None,
    allow: &["4f6ccde8c73e26244d73c5a77c91c242c0c818ce"],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static BUILDKITE_AGENT_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-073",
        "Buildkite agent token",
        Severity::High,
        "Revoke the agent token on the cluster's Agent Tokens page, create a new one and deliver it to agents from a secret store.",
        crate::secret_doc!(
            "Finds Buildkite agent tokens: cluster agent tokens (`bkct_`), unclustered agent\nregistration tokens (`bkar_`) and agent access tokens (`bkaa_`), followed by at least 38\nURL-safe base64 characters and dots.",
            "An agent token lets anyone start an agent that registers with the organization and is handed\njobs from its queues, including their checked-out source, environment hooks and secrets\nmeant for builds.",
            "```ini\n# buildkite-agent.cfg committed with the machine image\ntoken=\"bkct_MTA.7Hq2…\"\n```",
            "```shell\n# fetch the token at boot from the secret store\nBUILDKITE_AGENT_TOKEN=\"$(aws ssm get-parameter --with-decryption --name /ci/agent-token --query Parameter.Value --output text)\" buildkite-agent start\n```\nRevoke and rotate: open *Agents → the cluster → Agent Tokens*, revoke the token (or use the\nREST or GraphQL API), create a new one and roll it out to the agents; stop agents you do\nnot recognise.",
            "- [Buildkite Docs: Agent tokens](https://buildkite.com/docs/agent/v3/tokens)\n- [Buildkite Docs: Token security](https://buildkite.com/docs/platform/security/tokens)\n- [Buildkite agent: token prefixes (internal/redact/redact.go)](https://github.com/buildkite/agent/blob/main/internal/redact/redact.go)",
        ),
    ),
    keywords: &["bkct_", "bkar_", "bkaa_"],
    pattern: r"\b(?P<secret>bk(?:ct|ar|aa)_[A-Za-z0-9_.-]{37,255}[A-Za-z0-9_-])(?:[^A-Za-z0-9_-]|$)",
    min_entropy: Some(3.5),
    path: None,
    allow: &["Miyf6S3a3g9j8pyBGTyLC1frg9k6gDHTJdL9Fy7FXzRhrAVPckkzK6oEmdQVLvzUjt4rvW7cRPJEu"],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static DOCKER_HUB_ACCESS_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-074",
        "Docker Hub access token",
        Severity::High,
        "Delete the access token in Docker Hub (Account settings → Personal access tokens, or the organization's Access tokens) and log in with a new one from a credential helper.",
        crate::secret_doc!(
            "Finds Docker Hub personal access tokens (`dckr_pat_`) and organization access tokens\n(`dckr_oat_`), followed by 27 to 32 URL-safe characters.",
            "A Docker Hub token with write scope can push images under the account's or organization's\nrepositories: anyone who has it can replace the images that builds and clusters pull, or\nread private images.",
            "```yaml\n- uses: docker/login-action@v3\n  with:\n    username: acme\n    password: dckr_pat_4Hs9FzLpQw3Ey6Tu0Io5Pa7Sd2F\n```",
            "```yaml\n- uses: docker/login-action@v3\n  with:\n    username: acme\n    password: ${{ secrets.DOCKERHUB_TOKEN }}\n```\nRevoke and rotate: *Account settings → Personal access tokens* (organization tokens:\n*Organization settings → Access tokens*), deactivate or delete the token, create one with\nread-only or repository-limited scope, and check the repositories' push history.",
            "- [Docker Docs: Personal access tokens](https://docs.docker.com/security/access-tokens/personal-access-tokens/)\n- [Docker Docs: Organization access tokens](https://docs.docker.com/security/access-tokens/organization-access-tokens/)",
        ),
    ),
    keywords: &["dckr_pat_", "dckr_oat_"],
    pattern: r"\b(?P<secret>dckr_(?:pat|oat)_[A-Za-z0-9_-]{27,32})(?:[^A-Za-z0-9_-]|$)",
    min_entropy: Some(3.0),
    path: None,
    allow: &["dckr_pat_124509ugsdjga93"],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static AZURE_DEVOPS_PAT: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-075",
        "Azure DevOps personal access token",
        Severity::High,
        "Revoke the token (User settings → Personal access tokens, or an administrator in Organization settings → Microsoft Entra) and switch the integration to Microsoft Entra tokens or a short-lived PAT from a secret store.",
        crate::secret_doc!(
            "Finds Azure DevOps personal access tokens in the current 84-character format: 52 random\nletters and digits, Microsoft's identifiable-secret signature `JQQJ99`, 18 more characters,\nthe Azure DevOps signature `AZDO` at position 77, and 4 final characters.",
            "A PAT authenticates as its user to the organization (or to every organization, for global\nPATs) with its scopes: with *Code* or *Build* scopes an attacker can read and push\nrepositories, queue pipelines and read their variables and service connections.",
            "```python\ntoken = \"8ec0…JQQJ99…AZDO1Vba\"  # 84 characters\n```",
            "```python\n# use a Microsoft Entra token (managed identity / service principal) instead of a PAT\ncredential = DefaultAzureCredential()\ntoken = credential.get_token(\"499b84ac-1321-427f-aa17-267ca6975798/.default\").token\n```\nRevoke and rotate: the owner revokes it under *User settings → Personal access tokens*;\nadministrators can revoke any user's PATs from *Organization settings → Microsoft Entra →\nRevoke tokens* or the PAT lifecycle API. Check the auditing log for its use.",
            "- [Microsoft Learn: Use personal access tokens (Azure DevOps)](https://learn.microsoft.com/en-us/azure/devops/organizations/accounts/use-personal-access-tokens-to-authenticate)\n- [Microsoft Purview: Azure DevOps personal access token entity definition](https://learn.microsoft.com/en-us/purview/sit-defn-azure-devops-personal-access-token)",
        ),
    ),
    keywords: &["azdo"],
    pattern: r"\b(?P<secret>[A-Za-z0-9]{52}JQQJ99[A-Za-z0-9]{18}AZDO[A-Za-z0-9]{4})\b",
    min_entropy: None,
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static AZURE_DEVOPS_LEGACY_PAT: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-076",
        "Azure DevOps personal access token (52-character format)",
        Severity::High,
        "Revoke the token in Azure DevOps (User settings → Personal access tokens) and use Microsoft Entra authentication or a new, short-lived PAT from a secret store.",
        crate::secret_doc!(
            "Finds Azure DevOps personal access tokens in the older 52-character format: lowercase\nbase32 (`a-z`, `2-7`). Such a string has no prefix, so it is reported only when assigned to a\nname that says it is an Azure DevOps token (`AZURE_DEVOPS_PAT`, `ado_token`, `vsts_password`,\n…) or used as the password in a URL near `dev.azure.com` or `visualstudio.com`.",
            "The token authenticates as its user with its scopes in the organization (or all of them):\nrepositories, pipelines, artifacts feeds and work items, as far as its scopes reach.",
            "```shell\nAZURE_DEVOPS_PAT=q3x7m2b5k4z6w2t7p3r5v6c2n4d7f3h5j2l6s4y7g5a3e2u4o6i7k3m5\n```",
            "```yaml\n# Azure Pipelines: use the job's own token\nenv:\n  AZURE_DEVOPS_EXT_PAT: $(System.AccessToken)\n```\nRevoke and rotate: *User settings → Personal access tokens*, revoke the token (administrators:\n*Organization settings → Microsoft Entra → Revoke tokens*), and create a new token only if\nEntra authentication is not possible, with minimal scopes and a short expiry.",
            "- [Microsoft Learn: Use personal access tokens (Azure DevOps)](https://learn.microsoft.com/en-us/azure/devops/organizations/accounts/use-personal-access-tokens-to-authenticate)\n- [Microsoft Learn: Manage personal access tokens with policies](https://learn.microsoft.com/en-us/azure/devops/organizations/accounts/manage-pats-with-policies-for-administrators)",
        ),
    ),
    keywords: &[
        "devops",
        "azdo",
        "vsts",
        "ado_pat",
        "ado_token",
        "ado-pat",
        "ado-token",
        "dev.azure.com",
        "visualstudio.com",
    ],
    pattern: r#"(?:(?i:(?:azure[_\-.]?devops|devops|azdo|ado|vsts|tfs)[\w.\-]{0,24}?(?:pat|token|password|passwd|secret))["']?\s*[:=]\s*["']?|://[^\s:/@"']{0,64}:)(?P<secret>[a-z2-7]{52})(?:[^A-Za-z0-9]|$)"#,
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static JENKINS_API_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-077",
        "Jenkins API token",
        Severity::High,
        "Revoke the token in Jenkins (the user's Security page → API Token → Revoke) and keep the new one in a credentials store.",
        crate::secret_doc!(
            "Finds Jenkins API tokens: `11` and 32 hexadecimal characters (tokens since Jenkins 2.129), or\n32 hexadecimal characters (legacy tokens), assigned to a name that mentions Jenkins\n(`JENKINS_API_TOKEN`, `jenkins.password`, …) or passed as `user:token` to `-auth`, `-u` or\n`--user`.",
            "An API token lets a script call Jenkins as the user: trigger and configure jobs, read\ncredentials-using job configurations and build logs, and, for administrators, run Groovy in\nthe script console, which is code execution on the controller.",
            "```shell\njava -jar jenkins-cli.jar -s https://ci.acme.dev -auth deploy:11f3c2a7e9b1d4c6f0a5e8d2b7c1f4a3e6 build app\n```",
            "```shell\njava -jar jenkins-cli.jar -s https://ci.acme.dev -auth @/run/secrets/jenkins-auth build app\n```\nRevoke and rotate: open *the user → Security* (older versions: *Configure*), find the token\nunder *API Token* and *Revoke* it; generate a new one with a descriptive name and store it in\na secret manager or the Jenkins credentials store. Review the audit trail for its use.",
            "- [Jenkins: Remote access API — authentication](https://www.jenkins.io/doc/book/using/remote-access-api/)\n- [Jenkins blog: Security updates for the API token system](https://www.jenkins.io/blog/2018/07/02/new-api-token-system/)",
        ),
    ),
    keywords: &["jenkins"],
    pattern: r#"(?:(?i:jenkins[\w.\-]{0,30}?(?:token|api[_\-.]?key|password|passwd|pass|secret))["']?\s*[:=]\s*["']?|(?:-auth|-u|--user)\s+["']?[^\s:"']{1,64}:)(?P<secret>11[0-9a-f]{32}|[0-9a-f]{32})(?:[^A-Za-z0-9]|$)"#,
    min_entropy: Some(2.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static TRAVIS_CI_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-078",
        "Travis CI API token",
        Severity::High,
        "Regenerate the Travis CI API token (Settings → Regenerate token) and store the new one in the calling system's secrets.",
        crate::secret_doc!(
            "Finds Travis CI API tokens: 22 URL-safe characters assigned to a name that mentions Travis\n(`TRAVIS_TOKEN`, `travis_api_token`, …) or sent as `Authorization: token …` near a Travis\nURL. The format has no prefix, so context is required.",
            "The API token acts as the user on Travis CI: it can read build logs, change repository\nsettings and environment variables (and read the non-secret ones), and trigger builds that\nrun with the repository's encrypted secrets.",
            "```shell\ncurl -H \"Travis-API-Version: 3\" -H \"Authorization: token Zq8rT2xVb6Nm4Kd1Hs9FpL\" https://api.travis-ci.com/user\n```",
            "```shell\ncurl -H \"Travis-API-Version: 3\" -H \"Authorization: token $TRAVIS_TOKEN\" https://api.travis-ci.com/user\n```\nRevoke and rotate: on travis-ci.com open *Settings* (your account), copy a new token with\n*Regenerate token* (which invalidates the old one), or run `travis token --regenerate`;\nupdate the systems that use it.",
            "- [Travis CI Docs: Triggering builds with the API](https://docs.travis-ci.com/user/triggering-builds/)\n- [Travis CI API V3: Authentication](https://developer.travis-ci.com/authentication)",
        ),
    ),
    keywords: &["travis"],
    pattern: r#"(?:(?i:travis[\w.\-]{0,30}?(?:token|api[_\-.]?key|access[_\-.]?key))["']?\s*[:=]\s*["']?|(?i:authorization:\s*token)\s+)(?P<secret>[A-Za-z0-9_-]{22})(?:[^A-Za-z0-9_-]|$)"#,
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

#[cfg(test)]
pub(crate) fn samples(rng: &mut crate::testing::Rng) -> Vec<crate::testing::Sample> {
    use super::github::fresh;
    use crate::testing::Sample;
    let base58 = |rng: &mut crate::testing::Rng, n: usize| {
        fresh(rng, |r| {
            r.pick(
                b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz",
                n,
            )
        })
    };
    let app_password = {
        let head = format!("ATBB{}", rng.alnum(24));
        let crc = crc_hex(head.as_bytes());
        format!("{head}{crc}")
    };
    let atlassian = |rng: &mut crate::testing::Rng, prefix: &str| {
        let head = format!("{prefix}{}=", fresh(rng, |r| r.base64url(171)));
        let crc = crc_hex(head.as_bytes());
        format!("{head}{crc}")
    };
    let access_token = atlassian(rng, "ATCTT3xFfGN0");
    let api_token = atlassian(rng, "ATATT3xFfGF0");
    let base32 = |rng: &mut crate::testing::Rng, n: usize| {
        fresh(rng, |r| r.pick(b"abcdefghijklmnopqrstuvwxyz234567", n))
    };
    vec![
        Sample {
            rule: "PAL-SEC-068",
            text: format!("BITBUCKET_APP_PASSWORD={app_password}\n"),
            near_misses: vec![
                "BITBUCKET_APP_PASSWORD=ATBBxxxxxxxxxxxxxxxxxx\n".into(),
                format!("see ATBB{} for details\n", rng.alnum(20)),
            ],
        },
        Sample {
            rule: "PAL-SEC-069",
            text: format!("headers = {{\"Authorization\": \"Bearer {access_token}\"}}\n"),
            near_misses: vec![
                "headers = {\"Authorization\": \"Bearer ATCTT3xFfGN0...\"}\n".into(),
                format!("prefix ATCTT3xFfGN0{} (truncated)\n", rng.alnum(20)),
            ],
        },
        Sample {
            rule: "PAL-SEC-070",
            text: format!("JIRA_API_TOKEN=\"{api_token}\"\n"),
            near_misses: vec![
                "JIRA_API_TOKEN=\"ATATT3xFfGF0-EXAMPLE-NOT-A-REAL-TOKEN\"\n".into(),
                "JIRA_API_TOKEN=\"ATATT3xFfGF0...\"\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-071",
            text: format!("circleci_token: CCIPAT_{}_{}\n", base58(rng, 22), rng.hex(40)),
            near_misses: vec![
                "circleci_token: CCIPAT_ULUhR6rJLxYbyzyrP19iMZ_8fb1e3510325f7f09361de22b9420346c53ca2cb\n".into(),
                format!("circleci_token: CCIPAT_{}_{}\n", base58(rng, 22), rng.hex(39)),
            ],
        },
        Sample {
            rule: "PAL-SEC-071",
            text: format!("CIRCLE_PROJECT_TOKEN=CCIPRJ_{}_{}\n", base58(rng, 21), rng.hex(40)),
            near_misses: vec![],
        },
        Sample {
            rule: "PAL-SEC-072",
            text: format!("export BUILDKITE_API_TOKEN=bkua_{}\n", rng.hex(40)),
            near_misses: vec![
                "export BUILDKITE_API_TOKEN=bkua_MTA.4f6ccde8c73e26244d73c5a77c91c242c0c818ce\n".into(),
                format!("export BUILDKITE_API_TOKEN=bkua_{}\n", rng.hex(30)),
            ],
        },
        Sample {
            rule: "PAL-SEC-072",
            text: format!("token: bkua_MTA.{}\n", rng.hex(40)),
            near_misses: vec![],
        },
        Sample {
            rule: "PAL-SEC-073",
            text: format!("token=\"bkct_MTA.{}\"\n", base58(rng, 44)),
            near_misses: vec![
                "token=\"bkct_...\"\n".into(),
                "agent_token: bkaa_MTA.Miyf6S3a3g9j8pyBGTyLC1frg9k6gDHTJdL9Fy7FXzRhrAVPckkzK6oEmdQVLvzUjt4rvW7cRPJEu\n".into(),
                format!("token=\"bkar_{}\"\n", rng.alnum(20)),
            ],
        },
        Sample {
            rule: "PAL-SEC-074",
            text: format!("    password: dckr_pat_{}\n", fresh(rng, |r| r.base64url(27))),
            near_misses: vec![
                "  \"secret\": \"dckr_pat_124509ugsdjga93\"\n".into(),
                "    password: dckr_pat_xxxxxxxxxxxxxxxxxxxxxxxxxxx\n".into(),
                format!("    password: dckr_pat_{}\n", rng.alnum(12)),
            ],
        },
        Sample {
            rule: "PAL-SEC-074",
            text: format!("DOCKER_TOKEN=dckr_oat_{}\n", rng.alnum(32)),
            near_misses: vec![],
        },
        Sample {
            rule: "PAL-SEC-075",
            text: format!(
                "token = \"{}JQQJ99{}AZDO{}\"\n",
                fresh(rng, |r| r.alnum(52)),
                rng.upper_alnum(18),
                rng.alnum(4)
            ),
            near_misses: vec![
                "PAT = \"abcdefghijklmnopqrstuvwxyz012345679ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnoAZDOabcd\"\n".into(),
                format!("token = \"{}JQQJ99{}AZDO{}\"\n", rng.alnum(40), rng.upper_alnum(18), rng.alnum(4)),
            ],
        },
        Sample {
            rule: "PAL-SEC-076",
            text: format!("AZURE_DEVOPS_PAT={}\n", base32(rng, 52)),
            near_misses: vec![
                "AZURE_DEVOPS_PAT=$(System.AccessToken)\n".into(),
                format!("AZURE_DEVOPS_ORG_URL=https://dev.azure.com/{}\n", base32(rng, 12)),
                format!("AZURE_DEVOPS_PAT={}\n", base32(rng, 51)),
            ],
        },
        Sample {
            rule: "PAL-SEC-076",
            text: format!("git clone https://build:{}@dev.azure.com/acme/app/_git/app\n", base32(rng, 52)),
            near_misses: vec![],
        },
        Sample {
            rule: "PAL-SEC-077",
            text: format!("jenkins_api_token: 11{}\n", rng.hex(32)),
            near_misses: vec![
                "jenkins_api_token: ${JENKINS_API_TOKEN}\n".into(),
                format!("jenkins_build_number: {}\n", rng.digits(34)),
                format!("jenkins_api_token: 11{}\n", rng.hex(20)),
            ],
        },
        Sample {
            rule: "PAL-SEC-077",
            text: format!("java -jar jenkins-cli.jar -s https://ci.acme.dev -auth deploy:11{} build app\n", rng.hex(32)),
            near_misses: vec![],
        },
        Sample {
            rule: "PAL-SEC-078",
            text: format!("TRAVIS_TOKEN={}\n", fresh(rng, |r| r.base64url(22))),
            near_misses: vec![
                "TRAVIS_TOKEN=$TRAVIS_TOKEN\n".into(),
                "TRAVIS_TOKEN=<travis-api-token>\n".into(),
                format!("TRAVIS_TOKEN={}\n", rng.alnum(16)),
            ],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atlassian_crcs_match_revoked_real_tokens() {
        // Tokens that were published and have since been revoked.
        for t in [
            "ATBBQDTYaAMPtgkvNKfnpA3w44v4534B7C4F",
            "ATBBXQTjWh8veL2VYSu66rDM9CUC0AFFCC57",
        ] {
            assert_eq!(check_app_password(t), Check::Valid, "{t}");
        }
        assert_eq!(
            check_app_password("ATBBQDTYaAMPtgkvNKfnpA3w44v4534B7C4E"),
            Check::ChecksumMismatch
        );
        let api = "ATATT3xFfGF0H04y3k3lLfq5ruP_jWTHocBqYbvCN2nPYJwVqNEU0eKPmDOB1Sfl_X7KvdtObNLzEAEvRjbWvvHMvCXstydwAJYSLQkKbTTTnVejIRY5B4NLDduCehiFK0LUfrOvf-w8JlajlEiKrohNDG9U48OGWOsySxUzgiD2oyWtk3ZIgUE=8340F818";
        assert_eq!(check_atlassian_token(api), Check::Valid);
        assert_eq!(
            check_atlassian_token(&api.replace("=8340F818", "=8340F819")),
            Check::ChecksumMismatch
        );
    }
}
