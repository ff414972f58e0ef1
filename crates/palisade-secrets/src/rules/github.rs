//! GitHub tokens: the prefixed, checksummed formats GitHub has issued since April 2021
//! (`ghp_`, `gho_`, `ghu_`, `ghs_`, `ghr_`), fine-grained personal access tokens
//! (`github_pat_`), and old 40-hex tokens when a GitHub variable name says what they are.
//!
//! The checksum: the last six characters of a `gh?_` token are the CRC32 (IEEE) of the
//! characters between the prefix and the checksum, written in base62
//! (`0-9A-Za-z`, most significant digit first, left-padded with `0`). This was checked against
//! tokens GitHub issued and later revoked, including a 76-character refresh token, where the
//! checksum covers the first 70 characters.

use palisade_core::{RuleMeta, Scanner, Severity};

use crate::rule::{Check, DEFAULT_WINDOW, SecretRule};

pub static RULES: &[&SecretRule] = &[
    &CLASSIC_PAT,
    &OAUTH_ACCESS_TOKEN,
    &APP_USER_TOKEN,
    &APP_INSTALLATION_TOKEN,
    &APP_REFRESH_TOKEN,
    &FINE_GRAINED_PAT,
    &LEGACY_HEX_TOKEN,
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

/// Example values printed in GitHub's documentation (their checksums do not match).
const GITHUB_DOC_EXAMPLES: &[&str] = &[
    "16C7e42F292c6912E7710c838347Ae178B4a",
    "1B4a2e77838347a7E420ce178F2E7c6912E169246c34E1ccbF66C46812d16D5B1A9Dc86A1498",
    "e72e16c7e42f292c6912e7710c838347ae178b4a",
];

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// The six-character base62 CRC32 that GitHub appends to a token's random part.
pub(crate) fn base62_crc32(data: &[u8]) -> [u8; 6] {
    let mut n = crc32fast::hash(data);
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out
}

/// Checks the trailing checksum of a `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_` token.
fn check_checksum(token: &str) -> Check {
    let Some((_, body)) = token.split_once('_') else {
        return Check::Invalid;
    };
    let body = body.as_bytes();
    if body.len() < 7 || !body.iter().all(u8::is_ascii_alphanumeric) {
        return Check::Invalid;
    }
    let (data, sum) = body.split_at(body.len() - 6);
    if base62_crc32(data) == sum {
        Check::Valid
    } else {
        Check::ChecksumMismatch
    }
}

pub static CLASSIC_PAT: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-050",
        "GitHub personal access token (classic)",
        Severity::High,
        "Delete the token under Settings → Developer settings → Personal access tokens, check the security log for its use, and give the job a fine-grained token or GITHUB_TOKEN from a secret store instead.",
        crate::secret_doc!(
            "Finds classic GitHub personal access tokens: `ghp_` followed by 36 letters and digits, the\nlast six of which are a base62 CRC32 of the first 30. A token whose checksum matches was\nissued by GitHub; one whose checksum does not is still reported, one severity lower.",
            "A classic token acts as its owner on every repository, organization and API the owner can\nreach, limited only by the scopes picked when it was made, and often with no expiry. With\n`repo` or `workflow` scope an attacker can read private code, push commits, change workflows to\nexfiltrate Actions secrets, and publish packages.",
            "```ini\nGITHUB_TOKEN=ghp_Z1x8YqTbN4c7Rk2VmWd9PsLh0JfE3gUa5rQe2Xs0kO\n```",
            "```yaml\n# GitHub Actions: use the job's own short-lived token, scoped per job\npermissions:\n  contents: read\nsteps:\n  - run: gh release list\n    env:\n      GH_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n```\nRevoke and rotate: *Settings → Developer settings → Personal access tokens → Tokens\n(classic)*, delete the token; review *Settings → Security log* (and the organization audit\nlog) for its use. If a person still needs one, create a fine-grained token limited to the\nrepositories and permissions needed, with an expiry, and keep it in a secret manager.",
            "- [GitHub: Behind GitHub's new authentication token formats](https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/)\n- [GitHub Docs: Managing your personal access tokens](https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/managing-your-personal-access-tokens)\n- [GitHub Docs: Revoke a list of credentials (REST)](https://docs.github.com/en/rest/credentials/revoke)",
        ),
    ),
    keywords: &["ghp_"],
    pattern: r"\b(?P<secret>ghp_[A-Za-z0-9]{36})\b",
    min_entropy: None,
    path: None,
    allow: GITHUB_DOC_EXAMPLES,
    check: Some(check_checksum),
    window: DEFAULT_WINDOW,
};

pub static OAUTH_ACCESS_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-051",
        "GitHub OAuth access token",
        Severity::High,
        "Revoke the token (the user revokes the app under Settings → Applications, the app owner can reset or delete it through the OAuth authorizations API) and keep tokens out of files.",
        crate::secret_doc!(
            "Finds GitHub OAuth app access tokens: `gho_` followed by 36 letters and digits ending in a\nbase62 CRC32 checksum. The GitHub CLI and many desktop tools store these after a browser login.",
            "An OAuth token acts as the user who authorized the app, with the app's scopes, on every\nrepository the user can reach. A `gho_` token copied out of a `hosts.yml`, a `.netrc` or a CI\nvariable lets anyone act as that user until the authorization is revoked.",
            "```yaml\n# ~/.config/gh/hosts.yml baked into an image\ngithub.com:\n  oauth_token: gho_Pp4n2LxWq8ZrT0cVb6Ym1Kd3Hs7Fg9Je5Ua0Qw3Rt1\n```",
            "```shell\n# let gh keep the token in the system keyring, not in a file\ngh auth login --hostname github.com\n```\nRevoke and rotate: the user opens *Settings → Applications → Authorized OAuth Apps* and\nrevokes the app (for the GitHub CLI: `gh auth logout` and *Revoke*); an app owner can delete\na token with `DELETE /applications/{client_id}/token`. Log in again to get a new token, and\nkeep it in the keyring or a secret store.",
            "- [GitHub Docs: About authentication to GitHub — token formats](https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/about-authentication-to-github#githubs-token-formats)\n- [GitHub Docs: Authorizing OAuth apps](https://docs.github.com/en/apps/oauth-apps/building-oauth-apps/authorizing-oauth-apps)\n- [GitHub Docs: Token expiration and revocation](https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/token-expiration-and-revocation)",
        ),
    ),
    keywords: &["gho_"],
    pattern: r"\b(?P<secret>gho_[A-Za-z0-9]{36})\b",
    min_entropy: None,
    path: None,
    allow: GITHUB_DOC_EXAMPLES,
    check: Some(check_checksum),
    window: DEFAULT_WINDOW,
};

pub static APP_USER_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-052",
        "GitHub App user access token",
        Severity::High,
        "Revoke the app's authorization for the user (or delete the token through the app's OAuth API) and store user tokens encrypted, server-side only.",
        crate::secret_doc!(
            "Finds GitHub App user access tokens (user-to-server tokens): `ghu_` followed by 36 letters\nand digits ending in a base62 CRC32 checksum.",
            "A user access token lets the app act on behalf of the user within the intersection of the\napp's permissions and the user's access. It normally expires after eight hours, but a leaked\none is usable until then, and it usually travels with a `ghr_` refresh token that renews it\nfor six months.",
            "```json\n{\"access_token\": \"ghu_Vb7Kp2Wq9Lm4Xz0Rt6Yc1Nd8Fs3Hg5Je0Ua2Qw7Eo\", \"expires_in\": 28800}\n```",
            "```python\n# keep per-user tokens in the server's encrypted store, never in source or logs\ntoken = token_store.get(user_id)  # refreshed with the refresh token when it expires\n```\nRevoke and rotate: the user revokes the app under *Settings → Applications → Authorized\nGitHub Apps*; the app can delete the token with `DELETE /applications/{client_id}/token`.\nMake sure user token expiration is enabled for the app.",
            "- [GitHub Docs: Generating a user access token for a GitHub App](https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-a-user-access-token-for-a-github-app)\n- [GitHub Docs: About authentication to GitHub — token formats](https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/about-authentication-to-github#githubs-token-formats)",
        ),
    ),
    keywords: &["ghu_"],
    pattern: r"\b(?P<secret>ghu_[A-Za-z0-9]{36})\b",
    min_entropy: None,
    path: None,
    allow: GITHUB_DOC_EXAMPLES,
    check: Some(check_checksum),
    window: DEFAULT_WINDOW,
};

pub static APP_INSTALLATION_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-053",
        "GitHub App installation access token",
        Severity::Medium,
        "Revoke the installation token (DELETE /installation/token), then find out how it was written out: installation tokens and GITHUB_TOKEN belong in memory only.",
        crate::secret_doc!(
            "Finds GitHub App installation access tokens (server-to-server tokens): `ghs_` followed by\n36 letters and digits ending in a base62 CRC32 checksum. The `GITHUB_TOKEN` of a GitHub\nActions job is one of these.",
            "An installation token carries the app's permissions on every repository of the\ninstallation. It expires after one hour (an Actions `GITHUB_TOKEN` when the job ends), which\nlimits the damage, but a token printed in a log or an artifact can be picked up and used\nwithin that time, for example to push to the repository or change its releases.",
            "```shell\n# a debug step that leaks the job token into the log\necho \"token=ghs_Lq3Zw8Xc1Vb6Nm0Ka5Sd9Fg2Hj7Tk4Pr1Ye0Ui2Ot\"\n```",
            "```yaml\nsteps:\n  - run: ./release.sh\n    env:\n      GH_TOKEN: ${{ secrets.GITHUB_TOKEN }}  # masked in logs, never echoed or saved\n```\nRevoke and rotate: call `DELETE /installation/token` with the token to invalidate it at once\n(or let it expire), generate new tokens from the app's private key only where needed, and\nremove the token from logs and artifacts. If the app's private key leaked too, generate a\nnew key in the app settings and delete the old one.",
            "- [GitHub Docs: Generating an installation access token for a GitHub App](https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/generating-an-installation-access-token-for-a-github-app)\n- [GitHub Docs: Automatic token authentication (GITHUB_TOKEN)](https://docs.github.com/en/actions/security-for-github-actions/security-guides/automatic-token-authentication)\n- [GitHub Docs: Revoke an installation access token](https://docs.github.com/en/rest/apps/installations#revoke-an-installation-access-token)",
        ),
    ),
    keywords: &["ghs_"],
    pattern: r"\b(?P<secret>ghs_[A-Za-z0-9]{36})\b",
    min_entropy: None,
    path: None,
    allow: GITHUB_DOC_EXAMPLES,
    check: Some(check_checksum),
    window: DEFAULT_WINDOW,
};

pub static APP_REFRESH_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-054",
        "GitHub App refresh token",
        Severity::High,
        "Revoke the user's authorization of the app so the refresh token and its access tokens stop working, and keep refresh tokens in the server's encrypted store.",
        crate::secret_doc!(
            "Finds GitHub App refresh tokens: `ghr_` followed by 36 or 76 letters and digits whose last\nsix characters are a base62 CRC32 of the rest.",
            "A refresh token is valid for six months and, together with the app's client ID (and\nsecret), mints new user access tokens: whoever holds it can keep acting as the user through\nthe app long after the eight-hour access token expired.",
            "```json\n{\"refresh_token\": \"ghr_Tq2…\", \"refresh_token_expires_in\": 15811200}\n```",
            "```python\n# refresh tokens live only in the server's encrypted token store\nstore.save(user_id, access_token=resp[\"access_token\"], refresh_token=resp[\"refresh_token\"])\n```\nRevoke and rotate: the user revokes the app under *Settings → Applications → Authorized\nGitHub Apps* (or the app deletes the grant with `DELETE /applications/{client_id}/grant`),\nwhich invalidates the refresh token and every token it produced; the user then authorizes\nagain.",
            "- [GitHub Docs: Refreshing user access tokens](https://docs.github.com/en/apps/creating-github-apps/authenticating-with-a-github-app/refreshing-user-access-tokens)\n- [GitHub: Behind GitHub's new authentication token formats](https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/)",
        ),
    ),
    keywords: &["ghr_"],
    pattern: r"\b(?P<secret>ghr_(?:[A-Za-z0-9]{76}|[A-Za-z0-9]{36}))\b",
    min_entropy: None,
    path: None,
    allow: GITHUB_DOC_EXAMPLES,
    check: Some(check_checksum),
    window: DEFAULT_WINDOW,
};

pub static FINE_GRAINED_PAT: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-055",
        "GitHub fine-grained personal access token",
        Severity::High,
        "Revoke the token under Settings → Developer settings → Fine-grained tokens (organization owners can revoke it too) and load a new one from a secret store.",
        crate::secret_doc!(
            "Finds GitHub fine-grained personal access tokens: `github_pat_`, 22 letters and digits, an\nunderscore, and 59 more letters and digits (93 characters in all).",
            "A fine-grained token is limited to chosen repositories and permissions and always expires,\nbut within those limits it is the user: with contents or workflow write access an attacker\ncan push code or change CI; with read access they can copy private repositories.",
            "```js\nconst octokit = new Octokit({ auth: \"github_pat_11AB2CD3E0…\" });\n```",
            "```js\nconst octokit = new Octokit({ auth: process.env.GH_TOKEN }); // injected by the runtime\n```\nRevoke and rotate: *Settings → Developer settings → Personal access tokens → Fine-grained\ntokens*, open the token and *Delete* (organization owners can revoke tokens that access the\norganization under *Settings → Personal access tokens → Active tokens*). Create a new token\nwith the same narrow scope and a short expiry, stored in a secret manager.",
            "- [GitHub Docs: Managing your personal access tokens](https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/managing-your-personal-access-tokens)\n- [GitHub Docs: Reviewing and revoking personal access tokens in your organization](https://docs.github.com/en/organizations/managing-programmatic-access-to-your-organization/reviewing-and-revoking-personal-access-tokens-in-your-organization)",
        ),
    ),
    keywords: &["github_pat_"],
    pattern: r"\b(?P<secret>github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59})\b",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static LEGACY_HEX_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-056",
        "GitHub token in the old 40-hex format",
        Severity::High,
        "Revoke the token (personal access tokens under Settings → Developer settings, OAuth tokens by revoking the app) and use a current, prefixed token from a secret store.",
        crate::secret_doc!(
            "Finds GitHub tokens issued before April 2021: 40 lowercase hexadecimal characters. Such a\nvalue looks like a commit hash, so it is reported only when assigned to a name that says it\nis a GitHub token (`GITHUB_TOKEN`, `GH_TOKEN`, `github_pat`, `github-oauth-token`, …).",
            "Old personal access tokens were often created without an expiry and with broad scopes; one\nthat still works gives the same access as a classic `ghp_` token: private repositories,\npushes, workflows and packages of its owner.",
            "```ini\ngithub_token = \"3f9c2a7e1b8d4c6f0a5e9d2b7c1f4a8e6d3b0c9a\"\n```",
            "```ini\n# read the token from the environment or a secret store at run time\ngithub_token = ${GITHUB_TOKEN}\n```\nRevoke and rotate: find the token in *Settings → Developer settings → Personal access\ntokens* (old tokens show no prefix) or in *Settings → Applications* for OAuth apps and delete\nit; replace it with a fine-grained token or the workflow's `GITHUB_TOKEN`.",
            "- [GitHub Changelog: Authentication token format updates are generally available](https://github.blog/changelog/2021-03-31-authentication-token-format-updates-are-generally-available/)\n- [GitHub Docs: Token expiration and revocation](https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/token-expiration-and-revocation)",
        ),
    ),
    keywords: &["github", "gh_token", "gh-token", "gh_pat", "ghtoken"],
    pattern: r#"(?i:(?:github|gh)[_\-.]?(?:api[_\-.]?|oauth[_\-.]?|auth[_\-.]?|access[_\-.]?|personal[_\-.]?access[_\-.]?)?(?:token|pat))["']?\s*[:=]\s*["']?(?P<secret>[0-9a-f]{40})(?:[^0-9A-Za-z]|$)"#,
    min_entropy: Some(2.7),
    path: None,
    allow: GITHUB_DOC_EXAMPLES,
    check: None,
    window: DEFAULT_WINDOW,
};

/// Generates with `f` until the value is not one the placeholder filter drops: long random
/// strings now and then contain `xxxx` or `fake`, which would make a sample flaky.
#[cfg(test)]
pub(crate) fn fresh(
    rng: &mut crate::testing::Rng,
    f: impl Fn(&mut crate::testing::Rng) -> String,
) -> String {
    loop {
        let s = f(rng);
        if !crate::engine::is_placeholder(&s) {
            return s;
        }
    }
}

/// A GitHub token of the given prefix (`ghp`, `ghr`, …) with `len` characters after the
/// underscore, the last six a correct checksum.
#[cfg(test)]
pub(crate) fn fake_token(rng: &mut crate::testing::Rng, prefix: &str, len: usize) -> String {
    let random = fresh(rng, |r| r.alnum(len - 6));
    let sum = base62_crc32(random.as_bytes());
    format!("{prefix}_{random}{}", String::from_utf8_lossy(&sum))
}

#[cfg(test)]
pub(crate) fn samples(rng: &mut crate::testing::Rng) -> Vec<crate::testing::Sample> {
    use crate::testing::Sample;
    vec![
        Sample {
            rule: "PAL-SEC-050",
            text: format!("GITHUB_TOKEN={}\n", fake_token(rng, "ghp", 36)),
            near_misses: vec![
                "GITHUB_TOKEN=ghp_<your-token>\n".into(),
                "GITHUB_TOKEN=${{ secrets.GITHUB_TOKEN }}\n".into(),
                format!("token ghp_{} is cut short\n", rng.alnum(35)),
                "GITHUB_TOKEN=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-051",
            text: format!("github.com:\n  oauth_token: {}\n  user: octocat\n", fake_token(rng, "gho", 36)),
            near_misses: vec![
                "access_token=gho_16C7e42F292c6912E7710c838347Ae178B4a&token_type=bearer\n".into(),
                format!("oauth_token: gho_{}-{}\n", rng.alnum(20), rng.alnum(15)),
            ],
        },
        Sample {
            rule: "PAL-SEC-052",
            text: format!(
                "{{\"access_token\": \"{}\", \"expires_in\": 28800, \"token_type\": \"bearer\"}}\n",
                fake_token(rng, "ghu", 36)
            ),
            near_misses: vec![
                "{\"access_token\": \"ghu_16C7e42F292c6912E7710c838347Ae178B4a\", \"expires_in\": 28800}\n".into(),
                format!("{{\"access_token\": \"ghu_{}\"}}\n", rng.alnum(37)),
            ],
        },
        Sample {
            rule: "PAL-SEC-053",
            text: format!("Authorization: token {}\n", fake_token(rng, "ghs", 36)),
            near_misses: vec![
                "Authorization: token ghs_16C7e42F292c6912E7710c838347Ae178B4a\n".into(),
                format!("Authorization: token ghs_{}\n", rng.alnum(30)),
            ],
        },
        Sample {
            rule: "PAL-SEC-054",
            text: format!(
                "refresh_token={}&refresh_token_expires_in=15811200\n",
                fake_token(rng, "ghr", 76)
            ),
            near_misses: vec![
                "\"refresh_token\": \"ghr_1B4a2e77838347a7E420ce178F2E7c6912E169246c34E1ccbF66C46812d16D5B1A9Dc86A1498\",\n"
                    .into(),
                format!("refresh_token=ghr_{}\n", rng.alnum(50)),
            ],
        },
        Sample {
            rule: "PAL-SEC-054",
            text: format!("GH_REFRESH={}\n", fake_token(rng, "ghr", 36)),
            near_misses: vec![],
        },
        Sample {
            rule: "PAL-SEC-055",
            text: format!("const octokit = new Octokit({{ auth: \"github_pat_11{}_{}\" }});\n", rng.alnum(20), fresh(rng, |r| r.alnum(59))),
            near_misses: vec![
                "const octokit = new Octokit({ auth: \"github_pat_<fine-grained-token>\" });\n".into(),
                format!("auth: \"github_pat_{}_{}\"\n", rng.alnum(22), rng.alnum(40)),
                format!("auth: \"github_pat_{}\"\n", rng.alnum(82)),
            ],
        },
        Sample {
            rule: "PAL-SEC-056",
            text: format!("github_token = \"{}\"\n", rng.hex(40)),
            near_misses: vec![
                "github_token = \"e72e16c7e42f292c6912e7710c838347ae178b4a\"\n".into(),
                format!("GITHUB_SHA={}\n", rng.hex(40)),
                format!("github_token = \"{}\"\n", rng.hex(32)),
            ],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Engine;

    /// The two lines of the kitchen-sink image's `.env`: the GitHub token's checksum does not
    /// match (it is made up), and it is still found; so is the Slack webhook.
    #[test]
    fn kitchen_sink_env_lines_are_found() {
        let text = "GITHUB_TOKEN=ghp_R4nd0mT0k3nV4lu3F0rT3st1ngPurp0s3sXy\nSLACK_WEBHOOK=https://hooks.slack.com/services/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\n";
        let engine = crate::builtin();
        let hits = engine.scan(".env", text.as_bytes());
        let ids: Vec<&str> = hits
            .iter()
            .map(|h| engine.rules()[h.rule].meta.id)
            .collect();
        let gh = hits
            .iter()
            .find(|h| engine.rules()[h.rule].meta.id == "PAL-SEC-050")
            .unwrap_or_else(|| panic!("GitHub token not found: {ids:?}"));
        assert_eq!(gh.secret, "ghp_R4nd0mT0k3nV4lu3F0rT3st1ngPurp0s3sXy");
        assert_eq!(gh.check, Check::ChecksumMismatch);
        assert_eq!((gh.line, gh.column), (1, 14));
        let slack = hits
            .iter()
            .find(|h| engine.rules()[h.rule].meta.id == "PAL-SEC-083")
            .unwrap_or_else(|| panic!("Slack webhook not found: {ids:?}"));
        assert_eq!(slack.secret, "aB3dE5fG7hJ9kL1mN3pQ5rS7");
        assert_eq!(slack.line, 2);
    }

    #[test]
    fn checksums_of_revoked_real_tokens_match() {
        // Tokens GitHub issued and that were revoked after being published.
        for t in [
            "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",
            "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",
            "ghu_yK9Kliqr8NDDnCmMAcxFJ6mwIguP5Z0tad19",
            "ghr_DyQfidJzPchISqjB8meqjQ53ugPn5k47wSwiDGbfZr47ic2Ve9PKvHskfFajGpTO2HJrBe1pD2fh",
        ] {
            assert_eq!(check_checksum(t), Check::Valid, "{t}");
        }
        assert_eq!(
            check_checksum("gho_16C7e42F292c6912E7710c838347Ae178B4a"),
            Check::ChecksumMismatch
        );
        let mut rng = crate::testing::Rng::new(7);
        for (p, n) in [("ghp", 36), ("ghs", 36), ("ghr", 76)] {
            assert_eq!(check_checksum(&fake_token(&mut rng, p, n)), Check::Valid);
        }
    }

    #[test]
    fn tokens_inside_longer_words_are_not_found() {
        let engine = Engine::new(RULES).unwrap();
        let mut rng = crate::testing::Rng::new(11);
        let t = fake_token(&mut rng, "ghp", 36);
        assert_eq!(engine.scan("x", format!("x{t}").as_bytes()).len(), 0);
        assert_eq!(engine.scan("x", format!("{t}9").as_bytes()).len(), 0);
        assert_eq!(engine.scan("x", format!("\"{t}\"").as_bytes()).len(), 1);
    }
}
