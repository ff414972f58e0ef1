//! Messaging and email APIs: Twilio, SendGrid, Mailgun, Mailchimp and Postmark.

use palisade_core::{RuleMeta, Scanner, Severity};

use crate::rule::{DEFAULT_WINDOW, SecretRule};

pub static RULES: &[&SecretRule] = &[
    &TWILIO_API_KEY,
    &TWILIO_API_KEY_SECRET,
    &TWILIO_AUTH_TOKEN,
    &TWILIO_ACCOUNT_CREDENTIALS,
    &SENDGRID_API_KEY,
    &MAILGUN_LEGACY_API_KEY,
    &MAILGUN_API_KEY,
    &MAILCHIMP_API_KEY,
    &POSTMARK_API_TOKEN,
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

pub static TWILIO_API_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-099",
        "Twilio API key",
        Severity::High,
        "Delete the API key in the Twilio Console (its secret goes with it) and create a new one kept in a secret manager.",
        crate::secret_doc!(
            "Finds Twilio API key SIDs (`SK` followed by 32 hexadecimal characters) in files that mention\nTwilio. The SID names an API key; its secret is shown once at creation and is almost always\nstored right next to it.",
            "An API key SID with its secret authenticates to every Twilio REST API the key may use:\nsending SMS and calls (toll fraud on premium numbers), reading message logs and recordings, and\nfor *Main* keys managing the account's other credentials.",
            "```javascript\nconst client = require('twilio')('SK2a7c…e41', apiSecret, { accountSid });\n```",
            "```javascript\nconst client = require('twilio')(\n  process.env.TWILIO_API_KEY,\n  process.env.TWILIO_API_SECRET,\n  { accountSid: process.env.TWILIO_ACCOUNT_SID },\n);\n```\nRevoke and rotate: in the Twilio Console open *Account → API keys & tokens*, select the key and\n*Delete this API key* (or `DELETE /2010-04-01/Accounts/{AccountSid}/Keys/{Sid}.json`), create a\nnew Standard or Restricted key, and check the usage and message logs for activity you did not\nexpect.",
            "- [Twilio: API keys overview](https://www.twilio.com/docs/iam/api-keys)\n- [Twilio: What is a SID?](https://www.twilio.com/docs/glossary/what-is-a-sid)",
        ),
    ),
    keywords: &["twilio"],
    pattern: r"\b(?P<secret>SK[0-9a-fA-F]{32})\b",
    min_entropy: Some(2.7),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static TWILIO_API_KEY_SECRET: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-100",
        "Twilio API key secret",
        Severity::High,
        "Delete the API key in the Twilio Console and create a new one whose secret is kept in a secret manager.",
        crate::secret_doc!(
            "Finds the 32-character secret of a Twilio API key: assigned to a name with `twilio` and\n`secret` in it (`TWILIO_API_SECRET`), or written right after an API key SID (`SK…`, as the\nsecond argument of the client or in `SK…:secret@` URLs).",
            "The secret is the password of the API key. With the key SID it authenticates to the Twilio\nREST APIs: SMS and voice (toll fraud), message and call logs, recordings, and for *Main* keys\nthe account's keys and subaccounts.",
            "```ini\nTWILIO_API_KEY=SK2a7c…e41\nTWILIO_API_SECRET=q8Zr2LmXv0Tb7NcKq8Zr2LmXv0Tb7NcK\n```",
            "```ini\n# Injected at deploy time from the secret store; nothing in the repository.\nTWILIO_API_KEY=\nTWILIO_API_SECRET=\n```\nRevoke and rotate: *Console → Account → API keys & tokens*, delete the key whose secret leaked,\ncreate a replacement and deploy it; review the usage records for the exposure window.",
            "- [Twilio: API keys overview](https://www.twilio.com/docs/iam/api-keys)\n- [Twilio: Create an API key](https://www.twilio.com/docs/iam/api-keys/key-resource-v1)",
        ),
    ),
    keywords: &["twilio"],
    pattern: r#"(?:(?i:twilio)[\w.-]{0,30}?(?i:secret)["']?\s*[:=]\s*["']?|\bSK[0-9a-fA-F]{32}["']?\s*[,:]\s*["']?)(?P<secret>[0-9A-Za-z]{32})\b"#,
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static TWILIO_AUTH_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-101",
        "Twilio auth token",
        Severity::High,
        "Rotate the auth token in the Twilio Console (request a secondary token, promote it) and use API keys in applications.",
        crate::secret_doc!(
            "Finds Twilio auth tokens: 32 hexadecimal characters assigned to a name with `twilio` and\n`auth_token` / `authToken` in it.",
            "The auth token is the account's master password for the API: with the account SID it can do\neverything, including creating API keys, buying phone numbers and sending messages at the\naccount's expense. It also signs webhook requests, so a leaked token lets an attacker forge\nthem.",
            "```python\nTWILIO_ACCOUNT_SID = \"AC5e0f…91c\"\nTWILIO_AUTH_TOKEN = \"9f4c2d7e1a8b3c6d5e0f7a2b9c4d1e8f\"\n```",
            "```python\nimport os\nfrom twilio.rest import Client\nclient = Client(os.environ[\"TWILIO_API_KEY\"], os.environ[\"TWILIO_API_SECRET\"],\n                os.environ[\"TWILIO_ACCOUNT_SID\"])\n```\nRevoke and rotate: in the Console open *Account → API keys & tokens → Auth tokens*, *Request a\nsecondary token*, move every client to it, then *Promote* it, which invalidates the leaked\nprimary token. Applications should use API keys, which can be revoked one at a time.",
            "- [Twilio: Auth tokens and how to change them](https://help.twilio.com/articles/223136027-Auth-Tokens-and-How-to-Change-Them)\n- [Twilio: API keys overview](https://www.twilio.com/docs/iam/api-keys)",
        ),
    ),
    keywords: &["twilio"],
    pattern: r#"(?i:twilio)[\w.-]{0,30}?(?i:auth[_.-]?token)["']?\s*[:=]\s*["']?(?P<secret>[0-9a-fA-F]{32})\b"#,
    min_entropy: Some(2.7),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static TWILIO_ACCOUNT_CREDENTIALS: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-102",
        "Twilio account SID with auth token",
        Severity::High,
        "Rotate the auth token in the Twilio Console and authenticate with a revocable API key from the environment.",
        crate::secret_doc!(
            "Finds a Twilio account SID (`AC` followed by 32 hexadecimal characters) immediately followed\nby a 32-character hexadecimal auth token: the two arguments of a client constructor, or the\nuser and password of a `https://AC…:token@api.twilio.com` URL. The SID alone is not reported.",
            "The pair is complete account access: send messages and place calls at the account's cost,\nread message history and recordings, create API keys and subaccounts.",
            "```python\nclient = Client(\"AC5e0f…91c\", \"9f4c2d7e1a8b3c6d5e0f7a2b9c4d1e8f\")\n```",
            "```python\nclient = Client(os.environ[\"TWILIO_API_KEY\"], os.environ[\"TWILIO_API_SECRET\"],\n                os.environ[\"TWILIO_ACCOUNT_SID\"])\n```\nRevoke and rotate: *Console → Account → API keys & tokens → Auth tokens*: request a secondary\ntoken, switch clients to it and promote it, which retires the leaked token.",
            "- [Twilio: Auth tokens and how to change them](https://help.twilio.com/articles/223136027-Auth-Tokens-and-How-to-Change-Them)\n- [Twilio: Invalid AccountSid (SID format)](https://www.twilio.com/docs/api/errors/21470)",
        ),
    ),
    keywords: &["twilio", "account_sid", "accountsid"],
    pattern: r#"\bAC[0-9a-fA-F]{32}["']?\s*[,:]\s*["']?(?P<secret>[0-9a-fA-F]{32})\b"#,
    min_entropy: Some(2.7),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static SENDGRID_API_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-103",
        "SendGrid API key",
        Severity::High,
        "Delete the API key in SendGrid (Settings → API Keys) and create a new, narrowly scoped one kept in a secret manager.",
        crate::secret_doc!(
            "Finds Twilio SendGrid API keys: 69 characters, `SG.` then a 22-character key ID, a dot, and a\n43-character secret (URL-safe base64).",
            "A SendGrid key with mail-send access lets anyone send email as the account's verified\ndomains, which is ideal for phishing that passes SPF and DKIM; full-access keys also read\ncontact lists, templates and suppression lists and create more keys.",
            "```bash\nexport SENDGRID_API_KEY='SG.nGt4…pQ.Vd1…3xE'\n```",
            "```bash\n# CI injects SENDGRID_API_KEY from its secret store; nothing in the repository\nsendgrid-send --from noreply@example.com ...\n```\nRevoke and rotate: in the SendGrid app open *Settings → API Keys*, delete the key (or call\n`DELETE /v3/api_keys/{api_key_id}`), create a replacement with only *Mail Send* if that is all\nthe service does, and review *Activity* for mail you did not send.",
            "- [SendGrid: API keys](https://www.twilio.com/docs/sendgrid/ui/account-and-settings/api-keys)\n- [SendGrid: API keys API](https://www.twilio.com/docs/sendgrid/api-reference/api-keys/retrieve-an-existing-api-key)",
        ),
    ),
    keywords: &["sg."],
    pattern: r"\b(?P<secret>SG\.[0-9A-Za-z_-]{22}\.[0-9A-Za-z_-]{43})(?:[^0-9A-Za-z_-]|$)",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static MAILGUN_LEGACY_API_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-104",
        "Mailgun API key (legacy key- format)",
        Severity::High,
        "Reset or delete the key under API Security in the Mailgun dashboard and keep the new one in a secret manager.",
        crate::secret_doc!(
            "Finds Mailgun API keys in the original format: `key-` followed by 32 lowercase letters and\ndigits. The key printed throughout Mailgun's documentation is ignored.",
            "A primary account key performs every API operation on every sending domain: sending mail as\nthe domain, reading stored messages and logs, changing routes and webhooks, and managing\ndomains and credentials.",
            "```bash\ncurl -s --user 'api:key-3f9a…k2q' https://api.mailgun.net/v3/mg.example.com/messages\n```",
            "```bash\ncurl -s --user \"api:${MAILGUN_API_KEY}\" https://api.mailgun.net/v3/mg.example.com/messages\n```\nRevoke and rotate: in the Mailgun dashboard open *Account settings → API Security*, delete (or\nreset) the key and create a new one; prefer a *Domain Sending Key* for services that only send.\nReview the sending logs for the exposure window.",
            "- [Mailgun: Authentication](https://documentation.mailgun.com/docs/mailgun/api-reference/authentication)",
        ),
    ),
    keywords: &["key-"],
    pattern: r"\b(?P<secret>key-[0-9a-z]{32})\b",
    min_entropy: Some(3.5),
    path: None,
    allow: &["key-3ax6xnjp29jd6fds4gc373sgvjxteol0"],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static MAILGUN_API_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-105",
        "Mailgun API key",
        Severity::High,
        "Delete the key under API Security (or the domain's Sending API keys) in Mailgun and keep its replacement in a secret manager.",
        crate::secret_doc!(
            "Finds current Mailgun API keys (primary account keys and domain sending keys): 32\nhexadecimal characters, a dash, 8 hexadecimal characters, a dash and 8 more, in files that\nmention Mailgun.",
            "A primary key can do everything on the account (send as every domain, read stored messages,\nchange routes, webhooks and credentials); a domain sending key can send mail as that domain,\nwhich is enough for convincing phishing.",
            "```ini\nMAILGUN_API_KEY=470e5443…a490-cb3791c4-65cef2fc\nMAILGUN_DOMAIN=mg.example.com\n```",
            "```ini\nMAILGUN_API_KEY=   # from the deployment's secret store\nMAILGUN_DOMAIN=mg.example.com\n```\nRevoke and rotate: *Account settings → API Security* for account keys, or *Sending → Domain\nsettings → Sending API keys* for a domain key: delete the key, create a new one, deploy it, and\ncheck the logs for mail you did not send.",
            "- [Mailgun: Authentication](https://documentation.mailgun.com/docs/mailgun/api-reference/authentication)\n- [Mailgun: API keys API](https://www.mailgun.com/releases/update-to-the-mailgun-public-api-domain-including-ability-to-generate-an-api-key-programmatically/)",
        ),
    ),
    keywords: &["mailgun"],
    pattern: r"\b(?P<secret>[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8})\b",
    min_entropy: Some(2.7),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static MAILCHIMP_API_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-106",
        "Mailchimp API key",
        Severity::High,
        "Disable the key in Mailchimp (Profile → Extras → API keys), create a new one and load it from a secret manager.",
        crate::secret_doc!(
            "Finds Mailchimp Marketing API keys: 32 hexadecimal characters followed by the data-center\nsuffix, e.g. `-us6` or `-us21`.",
            "The key has the full rights of the user who created it on the Mailchimp account: export the\naudience (names, email addresses, purchase data), send campaigns to it, and change account\nsettings.",
            "```php\n$mailchimp->setConfig(['apiKey' => '6bf3…9b8c-us4', 'server' => 'us4']);\n```",
            "```php\n$mailchimp->setConfig(['apiKey' => getenv('MAILCHIMP_API_KEY'), 'server' => 'us4']);\n```\nRevoke and rotate: in Mailchimp open *Profile → Extras → API keys*, *Disable* then delete the\nleaked key, *Create A Key* for the integration and deploy it; check the audience's export\nhistory and recent campaigns.",
            "- [Mailchimp Marketing API: Quick start](https://mailchimp.com/developer/marketing/guides/quick-start/)\n- [Mailchimp: About API keys](https://mailchimp.com/help/about-api-keys/)",
        ),
    ),
    keywords: &[
        "-us1", "-us2", "-us3", "-us4", "-us5", "-us6", "-us7", "-us8", "-us9",
    ],
    pattern: r"\b(?P<secret>[0-9a-f]{32}-us[0-9]{1,2})\b",
    min_entropy: Some(2.7),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static POSTMARK_API_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-107",
        "Postmark API token",
        Severity::High,
        "Regenerate the server or account token in Postmark (API Tokens tab) and keep it in a secret manager.",
        crate::secret_doc!(
            "Finds Postmark server and account API tokens (UUIDs) where the context says they are: the\n`X-Postmark-Server-Token` / `X-Postmark-Account-Token` headers, a variable named like\n`POSTMARK_SERVER_TOKEN` or `postmark_api_key`, or a `postmark.ServerClient(\"…\")` call. Postmark's\ntest token `POSTMARK_API_TEST` is not a UUID and is not reported.",
            "A server token sends email from the server's sender signatures and reads its messages,\nbounces and templates; an account token manages every server, domain and sender signature of\nthe account. Either can be used to send phishing from a trusted domain.",
            "```javascript\nconst client = new postmark.ServerClient(\"1f2e3d4c-5b6a-4798-8a9b-0c1d2e3f4a5b\");\n```",
            "```javascript\nconst client = new postmark.ServerClient(process.env.POSTMARK_SERVER_TOKEN);\n```\nRevoke and rotate: for a server token open the server's *API Tokens* tab, *Generate another\ntoken*, deploy it and delete the leaked one; for the account token use the account's *API\nTokens* page. Check the server's *Activity* for messages you did not send.",
            "- [Postmark: API overview and authentication](https://postmarkapp.com/developer/api/overview)\n- [Postmark: Managing your account](https://postmarkapp.com/developer/user-guide/managing-your-account)",
        ),
    ),
    keywords: &["postmark"],
    pattern: r#"(?:(?i:x-postmark-(?:server|account)-token)["']?\s*[:=,]\s*["']?|(?i:postmark)[\w.-]{0,30}?(?i:token|key)["']?\s*[:=]\s*["']?|(?i:postmark)\.(?:Server|Account|Admin)?Client\(\s*["'])(?P<secret>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\b"#,
    min_entropy: Some(2.7),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

#[cfg(test)]
pub(crate) fn samples(rng: &mut crate::testing::Rng) -> Vec<crate::testing::Sample> {
    use crate::testing::Sample;
    let rng = &mut super::fresh::Fresh(rng);
    let account_sid = format!("AC{}", rng.hex(32));
    vec![
        Sample {
            rule: "PAL-SEC-099",
            text: format!("const client = require('twilio')('SK{}', apiSecret, {{ accountSid }});\n", rng.hex(32)),
            near_misses: vec![
                "const apiKey = 'SKXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX'; // from www.twilio.com/console\n".into(),
                format!("// twilio: SK{} is not a whole SID\n", rng.hex(20)),
                // Without any mention of Twilio an SK-prefixed hash is not reported.
                format!("checksum = SK{}\n", rng.hex(32)),
            ],
        },
        Sample {
            rule: "PAL-SEC-100",
            text: format!("TWILIO_API_SECRET={}\n", rng.alnum(32)),
            near_misses: vec![
                "TWILIO_API_SECRET=your_api_secret\n".into(),
                "const apiSecret = 'your_api_secret'; // twilio key secret\n".into(),
                format!("TWILIO_API_SECRET={}\n", rng.alnum(16)),
            ],
        },
        Sample {
            rule: "PAL-SEC-101",
            text: format!("TWILIO_AUTH_TOKEN = \"{}\"\n", rng.hex(32)),
            near_misses: vec![
                "TWILIO_AUTH_TOKEN = \"your_auth_token\"\n".into(),
                "TWILIO_AUTH_TOKEN = os.environ['TWILIO_AUTH_TOKEN']\n".into(),
                // A git commit hash next to the word Twilio is not a token.
                format!("twilio-python bumped in commit {}\n", rng.hex(40)),
            ],
        },
        Sample {
            rule: "PAL-SEC-102",
            text: format!("from twilio.rest import Client\nclient = Client(\"{account_sid}\", \"{}\")\n", rng.hex(32)),
            near_misses: vec![
                format!("from twilio.rest import Client\naccount_sid = \"{account_sid}\"\n"),
                "client = Client(\"ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\", \"your_auth_token\")  # twilio\n".into(),
                format!("twilio: {account_sid}, {}\n", rng.hex(20)),
            ],
        },
        Sample {
            rule: "PAL-SEC-103",
            text: format!("SENDGRID_API_KEY='SG.{}.{}'\n", rng.base64url(22), rng.base64url(43)),
            near_misses: vec![
                "SENDGRID_API_KEY='<your SendGrid API key>'\n".into(),
                format!("SENDGRID_API_KEY='SG.{}.{}'\n", rng.base64url(22), rng.base64url(20)),
                "msg.send(); sg.client.mail.send.post(request_body=mail)\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-104",
            text: format!("MAILGUN_KEY = 'key-{}'\n", rng.lower_alnum(32)),
            near_misses: vec![
                "auth=('api', 'key-3ax6xnjp29jd6fds4gc373sgvjxteol0')\n".into(),
                "<div class=\"primary-key-column\">\n".into(),
                format!("MAILGUN_KEY = 'key-{}'\n", rng.lower_alnum(12)),
            ],
        },
        Sample {
            rule: "PAL-SEC-105",
            text: format!("MAILGUN_API_KEY={}-{}-{}\nMAILGUN_DOMAIN=mg.example.org\n", rng.hex(32), rng.hex(8), rng.hex(8)),
            near_misses: vec![
                "MAILGUN_API_KEY=your-mailgun-api-key\n".into(),
                format!("mailgun message id {}\n", rng.uuid()),
                format!("mailgun webhook {} delivered\n", rng.hex(32)),
            ],
        },
        Sample {
            rule: "PAL-SEC-106",
            text: format!("  apiKey: \"{}-us{}\",\n", rng.hex(32), 1 + rng.next() % 21),
            near_misses: vec![
                "  apiKey: \"00000000000000000000000000000000-us10\",\n".into(),
                "  lang: \"en-us\",\n".into(),
                format!("  apiKey: \"{}-us6\",\n", rng.hex(20)),
            ],
        },
        Sample {
            rule: "PAL-SEC-107",
            text: format!("  -H \"X-Postmark-Server-Token: {}\" \\\n", rng.uuid()),
            near_misses: vec![
                "  -H \"X-Postmark-Server-Token: POSTMARK_API_TEST\" \\\n".into(),
                format!("{{\"postmark\": {{\"MessageID\": \"{}\", \"ErrorCode\": 0}}}}\n", rng.uuid()),
                "POSTMARK_SERVER_TOKEN=${POSTMARK_SERVER_TOKEN}\n".into(),
            ],
        },
    ]
}
