//! Commerce, productivity and developer SaaS: Shopify, Notion, Linear, Airtable, HubSpot,
//! Okta, Auth0, Algolia, Mapbox, Postman, Pulumi, Doppler, 1Password and Cloudflare.

use base64::Engine as _;
use palisade_core::{RuleMeta, Scanner, Severity};

use crate::rule::{Check, DEFAULT_WINDOW, SecretRule};

pub static RULES: &[&SecretRule] = &[
    &SHOPIFY_ACCESS_TOKEN,
    &SHOPIFY_SHARED_SECRET,
    &NOTION_TOKEN,
    &LINEAR_API_KEY,
    &AIRTABLE_PAT,
    &HUBSPOT_PRIVATE_APP_TOKEN,
    &OKTA_API_TOKEN,
    &AUTH0_CLIENT_SECRET,
    &ALGOLIA_ADMIN_KEY,
    &MAPBOX_SECRET_TOKEN,
    &POSTMAN_API_KEY,
    &PULUMI_ACCESS_TOKEN,
    &DOPPLER_TOKEN,
    &ONEPASSWORD_SERVICE_ACCOUNT_TOKEN,
    &CLOUDFLARE_API_TOKEN,
    &CLOUDFLARE_GLOBAL_API_KEY,
    &CLOUDFLARE_LEGACY_API_TOKEN,
    &CLOUDFLARE_LEGACY_GLOBAL_API_KEY,
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

pub static SHOPIFY_ACCESS_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-108",
        "Shopify access token",
        Severity::High,
        "Uninstall or rotate the app's credentials in the Shopify admin or Partner Dashboard and keep the new token in a secret manager.",
        crate::secret_doc!(
            "Finds Shopify Admin API access tokens: `shpat_` (public and custom apps), `shpca_` (custom\napps created in the admin) or `shppa_` (legacy private apps) followed by 32 hexadecimal\ncharacters.",
            "An Admin API token acts on the store with every scope it was granted: orders and customer\npersonal data, products and prices, discounts, and often themes and script tags, which is\nenough to plant a card skimmer in the storefront.",
            "```ini\nSHOPIFY_ACCESS_TOKEN=shpat_4f1c…9e2a\nSHOPIFY_STORE=example.myshopify.com\n```",
            "```ini\nSHOPIFY_ACCESS_TOKEN=   # injected from the secret store at deploy time\nSHOPIFY_STORE=example.myshopify.com\n```\nRevoke and rotate: for a custom app created in the admin open *Settings → Apps and sales\nchannels → Develop apps → (app) → API credentials* and *Rotate* the Admin API access token (or\nuninstall the app); for a public app, uninstalling revokes the token and reinstalling issues a\nnew one. Review *Orders*, *Customers* and theme changes for the exposure window.",
            "- [Shopify: Length of the Shopify access token is increasing (prefixes)](https://shopify.dev/changelog/length-of-the-shopify-access-token-is-increasing)\n- [Shopify: API authentication](https://shopify.dev/docs/api/usage/authentication)",
        ),
    ),
    keywords: &["shpat_", "shpca_", "shppa_"],
    pattern: r"\b(?P<secret>shp(?:at|ca|pa)_[0-9a-fA-F]{32})\b",
    min_entropy: Some(2.7),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static SHOPIFY_SHARED_SECRET: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-109",
        "Shopify app shared secret",
        Severity::High,
        "Rotate the app's client secret in the Partner Dashboard (or the admin for custom apps) and keep it in a secret manager.",
        crate::secret_doc!(
            "Finds Shopify app client secrets (shared secrets): `shpss_` followed by 32 hexadecimal\ncharacters.",
            "The client secret exchanges authorization codes for access tokens to every store that\ninstalls the app, and it is the key that signs webhooks and app proxy requests, so its holder\ncan obtain store tokens or forge webhook calls the app trusts.",
            "```javascript\nconst shopify = shopifyApi({ apiKey: '…', apiSecretKey: 'shpss_0b9d…71fa' });\n```",
            "```javascript\nconst shopify = shopifyApi({\n  apiKey: process.env.SHOPIFY_API_KEY,\n  apiSecretKey: process.env.SHOPIFY_API_SECRET,\n});\n```\nRevoke and rotate: in the Partner Dashboard open the app's *Client credentials* and generate a\nnew secret (Shopify keeps the old one valid briefly so you can deploy), then revoke the old\none; webhooks signed with the old secret stop verifying.",
            "- [Shopify: App secret key length has increased (shpss_ prefix)](https://shopify.dev/changelog/app-secret-key-length-has-increased)\n- [Shopify: API authentication](https://shopify.dev/docs/api/usage/authentication)",
        ),
    ),
    keywords: &["shpss_"],
    pattern: r"\b(?P<secret>shpss_[0-9a-fA-F]{32})\b",
    min_entropy: Some(2.7),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static NOTION_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-110",
        "Notion API token",
        Severity::High,
        "Refresh (or delete) the connection's token in Notion's integration settings and keep the new one in a secret manager.",
        crate::secret_doc!(
            "Finds Notion API tokens: current internal-connection and personal tokens start with `ntn_`\n(40 to 50 letters and digits follow); tokens created before the prefix changed start with\n`secret_` followed by 43 letters and digits.",
            "The token reads and writes every page and database shared with the connection (for a\npersonal access token, everything its creator can reach): internal documents, customer notes,\nroadmaps. It can also delete or rewrite them.",
            "```javascript\nconst notion = new Client({ auth: \"ntn_4215…Qx9\" });\n```",
            "```javascript\nconst notion = new Client({ auth: process.env.NOTION_TOKEN });\n```\nRevoke and rotate: open the connection at *notion.so/profile/integrations* (or *Settings →\nConnections*), and on the *Configuration* tab *Refresh* the secret, which invalidates the old\none, or delete the connection; for a personal access token, revoke it in the token settings.\nReview the workspace's audit log for the exposure window.",
            "- [Notion: Authentication](https://developers.notion.com/reference/authentication)\n- [Notion: Credential security](https://developers.notion.com/guides/authorization/credential-security)",
        ),
    ),
    keywords: &["ntn_", "secret_"],
    pattern: r"\b(?P<secret>ntn_[0-9A-Za-z]{40,50}|secret_[0-9A-Za-z]{43})\b",
    min_entropy: Some(4.0),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static LINEAR_API_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-111",
        "Linear API key",
        Severity::High,
        "Revoke the personal API key in Linear (Settings → Security & access) and create a new one kept in a secret manager.",
        crate::secret_doc!(
            "Finds Linear personal API keys: `lin_api_` followed by 40 letters and digits.",
            "A personal API key acts as the user who created it, with the permissions and team access\nchosen at creation (often full access): read every issue and comment, including security\nreports, change or delete them, and add webhooks that copy future activity elsewhere.",
            "```bash\ncurl https://api.linear.app/graphql -H 'Authorization: lin_api_Zk3q…0Hd' \\\n  -d '{\"query\":\"{ viewer { id } }\"}'\n```",
            "```bash\ncurl https://api.linear.app/graphql -H \"Authorization: ${LINEAR_API_KEY}\" \\\n  -d '{\"query\":\"{ viewer { id } }\"}'\n```\nRevoke and rotate: *Settings → Account → Security & access → Personal API keys*, revoke the key,\ncreate a new one with only the permissions and teams the tool needs, and check the workspace\naudit log and webhooks for changes you did not make.",
            "- [Linear API: Getting started](https://linear.app/developers/graphql)\n- [Linear: API and webhooks](https://linear.app/docs/api-and-webhooks)",
        ),
    ),
    keywords: &["lin_api_"],
    pattern: r"\b(?P<secret>lin_api_[0-9A-Za-z]{40})\b",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static AIRTABLE_PAT: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-112",
        "Airtable personal access token",
        Severity::High,
        "Regenerate or delete the token in Airtable's Builder Hub (Personal access tokens) and keep the new one in a secret manager.",
        crate::secret_doc!(
            "Finds Airtable personal access tokens near a mention of Airtable: `pat` and a 14-character\ntoken ID, a dot, and a 64-character hexadecimal secret.",
            "A personal access token reads and writes the bases it was granted (some are granted every\nbase in every workspace the user owns), with the user's own permissions: customer lists,\ninventories, HR data. Tokens do not expire on their own.",
            "```python\napi = Api(\"patQ4x9Lm2Tb7NcKq.8d1f…c07a\")  # airtable\n```",
            "```python\nfrom pyairtable import Api\napi = Api(os.environ[\"AIRTABLE_TOKEN\"])\n```\nRevoke and rotate: open *Builder Hub → Personal access tokens*, choose the token and\n*Regenerate* (or *Delete*) it; create tokens with only the scopes and bases needed. Enterprise\nadmins can also revoke tokens of their users from the Admin panel.",
            "- [Airtable: Authentication](https://airtable.com/developers/web/api/authentication)\n- [Airtable: Creating personal access tokens](https://support.airtable.com/docs/creating-personal-access-tokens)",
        ),
    ),
    keywords: &["airtable"],
    pattern: r"\b(?P<secret>pat[0-9A-Za-z]{14}\.[0-9a-f]{64})\b",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static HUBSPOT_PRIVATE_APP_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-113",
        "HubSpot private app access token",
        Severity::High,
        "Rotate the private app's access token in HubSpot (Development → Private apps → Auth) and keep it in a secret manager.",
        crate::secret_doc!(
            "Finds HubSpot private app (and service key) access tokens: `pat-` followed by the data\nregion (`na1`, `eu1`, …) and a UUID.",
            "The token calls the HubSpot APIs with every scope the private app was given: contacts and\ncompanies (personal data), deals, email, files, and often workflows and settings. It does not\nexpire.",
            "```javascript\nconst hubspot = new Client({ accessToken: 'pat-na1-0f3c…91ab' });\n```",
            "```javascript\nconst hubspot = new Client({ accessToken: process.env.HUBSPOT_ACCESS_TOKEN });\n```\nRevoke and rotate: in HubSpot open *Development → Legacy apps / Private apps*, select the app,\nopen *Auth* and *Rotate* the token (choose *Rotate and expire now* for a leak); deploy the new\ntoken and review the app's *Logs* for calls you did not make.",
            "- [HubSpot: Private apps](https://developers.hubspot.com/docs/api/private-apps)",
        ),
    ),
    keywords: &["pat-na", "pat-eu", "pat-ap"],
    pattern: r"\b(?P<secret>pat-(?:na|eu|ap)[0-9]-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b",
    min_entropy: Some(2.7),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static OKTA_API_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-114",
        "Okta API token",
        Severity::High,
        "Revoke the token in the Okta Admin Console (Security → API → Tokens) and move the integration to OAuth service apps.",
        crate::secret_doc!(
            "Finds Okta API tokens (42 characters starting with `00`) where the context says they are\nOkta's: an `SSWS` authorization header, or a variable such as `OKTA_API_TOKEN` / `okta.token`.",
            "An API token has the administrative permissions of the admin who created it, often super\nadmin: create users and reset their factors, change sign-on policies and application\nassignments. That is control over the sign-in of every application behind Okta.",
            "```bash\ncurl -H 'Authorization: SSWS 00QCjAl4…vX2' https://example.okta.com/api/v1/users\n```",
            "```yaml\n# okta.yaml for the SDK: OAuth 2.0 client credentials with a private key instead of SSWS\nokta:\n  client:\n    authorizationMode: PrivateKey\n    clientId: 0oa1b2c3d4e5f6g7h8i9\n    privateKey: /run/secrets/okta-private-key.pem\n```\nRevoke and rotate: in the Admin Console open *Security → API → Tokens* and *Revoke* the token;\nprefer an API service application with scoped OAuth 2.0 grants. Review the *System Log* for\nevents with the token's actor since it leaked.",
            "- [Okta: Create an API token](https://developer.okta.com/docs/guides/create-an-api-token/main/)\n- [Okta: Implement OAuth for Okta with a service app](https://developer.okta.com/docs/guides/implement-oauth-for-okta-serviceapp/main/)",
        ),
    ),
    keywords: &["okta", "ssws"],
    pattern: r#"(?:(?i:okta)[\w.-]{0,30}?(?i:token|key)["']?\s*[:=]\s*["']?|\bSSWS\s+)(?P<secret>00[0-9A-Za-z_-]{40})(?:[^0-9A-Za-z_-]|$)"#,
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static AUTH0_CLIENT_SECRET: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-115",
        "Auth0 client secret",
        Severity::High,
        "Rotate the application's client secret in the Auth0 Dashboard and load it from a secret manager.",
        crate::secret_doc!(
            "Finds Auth0 application client secrets: 64 URL-safe base64 characters assigned to a name such\nas `AUTH0_CLIENT_SECRET` or `auth0.clientSecret`.",
            "The client secret authenticates the application to Auth0. For a machine-to-machine\napplication it obtains access tokens for every API it is authorized for (for the Management\nAPI: users, connections, rules); for a web application it lets an attacker complete logins as\nthe application.",
            "```ini\nAUTH0_CLIENT_ID=Xk29…Qp\nAUTH0_CLIENT_SECRET=6bN3…Zq0\n```",
            "```ini\nAUTH0_CLIENT_ID=Xk29…Qp\nAUTH0_CLIENT_SECRET=   # from the secret store; or use private_key_jwt\n```\nRevoke and rotate: in the Auth0 Dashboard open *Applications → (app) → Settings* and *Rotate*\nthe client secret (or `POST /api/v2/clients/{id}/rotate-secret`), deploy the new secret, and\nreview the tenant logs for token requests by the application. Private key JWT authentication\navoids shared secrets altogether.",
            "- [Auth0: Rotate client secrets](https://auth0.com/docs/get-started/applications/rotate-client-secret)\n- [Auth0: Application credentials](https://auth0.com/docs/secure/application-credentials)",
        ),
    ),
    keywords: &["auth0"],
    pattern: r#"(?i:auth0)[\w.-]{0,30}?(?i:client[_.-]?secret)["']?\s*[:=]\s*["']?(?P<secret>[0-9A-Za-z_-]{64})(?:[^0-9A-Za-z_-]|$)"#,
    min_entropy: Some(4.0),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static ALGOLIA_ADMIN_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-116",
        "Algolia admin API key",
        Severity::High,
        "Regenerate the admin API key in the Algolia dashboard (Settings → API Keys) and use scoped keys in applications.",
        crate::secret_doc!(
            "Finds Algolia admin API keys: 32 hexadecimal characters assigned to a name that says both\nAlgolia and admin (`ALGOLIA_ADMIN_KEY`, `algoliaAdminApiKey`). Search-only keys, which are\nmeant to be public, are not reported.",
            "The admin key can do everything on the application: read every record of every index,\ndelete or overwrite indices, change settings and create further API keys. Indices often hold\ndata that was never meant to be searchable by everyone.",
            "```javascript\nconst client = algoliasearch('LATENCY', process.env.ALGOLIA_SEARCH_KEY);\n// ALGOLIA_ADMIN_KEY = \"d1c0…5e7f\"\n```",
            "```javascript\n// Indexing job only, on the server, key from the secret store:\nconst client = algoliasearch(process.env.ALGOLIA_APP_ID, process.env.ALGOLIA_WRITE_KEY);\n```\nRevoke and rotate: in the dashboard open *Settings → API Keys* and regenerate the admin API key\n(every client using it stops working), then give jobs restricted keys with only the ACLs and\nindices they need.",
            "- [Algolia: API keys](https://www.algolia.com/doc/guides/security/api-keys/)\n- [Algolia: Security best practices](https://www.algolia.com/doc/guides/security/security-best-practices/)",
        ),
    ),
    keywords: &["algolia"],
    pattern: r#"(?i:algolia)[\w.-]{0,30}?(?i:admin)[\w.-]{0,20}?(?i:key)["']?\s*[:=]\s*["']?(?P<secret>[0-9a-fA-F]{32})\b"#,
    min_entropy: Some(2.7),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static MAPBOX_SECRET_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-117",
        "Mapbox secret access token",
        Severity::High,
        "Delete or rotate the secret token on the Mapbox account's Tokens page and keep it out of code.",
        crate::secret_doc!(
            "Finds Mapbox secret access tokens: `sk.` followed by a base64url-encoded JSON header (naming\nthe account) and a dot and the secret part. Public tokens (`pk.`) are meant for browsers and\nare not reported.",
            "Secret tokens carry scopes that public tokens cannot have: uploading and deleting tilesets,\nmanaging styles and datasets, creating and listing the account's other tokens. Usage is billed\nto the account.",
            "```bash\nexport MAPBOX_DOWNLOADS_TOKEN=sk.eyJ1Ijoi…In0.Hq2…5Vw\n```",
            "```bash\n# ~/.netrc or the CI secret store provides the downloads token; nothing in the repo\nmachine api.mapbox.com login mapbox password \"$MAPBOX_DOWNLOADS_TOKEN\"\n```\nRevoke and rotate: on *account.mapbox.com/access-tokens* delete the token (or rotate it, which\nissues a new secret), create a replacement with only the scopes needed, and check the\naccount's statistics for usage you do not recognize.",
            "- [Mapbox: Access tokens](https://docs.mapbox.com/accounts/guides/tokens/)\n- [Mapbox: Tokens API](https://docs.mapbox.com/api/accounts/tokens/)",
        ),
    ),
    keywords: &["sk.eyj"],
    pattern: r"\b(?P<secret>sk\.eyJ[0-9A-Za-z_-]{10,400}\.[0-9A-Za-z_-]{20,100})(?:[^0-9A-Za-z_-]|$)",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: Some(mapbox_check),
    window: DEFAULT_WINDOW,
};

/// The part between the dots is a base64url JSON object with the account name under `"u"`.
fn mapbox_check(secret: &str) -> Check {
    let Some(header) = secret.split('.').nth(1) else {
        return Check::Invalid;
    };
    match base64::engine::general_purpose::URL_SAFE_NO_PAD_INDIFFERENT.decode(header) {
        Ok(json) if is_json_text(&json) && json.windows(3).any(|w| w == b"\"u\"") => Check::Valid,
        _ => Check::Invalid,
    }
}

pub static POSTMAN_API_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-118",
        "Postman API key",
        Severity::High,
        "Revoke the key in Postman (Settings → API keys) and store its replacement in a secret manager or Postman Vault.",
        crate::secret_doc!(
            "Finds Postman API keys: `PMAK-`, 24 hexadecimal characters, a dash, and 34 hexadecimal\ncharacters.",
            "A Postman API key reads and changes everything its user can reach in Postman: workspaces,\ncollections, and environments, which routinely hold other API keys, passwords and tokens in\ntheir variables.",
            "```bash\ncurl https://api.getpostman.com/collections -H 'X-Api-Key: PMAK-64b1…a7-3c9e…e10'\n```",
            "```bash\ncurl https://api.getpostman.com/collections -H \"X-Api-Key: ${POSTMAN_API_KEY}\"\n```\nRevoke and rotate: in Postman open *Settings → Account settings → API keys*, *Revoke* the key and\ngenerate a new one (team admins can also revoke keys for the team); then rotate any secrets\nstored in the environments the key could read.",
            "- [Postman API: Authentication](https://learning.postman.com/docs/developer/postman-api/authentication/)",
        ),
    ),
    keywords: &["pmak-"],
    pattern: r"\b(?P<secret>PMAK-[0-9a-fA-F]{24}-[0-9a-fA-F]{34})\b",
    min_entropy: Some(2.7),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static PULUMI_ACCESS_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-119",
        "Pulumi access token",
        Severity::High,
        "Delete the token in Pulumi Cloud (Access Tokens) and use OIDC or a team/organization token from a secret store.",
        crate::secret_doc!(
            "Finds Pulumi Cloud access tokens: `pul-` followed by 40 hexadecimal characters.",
            "A Pulumi access token reads and updates the stacks its owner can reach: stack state (which\ncontains decrypted outputs and often secrets), configuration, and deployments that run with\nthe cloud credentials of those stacks.",
            "```yaml\nenv:\n  PULUMI_ACCESS_TOKEN: pul-5e3a…c0d9\n```",
            "```yaml\n# GitHub Actions: exchange the workflow's OIDC token instead of a stored token\n- uses: pulumi/auth-actions@v1\n  with:\n    organization: example\n    requested-token-type: urn:pulumi:token-type:access_token:organization\n```\nRevoke and rotate: in Pulumi Cloud open *Settings → Access Tokens* (personal, team or\norganization) and delete the token; create a new one or switch to OIDC, and review the\norganization's audit log and stack update history.",
            "- [Pulumi: Access tokens](https://www.pulumi.com/docs/pulumi-cloud/access-management/access-tokens/)\n- [Pulumi: OIDC issuers](https://www.pulumi.com/docs/pulumi-cloud/access-management/oidc/)",
        ),
    ),
    keywords: &["pul-"],
    pattern: r"\b(?P<secret>pul-[0-9a-f]{40})\b",
    min_entropy: Some(2.7),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static DOPPLER_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-120",
        "Doppler token",
        Severity::High,
        "Revoke the token in the Doppler dashboard and inject secrets with the Doppler CLI or an integration instead of storing tokens.",
        crate::secret_doc!(
            "Finds Doppler API tokens by their type prefix: `dp.pt.` (personal), `dp.ct.` (CLI), `dp.st.`\n(service, optionally with the config name), `dp.sa.` (service account), `dp.scim.` and\n`dp.audit.`, followed by 40 to 44 letters and digits.",
            "Doppler tokens unlock a secret manager. A service token reads every secret of its config; a\npersonal, CLI or service account token reaches every project and environment its owner can,\nwith write access: one leak exposes all the credentials stored there.",
            "```bash\nexport DOPPLER_TOKEN=dp.st.prd.Vb2…9Kx\n```",
            "```bash\n# The platform's Doppler integration syncs secrets; no token in the repository.\ndoppler run -- ./server\n```\nRevoke and rotate: for a service token open the config's *Access* tab and revoke it; personal\nand CLI tokens are under *Tokens*; service account tokens under *Team → Service Accounts*. Then\nrotate the secrets the token could read and check the activity log.",
            "- [Doppler: API authentication and token types](https://docs.doppler.com/reference/api)\n- [Doppler: Service tokens](https://docs.doppler.com/docs/service-tokens)",
        ),
    ),
    keywords: &[
        "dp.pt.",
        "dp.ct.",
        "dp.st.",
        "dp.sa.",
        "dp.scim.",
        "dp.audit.",
    ],
    pattern: r"\b(?P<secret>dp\.(?:pt|ct|sa|scim|audit)\.[0-9A-Za-z]{40,44}|dp\.st\.(?:[0-9a-z_-]{2,35}\.)?[0-9A-Za-z]{40,44})\b",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static ONEPASSWORD_SERVICE_ACCOUNT_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-121",
        "1Password service account token",
        Severity::High,
        "Revoke the service account's token in 1Password (Developer → Service accounts) and issue a new one stored outside the repository.",
        crate::secret_doc!(
            "Finds 1Password service account tokens: `ops_` followed by a base64-encoded JSON document\n(the token starts `ops_eyJ`). A value that does not decode is not reported.",
            "A service account token reads, and if allowed writes, every item in the vaults granted to\nthe service account. Those vaults hold the other credentials of the organization, so one\nleaked token can expose all of them.",
            "```yaml\nenv:\n  OP_SERVICE_ACCOUNT_TOKEN: ops_eyJzaWduSW5BZGRyZXNzIjoi…\n```",
            "```yaml\n# GitHub Actions: the token lives in the repository's encrypted secrets\nenv:\n  OP_SERVICE_ACCOUNT_TOKEN: ${{ secrets.OP_SERVICE_ACCOUNT_TOKEN }}\n```\nRevoke and rotate: on 1Password.com open *Developer → Directory → Service accounts*, select the\naccount and revoke its token (or delete the service account), create a new token with the\nsmallest vault access, and rotate the items the old token could read.",
            "- [1Password: Service accounts](https://developer.1password.com/docs/service-accounts/)\n- [1Password: Manage service accounts](https://developer.1password.com/docs/service-accounts/manage-service-accounts/)",
        ),
    ),
    keywords: &["ops_eyj"],
    pattern: r"\b(?P<secret>ops_eyJ[0-9A-Za-z+/_-]{60,2000}={0,2})",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: Some(onepassword_check),
    window: 2048,
};

/// The token after `ops_` is a base64 JSON object.
fn onepassword_check(secret: &str) -> Check {
    let body = secret.trim_start_matches("ops_").trim_end_matches('=');
    let engines = [
        base64::engine::general_purpose::URL_SAFE_NO_PAD_INDIFFERENT,
        base64::engine::general_purpose::STANDARD_NO_PAD_INDIFFERENT,
    ];
    // The token may be cut by a line wrap; the first complete 4-character groups suffice.
    let usable = &body[..body.len() - body.len() % 4];
    if engines
        .iter()
        .any(|e| e.decode(usable).is_ok_and(|json| is_json_text(&json)))
    {
        Check::Valid
    } else {
        Check::Invalid
    }
}

/// Decoded bytes that look like (the start of) a JSON object: `{"` and printable ASCII only.
/// Random base64 after an `eyJ` prefix decodes to `{"` and then binary noise.
fn is_json_text(bytes: &[u8]) -> bool {
    bytes.starts_with(b"{\"") && bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ')
}

/// Cloudflare's scannable credentials end with 8 hexadecimal characters: the CRC-32 of the
/// 40-character body.
fn cloudflare_check(secret: &str) -> Check {
    let Some((_, rest)) = secret.split_once('_') else {
        return Check::Invalid;
    };
    if rest.len() != 48 {
        return Check::Invalid;
    }
    let (body, checksum) = rest.split_at(40);
    if format!("{:08x}", crc32fast::hash(body.as_bytes())) == checksum {
        Check::Valid
    } else {
        Check::ChecksumMismatch
    }
}

pub static CLOUDFLARE_API_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-122",
        "Cloudflare API token",
        Severity::High,
        "Roll or delete the token in the Cloudflare dashboard (My Profile or Manage Account → API Tokens) and keep it in a secret manager.",
        crate::secret_doc!(
            "Finds Cloudflare API tokens in the scannable format: `cfut_` (user tokens) or `cfat_`\n(account tokens), 40 letters and digits, and an 8-character checksum. A value whose checksum\ndoes not match is reported one severity lower.",
            "An API token can do whatever its policies allow on the zones and accounts it covers: edit\nDNS records (redirecting a domain's mail or web traffic), change WAF and SSL settings, deploy\nWorkers, read logs. Tokens for CI are often given wide edit rights.",
            "```bash\nexport CLOUDFLARE_API_TOKEN=cfut_Q8r2…Lm0a8f570bf\nnpx wrangler deploy\n```",
            "```bash\n# CI provides CLOUDFLARE_API_TOKEN from its secret store\nnpx wrangler deploy\n```\nRevoke and rotate: in the dashboard open *My Profile → API Tokens* (user tokens) or *Manage\nAccount → API Tokens* (account tokens), then *Roll* the token (the old secret stops working)\nor delete it; check the account's *Audit Logs* for changes made with it.",
            "- [Cloudflare: Token formats](https://developers.cloudflare.com/fundamentals/api/get-started/token-formats/)\n- [Cloudflare: Roll tokens](https://developers.cloudflare.com/fundamentals/api/how-to/roll-token/)",
        ),
    ),
    keywords: &["cfut_", "cfat_"],
    pattern: r"\b(?P<secret>cf(?:ut|at)_[0-9A-Za-z]{40}[0-9a-f]{8})\b",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: Some(cloudflare_check),
    window: DEFAULT_WINDOW,
};

pub static CLOUDFLARE_GLOBAL_API_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-123",
        "Cloudflare Global API key",
        Severity::Critical,
        "Change the Global API key in the Cloudflare dashboard (My Profile → API Tokens) and use scoped API tokens instead.",
        crate::secret_doc!(
            "Finds Cloudflare Global API keys in the scannable format: `cfk_`, 40 letters and digits, and\nan 8-character checksum.",
            "The Global API key has full access to everything the user can reach on Cloudflare, across\nevery account and zone: DNS, certificates, firewall, Workers, billing and members. It cannot be\nscoped or limited by IP.",
            "```ini\nCF_API_EMAIL=ops@example.com\nCF_API_KEY=cfk_Zt7…d93c1b0e\n```",
            "```ini\n# A scoped API token from the secret store instead of the Global API key\nCLOUDFLARE_API_TOKEN=\n```\nRevoke and rotate: in the dashboard open *My Profile → API Tokens → Global API Key* and choose\n*Change* (this invalidates the old key), move integrations to scoped API tokens, and review the\n*Audit Logs* of every account the user belongs to.",
            "- [Cloudflare: Token formats](https://developers.cloudflare.com/fundamentals/api/get-started/token-formats/)\n- [Cloudflare: API keys](https://developers.cloudflare.com/fundamentals/api/get-started/keys/)",
        ),
    ),
    keywords: &["cfk_"],
    pattern: r"\b(?P<secret>cfk_[0-9A-Za-z]{40}[0-9a-f]{8})\b",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: Some(cloudflare_check),
    window: DEFAULT_WINDOW,
};

pub static CLOUDFLARE_LEGACY_API_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-124",
        "Cloudflare API token (unprefixed format)",
        Severity::High,
        "Roll the token in the Cloudflare dashboard (the new one uses the scannable cfut_ format) and keep it in a secret manager.",
        crate::secret_doc!(
            "Finds Cloudflare API tokens created before the scannable format: 40 URL-safe characters\nassigned to a name such as `CLOUDFLARE_API_TOKEN`, `CF_API_TOKEN` or `cloudflare_token`.",
            "Like any API token it can do everything its policies allow: DNS edits, WAF and SSL changes,\nWorkers deployments, log access. Unprefixed tokens are not caught by provider-side leak\nscanning, so they stay valid after a leak until someone rolls them.",
            "```yaml\nenv:\n  CLOUDFLARE_API_TOKEN: Yk3f…Wq7d\n```",
            "```yaml\nenv:\n  CLOUDFLARE_API_TOKEN: ${{ secrets.CLOUDFLARE_API_TOKEN }}\n```\nRevoke and rotate: *My Profile → API Tokens* (or *Manage Account → API Tokens*), *Roll* the\ntoken; the rolled token uses the scannable `cfut_`/`cfat_` format. Review *Audit Logs*.",
            "- [Cloudflare: Create API token](https://developers.cloudflare.com/fundamentals/api/get-started/create-token/)\n- [Cloudflare: Roll tokens](https://developers.cloudflare.com/fundamentals/api/how-to/roll-token/)",
        ),
    ),
    keywords: &[
        "cloudflare",
        "cf_api_token",
        "cf_token",
        "cf-api-token",
        "cfapitoken",
    ],
    pattern: r#"(?:(?i:cloudflare)|\b(?i:cf))[_.-]?(?i:api)?[_.-]?(?i:token)["']?\s*[:=]\s*["']?(?P<secret>[0-9A-Za-z_-]{40})(?:[^0-9A-Za-z_-]|$)"#,
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static CLOUDFLARE_LEGACY_GLOBAL_API_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-125",
        "Cloudflare Global API key (unprefixed format)",
        Severity::Critical,
        "Change the Global API key in the Cloudflare dashboard and move integrations to scoped API tokens.",
        crate::secret_doc!(
            "Finds Cloudflare Global API keys in the original format: 37 hexadecimal characters in an\n`X-Auth-Key` header or assigned to a name such as `CLOUDFLARE_API_KEY`, `CF_API_KEY` or\n`cloudflare_global_key`.",
            "The Global API key, with the user's email address, has full access to every account and zone\nthe user can reach: DNS, certificates, firewall, Workers, members and billing.",
            "```bash\ncurl -H 'X-Auth-Email: ops@example.com' -H 'X-Auth-Key: 1e9f…c5a' \\\n  https://api.cloudflare.com/client/v4/zones\n```",
            "```bash\ncurl -H \"Authorization: Bearer ${CLOUDFLARE_API_TOKEN}\" \\\n  https://api.cloudflare.com/client/v4/zones\n```\nRevoke and rotate: *My Profile → API Tokens → Global API Key → Change*, then replace every use\nwith scoped API tokens and review the *Audit Logs*.",
            "- [Cloudflare: API keys](https://developers.cloudflare.com/fundamentals/api/get-started/keys/)\n- [Cloudflare: Token formats](https://developers.cloudflare.com/fundamentals/api/get-started/token-formats/)",
        ),
    ),
    keywords: &[
        "cloudflare",
        "x-auth-key",
        "cf_api_key",
        "cf_key",
        "cf-api-key",
        "cf_auth_key",
    ],
    pattern: r#"(?:(?i:cloudflare|\bcf)[\w.-]{0,20}?(?i:key)["']?\s*[:=]\s*["']?|(?i:x-auth-key)["']?\s*[:=]\s*["']?)(?P<secret>[0-9a-fA-F]{37})\b"#,
    min_entropy: Some(2.7),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

#[cfg(test)]
fn cloudflare_token(rng: &mut super::fresh::Fresh<'_>, prefix: &str) -> String {
    let body = rng.alnum(40);
    format!("{prefix}{body}{:08x}", crc32fast::hash(body.as_bytes()))
}

#[cfg(test)]
pub(crate) fn samples(rng: &mut crate::testing::Rng) -> Vec<crate::testing::Sample> {
    use crate::testing::Sample;
    let rng = &mut super::fresh::Fresh(rng);
    let b64url = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let mapbox_header = b64url(&format!(
        "{{\"u\":\"{}\",\"a\":\"{}\"}}",
        rng.lower_alnum(8),
        rng.alnum(25)
    ));
    let op_json = format!(
        "{{\"signInAddress\":\"my.1password.com\",\"userAuth\":{{\"method\":\"SRPg-4096\",\"alg\":\"PBES2g-HS256\",\"iterations\":650000,\"salt\":\"{}\"}},\"email\":\"{}@1passwordserviceaccounts.com\",\"srpX\":\"{}\",\"muk\":{{\"alg\":\"A256GCM\",\"ext\":true,\"k\":\"{}\",\"key_ops\":[\"encrypt\",\"decrypt\"],\"kty\":\"oct\",\"kid\":\"mp\"}},\"secretKey\":\"A3-{}\",\"throttleSecret\":{{\"seed\":\"{}\",\"uuid\":\"{}\"}},\"deviceUuid\":\"{}\"}}",
        rng.base64url(22),
        rng.lower_alnum(13),
        rng.hex(64),
        rng.base64url(43),
        rng.upper_alnum(26),
        rng.hex(64),
        rng.upper_alnum(26),
        rng.lower_alnum(26),
    );
    let cf_good = cloudflare_token(rng, "cfut_");
    // A wrong checksum is still reported (one severity lower).
    let cf_bad_checksum = format!("{}0badc0de", &cf_good[..cf_good.len() - 8]);
    vec![
        Sample {
            rule: "PAL-SEC-108",
            text: format!("SHOPIFY_ACCESS_TOKEN=shpat_{}\n", rng.hex(32)),
            near_misses: vec![
                "SHOPIFY_ACCESS_TOKEN=shpat_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n".into(),
                "  -H 'X-Shopify-Access-Token: <shpat_...>'\n".into(),
                format!("SHOPIFY_ACCESS_TOKEN=shpca_{}\n", rng.hex(24)),
            ],
        },
        Sample {
            rule: "PAL-SEC-109",
            text: format!("  apiSecretKey: 'shpss_{}',\n", rng.hex(32)),
            near_misses: vec![
                "  apiSecretKey: process.env.SHOPIFY_API_SECRET, // shpss_...\n".into(),
                format!("  apiSecretKey: 'shpss_{}',\n", rng.pick(b"ghijklmnopqrstuvwxyz", 32)),
            ],
        },
        Sample {
            rule: "PAL-SEC-110",
            text: format!("NOTION_TOKEN=ntn_{}{}\n", rng.digits(11), rng.alnum(35)),
            near_misses: vec![
                "NOTION_TOKEN=ntn_xxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n".into(),
                "NOTION_TOKEN=ntn_...\n".into(),
                "SECRET_KEY_BASE = secret_key_base_from_credentials_yml\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-110",
            text: format!("const notion = new Client({{ auth: \"secret_{}\" }});\n", rng.alnum(43)),
            near_misses: vec![format!("const notion = new Client({{ auth: \"secret_{}\" }});\n", rng.alnum(20))],
        },
        Sample {
            rule: "PAL-SEC-111",
            text: format!("LINEAR_API_KEY=lin_api_{}\n", rng.alnum(40)),
            near_misses: vec![
                "LINEAR_API_KEY=lin_api_...\n".into(),
                format!("LINEAR_API_KEY=lin_api_{}\n", rng.alnum(16)),
            ],
        },
        Sample {
            rule: "PAL-SEC-112",
            text: format!("AIRTABLE_TOKEN=pat{}.{}\n", rng.alnum(14), rng.hex(64)),
            near_misses: vec![
                "AIRTABLE_TOKEN=patXXXXXXXXXXXXXX.XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\n".into(),
                format!("airtable record {} updated\n", rng.uuid()),
                format!("AIRTABLE_TOKEN=pat{}.{}\n", rng.alnum(14), rng.hex(20)),
            ],
        },
        Sample {
            rule: "PAL-SEC-113",
            text: format!("HUBSPOT_ACCESS_TOKEN=pat-na1-{}\n", rng.uuid()),
            near_misses: vec![
                "HUBSPOT_ACCESS_TOKEN=pat-na1-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx\n".into(),
                format!("hubspot portal object id {}\n", rng.uuid()),
            ],
        },
        Sample {
            rule: "PAL-SEC-114",
            text: format!("curl -H 'Authorization: SSWS 00{}' https://acme.okta.com/api/v1/users\n", rng.base64url(40)),
            near_misses: vec![
                "curl -H 'Authorization: SSWS ${api_token}' https://acme.okta.com/api/v1/users\n".into(),
                format!("okta user id 00u{} in group 00g{}\n", rng.alnum(17), rng.alnum(17)),
                format!("OKTA_API_TOKEN=00{}\n", rng.base64url(20)),
            ],
        },
        Sample {
            rule: "PAL-SEC-114",
            text: format!("okta_client_token: 00{}\n", rng.base64url(40)),
            near_misses: vec![],
        },
        Sample {
            rule: "PAL-SEC-115",
            text: format!("AUTH0_CLIENT_SECRET={}\n", rng.base64url(64)),
            near_misses: vec![
                "AUTH0_CLIENT_SECRET=YOUR_CLIENT_SECRET\n".into(),
                format!("AUTH0_CLIENT_ID={}\n", rng.alnum(32)),
                format!("AUTH0_CLIENT_SECRET={}\n", rng.base64url(30)),
            ],
        },
        Sample {
            rule: "PAL-SEC-116",
            text: format!("ALGOLIA_ADMIN_API_KEY=\"{}\"\n", rng.hex(32)),
            near_misses: vec![
                format!("ALGOLIA_SEARCH_API_KEY=\"{}\"\n", rng.hex(32)),
                "ALGOLIA_ADMIN_API_KEY=\"<your-admin-api-key>\"\n".into(),
                format!("algolia admin ui build {}\n", rng.hex(40)),
            ],
        },
        Sample {
            rule: "PAL-SEC-117",
            text: format!("MAPBOX_DOWNLOADS_TOKEN=sk.{mapbox_header}.{}\n", rng.base64url(22)),
            near_misses: vec![
                format!("mapboxgl.accessToken = 'pk.{mapbox_header}.{}';\n", rng.base64url(22)),
                "MAPBOX_DOWNLOADS_TOKEN=sk.eyJ...\n".into(),
                format!("MAPBOX_DOWNLOADS_TOKEN=sk.eyJ{}.{}\n", rng.alnum(40), rng.base64url(22)),
            ],
        },
        Sample {
            rule: "PAL-SEC-118",
            text: format!("POSTMAN_API_KEY=PMAK-{}-{}\n", rng.hex(24), rng.hex(34)),
            near_misses: vec![
                "POSTMAN_API_KEY=PMAK-XXXXXXXXXXXXXXXXXXXXXXXX-XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\n".into(),
                format!("POSTMAN_API_KEY=PMAK-{}\n", rng.hex(24)),
            ],
        },
        Sample {
            rule: "PAL-SEC-119",
            text: format!("  PULUMI_ACCESS_TOKEN: pul-{}\n", rng.hex(40)),
            near_misses: vec![
                "  PULUMI_ACCESS_TOKEN: ${{ secrets.PULUMI_ACCESS_TOKEN }}\n".into(),
                format!("  image: registry.example.com/pul-{}\n", rng.hex(12)),
            ],
        },
        Sample {
            rule: "PAL-SEC-120",
            text: format!("export DOPPLER_TOKEN=dp.st.prd.{}\n", rng.alnum(43)),
            near_misses: vec![
                "export DOPPLER_TOKEN=dp.st.xxxx\n".into(),
                format!("export DOPPLER_TOKEN=dp.pt.{}\n", rng.alnum(20)),
            ],
        },
        Sample {
            rule: "PAL-SEC-120",
            text: format!("DOPPLER_TOKEN: \"dp.pt.{}\"\n", rng.alnum(43)),
            near_misses: vec![],
        },
        Sample {
            rule: "PAL-SEC-121",
            text: format!("OP_SERVICE_ACCOUNT_TOKEN=ops_{}\n", b64(&op_json)),
            near_misses: vec![
                "OP_SERVICE_ACCOUNT_TOKEN=ops_eyJ...\n".into(),
                // Right prefix, but the rest is not base64 JSON.
                format!("OP_SERVICE_ACCOUNT_TOKEN=ops_eyJ{}\n", rng.alnum(120)),
            ],
        },
        Sample {
            rule: "PAL-SEC-122",
            text: format!("export CLOUDFLARE_API_TOKEN={cf_good}\n"),
            near_misses: vec![
                "export CLOUDFLARE_API_TOKEN=cfut_xxxxx\n".into(),
                format!("export CLOUDFLARE_API_TOKEN=cfut_{}\n", rng.alnum(30)),
            ],
        },
        Sample {
            rule: "PAL-SEC-122",
            text: format!("CF_TOKEN={cf_bad_checksum}\n"),
            near_misses: vec![],
        },
        Sample {
            rule: "PAL-SEC-123",
            text: format!("CF_API_KEY={}\n", cloudflare_token(rng, "cfk_")),
            near_misses: vec![format!("CF_API_KEY=cfk_{}\n", rng.alnum(12))],
        },
        Sample {
            rule: "PAL-SEC-124",
            text: format!("  CLOUDFLARE_API_TOKEN: {}\n", rng.base64url(40)),
            near_misses: vec![
                "  CLOUDFLARE_API_TOKEN: ${{ secrets.CLOUDFLARE_API_TOKEN }}\n".into(),
                format!("  CLOUDFLARE_ZONE_ID: {}\n", rng.hex(32)),
                format!("  CLOUDFLARE_API_TOKEN: {}\n", rng.base64url(24)),
            ],
        },
        Sample {
            rule: "PAL-SEC-125",
            text: format!("curl -H 'X-Auth-Email: ops@example.org' -H 'X-Auth-Key: {}' https://api.cloudflare.com/client/v4/zones\n", rng.hex(37)),
            near_misses: vec![
                "curl -H 'X-Auth-Key: $CLOUDFLARE_API_KEY' https://api.cloudflare.com/client/v4/zones\n".into(),
                format!("cloudflare account id {}\n", rng.hex(32)),
                format!("CLOUDFLARE_API_KEY={}\n", rng.hex(32)),
            ],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloudflare_checksum_is_crc32_of_the_body() {
        let body = "Q8r2LmXv0Tb7NcKq8Zr2LmXv0Tb7NcKq8Zr2LmXv";
        let good = format!("cfut_{body}{:08x}", crc32fast::hash(body.as_bytes()));
        assert_eq!(cloudflare_check(&good), Check::Valid);
        let bad = format!("cfut_{body}0badc0de");
        assert_eq!(cloudflare_check(&bad), Check::ChecksumMismatch);
        assert_eq!(cloudflare_check("cfut_short"), Check::Invalid);
        // The engine still reports a mismatching token, marked as such.
        let hits =
            crate::builtin().scan("x.env", format!("CLOUDFLARE_API_TOKEN={bad}\n").as_bytes());
        let hit = hits
            .iter()
            .find(|h| crate::builtin().rules()[h.rule].meta.id == "PAL-SEC-122")
            .expect("reported");
        assert_eq!(hit.check, Check::ChecksumMismatch);
    }

    #[test]
    fn base64_json_checks() {
        let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(r#"{"u":"acme","a":"ckx1y2z3"}"#);
        assert_eq!(
            mapbox_check(&format!("sk.{header}.Hq2Tb7NcKq8Zr2LmXv0Tb7")),
            Check::Valid
        );
        assert_eq!(
            mapbox_check("sk.eyJQ8r2LmXv0Tb7NcKq8Zr2LmXv0Tb7NcK.Hq2Tb7NcKq8Zr2LmXv0Tb7"),
            Check::Invalid
        );
        let op = base64::engine::general_purpose::STANDARD
            .encode(r#"{"signInAddress":"my.1password.com","email":"x@example.com"}"#);
        assert_eq!(onepassword_check(&format!("ops_{op}")), Check::Valid);
        assert_eq!(
            onepassword_check(
                "ops_eyJQ8r2LmXv0Tb7NcKq8Zr2LmXv0Tb7NcKq8Zr2LmXv0Tb7NcKq8Zr2LmXv0Tb7NcK"
            ),
            Check::Invalid
        );
    }
}
