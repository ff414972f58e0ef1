//! Cloud provider credentials beyond the AWS access keys of `aws.rs`: AWS session tokens,
//! Google Cloud (service-account keys, API keys, OAuth client secrets), Azure (storage account
//! keys, SAS tokens, Service Bus / Event Hubs keys, Entra ID client secrets), DigitalOcean,
//! Alibaba Cloud and Heroku.

use palisade_core::{RuleMeta, Scanner, Severity};

use super::decode;
use crate::rule::{Check, DEFAULT_WINDOW, SecretRule};

pub static RULES: &[&SecretRule] = &[
    &AWS_SESSION_TOKEN,
    &GCP_SERVICE_ACCOUNT,
    &GCP_SERVICE_ACCOUNT_EMAIL,
    &GOOGLE_API_KEY,
    &GOOGLE_OAUTH_SECRET,
    &AZURE_STORAGE_KEY,
    &AZURE_SAS,
    &AZURE_SHARED_ACCESS_KEY,
    &AZURE_CLIENT_SECRET,
    &DO_PAT,
    &DO_OAUTH,
    &DO_REFRESH,
    &ALIBABA_KEY_ID,
    &ALIBABA_SECRET,
    &HEROKU_KEY,
    &HEROKU_LEGACY_KEY,
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

/// A base64 value that must decode to exactly `n` bytes.
fn b64_len(s: &str, n: usize) -> Check {
    match decode::b64(&decode::url_unescape_b64(s)) {
        Some(raw) if raw.len() == n => Check::Valid,
        _ => Check::Invalid,
    }
}

fn check_pkcs8_body(body: &str) -> Check {
    match decode::b64(body) {
        Some(der) if decode::is_der_private_key(&der) => Check::Valid,
        _ => Check::Invalid,
    }
}

// ---------------------------------------------------------------------------------------------
// AWS

pub static AWS_SESSION_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-003",
        "AWS session token",
        Severity::High,
        "Revoke the role session (IAM role → Revoke active sessions) or the user's temporary credentials, and stop writing temporary credentials to files.",
        AWS_SESSION_TOKEN_DOC,
    ),
    keywords: &[
        "aws_session_token",
        "aws_security_token",
        "sessiontoken",
        "x-amz-security-token",
    ],
    pattern: r#"(?i:aws_session_token|aws_security_token|sessiontoken|x-amz-security-token)["']?\s*[:=]\s*["']?(?P<secret>[A-Za-z0-9/+]{100,}={0,2})(?:[^A-Za-z0-9/+=]|$)"#,
    min_entropy: Some(4.5),
    path: None,
    allow: &[],
    check: None,
    window: 4096,
};

const AWS_SESSION_TOKEN_DOC: &str = crate::secret_doc!(
    "Finds AWS STS session tokens assigned to `AWS_SESSION_TOKEN`, `aws_security_token`, \
     `sessionToken` or sent as the `X-Amz-Security-Token` header: long base64 strings (often \
     several hundred characters) that accompany temporary `ASIA…` access keys.",
    "Together with the temporary access key ID and secret key next to it, the token is a full \
     session of the role or user that requested it, valid until it expires (up to 12 hours for \
     role sessions, 36 hours for federation tokens). Tokens copied into files or images are \
     picked up by scanners and used before they expire.",
    "```ini\n[default]\naws_access_key_id = ASIAZ3MQVTQ7XKP4J2NB\naws_secret_access_key = q8Hc0Rr3m6xK2v9Lw1TzYb4nE7sUa5dGf0JpWiXo\naws_session_token = IQoJb3JpZ2luX2VjEHcaCXVzLWVhc3QtMSJHMEUCIQDd8a4...\n```",
    "```ini\n# Let the SDK obtain and refresh temporary credentials itself\n[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/deploy\ncredential_source = Ec2InstanceMetadata\n```\nRevoke: in IAM, open the role and use *Revoke active sessions* (it denies every session \
     issued before now), or deactivate the user's access key that requested the token; then \
     check CloudTrail for calls made with the leaked session.",
    "- [Using temporary credentials with AWS resources](https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp_use-resources.html)\n\
     - [Revoking IAM role temporary security credentials](https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_revoke-sessions.html)",
);

// ---------------------------------------------------------------------------------------------
// Google Cloud

const GCP_FIX: &str = "Delete the service-account key (IAM → Service accounts → Keys, or `gcloud iam service-accounts keys delete`), and use workload identity or attached service accounts instead of key files.";

pub static GCP_SERVICE_ACCOUNT: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-004",
        "GCP service account key file",
        Severity::Critical,
        GCP_FIX,
        GCP_SERVICE_ACCOUNT_DOC,
    ),
    keywords: &["service_account"],
    pattern: r#""type"\s*:\s*"service_account"[\s\S]{0,2000}?"private_key"\s*:\s*"-----BEGIN PRIVATE KEY-----(?:\\n)*(?P<secret>[A-Za-z0-9+/=\\]{64,}?)(?:\\n)*-----END PRIVATE KEY-----"#,
    min_entropy: None,
    path: None,
    allow: &[],
    check: Some(check_pkcs8_body),
    window: 8192,
};

const GCP_SERVICE_ACCOUNT_DOC: &str = crate::secret_doc!(
    "Finds Google Cloud service-account key files: the JSON that the console and `gcloud iam \
     service-accounts keys create` download, with `\"type\": \"service_account\"` followed by a \
     `\"private_key\"` holding a PKCS#8 key. The key body must decode to a DER private key.",
    "The file authenticates as the service account from anywhere, with every IAM role the \
     account holds in every project, until the key is deleted; user-managed keys do not expire \
     by default. Leaked keys are a leading cause of GCP compromises (crypto mining, data theft).",
    "```json\n{\n  \"type\": \"service_account\",\n  \"project_id\": \"billing-prod\",\n  \"private_key_id\": \"3f1c...\",\n  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC...\\n-----END PRIVATE KEY-----\\n\",\n  \"client_email\": \"deployer@billing-prod.iam.gserviceaccount.com\"\n}\n```",
    "```yaml\n# GKE: Workload Identity, no key file\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: app\n  annotations:\n    iam.gke.io/gcp-service-account: deployer@billing-prod.iam.gserviceaccount.com\n```\nRevoke and rotate: `gcloud iam service-accounts keys list --iam-account=ACCOUNT`, then \
     `gcloud iam service-accounts keys delete KEY_ID --iam-account=ACCOUNT`; review Cloud Audit \
     Logs for the key's use, and enforce `iam.disableServiceAccountKeyCreation` where possible.",
    "- [Create and delete service account keys](https://cloud.google.com/iam/docs/keys-create-delete)\n\
     - [Best practices for managing service account keys](https://cloud.google.com/iam/docs/best-practices-for-managing-service-account-keys)",
);

pub static GCP_SERVICE_ACCOUNT_EMAIL: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-005",
        "GCP service account private key next to its client e-mail",
        Severity::Critical,
        GCP_FIX,
        GCP_SERVICE_ACCOUNT_EMAIL_DOC,
    ),
    keywords: &["gserviceaccount.com"],
    pattern: r#""client_email"\s*:\s*"[^"\s@]+@[a-z0-9-]+\.iam\.gserviceaccount\.com"[\s\S]{0,1500}?"private_key"\s*:\s*"-----BEGIN PRIVATE KEY-----(?:\\n)*(?P<secret>[A-Za-z0-9+/=\\]{64,}?)(?:\\n)*-----END PRIVATE KEY-----"#,
    min_entropy: None,
    path: None,
    allow: &[],
    check: Some(check_pkcs8_body),
    window: 8192,
};

const GCP_SERVICE_ACCOUNT_EMAIL_DOC: &str = crate::secret_doc!(
    "Finds service-account keys whose JSON was re-serialized with sorted keys (Terraform \
     outputs, `json.dumps(sort_keys=True)`, secret-manager exports): a `\"client_email\"` \
     ending in `.iam.gserviceaccount.com` followed by a `\"private_key\"` holding a PKCS#8 key \
     (`\"type\"` then comes last, so PAL-SEC-004 does not see it first).",
    "It is the same credential as a downloaded key file: it signs in as the service account \
     with all of its IAM roles until the key is deleted.",
    "```json\n{\"client_email\": \"ci@infra-prod.iam.gserviceaccount.com\", \"client_id\": \"1049...\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvgIBADANBgkqhkiG9w0BAQEFAASC...\\n-----END PRIVATE KEY-----\\n\", \"type\": \"service_account\"}\n```",
    "```hcl\n# Terraform: keep the key out of outputs and state files users can read, or better,\n# use workload identity federation instead of keys\nresource \"google_service_account_iam_member\" \"wif\" {\n  service_account_id = google_service_account.ci.name\n  role               = \"roles/iam.workloadIdentityUser\"\n  member             = \"principalSet://iam.googleapis.com/${var.pool}/attribute.repository/org/repo\"\n}\n```\nRevoke and rotate: delete the key (`gcloud iam service-accounts keys delete KEY_ID \
     --iam-account=ACCOUNT`), check Cloud Audit Logs for its use, and switch the workload to \
     workload identity federation.",
    "- [Create and delete service account keys](https://cloud.google.com/iam/docs/keys-create-delete)\n\
     - [Workload identity federation](https://cloud.google.com/iam/docs/workload-identity-federation)",
);

pub static GOOGLE_API_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-006",
        "Google API key",
        Severity::High,
        "Delete or regenerate the key in the Google Cloud console (APIs & Services → Credentials) and restrict the new key to the APIs and referrers/IPs that need it.",
        GOOGLE_API_KEY_DOC,
    ),
    keywords: &["aiza"],
    pattern: r"\b(?P<secret>AIza[0-9A-Za-z_-]{35})(?:[^0-9A-Za-z_-]|$)",
    min_entropy: None,
    path: None,
    allow: &["AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe"],
    check: None,
    window: DEFAULT_WINDOW,
};

const GOOGLE_API_KEY_DOC: &str = crate::secret_doc!(
    "Finds Google API keys: 39 characters, `AIza` followed by 35 characters of the URL-safe \
     base64 alphabet. They are used by Google Maps Platform, Firebase, Gemini and other Google \
     Cloud APIs that accept API keys.",
    "An API key is not tied to a user, so whoever holds it can call every API the key is \
     allowed to use and bill the usage to your project: Maps and Gemini calls cost money, and \
     unrestricted keys are harvested from repositories and apps to run up quotas.",
    "```js\nconst map = new Loader({ apiKey: \"AIzaSyB7q2ZrVb0pXk3m9Lw1TzYb4nE7sUa5dGf\" });\n```",
    "```js\n// Server side: read the key from the environment or Secret Manager;\n// browser keys: restrict them by HTTP referrer and API in the console\nconst apiKey = process.env.MAPS_API_KEY;\n```\nRevoke and rotate: Google Cloud console → *APIs & Services → Credentials*, open the key \
     and *Regenerate key* (or delete it and create a new one, `gcloud services api-keys \
     delete`), then add API and application restrictions to the new key.",
    "- [Manage API keys](https://cloud.google.com/docs/authentication/api-keys)\n\
     - [API key best practices](https://cloud.google.com/docs/authentication/api-keys-best-practices)",
);

pub static GOOGLE_OAUTH_SECRET: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-007",
        "Google OAuth client secret",
        Severity::High,
        "Add a new client secret to the OAuth client in Google Auth Platform → Clients, switch the app to it, then disable and delete the leaked one.",
        GOOGLE_OAUTH_SECRET_DOC,
    ),
    keywords: &["gocspx-"],
    pattern: r"\b(?P<secret>GOCSPX-[0-9A-Za-z_-]{28})(?:[^0-9A-Za-z_-]|$)",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

const GOOGLE_OAUTH_SECRET_DOC: &str = crate::secret_doc!(
    "Finds Google OAuth 2.0 client secrets in their current format: `GOCSPX-` followed by 28 \
     URL-safe base64 characters (as in `client_secret.json` and `GOOGLE_CLIENT_SECRET`).",
    "With the client ID (which is public) the secret lets an attacker act as your application: \
     exchange intercepted authorization codes and refresh tokens for access tokens to your \
     users' Google data, within the scopes your app was granted.",
    "```json\n{\"web\": {\"client_id\": \"1049-abc.apps.googleusercontent.com\", \"client_secret\": \"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\"}}\n```",
    "```python\n# Read the secret from Secret Manager or the environment at startup\nclient_secret = os.environ[\"GOOGLE_CLIENT_SECRET\"]\n```\nRevoke and rotate: in *Google Auth Platform → Clients*, open the client, *Add secret*, \
     deploy the new secret, then disable and delete the leaked one (a client can hold two \
     secrets during the switch).",
    "- [Manage OAuth clients](https://support.google.com/cloud/answer/15549257)\n\
     - [Using OAuth 2.0 to access Google APIs](https://developers.google.com/identity/protocols/oauth2)",
);

// ---------------------------------------------------------------------------------------------
// Azure

/// The Azurite emulator's well-known key, published in Microsoft's documentation.
const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

pub static AZURE_STORAGE_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-008",
        "Azure storage account key",
        Severity::Critical,
        "Rotate the storage account key (Storage account → Access keys → Rotate key), and move the app to Microsoft Entra ID with a managed identity or to user-delegation SAS.",
        AZURE_STORAGE_KEY_DOC,
    ),
    keywords: &["accountkey", "account_key", "storage_key", "storagekey"],
    pattern: r#"(?i:AccountKey|account_key|storage_?key|storage_account_key)["']?\s*[:=]\s*["']?(?P<secret>[A-Za-z0-9+/]{86}==)"#,
    min_entropy: None,
    path: None,
    allow: &[AZURITE_KEY],
    check: Some(|s| b64_len(s, 64)),
    window: DEFAULT_WINDOW,
};

const AZURE_STORAGE_KEY_DOC: &str = crate::secret_doc!(
    "Finds Azure storage account access keys (512-bit keys, 88 base64 characters ending in \
     `==`) in connection strings (`AccountKey=…`) and in settings such as `account_key` or \
     `AZURE_STORAGE_KEY`. Cosmos DB account keys have the same shape and are found too. The \
     value must decode to 64 bytes; the Azurite emulator's published key is ignored.",
    "An account key is root access to the storage account's data plane: read, overwrite and \
     delete every blob, file share, queue and table, and sign SAS tokens of any scope and \
     lifetime. Shared Key access is not tied to an identity, so the access is hard to \
     attribute.",
    "```ini\nAZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https;AccountName=prodlogs;AccountKey=q8Hc0Rr3m6xK2v9Lw1TzYb4nE7sUa5dGf0JpWiXoq8Hc0Rr3m6xK2v9Lw1TzYb4nE7sUa5dGf0JpWiXo1234567890==;EndpointSuffix=core.windows.net\n```",
    "```csharp\n// Microsoft Entra ID with a managed identity: no key in configuration\nvar client = new BlobServiceClient(new Uri(\"https://prodlogs.blob.core.windows.net\"), new DefaultAzureCredential());\n```\nRevoke and rotate: portal → *Storage account → Security + networking → Access keys → \
     Rotate key* (or `az storage account keys renew --key key1`), rotate the other key after \
     clients moved, and consider disabling Shared Key authorization.",
    "- [Manage storage account access keys](https://learn.microsoft.com/en-us/azure/storage/common/storage-account-keys-manage)\n\
     - [Configure Azure Storage connection strings](https://learn.microsoft.com/en-us/azure/storage/common/storage-configure-connection-string)",
);

pub static AZURE_SAS: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-009",
        "Azure shared access signature (SAS) token",
        Severity::High,
        "Revoke the SAS by rotating the key that signed it (or deleting its stored access policy / revoking user delegation keys), and issue short-lived SAS from code.",
        AZURE_SAS_DOC,
    ),
    keywords: &["sv="],
    pattern: r#"(?:^|[?&;=\s"'])sv=\d{4}-\d{2}-\d{2}(?:&[A-Za-z]+=[^&\s"'<>]*)*?&sig=(?P<secret>[A-Za-z0-9%+/]{40,60}?(?:%3[Dd]|=)?)(?:[&"'\s<>;]|$)"#,
    min_entropy: None,
    path: None,
    allow: &["dD80ihBh5jfNpymO5Hg1IdiJIEvHcJpCMiCMnN"],
    check: Some(|s| b64_len(s, 32)),
    window: DEFAULT_WINDOW,
};

const AZURE_SAS_DOC: &str = crate::secret_doc!(
    "Finds Azure Storage shared access signatures: query strings with a signed version \
     (`sv=YYYY-MM-DD`) followed by the signature `sig=` (an HMAC-SHA256, 32 bytes in base64, \
     usually URL-encoded). The signature must decode to 32 bytes.",
    "A SAS grants whatever permissions (`sp`) on whatever resources it names until its expiry \
     (`se`), to anyone holding the URL. Account SAS and long-lived service SAS are common in \
     committed scripts and give read or write access to entire containers.",
    "```sh\nazcopy copy ./backup \"https://prodlogs.blob.core.windows.net/backups?sv=2022-11-02&ss=b&srt=sco&sp=rwdlac&se=2026-01-01T00:00:00Z&spr=https&sig=Qm9vcHMlMkZ0aGlzJTJCaXMlMkJub3QlMkJyZWFs%3D\"\n```",
    "```sh\n# Issue a short-lived user-delegation SAS when needed, from an Entra ID identity\naz storage blob generate-sas --account-name prodlogs -c backups -n db.bak \\\n  --permissions r --expiry $(date -u -d '+1 hour' +%Y-%m-%dT%H:%MZ) --auth-mode login --as-user\n```\nRevoke: an ad-hoc SAS can only be revoked by rotating the account key that signed it \
     (*Access keys → Rotate key*); a SAS tied to a stored access policy is revoked by deleting \
     or changing the policy; user-delegation SAS by `az storage account revoke-delegation-keys`.",
    "- [Grant limited access with shared access signatures](https://learn.microsoft.com/en-us/azure/storage/common/storage-sas-overview)\n\
     - [Create an account SAS](https://learn.microsoft.com/en-us/rest/api/storageservices/create-account-sas)",
);

pub static AZURE_SHARED_ACCESS_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-010",
        "Azure Service Bus / Event Hubs shared access key",
        Severity::High,
        "Regenerate the shared access policy's keys on the namespace or entity, and switch clients to Microsoft Entra ID (managed identity) authentication.",
        AZURE_SHARED_ACCESS_KEY_DOC,
    ),
    keywords: &["sharedaccesskey="],
    pattern: r"(?i:SharedAccessKey)\s*=\s*(?P<secret>[A-Za-z0-9+/]{43}=)(?:[^A-Za-z0-9+/=]|$)",
    min_entropy: None,
    path: None,
    allow: &[],
    check: Some(|s| b64_len(s, 32)),
    window: DEFAULT_WINDOW,
};

const AZURE_SHARED_ACCESS_KEY_DOC: &str = crate::secret_doc!(
    "Finds shared access keys in Azure Service Bus, Event Hubs, Relay and IoT Hub connection \
     strings (`Endpoint=sb://…;SharedAccessKeyName=…;SharedAccessKey=…`): a 256-bit key, 44 \
     base64 characters.",
    "The key signs SAS tokens for the policy it belongs to. `RootManageSharedAccessKey` grants \
     Manage, Send and Listen on the whole namespace: an attacker can read or inject messages \
     and events and delete queues and hubs.",
    "```json\n{\"ServiceBus\": \"Endpoint=sb://orders-prod.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=Sm9vcHMrdGhpcytpcytub3QrYStyZWFsK2tleSs9PQ=\"}\n```",
    "```csharp\n// Entra ID with a managed identity: only the namespace name is configured\nvar client = new ServiceBusClient(\"orders-prod.servicebus.windows.net\", new DefaultAzureCredential());\n```\nRevoke and rotate: portal → namespace (or entity) → *Shared access policies* → the policy \
     → *Regenerate primary key* / *Regenerate secondary key* (`az servicebus namespace \
     authorization-rule keys renew`, `az eventhubs namespace authorization-rule keys renew`).",
    "- [Service Bus access control with Shared Access Signatures](https://learn.microsoft.com/en-us/azure/service-bus-messaging/service-bus-sas)\n\
     - [Authorize access to Event Hubs with SAS](https://learn.microsoft.com/en-us/azure/event-hubs/authorize-access-shared-access-signature)",
);

pub static AZURE_CLIENT_SECRET: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-011",
        "Microsoft Entra ID (Azure AD) client secret",
        Severity::High,
        "Delete the client secret from the app registration (Certificates & secrets), add a new one or better a certificate / federated credential, and use a managed identity where possible.",
        AZURE_CLIENT_SECRET_DOC,
    ),
    keywords: &["q~"],
    pattern: r"(?:^|[^A-Za-z0-9_~.-])(?P<secret>[A-Za-z0-9_~.-]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34})(?:[^A-Za-z0-9_~.-]|$)",
    min_entropy: Some(3.5),
    path: None,
    allow: &["Q~defghijklmnop"],
    check: None,
    window: DEFAULT_WINDOW,
};

const AZURE_CLIENT_SECRET_DOC: &str = crate::secret_doc!(
    "Finds Microsoft Entra ID application client secrets in their current format: up to 40 \
     characters of letters, digits, `-`, `_`, `.` and `~`, with `Q~` after the fourth \
     character (e.g. `abc8Q~…`).",
    "With the application (client) ID and tenant, the secret obtains tokens as the app \
     through the client-credentials flow: Microsoft Graph and Azure permissions granted to the \
     app become the attacker's, often including directory or subscription-wide roles.",
    "```ini\nAZURE_TENANT_ID=72f988bf-86f1-41af-91ab-2d7cd011db47\nAZURE_CLIENT_ID=0f9c2e4b-1a2b-4c5d-8e9f-0a1b2c3d4e5f\nAZURE_CLIENT_SECRET=Xy28Q~hT4mZr8Lm2Xv0Tb7NcKq9Hc0Rr3m6xK2v9\n```",
    "```yaml\n# GitHub Actions: OpenID Connect federation, no secret at all\n- uses: azure/login@v2\n  with:\n    client-id: ${{ vars.AZURE_CLIENT_ID }}\n    tenant-id: ${{ vars.AZURE_TENANT_ID }}\n    subscription-id: ${{ vars.AZURE_SUBSCRIPTION_ID }}\n```\nRevoke and rotate: Entra admin center → *App registrations → the app → Certificates & \
     secrets*, delete the leaked secret (`az ad app credential delete --id APP_ID --key-id \
     KEY_ID`), add a certificate or federated credential, and review the sign-in logs for the \
     service principal.",
    "- [Microsoft Purview: Microsoft Entra client secret (format)](https://learn.microsoft.com/en-us/purview/sit-defn-azure-ad-client-secret)\n\
     - [Add and manage application credentials](https://learn.microsoft.com/en-us/entra/identity-platform/how-to-add-credentials)",
);

// ---------------------------------------------------------------------------------------------
// DigitalOcean

const DO_FIX: &str = "Delete the token in the DigitalOcean control panel (API → Tokens) or revoke it through the OAuth revoke endpoint, and create a scoped replacement kept in a secret store.";
macro_rules! do_refs {
    () => {
        "- [DigitalOcean API token format (release note)](https://docs.digitalocean.com/notes/2022/api-token-format/)\n\
     - [Create a personal access token](https://docs.digitalocean.com/reference/api/create-personal-access-token/)\n\
     - [OAuth API: revoking tokens](https://docs.digitalocean.com/reference/api/oauth/)"
    };
}

pub static DO_PAT: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-012",
        "DigitalOcean personal access token",
        Severity::Critical,
        DO_FIX,
        DO_PAT_DOC,
    ),
    keywords: &["dop_v1_"],
    pattern: r"\b(?P<secret>dop_v1_[a-f0-9]{64})\b",
    min_entropy: None,
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

const DO_PAT_DOC: &str = crate::secret_doc!(
    "Finds DigitalOcean personal access tokens: `dop_v1_` followed by 64 hexadecimal \
     characters, the prefix DigitalOcean gives tokens created in the control panel.",
    "A personal access token acts as its team on the API with the scopes it was given; \
     full-access tokens create and destroy Droplets, read databases and Spaces keys, and change \
     DNS and firewalls. Leaked tokens are used to run crypto miners on your bill.",
    "```sh\nexport DIGITALOCEAN_TOKEN=dop_v1_3f1c9e0a7b2d4c5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6\n```",
    "```yaml\n# CI: a scoped token stored as a secret of the pipeline\nenv:\n  DIGITALOCEAN_ACCESS_TOKEN: ${{ secrets.DO_TOKEN }}\n```\nRevoke and rotate: control panel → *API → Tokens*, *Delete* the token; create a new one \
     with only the scopes needed and an expiry; check the team's *Security history* for \
     actions made with it.",
    do_refs!(),
);

pub static DO_OAUTH: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-013",
        "DigitalOcean OAuth access token",
        Severity::High,
        DO_FIX,
        DO_OAUTH_DOC,
    ),
    keywords: &["doo_v1_"],
    pattern: r"\b(?P<secret>doo_v1_[a-f0-9]{64})\b",
    min_entropy: None,
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

const DO_OAUTH_DOC: &str = crate::secret_doc!(
    "Finds DigitalOcean OAuth access tokens issued to applications: `doo_v1_` followed by 64 \
     hexadecimal characters.",
    "The token calls the DigitalOcean API on behalf of the user who authorized the app, with \
     the scopes they granted (read or read/write), until it expires or is revoked.",
    "```json\n{\"access_token\": \"doo_v1_9a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9\"}\n```",
    "```python\n# Keep OAuth tokens in the app's encrypted token store, never in source or logs\ntoken = token_store.get(user_id)\n```\nRevoke: `POST https://cloud.digitalocean.com/v1/oauth/revoke` with `token=…`, or the user \
     removes the app under *Settings → Applications & API → Authorized applications*.",
    do_refs!(),
);

pub static DO_REFRESH: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-014",
        "DigitalOcean OAuth refresh token",
        Severity::High,
        DO_FIX,
        DO_REFRESH_DOC,
    ),
    keywords: &["dor_v1_"],
    pattern: r"\b(?P<secret>dor_v1_[a-f0-9]{64})\b",
    min_entropy: None,
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

const DO_REFRESH_DOC: &str = crate::secret_doc!(
    "Finds DigitalOcean OAuth refresh tokens: `dor_v1_` followed by 64 hexadecimal characters.",
    "With the application's client credentials a refresh token mints new access tokens for \
     the user indefinitely, so its leak outlives any single access token.",
    "```json\n{\"refresh_token\": \"dor_v1_0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9a\"}\n```",
    "```python\n# Store refresh tokens encrypted in the app database, not in configuration\n```\nRevoke: call the OAuth revoke endpoint (`POST https://cloud.digitalocean.com/v1/oauth/revoke`) \
     for the token, or have the user remove the authorized application; rotate the app's \
     client secret if it leaked too.",
    do_refs!(),
);

// ---------------------------------------------------------------------------------------------
// Alibaba Cloud

const ALIBABA_FIX: &str = "Disable and delete the AccessKey pair in the RAM console, create a new one for a least-privilege RAM user if still needed, and prefer STS / RAM roles over long-term keys.";

pub static ALIBABA_KEY_ID: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-015",
        "Alibaba Cloud AccessKey ID",
        Severity::High,
        ALIBABA_FIX,
        ALIBABA_KEY_ID_DOC,
    ),
    keywords: &["ltai"],
    pattern: r"\b(?P<secret>LTAI[A-Za-z0-9]{12,20})\b",
    min_entropy: Some(3.2),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

const ALIBABA_KEY_ID_DOC: &str = crate::secret_doc!(
    "Finds Alibaba Cloud AccessKey IDs: `LTAI` followed by 12 to 20 letters and digits (24 \
     characters in current keys). The ID identifies the key pair; its AccessKey secret is \
     usually next to it.",
    "An AccessKey pair is a long-term credential for the RAM user or account that owns it. \
     An ID alone does not sign requests, but it pinpoints the account and marks the file \
     where the secret usually sits.",
    "```ini\nALIBABA_CLOUD_ACCESS_KEY_ID=LTAI5tQ8Zr2LmXv0Tb7NcKq9\n```",
    "```ini\n# ECS / ACK: attach a RAM role and let the SDK's credential chain fetch STS tokens\nALIBABA_CLOUD_ECS_METADATA=app-role\n```\nRevoke and rotate: RAM console → *Identities → Users → the user → Authentication → \
     AccessKey*, *Disable* then *Delete* the key; create a new one only if a role cannot be \
     used, and check ActionTrail for its use.",
    "- [Create an AccessKey pair](https://www.alibabacloud.com/help/en/ram/user-guide/create-an-accesskey-pair)\n\
     - [AccessKey pair (concepts)](https://www.alibabacloud.com/help/en/sls/developer-reference/access-key)",
);

pub static ALIBABA_SECRET: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-016",
        "Alibaba Cloud AccessKey secret",
        Severity::Critical,
        ALIBABA_FIX,
        ALIBABA_SECRET_DOC,
    ),
    keywords: &[
        "accesskeysecret",
        "access_key_secret",
        "access-key-secret",
        "accesskey_secret",
        "alicloud_secret_key",
        "ltai",
    ],
    pattern: r#"(?:(?i:access[_-]?key[_-]?secret|alicloud[_-]?secret[_-]?key)["']?\s*[:=]\s*["']?|\bLTAI[A-Za-z0-9]{12,20}["']?[ \t]*[,;|][ \t]*["']?)(?P<secret>[A-Za-z0-9]{30})(?:[^A-Za-z0-9]|$)"#,
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

const ALIBABA_SECRET_DOC: &str = crate::secret_doc!(
    "Finds Alibaba Cloud AccessKey secrets: 30 letters and digits assigned to a name such as \
     `AccessKeySecret`, `access_key_secret`, `ALIBABA_CLOUD_ACCESS_KEY_SECRET` or \
     `ALICLOUD_SECRET_KEY`, or right after an `LTAI…` ID in a CSV line (the console's download).",
    "The secret signs API requests as the RAM user or account: with an account's key, every \
     resource in the account is exposed. Alibaba Cloud warns that a leaked account AccessKey \
     puts all resources at risk.",
    "```ini\nALIBABA_CLOUD_ACCESS_KEY_ID=LTAI5tQ8Zr2LmXv0Tb7NcKq9\nALIBABA_CLOUD_ACCESS_KEY_SECRET=q8Hc0Rr3m6xK2v9Lw1TzYb4nE7sUa5\n```",
    "```ini\n# Use RAM roles / STS credentials from the instance or the credentials chain\nALIBABA_CLOUD_ROLE_ARN=acs:ram::123456789012****:role/app\n```\nRevoke and rotate: RAM console → the user → *AccessKey* → *Disable*, then *Delete*; \
     create a replacement for a least-privilege RAM user only if needed and review ActionTrail.",
    "- [Create an AccessKey pair](https://www.alibabacloud.com/help/en/ram/user-guide/create-an-accesskey-pair)\n\
     - [Configure credentials for the Alibaba Cloud CLI](https://www.alibabacloud.com/help/doc-detail/3033016.html)",
);

// ---------------------------------------------------------------------------------------------
// Heroku

const HEROKU_FIX: &str = "Revoke the authorization (`heroku authorizations:revoke ID`) or regenerate the account API key, and give automation a scoped, expiring authorization from a secret store.";
const HEROKU_EXAMPLES: &[&str] = &[
    "57dce771-afad-4c41-a8a5-d10b7fbc743c",
    "cf0e05d9-4eca-4948-a012-b91fe9704bab",
    "01234567-89ab-cdef-0123-456789abcdef",
];

pub static HEROKU_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-017",
        "Heroku API key (HRKU- token)",
        Severity::Critical,
        HEROKU_FIX,
        HEROKU_KEY_DOC,
    ),
    keywords: &["hrku-"],
    pattern: r"\b(?P<secret>HRKU-(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9A-Za-z_-]{60}))(?:[^0-9A-Za-z_-]|$)",
    min_entropy: None,
    path: None,
    allow: HEROKU_EXAMPLES,
    check: None,
    window: DEFAULT_WINDOW,
};

const HEROKU_KEY_DOC: &str = crate::secret_doc!(
    "Finds Heroku Platform API tokens with the `HRKU-` prefix Heroku now puts on OAuth tokens \
     and API keys (`HRKU-` + the token, e.g. a UUID).",
    "A Heroku token with global scope controls every app of the account: config vars (and the \
     database URLs and keys in them), deploys, add-ons, collaborators. Tokens made with \
     `authorizations:create` may never expire.",
    "```sh\nexport HEROKU_API_KEY=HRKU-3f1c9e0a-7b2d-4c5e-8f70-8192a3b4c5d6\n```",
    "```yaml\n# CI: a scoped authorization stored as a pipeline secret\nenv:\n  HEROKU_API_KEY: ${{ secrets.HEROKU_API_KEY }}\n```\nRevoke and rotate: `heroku authorizations` to find it, `heroku authorizations:revoke ID`; \
     for the account API key use *Account settings → API Key → Regenerate*. Create a new \
     authorization with a narrow scope and an expiry (`heroku authorizations:create -s \
     write-protected -e 2592000`).",
    "- [Heroku OAuth (prefixed tokens)](https://devcenter.heroku.com/articles/oauth)\n\
     - [Heroku CLI authentication](https://devcenter.heroku.com/articles/authentication)",
);

pub static HEROKU_LEGACY_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-018",
        "Heroku API key (unprefixed UUID)",
        Severity::Critical,
        HEROKU_FIX,
        HEROKU_LEGACY_KEY_DOC,
    ),
    keywords: &["heroku"],
    pattern: r#"(?i:heroku[A-Za-z0-9_.-]{0,20}?(?:api[_-]?key|token|key))["']?\s*[:=]\s*["']?(?P<secret>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b"#,
    min_entropy: None,
    path: None,
    allow: HEROKU_EXAMPLES,
    check: None,
    window: DEFAULT_WINDOW,
};

const HEROKU_LEGACY_KEY_DOC: &str = crate::secret_doc!(
    "Finds Heroku API keys in the older unprefixed form, a UUID, assigned to a Heroku setting \
     such as `HEROKU_API_KEY` or `heroku_token`. Heroku's documented example values are \
     ignored.",
    "Old tokens remain valid until revoked or regenerated, and the dashboard API key carries \
     the account's full (global) access to apps, config vars and add-ons.",
    "```ini\nHEROKU_API_KEY=3f1c9e0a-7b2d-4c5e-8f70-8192a3b4c5d6\n```",
    "```sh\n# Read the key from the environment set by the CI secret store\nheroku releases -a \"$APP\"   # HEROKU_API_KEY comes from the pipeline's secrets\n```\nRevoke and rotate: `heroku authorizations:revoke ID`, or *Account settings → API Key → \
     Regenerate API Key*; then create a scoped authorization for automation.",
    "- [Heroku OAuth](https://devcenter.heroku.com/articles/oauth)\n\
     - [How to generate a Heroku API key](https://help.heroku.com/PBGP6IDE/how-should-i-generate-an-api-key-that-allows-me-to-use-the-heroku-platform-api)",
);

#[cfg(test)]
pub(crate) fn samples(rng: &mut crate::testing::Rng) -> Vec<crate::testing::Sample> {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::keys::sample_keys::{armor, bytes, der_key};
    use crate::testing::{Rng, Sample};

    let b64_bytes = |rng: &mut Rng, n: usize| loop {
        let s = STANDARD.encode(bytes(rng, n));
        if !crate::engine::is_placeholder(&s) {
            return s;
        }
    };
    let uuid = |rng: &mut Rng| {
        format!(
            "{}-{}-4{}-a{}-{}",
            rng.hex(8),
            rng.hex(4),
            rng.hex(3),
            rng.hex(3),
            rng.hex(12)
        )
    };

    let session = loop {
        let s = format!("IQoJb3JpZ2luX2Vj{}", rng.base64(340));
        if !crate::engine::is_placeholder(&s) {
            break s;
        }
    };
    let project = format!("billing-prod-{}", rng.digits(6));
    let key_body = armor(rng, "\\n", |r| der_key(r, 1200));
    let sa_std = format!(
        "{{\n  \"type\": \"service_account\",\n  \"project_id\": \"{project}\",\n  \"private_key_id\": \"{}\",\n  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{key_body}\\n-----END PRIVATE KEY-----\\n\",\n  \"client_email\": \"deployer@{project}.iam.gserviceaccount.com\",\n  \"client_id\": \"{}\",\n  \"token_uri\": \"https://oauth2.googleapis.com/token\"\n}}\n",
        rng.hex(40),
        rng.digits(21)
    );
    let key_body2 = armor(rng, "\\n", |r| der_key(r, 1200));
    let sa_sorted = format!(
        "{{\"auth_uri\": \"https://accounts.google.com/o/oauth2/auth\", \"client_email\": \"ci@{project}.iam.gserviceaccount.com\", \"client_id\": \"{}\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{key_body2}\\n-----END PRIVATE KEY-----\\n\", \"private_key_id\": \"{}\", \"project_id\": \"{project}\", \"type\": \"service_account\"}}\n",
        rng.digits(21),
        rng.hex(40)
    );
    let sa_placeholder = "{\n  \"type\": \"service_account\",\n  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n<your-private-key>\\n-----END PRIVATE KEY-----\\n\"\n}\n";
    let sa_truncated = "{\"client_email\": \"ci@demo.iam.gserviceaccount.com\", \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\\n-----END PRIVATE KEY-----\\n\"}\n";

    let sig = loop {
        let s = STANDARD
            .encode(bytes(rng, 32))
            .replace('+', "%2B")
            .replace('/', "%2F")
            .replace('=', "%3D");
        if !crate::engine::is_placeholder(&s) {
            break s;
        }
    };
    let client_secret = loop {
        let s = format!(
            "{}{}Q~{}",
            rng.alnum(3),
            rng.digits(1),
            rng.pick(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_~.-",
                34
            )
        );
        if !crate::engine::is_placeholder(&s) && crate::engine::entropy(&s) >= 3.5 {
            break s;
        }
    };

    vec![
        Sample {
            rule: "PAL-SEC-003",
            text: format!("[default]\naws_access_key_id = ASIA{}\naws_session_token = {session}\n", rng.pick(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16)),
            near_misses: vec![
                "aws_session_token = ${AWS_SESSION_TOKEN}\n".into(),
                format!("aws_session_token = {}\n", rng.base64(60)),
                format!("AWS_SESSION_TOKEN={}\n", "x".repeat(200)),
            ],
        },
        Sample {
            rule: "PAL-SEC-004",
            text: sa_std,
            near_misses: vec![sa_placeholder.into(), sa_truncated.replace("client_email", "type\": \"service_account\", \"x")],
        },
        Sample {
            rule: "PAL-SEC-005",
            text: sa_sorted,
            near_misses: vec![sa_truncated.into()],
        },
        Sample {
            rule: "PAL-SEC-006",
            text: format!("GOOGLE_MAPS_API_KEY=AIza{}\n", rng.base64url(35)),
            near_misses: vec![
                "GOOGLE_MAPS_API_KEY=AIzaSyDaGmWKa4JsXZ-HjGw7ISLn_3namBGewQe\n".into(),
                format!("GOOGLE_MAPS_API_KEY=AIza{}\n", rng.alnum(30)),
                format!("GOOGLE_MAPS_API_KEY=AIza{}\n", rng.alnum(42)),
            ],
        },
        Sample {
            rule: "PAL-SEC-007",
            text: format!("GOOGLE_CLIENT_SECRET=GOCSPX-{}\n", rng.alnum(28)),
            near_misses: vec![
                format!("GOOGLE_CLIENT_SECRET=GOCSPX-{}\n", rng.alnum(20)),
                "GOOGLE_CLIENT_SECRET=GOCSPX-xxxxxxxxxxxxxxxxxxxxxxxxxxxx\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-008",
            text: format!(
                "AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https;AccountName=prodlogs{};AccountKey={};EndpointSuffix=core.windows.net\n",
                rng.digits(3),
                b64_bytes(rng, 64)
            ),
            near_misses: vec![
                format!("DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={AZURITE_KEY};BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;\n"),
                "DefaultEndpointsProtocol=https;AccountName=prodlogs;AccountKey=<account-key>;EndpointSuffix=core.windows.net\n".into(),
                format!("AccountKey={}==\n", rng.alnum(60)),
            ],
        },
        Sample {
            rule: "PAL-SEC-009",
            text: format!(
                "azcopy copy ./backup \"https://prodlogs.blob.core.windows.net/backups?sv=2022-11-02&ss=b&srt=sco&sp=rwdlac&se=2026-01-01T00:00:00Z&st=2025-01-01T00:00:00Z&spr=https&sig={sig}\"\n"
            ),
            near_misses: vec![
                "GET https://myaccount.blob.core.windows.net/pictures/profile.jpg?sv=2012-02-12&st=2009-02-09&se=2009-02-10&sr=c&sp=r&si=YWJjZGVmZw%3d%3d&sig=dD80ihBh5jfNpymO5Hg1IdiJIEvHcJpCMiCMnN%2fRnbI%3d\n".into(),
                "https://prodlogs.blob.core.windows.net/c?sv=2022-11-02&sp=r&se=2026-01-01&sig=<signature>\n".into(),
                format!("https://prodlogs.blob.core.windows.net/c?sv=2022-11-02&sp=r&sig={}\n", STANDARD.encode(bytes(rng, 30))),
            ],
        },
        Sample {
            rule: "PAL-SEC-010",
            text: format!(
                "\"ServiceBus\": \"Endpoint=sb://orders-prod.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={}\"\n",
                b64_bytes(rng, 32)
            ),
            near_misses: vec![
                "Endpoint=sb://orders.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=<key>\n".into(),
                format!("Endpoint=sb://orders.servicebus.windows.net/;SharedAccessKeyName=send;SharedAccessKey={}=\n", rng.alnum(30)),
            ],
        },
        Sample {
            rule: "PAL-SEC-011",
            text: format!("AZURE_CLIENT_SECRET={client_secret}\n"),
            near_misses: vec![
                "\"AppSecret=abc8Q~defghijklmnopqrstuvwxyz-_.~0123456;\"\n".into(),
                format!("AZURE_CLIENT_SECRET={}xQ~{}\n", rng.alnum(3), rng.alnum(34)),
                format!("AZURE_CLIENT_SECRET={}{}Q~{}\n", rng.alnum(3), rng.digits(1), rng.alnum(20)),
            ],
        },
        Sample {
            rule: "PAL-SEC-012",
            text: format!("export DIGITALOCEAN_TOKEN=dop_v1_{}\n", rng.hex(64)),
            near_misses: vec![
                format!("export DIGITALOCEAN_TOKEN=dop_v1_{}\n", rng.hex(60)),
                format!("export DIGITALOCEAN_TOKEN=dop_v1_{}\n", rng.alnum(64).to_uppercase()),
                format!("export DIGITALOCEAN_TOKEN=dop_v1_{}\n", "x".repeat(64)),
            ],
        },
        Sample {
            rule: "PAL-SEC-013",
            text: format!("{{\"access_token\": \"doo_v1_{}\", \"token_type\": \"bearer\"}}\n", rng.hex(64)),
            near_misses: vec![format!("token: doo_v1_{}\n", rng.hex(63)), "token: doo_v1_<token>\n".into()],
        },
        Sample {
            rule: "PAL-SEC-014",
            text: format!("refresh_token: dor_v1_{}\n", rng.hex(64)),
            near_misses: vec![format!("refresh_token: dor_v1_{}\n", rng.hex(65)), "refresh_token: dor_v1_${REFRESH}\n".into()],
        },
        Sample {
            rule: "PAL-SEC-015",
            text: format!("ALIBABA_CLOUD_ACCESS_KEY_ID=LTAI5t{}\n", rng.alnum(18)),
            near_misses: vec![
                "ALIBABA_CLOUD_ACCESS_KEY_ID=LTAI****************\n".into(),
                format!("ALIBABA_CLOUD_ACCESS_KEY_ID=LTAI{}\n", rng.alnum(8)),
                format!("ALIBABA_CLOUD_ACCESS_KEY_ID=LTAI{}\n", rng.alnum(30)),
            ],
        },
        Sample {
            rule: "PAL-SEC-016",
            text: format!("ALIBABA_CLOUD_ACCESS_KEY_SECRET={}\n", rng.alnum(30)),
            near_misses: vec![
                "access_key_secret = <yourAccessKeySecret>\n".into(),
                format!("ALIBABA_CLOUD_ACCESS_KEY_SECRET={}\n", rng.alnum(25)),
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET=${ALIBABA_CLOUD_ACCESS_KEY_SECRET}\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-017",
            text: format!("HEROKU_API_KEY=HRKU-{}\n", uuid(rng)),
            near_misses: vec![
                "Authorization: Bearer HRKU-57dce771-afad-4c41-a8a5-d10b7fbc743c\n".into(),
                format!("HEROKU_API_KEY=HRKU-{}\n", rng.alnum(40)),
                "HEROKU_API_KEY=HRKU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-018",
            text: format!("heroku:\n  api_key: {}\n", uuid(rng)).replace("heroku:\n  api_key", "heroku_api_key"),
            near_misses: vec![
                "HEROKU_API_KEY=cf0e05d9-4eca-4948-a012-b91fe9704bab\n".into(),
                format!("heroku_app_id = {}\n", uuid(rng)),
                "HEROKU_API_KEY=${HEROKU_API_KEY}\n".into(),
            ],
        },
    ]
}
