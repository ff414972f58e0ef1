//! Amazon Web Services credentials: access key IDs and secret access keys.

use palisade_core::{RuleMeta, Scanner, Severity};

use crate::rule::{Check, DEFAULT_WINDOW, SecretRule};

pub static RULES: &[&SecretRule] = &[&ACCESS_KEY_ID, &SECRET_ACCESS_KEY, &TEMPORARY_KEY_ID];

/// AWS's documentation uses these in every example; they are not credentials.
const AWS_EXAMPLES: &[&str] = &[
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
];

pub static ACCESS_KEY_ID: SecretRule = SecretRule {
    meta: RuleMeta {
        id: "PAL-SEC-001",
        title: "AWS access key ID",
        severity: Severity::High,
        scanner: Scanner::Secret,
        kinds: &["file"],
        controls: &[],
        fix: "Deactivate the key in IAM (or delete it), create a new one if the workload still needs it, and load it from the environment or a secret manager instead of the file.",
        doc: ACCESS_KEY_ID_DOC,
    },
    keywords: &["akia", "abia", "acca"],
    // Long-term (AKIA) and service key prefixes; 16 characters of base32 follow. Temporary
    // (ASIA) IDs are TEMPORARY_KEY_ID: AWS writes them into every CloudTrail record.
    pattern: r"\b(?P<secret>(?:AKIA|ABIA|ACCA)[A-Z2-7]{16})\b",
    min_entropy: None,
    path: None,
    allow: AWS_EXAMPLES,
    check: None,
    window: DEFAULT_WINDOW,
};

pub static TEMPORARY_KEY_ID: SecretRule = SecretRule {
    meta: RuleMeta {
        id: "PAL-SEC-160",
        title: "AWS temporary access key ID",
        severity: Severity::Low,
        scanner: Scanner::Secret,
        kinds: &["file"],
        controls: &[],
        fix: "Find where the session credentials came from and keep them out of files; if the secret key and session token are next to it, revoke the role's active sessions.",
        doc: TEMPORARY_KEY_ID_DOC,
    },
    keywords: &["asia"],
    pattern: r"\b(?P<secret>ASIA[A-Z2-7]{16})\b",
    min_entropy: None,
    path: None,
    allow: AWS_EXAMPLES,
    check: None,
    window: DEFAULT_WINDOW,
};

const TEMPORARY_KEY_ID_DOC: &str = r#"## What it does
Finds temporary AWS access key IDs (`ASIA` and 16 base32 characters), the first third of the
session credentials STS hands out. Low severity on its own: the ID does not sign anything,
expires with its session, and AWS writes it into every CloudTrail record, so logs and
incident exports are full of them. The secret key near one is PAL-SEC-002 (high), the
session token PAL-SEC-003.

## Why is this bad?
Where a temporary key ID is written down, the secret key and session token usually are too;
with all three anyone can act as the role until the session ends (up to 12 hours, 36 for
some federation setups).

## Example
```ini
aws_access_key_id = ASIAZ3MQVTQ7XKP4J2NB
```

## Use instead
```ini
# Let the SDK fetch and refresh session credentials itself (instance profile, IRSA,
# EKS Pod Identity, SSO); do not copy them into files.
```
Revoke: when the rest of the credentials leaked too, use *Revoke active sessions* on the role
in IAM (it denies every session issued before now), then review CloudTrail for their use.

## References
- [Temporary security credentials in IAM](https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp.html)
- [Revoking IAM role temporary security credentials](https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html)
"#;

const ACCESS_KEY_ID_DOC: &str = r#"## What it does
Finds long-term AWS access key IDs: 20 characters starting with `AKIA` (IAM user keys; `ABIA`
and `ACCA` for service keys). Temporary `ASIA` IDs are PAL-SEC-160. The ID alone does not sign requests, but it identifies an
account and a principal, and where the ID is, the secret key is rarely far.

## Why is this bad?
An access key ID next to its secret access key is full programmatic access to whatever the IAM
user or role may do. Keys committed to repositories, baked into images or pasted into
configuration are found by scanners within minutes of being published and used to run crypto
miners, exfiltrate S3 data or create new users for persistence.

## Example
```ini
AWS_ACCESS_KEY_ID=AKIAZ3MQVTQ7XKP4J2NB
```

## Use instead
```ini
# Nothing in the file: the SDK reads credentials from the environment, the instance or
# pod role (IRSA, EKS Pod Identity), or AWS SSO.
```
Revoke: in IAM, *Users → Security credentials → Access keys*, deactivate then delete the key
(`aws iam update-access-key --status Inactive`, then `delete-access-key`); check CloudTrail for
its use since it leaked.

## References
- [Managing access keys for IAM users](https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html)
- [What to do if you inadvertently expose an AWS access key](https://aws.amazon.com/blogs/security/what-to-do-if-you-inadvertently-expose-an-aws-access-key/)
"#;

pub static SECRET_ACCESS_KEY: SecretRule = SecretRule {
    meta: RuleMeta {
        id: "PAL-SEC-002",
        title: "AWS secret access key",
        severity: Severity::Critical,
        scanner: Scanner::Secret,
        kinds: &["file"],
        controls: &[],
        fix: "Deactivate and delete the access key in IAM, check CloudTrail for its use, and give the workload a role instead of a key.",
        doc: SECRET_ACCESS_KEY_DOC,
    },
    keywords: &[
        "aws",
        "secret_access_key",
        "secretaccesskey",
        "akia",
        "asia",
    ],
    // The 40-character secret, assigned to a name that says it is AWS's secret key, or right
    // after an access key ID: on the same line after a separator (the console's CSV download)
    // or on the next line (`key: AKIA…` / `secret: …`, or the bare pair).
    pattern: r#"(?:(?i:(?:aws)?[_\-.]?secret[_\-.]?(?:access)?[_\-.]?key)["']?\s*[:=]\s*["']?|\b(?:AKIA|ASIA)[A-Z2-7]{16}\b["']?(?:[ \t]*[,;|:][ \t]*["']?|[^\n]{0,100}\n(?:[^\n]{0,60}?[\s:=,"'])?))(?P<secret>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)"#,
    min_entropy: Some(3.5),
    path: None,
    allow: AWS_EXAMPLES,
    check: Some(mixed_case),
    window: DEFAULT_WINDOW,
};

/// Secret access keys are random base64: both letter cases always occur. A 40-character
/// lowercase hex string next to a key ID is a commit hash or digest, not a secret key.
fn mixed_case(s: &str) -> Check {
    if s.bytes().any(|b| b.is_ascii_uppercase()) && s.bytes().any(|b| b.is_ascii_lowercase()) {
        Check::Unknown
    } else {
        Check::Invalid
    }
}

const SECRET_ACCESS_KEY_DOC: &str = r#"## What it does
Finds AWS secret access keys: 40 characters of base64 assigned to a name such as
`AWS_SECRET_ACCESS_KEY`, `aws_secret_access_key` or `secretAccessKey`, or written right after
an access key ID (`AKIA…,secret` in the console's CSV download, or on the line after the ID).

## Why is this bad?
The secret access key is what signs AWS API requests. With it and its access key ID anyone can
act as the IAM principal: read S3 buckets, start instances, change IAM. Leaked keys are
exploited automatically, often within minutes.

## Example
```ini
AWS_ACCESS_KEY_ID=AKIAZ3MQVTQ7XKP4J2NB
AWS_SECRET_ACCESS_KEY=q8Hc0Rr3m6xK2v9Lw1TzYb4nE7sUa5dGf0JpWiXo
```

## Use instead
```yaml
# Kubernetes: an IAM role for the service account, no key at all
apiVersion: v1
kind: ServiceAccount
metadata:
  name: app
  annotations:
    eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/app
```
Revoke: deactivate then delete the key in IAM, review CloudTrail for what it did, and rotate
anything it could read.

## References
- [Managing access keys for IAM users](https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_access-keys.html)
- [IAM roles for service accounts](https://docs.aws.amazon.com/eks/latest/userguide/iam-roles-for-service-accounts.html)
"#;

#[cfg(test)]
pub(crate) fn samples(rng: &mut crate::testing::Rng) -> Vec<crate::testing::Sample> {
    use crate::testing::Sample;
    let key_id = format!("AKIA{}", rng.pick(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16));
    let secret = rng.base64(40).replace('+', "x");
    vec![
        Sample {
            rule: "PAL-SEC-001",
            text: format!("AWS_ACCESS_KEY_ID={key_id}\n"),
            near_misses: vec![
                "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\n".into(),
                format!("id = AKIA{}\n", rng.upper_alnum(12)),
                "AKIA is the prefix of long-term keys\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-160",
            text: format!(
                "\"accessKeyId\": \"ASIA{}\"\n",
                rng.pick(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)
            ),
            near_misses: vec![
                format!("id = ASIA{}\n", rng.upper_alnum(12)),
                "ASIA is the prefix of temporary keys\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-002",
            text: format!("aws_secret_access_key = {secret}\n"),
            near_misses: vec![
                "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n".into(),
                "AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY}\n".into(),
                format!("aws_secret_access_key = {}\n", rng.base64(30)),
            ],
        },
    ]
}

#[cfg(test)]
mod tests {
    #[test]
    fn secret_key_next_to_its_key_id() {
        let engine = crate::builtin();
        let found = |text: &str| {
            engine
                .scan("credentials", text.as_bytes())
                .iter()
                .any(|h| engine.rules()[h.rule].meta.id == "PAL-SEC-002")
        };
        let secret = "q8Hc0Rr3m6xK2v9Lw1TzYb4nE7sUa5dGf0JpWiXo";
        assert!(found(&format!(
            "key: AKIAZ3MQVTQ7XKP4J2NB\nsecret: {secret}\n"
        )));
        assert!(found(&format!("AKIAZ3MQVTQ7XKP4J2NB\n{secret}\n")));
        assert!(found(&format!(
            "User name,Password,Access key ID,Secret access key\nci,,AKIAZ3MQVTQ7XKP4J2NB,{secret}\n"
        )));
        // A commit hash on the next line is not a secret key.
        assert!(!found(
            "AKIAZ3MQVTQ7XKP4J2NB\n3f1c9e0a7b2d4c5e6f708192a3b4c5d6e7f80912\n"
        ));
    }
}
