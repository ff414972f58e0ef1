//! GitLab tokens, by the prefixes of GitLab's token overview (`glpat-`, `gldt-`, `glrt-`,
//! `GR1348941`, `glcbt-`, `glptt-`, `glft-`, `glimt-`, `gloas-`, `glsoat-`, `glagent-`).
//!
//! Most GitLab tokens are the prefix and 20 characters of URL-safe base64. Newer ones are
//! *routable*: `<prefix><base64url payload>.01.<payload length, 2 base-36 digits><CRC32 of
//! everything before it, 7 base-36 digits>` (GitLab's routable-token design and
//! `Authn::TokenField::Generator::RoutableToken`); every new personal access token has this
//! form, and the rules check its CRC. A self-managed instance may put its own prefix before
//! GitLab's (`SIE-glpat-…`); the CRC then covers that prefix too, so such tokens are reported
//! as checksum mismatches, one severity lower, rather than missed.

use palisade_core::{RuleMeta, Scanner, Severity};

use crate::rule::{Check, DEFAULT_WINDOW, SecretRule};

pub static RULES: &[&SecretRule] = &[
    &PERSONAL_ACCESS_TOKEN,
    &DEPLOY_TOKEN,
    &RUNNER_AUTHENTICATION_TOKEN,
    &RUNNER_REGISTRATION_TOKEN,
    &CI_JOB_TOKEN,
    &PIPELINE_TRIGGER_TOKEN,
    &FEED_TOKEN,
    &INCOMING_EMAIL_TOKEN,
    &OAUTH_APPLICATION_SECRET,
    &SCIM_TOKEN,
    &AGENT_TOKEN,
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

/// The body of a routable token after its prefix.
macro_rules! routable {
    () => {
        r"[A-Za-z0-9_-]{27,300}\.01\.[0-9a-z]{9}"
    };
}

/// The body of a classic token: 20 characters of URL-safe base64 (`Devise.friendly_token`).
macro_rules! classic {
    () => {
        r"[A-Za-z0-9_-]{20}"
    };
}

/// Where a token ends: the next character is outside its alphabet.
macro_rules! end {
    () => {
        r"(?:[^A-Za-z0-9_-]|$)"
    };
}

const BASE36: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";

fn base36(mut n: u32, width: usize) -> String {
    let mut out = vec![b'0'; width];
    for slot in out.iter_mut().rev() {
        *slot = BASE36[(n % 36) as usize];
        n /= 36;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The CRC of a routable token (its last seven characters); classic tokens have none.
fn check_routable(token: &str) -> Check {
    if !token.contains(".01.") {
        return Check::Unknown;
    }
    if token.len() < 8 || !token.is_ascii() {
        return Check::Invalid;
    }
    let (data, crc) = token.split_at(token.len() - 7);
    if base36(crc32fast::hash(data.as_bytes()), 7) == crc {
        Check::Valid
    } else {
        Check::ChecksumMismatch
    }
}

pub static PERSONAL_ACCESS_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-057",
        "GitLab personal, project or group access token",
        Severity::High,
        "Revoke the token (User settings → Access tokens, or the project's or group's Settings → Access tokens) and give the job a CI/CD job token or a narrowly scoped token from a secret store.",
        crate::secret_doc!(
            "Finds GitLab personal, impersonation, project and group access tokens: `glpat-` followed by\n20 URL-safe characters, or by a routable body (`<base64url payload>.01.<length><CRC32>`,\nwhose CRC is checked).",
            "A personal access token acts as its user with the chosen scopes: with `api` it can read and\nwrite every project the user can reach, change CI/CD variables and settings, and with\n`write_repository` push code. Project and group tokens do the same within their project or\ngroup through a bot user. Tokens with long expiry dates stay usable for months.",
            "```shell\ngit remote add origin https://oauth2:glpat-Zq8rT2xVb6Nm4Kd1Hs9F@gitlab.com/acme/app.git\n```",
            "```shell\n# credentials come from a helper, not from the remote URL or a committed file\ngit config --global credential.helper store   # or the OS keychain helper\ngit remote add origin https://gitlab.com/acme/app.git\n```\nRevoke and rotate: *User settings → Access tokens → Revoke* (project and group tokens:\n*Settings → Access tokens*), or `POST /personal_access_tokens/:id/rotate` to revoke it and get\na replacement in one step; check the user's activity and audit events for its use. Prefer\nCI/CD job tokens or project tokens with the least scope and a short expiry.",
            concat!(
                "- [GitLab Docs: Personal access tokens](https://docs.gitlab.com/user/profile/personal_access_tokens/)\n",
                "- [GitLab Docs: Personal access tokens API — rotate and revoke](https://docs.gitlab.com/api/personal_access_tokens/)\n",
                "- [GitLab Docs: GitLab token overview — token prefixes](https://docs.gitlab.com/security/tokens/#token-prefixes)\n",
                "- [GitLab handbook: Routable tokens design](https://handbook.gitlab.com/handbook/engineering/architecture/design-documents/cells/routable_tokens/)"
            ),
        ),
    ),
    keywords: &["glpat-"],
    pattern: concat!(
        r"\b(?P<secret>glpat-(?:",
        routable!(),
        "|",
        classic!(),
        "))",
        end!()
    ),
    min_entropy: Some(3.0),
    path: None,
    allow: &[],
    check: Some(check_routable),
    window: DEFAULT_WINDOW,
};

pub static DEPLOY_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-058",
        "GitLab deploy token",
        Severity::High,
        "Revoke the deploy token (project or group Settings → Repository → Deploy tokens) and create a new one with only the scopes the deployment needs, stored in a secret store.",
        crate::secret_doc!(
            "Finds GitLab deploy tokens: `gldt-` followed by 20 URL-safe characters (or a routable\nbody).",
            "A deploy token can clone the project's repository and read or write its container and\npackage registries without a user. With `write_registry` or `write_package_registry` an\nattacker can replace images and packages that production pulls.",
            "```yaml\n# docker config committed with the project\nauths:\n  registry.gitlab.com:\n    username: gitlab+deploy-token-42\n    password: gldt-V7pQ2xLm9Rb4Tk1Zs8Wc\n```",
            "```yaml\n# Kubernetes: pull with a secret created from the secret store, not from the repo\nimagePullSecrets:\n  - name: gitlab-registry\n```\nRevoke and rotate: *Settings → Repository → Deploy tokens*, *Revoke* the token, create a new\none with the least scopes and an expiry date, and update the image pull secret or CI/CD\nvariable that holds it.",
            concat!(
                "- [GitLab Docs: Deploy tokens](https://docs.gitlab.com/user/project/deploy_tokens/)\n",
                "- [GitLab Docs: GitLab token overview — token prefixes](https://docs.gitlab.com/security/tokens/#token-prefixes)"
            ),
        ),
    ),
    keywords: &["gldt-"],
    pattern: concat!(
        r"\b(?P<secret>gldt-(?:",
        routable!(),
        "|",
        classic!(),
        "))",
        end!()
    ),
    min_entropy: Some(3.0),
    path: None,
    allow: &[],
    check: Some(check_routable),
    window: DEFAULT_WINDOW,
};

pub static RUNNER_AUTHENTICATION_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-059",
        "GitLab runner authentication token",
        Severity::High,
        "Reset the runner's authentication token (or delete the runner and create a new one) and keep config.toml readable only by the runner.",
        crate::secret_doc!(
            "Finds GitLab runner authentication tokens: `glrt-` (or `glrtr-` for runners registered with\na registration token), an optional runner-type part (`t1_`, `t2_`, `t3_`), and 20 URL-safe\ncharacters or a routable body.",
            "The authentication token is the runner's identity. Whoever has it can run a clone of the\nrunner that picks up the project's or group's jobs, and with them the job tokens, CI/CD\nvariables and deployment credentials that those jobs receive.",
            "```toml\n# /etc/gitlab-runner/config.toml copied into an image\n[[runners]]\n  url = \"https://gitlab.com\"\n  token = \"glrt-t3_Rq2xVb8Nm4Kd1Hs9FzLp\"\n```",
            "```shell\n# register at deploy time from the secret store; config.toml stays on the host\ngitlab-runner register --non-interactive --url https://gitlab.com \\\n  --token \"$(vault kv get -field=token ci/runner)\" --executor docker\n```\nRevoke and rotate: in *Settings → CI/CD → Runners* (or *Admin → Runners*) open the runner and\nreset its token, or `POST /runners/reset_authentication_token`; delete runners you do not\nrecognise and re-register yours with the new token.",
            concat!(
                "- [GitLab Docs: GitLab token overview — runner authentication tokens](https://docs.gitlab.com/security/tokens/#runner-authentication-tokens)\n",
                "- [GitLab Docs: Runners API — reset the authentication token](https://docs.gitlab.com/api/runners/)\n",
                "- [GitLab Runner Docs: Security — cloning a runner](https://docs.gitlab.com/runner/security/)"
            ),
        ),
    ),
    keywords: &["glrt-", "glrtr-"],
    pattern: concat!(
        r"\b(?P<secret>glrtr?-(?:t[1-3]_)?(?:",
        routable!(),
        "|",
        classic!(),
        "))",
        end!()
    ),
    min_entropy: Some(3.0),
    path: None,
    allow: &[],
    check: Some(check_routable),
    window: DEFAULT_WINDOW,
};

pub static RUNNER_REGISTRATION_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-060",
        "GitLab runner registration token",
        Severity::High,
        "Reset the registration token in Settings → CI/CD → Runners, then move to the runner creation workflow and disable registration tokens.",
        crate::secret_doc!(
            "Finds GitLab runner registration tokens (deprecated): `GR1348941` followed by 20 URL-safe\ncharacters.",
            "A registration token lets anyone register new runners for the project, group or instance.\nA rogue runner receives jobs, and with them the source code, job tokens and CI/CD variables\n(deploy keys, cloud credentials) of every pipeline it picks up.",
            "```shell\ngitlab-runner register --url https://gitlab.com --registration-token GR1348941Rq2xVb8Nm4Kd1Hs9FzLp\n```",
            "```shell\n# runner creation workflow: create the runner in the UI or API, use its glrt- token\ngitlab-runner register --url https://gitlab.com --token \"$RUNNER_TOKEN\"\n```\nRevoke and rotate: *Settings → CI/CD → Runners*, *Reset registration token* (instance:\n*Admin → CI/CD → Runners*); remove runners you did not register; then turn off *Allow\nrunner registration token* and create runners with authentication tokens instead.",
            concat!(
                "- [GitLab Docs: Migrating to the new runner registration workflow](https://docs.gitlab.com/ci/runners/new_creation_workflow/)\n",
                "- [GitLab Docs: GitLab token overview — runner registration tokens](https://docs.gitlab.com/security/tokens/#runner-registration-tokens-deprecated)"
            ),
        ),
    ),
    keywords: &["gr1348941"],
    pattern: concat!(r"\b(?P<secret>GR1348941", classic!(), ")", end!()),
    min_entropy: Some(3.0),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static CI_JOB_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-061",
        "GitLab CI/CD job token",
        Severity::Medium,
        "Cancel the job if it still runs (the token dies with it), remove the token from logs and artifacts, and restrict what job tokens can reach with the job token allowlist.",
        crate::secret_doc!(
            "Finds GitLab CI/CD job tokens (`CI_JOB_TOKEN`): `glcbt-`, an optional hexadecimal\npartition and underscore, and 20 URL-safe characters or a routable body.",
            "A job token is valid only while its job runs, but during that time it can clone the\nproject and the projects on its allowlist, read and publish packages and registry images, and\ncall the API endpoints open to job tokens with the permissions of the user who started the\npipeline. A token saved into an artifact or printed in a log can be used by anyone who reads\nit while the job is still running.",
            "```shell\n# written into an artifact by a debugging step\necho \"CI_JOB_TOKEN=glcbt-64_Rq2xVb8Nm4Kd1Hs9FzLp\" >> build.env\n```",
            "```yaml\nscript:\n  # use the predefined variable; never write it out\n  - curl --header \"JOB-TOKEN: $CI_JOB_TOKEN\" \"$CI_API_V4_URL/projects/$CI_PROJECT_ID/packages\"\n```\nRevoke and rotate: cancel the job if it is still running (the token expires with it), delete\nthe artifact or job log, and limit access with *Settings → CI/CD → Job token permissions*\n(the allowlist).",
            concat!(
                "- [GitLab Docs: CI/CD job token](https://docs.gitlab.com/ci/jobs/ci_job_token/)\n",
                "- [GitLab Docs: GitLab token overview — token prefixes](https://docs.gitlab.com/security/tokens/#token-prefixes)"
            ),
        ),
    ),
    keywords: &["glcbt-"],
    pattern: concat!(
        r"\b(?P<secret>glcbt-(?:[0-9a-f]{1,5}_)?(?:",
        routable!(),
        "|",
        classic!(),
        "))",
        end!()
    ),
    min_entropy: Some(3.0),
    path: None,
    allow: &[],
    check: Some(check_routable),
    window: DEFAULT_WINDOW,
};

pub static PIPELINE_TRIGGER_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-062",
        "GitLab pipeline trigger token",
        Severity::Medium,
        "Revoke the trigger token in Settings → CI/CD → Pipeline trigger tokens and create a new one kept in the calling system's secret store.",
        crate::secret_doc!(
            "Finds GitLab pipeline trigger tokens: `glptt-` followed by 40 hexadecimal characters\n(older tokens) or 20 URL-safe characters or a routable body.",
            "A trigger token starts pipelines on any branch or tag of the project as the token's owner,\nand passes variables into them. Pipelines started this way run with the owner's access, and\nvariables can change what the jobs do.",
            "```shell\ncurl -X POST -F token=glptt-0f3a9c27d5e84b1f6a2c9e07d3b58f14a6c2e9d1 -F ref=main \\\n  https://gitlab.com/api/v4/projects/42/trigger/pipeline\n```",
            "```shell\ncurl -X POST -F \"token=$GITLAB_TRIGGER_TOKEN\" -F ref=main \\\n  \"https://gitlab.com/api/v4/projects/42/trigger/pipeline\"\n```\nRevoke and rotate: *Settings → CI/CD → Pipeline trigger tokens*, revoke the token, add a new\none and store it in the calling system's secrets; look at recent pipelines with source\n*trigger* for runs you did not start.",
            concat!(
                "- [GitLab Docs: Trigger pipelines by using the API](https://docs.gitlab.com/ci/triggers/)\n",
                "- [GitLab Docs: GitLab token overview — token prefixes](https://docs.gitlab.com/security/tokens/#token-prefixes)"
            ),
        ),
    ),
    keywords: &["glptt-"],
    pattern: concat!(
        r"\b(?P<secret>glptt-(?:[0-9a-f]{40}|",
        routable!(),
        "|",
        classic!(),
        "))",
        end!()
    ),
    min_entropy: Some(3.0),
    path: None,
    allow: &[],
    check: Some(check_routable),
    window: DEFAULT_WINDOW,
};

pub static FEED_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-063",
        "GitLab feed token",
        Severity::Medium,
        "Reset the feed token (User settings → Access tokens → Reset feed token) and update the RSS or calendar subscriptions that use it.",
        crate::secret_doc!(
            "Finds GitLab feed tokens: `glft-` followed by 20 URL-safe characters (or a routable body),\nusually in RSS and calendar URLs (`feed_token=glft-…`).",
            "A feed token never expires and shows the user's activity feed and issue calendar, including\nconfidential issues, to whoever has the URL.",
            "```text\nhttps://gitlab.com/dashboard/projects.atom?feed_token=glft-Rq2xVb8Nm4Kd1Hs9FzLp\n```",
            "```text\n# subscribe in the reader directly; do not paste feed URLs into shared config or docs\n```\nRevoke and rotate: *User settings → Access tokens → Feed token → Reset this token*;\nre-subscribe the feeds and calendars with the new URL. Administrators can disable feed tokens\nfor the instance.",
            concat!(
                "- [GitLab Docs: GitLab token overview — feed token](https://docs.gitlab.com/security/tokens/#feed-token)\n",
                "- [GitLab Docs: Reset the user activity feed token](https://docs.gitlab.com/user/profile/contributions_calendar/#reset-the-user-activity-feed-token)"
            ),
        ),
    ),
    keywords: &["glft-"],
    pattern: concat!(
        r"\b(?P<secret>glft-(?:",
        routable!(),
        "|",
        classic!(),
        "))",
        end!()
    ),
    min_entropy: Some(3.0),
    path: None,
    allow: &[],
    check: Some(check_routable),
    window: DEFAULT_WINDOW,
};

pub static INCOMING_EMAIL_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-064",
        "GitLab incoming email token",
        Severity::Medium,
        "Reset the incoming email token (the Email a new issue dialog has Reset this token) and update the mail rules that use the address.",
        crate::secret_doc!(
            "Finds GitLab incoming email tokens: `glimt-` followed by 20 to 25 lowercase letters and\ndigits (a 128-bit random number in base 36), part of the address that creates issues by\nemail.",
            "Anyone with the token can create issues and merge requests in the user's projects as that\nuser, by mail; the token does not expire.",
            "```text\nincoming+acme-app-42-glimt-3k9x2m7q1v8z4t6w0p5r2n8c4@incoming.gitlab.com\n```",
            "```text\n# keep the address in the mail system that sends to it, not in the repository\n```\nRevoke and rotate: open a project's issue list, choose *Email a new issue*, then *Reset this\ntoken*; update the senders with the new address.",
            concat!(
                "- [GitLab Docs: GitLab token overview — incoming email token](https://docs.gitlab.com/security/tokens/#incoming-email-token)\n",
                "- [GitLab Docs: Create issues by sending an email](https://docs.gitlab.com/user/project/issues/create_issues/#by-sending-an-email)"
            ),
        ),
    ),
    keywords: &["glimt-"],
    pattern: concat!(r"\b(?P<secret>glimt-[0-9a-z]{20,25})", end!()),
    min_entropy: Some(3.0),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static OAUTH_APPLICATION_SECRET: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-065",
        "GitLab OAuth application secret",
        Severity::High,
        "Renew the application's secret (Applications → the app → Renew secret) and load the new one from a secret store.",
        crate::secret_doc!(
            "Finds GitLab OAuth application secrets: `gloas-` followed by 64 hexadecimal characters.",
            "With the client secret and the application ID an attacker can impersonate the application\nto GitLab: exchange stolen or phished authorization codes and refresh tokens for access\ntokens carrying the application's scopes, on behalf of every user who authorized it.",
            "```properties\nspring.security.oauth2.client.registration.gitlab.client-secret=gloas-9c1e…\n```",
            "```properties\nspring.security.oauth2.client.registration.gitlab.client-secret=${GITLAB_CLIENT_SECRET}\n```\nRevoke and rotate: *User settings → Applications* (or the group's or instance's\n*Applications*), open the application and choose *Renew secret*; deploy the new secret and\nrevoke tokens the application issued if the secret was used by someone else.",
            concat!(
                "- [GitLab Docs: Configure GitLab as an OAuth 2.0 authentication identity provider](https://docs.gitlab.com/integration/oauth_provider/)\n",
                "- [GitLab Docs: GitLab token overview — token prefixes](https://docs.gitlab.com/security/tokens/#token-prefixes)"
            ),
        ),
    ),
    keywords: &["gloas-"],
    pattern: concat!(r"\b(?P<secret>gloas-[0-9a-f]{64})", end!()),
    min_entropy: Some(3.0),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static SCIM_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-066",
        "GitLab SCIM token",
        Severity::High,
        "Reset the SCIM token (group Settings → SAML SSO → Reset SCIM token) and update the identity provider with the new one.",
        crate::secret_doc!(
            "Finds GitLab SCIM tokens: `glsoat-` followed by 20 URL-safe characters (or a routable\nbody).",
            "The SCIM token is what the identity provider uses to create, update and deprovision the\ngroup's users. With it an attacker can add accounts to the group, link identities, or block\nand remove legitimate members.",
            "```json\n{\"scim_base_url\": \"https://gitlab.com/api/scim/v2/groups/acme\", \"token\": \"glsoat-Rq2xVb8Nm4Kd1Hs9FzLp\"}\n```",
            "```text\n# the token is entered once in the identity provider's provisioning settings, nowhere else\n```\nRevoke and rotate: group *Settings → SAML SSO → Reset SCIM token* (self-managed: the SCIM\ntoken API), paste the new token into the identity provider, and review recently provisioned\nor deprovisioned users.",
            concat!(
                "- [GitLab Docs: Configure SCIM for GitLab.com groups](https://docs.gitlab.com/user/group/saml_sso/scim_setup/)\n",
                "- [GitLab Docs: GitLab token overview — token prefixes](https://docs.gitlab.com/security/tokens/#token-prefixes)"
            ),
        ),
    ),
    keywords: &["glsoat-"],
    pattern: concat!(
        r"\b(?P<secret>glsoat-(?:",
        routable!(),
        "|",
        classic!(),
        "))",
        end!()
    ),
    min_entropy: Some(3.0),
    path: None,
    allow: &[],
    check: Some(check_routable),
    window: DEFAULT_WINDOW,
};

pub static AGENT_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-067",
        "GitLab agent for Kubernetes token",
        Severity::High,
        "Revoke the agent token (Operate → Kubernetes clusters → the agent → Access tokens) and install the new one as a Kubernetes Secret from the secret store.",
        crate::secret_doc!(
            "Finds tokens of the GitLab agent for Kubernetes: `glagent-` followed by 50 URL-safe\ncharacters (or a routable body).",
            "The agent token authenticates the in-cluster agent to GitLab. Whoever holds it can connect\nas the agent: receive the manifests and configuration meant for the cluster, and take part\nin the CI/CD and user access tunnels that GitLab routes through the agent.",
            "```yaml\n# helm values committed with the cluster config\nconfig:\n  token: glagent-Rq2xVb8Nm4Kd1Hs9FzLpQw3Ey6Tu0Io5Pa7Sd2Fg4Hj8Kl1Zx6Cv9Bn3Mq5Wz\n```",
            "```yaml\nconfig:\n  secretName: gitlab-agent-token   # created from the secret store, not in git\n```\nRevoke and rotate: *Operate → Kubernetes clusters*, select the agent, *Access tokens*,\n*Revoke* the token (or `DELETE /projects/:id/cluster_agents/:agent_id/tokens/:token_id`),\ncreate a new token and update the Secret the agent reads.",
            concat!(
                "- [GitLab Docs: Managing the agent for Kubernetes instances — reset the agent token](https://docs.gitlab.com/user/clusters/agent/work_with_agent/#reset-the-agent-token)\n",
                "- [GitLab Docs: GitLab token overview — cluster agent tokens](https://docs.gitlab.com/security/tokens/#gitlab-cluster-agent-tokens)"
            ),
        ),
    ),
    keywords: &["glagent-"],
    pattern: concat!(
        r"\b(?P<secret>glagent-(?:",
        routable!(),
        r"|[A-Za-z0-9_-]{50}))",
        end!()
    ),
    min_entropy: Some(3.0),
    path: None,
    allow: &[],
    check: Some(check_routable),
    window: DEFAULT_WINDOW,
};

/// A routable token as GitLab makes one: 16 random bytes, the routing payload and its length
/// in base64url, `.01.`, the base64 length in base 36 and the CRC32 in base 36.
#[cfg(test)]
pub(crate) fn fake_routable(rng: &mut crate::testing::Rng, prefix: &str) -> String {
    super::github::fresh(rng, |r| routable_once(r, prefix))
}

#[cfg(test)]
fn routable_once(rng: &mut crate::testing::Rng, prefix: &str) -> String {
    use base64::Engine as _;
    let payload = format!("o:1\nu:{}", rng.lower_alnum(6));
    let mut raw: Vec<u8> = (0..16).map(|_| rng.next() as u8).collect();
    raw.extend_from_slice(payload.as_bytes());
    raw.push(payload.len() as u8);
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw);
    let head = format!("{prefix}{encoded}.01.{}", base36(encoded.len() as u32, 2));
    let crc = base36(crc32fast::hash(head.as_bytes()), 7);
    format!("{head}{crc}")
}

#[cfg(test)]
pub(crate) fn samples(rng: &mut crate::testing::Rng) -> Vec<crate::testing::Sample> {
    use crate::testing::Sample;
    // Friendly tokens avoid l, I, O and 0; the rules accept any URL-safe character.
    let friendly = |rng: &mut crate::testing::Rng, n: usize| {
        super::github::fresh(rng, |r| {
            r.pick(
                b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz123456789-_",
                n,
            )
        })
    };
    vec![
        Sample {
            rule: "PAL-SEC-057",
            text: format!("export GITLAB_TOKEN={}\n", fake_routable(rng, "glpat-")),
            near_misses: vec![
                "export GITLAB_TOKEN=glpat-xxxxxxxxxxxxxxxxxxxx\n".into(),
                "export GITLAB_TOKEN=\"<your-glpat-token>\"\n".into(),
                format!("export GITLAB_TOKEN=glpat-{}\n", friendly(rng, 12)),
            ],
        },
        Sample {
            rule: "PAL-SEC-057",
            text: format!("git remote add origin https://oauth2:glpat-{}@gitlab.com/acme/app.git\n", friendly(rng, 20)),
            near_misses: vec![format!("password: glpat-{}\n", rng.pick(b"abcdefghijklmnopqrstuvwxyz", 21))],
        },
        Sample {
            rule: "PAL-SEC-058",
            text: format!("    password: gldt-{}\n", friendly(rng, 20)),
            near_misses: vec![
                "    password: gldt-${DEPLOY_TOKEN}\n".into(),
                format!("    password: gldt-{}\n", friendly(rng, 16)),
            ],
        },
        Sample {
            rule: "PAL-SEC-059",
            text: format!("[[runners]]\n  url = \"https://gitlab.com\"\n  token = \"glrt-t3_{}\"\n", friendly(rng, 20)),
            near_misses: vec![
                "  token = \"glrt-REPLACE_WITH_RUNNER_TOKEN\"\n".into(),
                format!("  token = \"glrt-{}\"\n", friendly(rng, 9)),
            ],
        },
        Sample {
            rule: "PAL-SEC-059",
            text: format!("  token = \"{}\"\n", fake_routable(rng, "glrt-t1_")),
            near_misses: vec![],
        },
        Sample {
            rule: "PAL-SEC-060",
            text: format!(
                "gitlab-runner register --url https://gitlab.com --registration-token GR1348941{}\n",
                friendly(rng, 20)
            ),
            near_misses: vec![
                "gitlab-runner register --registration-token GR1348941xxxxxxxxxxxxxxxxxxxx\n".into(),
                format!("build id GR1348941{}\n", rng.digits(6)),
            ],
        },
        Sample {
            rule: "PAL-SEC-061",
            text: format!("echo \"CI_JOB_TOKEN=glcbt-64_{}\" >> build.env\n", friendly(rng, 20)),
            near_misses: vec![
                "curl --header \"JOB-TOKEN: $CI_JOB_TOKEN\" https://gitlab.com/api/v4/jobs # glcbt-\n".into(),
                format!("token: glcbt-{}\n", friendly(rng, 11)),
            ],
        },
        Sample {
            rule: "PAL-SEC-062",
            text: format!("curl -X POST -F token=glptt-{} -F ref=main https://gitlab.com/api/v4/projects/42/trigger/pipeline\n", rng.hex(40)),
            near_misses: vec![
                "curl -X POST -F token=glptt-<token> -F ref=main https://gitlab.com/api/v4/projects/42/trigger/pipeline\n".into(),
                format!("-F token=glptt-{}\n", rng.hex(16)),
            ],
        },
        Sample {
            rule: "PAL-SEC-063",
            text: format!("https://gitlab.com/dashboard/projects.atom?feed_token=glft-{}\n", friendly(rng, 20)),
            near_misses: vec![
                "https://gitlab.com/dashboard/projects.atom?feed_token=glft-{{FEED_TOKEN}}\n".into(),
                format!("feed_token=glft-{}\n", friendly(rng, 25)),
            ],
        },
        Sample {
            rule: "PAL-SEC-064",
            text: format!("to: incoming+acme-app-42-glimt-{}@incoming.gitlab.com\n", rng.lower_alnum(25)),
            near_misses: vec![
                "to: incoming+acme-app-42-glimt-xxxxxxxxxxxxxxxxxxxxxxxxx@incoming.gitlab.com\n".into(),
                format!("to: incoming+acme-app-42-glimt-{}@incoming.gitlab.com\n", rng.lower_alnum(12)),
            ],
        },
        Sample {
            rule: "PAL-SEC-065",
            text: format!("GITLAB_CLIENT_SECRET=gloas-{}\n", rng.hex(64)),
            near_misses: vec![
                "GITLAB_CLIENT_SECRET=gloas-...\n".into(),
                format!("GITLAB_CLIENT_SECRET=gloas-{}\n", rng.hex(63)),
            ],
        },
        Sample {
            rule: "PAL-SEC-066",
            text: format!("scim_token: glsoat-{}\n", friendly(rng, 20)),
            near_misses: vec![
                "scim_token: glsoat-<scim-token>\n".into(),
                format!("scim_token: glsoat-{}\n", friendly(rng, 30)),
            ],
        },
        Sample {
            rule: "PAL-SEC-067",
            text: format!("config:\n  token: glagent-{}\n", friendly(rng, 50)),
            near_misses: vec![
                "config:\n  token: glagent-xxx\n".into(),
                format!("  token: glagent-{}\n", friendly(rng, 20)),
            ],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routable_crc_matches_revoked_real_tokens() {
        // Personal access tokens from self-managed test instances, published and revoked.
        for t in [
            "glpat-Bn5Gr8ecMVFUP3B4aCBVtW86MQp1OjEH.01.0w0baopj3",
            "glpat-G1fVHSZ2erhAolGMXmsc5W86MQp1OmEH.01.0w0hnniho",
        ] {
            assert_eq!(check_routable(t), Check::Valid, "{t}");
        }
        assert_eq!(
            check_routable("glpat-Bn5Gr8ecMVFUP3B4aCBVtW86MQp1OjEH.01.0w0baopj4"),
            Check::ChecksumMismatch
        );
        assert_eq!(check_routable("glpat-Rq2xVb8Nm4Kd1Hs9FzLp"), Check::Unknown);
        let mut rng = crate::testing::Rng::new(3);
        let t = fake_routable(&mut rng, "glpat-");
        assert_eq!(check_routable(&t), Check::Valid, "{t}");
    }

    #[test]
    fn routable_and_classic_tokens_end_at_their_alphabet() {
        let engine = crate::engine::Engine::new(RULES).unwrap();
        let t = "glpat-Bn5Gr8ecMVFUP3B4aCBVtW86MQp1OjEH.01.0w0baopj3";
        let hits = engine.scan("x", format!("token: \"{t}\"\n").as_bytes());
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].secret, t);
        assert_eq!(hits[0].check, Check::Valid);
        let hits = engine.scan("x", b"see glpat-Rq2xVb8Nm4Kd1Hs9FzLp.\n");
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].secret, "glpat-Rq2xVb8Nm4Kd1Hs9FzLp");
        assert!(
            engine
                .scan("x", b"glpat-Rq2xVb8Nm4Kd1Hs9FzLpQ\n")
                .is_empty()
        );
    }
}
