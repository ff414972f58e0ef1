//! Payment providers: Stripe, Square and Braintree keys and tokens.

use palisade_core::{RuleMeta, Scanner, Severity};

use crate::rule::{DEFAULT_WINDOW, SecretRule};

pub static RULES: &[&SecretRule] = &[
    &STRIPE_LIVE_SECRET_KEY,
    &STRIPE_LIVE_RESTRICTED_KEY,
    &STRIPE_WEBHOOK_SECRET,
    &STRIPE_TEST_KEY,
    &SQUARE_ACCESS_TOKEN,
    &SQUARE_APPLICATION_SECRET,
    &SQUARE_LEGACY_ACCESS_TOKEN,
    &BRAINTREE_ACCESS_TOKEN,
    &BRAINTREE_CLIENT_SECRET,
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

/// Keys printed in Stripe's own documentation and quickstarts; they belong to Stripe's demo
/// account and are not anybody's credentials.
const STRIPE_DOC_KEYS: &[&str] = &[
    "sk_test_4eC39HqLyjWDarjtT1zdp7dc",
    "sk_test_BQokikJOvBiI2HlWgH4olfQ2",
];

pub static STRIPE_LIVE_SECRET_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-090",
        "Stripe live secret key",
        Severity::Critical,
        "Roll the key in the Stripe Dashboard (Developers → API keys), then load the new key from a secret manager or the environment.",
        crate::secret_doc!(
            "Finds Stripe live-mode secret API keys: `sk_live_` followed by 24 to 247 letters and digits\n(current keys are about 100 characters long, older ones 24).",
            "A live secret key can do anything the account can do through the API: create charges and\nrefunds, read customers and their payment methods, create payouts and change the payout bank\naccount. Stripe reveals a live key only once, so a copy in a repository, an image or a log is\noften the only one there is, and whoever finds it can move real money.",
            "```python\nimport stripe\nstripe.api_key = \"sk_live_51NzQ…Xb9\"  # the full 107-character key\n```",
            "```python\nimport os\nimport stripe\nstripe.api_key = os.environ[\"STRIPE_SECRET_KEY\"]  # injected from a secret manager\n```\nRevoke and rotate: in the Dashboard open *Developers → API keys*, choose *Roll key…* on the\nsecret key and set the old key to expire *now*; deploy the new key, then review *Developers →\nLogs* and *Events* for requests you did not make. Prefer a restricted key (`rk_live_`) with\nonly the permissions the service needs.",
            "- [Stripe: API keys](https://docs.stripe.com/keys)\n- [Stripe: Best practices for managing secret API keys](https://docs.stripe.com/keys-best-practices)",
        ),
    ),
    keywords: &["sk_live_"],
    pattern: r"\b(?P<secret>sk_live_[0-9A-Za-z]{24,247})\b",
    min_entropy: Some(3.0),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static STRIPE_LIVE_RESTRICTED_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-091",
        "Stripe live restricted key",
        Severity::High,
        "Roll the restricted key in the Stripe Dashboard and load the new one from a secret manager or the environment.",
        crate::secret_doc!(
            "Finds Stripe live-mode restricted API keys: `rk_live_` followed by 24 to 247 letters and\ndigits.",
            "A restricted key can only use the resources it was granted, but those grants are often\nbroad (write access to charges, customers or payouts), and it acts on live data. Anyone holding\nit can do whatever its permissions allow against the real account.",
            "```ini\nSTRIPE_RESTRICTED_KEY=rk_live_51NzQ…4Tq\n```",
            "```ini\n# .env is not committed; the deploy injects the key from the secret store\nSTRIPE_RESTRICTED_KEY=\n```\nRevoke and rotate: *Developers → API keys → Restricted keys*, open the key's menu and choose\n*Roll key…* with expiry *now* (or delete it), give the service the new key, and check the\nrequest logs for use of the old one.",
            "- [Stripe: Restricted API keys](https://docs.stripe.com/keys#limit-access)\n- [Stripe: Best practices for managing secret API keys](https://docs.stripe.com/keys-best-practices)",
        ),
    ),
    keywords: &["rk_live_"],
    pattern: r"\b(?P<secret>rk_live_[0-9A-Za-z]{24,247})\b",
    min_entropy: Some(3.0),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static STRIPE_WEBHOOK_SECRET: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-092",
        "Stripe webhook signing secret",
        Severity::Medium,
        "Roll the endpoint's signing secret in the Stripe Dashboard and read it from the environment.",
        crate::secret_doc!(
            "Finds Stripe webhook endpoint signing secrets: `whsec_` followed by 32 to 64 letters and\ndigits (the Dashboard and the Stripe CLI both print this form).",
            "The signing secret is what a webhook handler uses to check that an event really comes from\nStripe. With it an attacker can forge `checkout.session.completed` or `invoice.paid` events\nthat the handler accepts, and get orders fulfilled or subscriptions activated without paying.",
            "```javascript\nconst endpointSecret = \"whsec_9Kq2…Lm0\";\nstripe.webhooks.constructEvent(body, sig, endpointSecret);\n```",
            "```javascript\nconst endpointSecret = process.env.STRIPE_WEBHOOK_SECRET;\nstripe.webhooks.constructEvent(body, sig, endpointSecret);\n```\nRevoke and rotate: in *Developers → Webhooks* open the endpoint and choose *Roll secret*; Stripe\nsigns with both secrets for the overlap you choose, so deploy the new secret before the old\none expires.",
            "- [Stripe: Check the webhook signatures](https://docs.stripe.com/webhooks#verify-events)\n- [Stripe: Roll endpoint secrets](https://docs.stripe.com/webhooks#roll-endpoint-secrets)",
        ),
    ),
    keywords: &["whsec_"],
    pattern: r"\b(?P<secret>whsec_[0-9A-Za-z]{32,64})\b",
    min_entropy: Some(3.0),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static STRIPE_TEST_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-093",
        "Stripe test-mode secret key",
        Severity::Low,
        "Roll the test key in the Stripe Dashboard (sandbox) and keep even test keys out of the repository.",
        crate::secret_doc!(
            "Finds Stripe test-mode (sandbox) secret and restricted keys: `sk_test_` or `rk_test_` followed\nby 24 to 247 letters and digits. Stripe's documented demo keys are ignored.",
            "Test keys cannot move money, but they read and write everything in the account's test data\n(customers, products, webhook endpoints), which often mirrors production configuration, and a\ncommitted test key is usually a sign that the live key is handled the same way.",
            "```ruby\nStripe.api_key = \"sk_test_51NzQ…r2D\"\n```",
            "```ruby\nStripe.api_key = ENV.fetch(\"STRIPE_SECRET_KEY\")\n```\nRevoke and rotate: switch the Dashboard to the sandbox, open *Developers → API keys* and roll the\nsecret key; update local `.env` files that are not committed.",
            "- [Stripe: API keys](https://docs.stripe.com/keys)\n- [Stripe: Sandboxes](https://docs.stripe.com/sandboxes)",
        ),
    ),
    keywords: &["sk_test_", "rk_test_"],
    pattern: r"\b(?P<secret>[sr]k_test_[0-9A-Za-z]{24,247})\b",
    min_entropy: Some(3.0),
    path: None,
    allow: STRIPE_DOC_KEYS,
    check: None,
    window: DEFAULT_WINDOW,
};

pub static SQUARE_ACCESS_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-094",
        "Square access token",
        Severity::High,
        "Replace the personal access token in the Square Developer Console (or revoke the OAuth token) and load it from a secret manager.",
        crate::secret_doc!(
            "Finds Square access tokens: 64 characters starting with `EAAA` (personal access tokens and\nOAuth access tokens, production or Sandbox; Square documents OAuth access tokens as 64 bytes\nlong, and shows them with the `EAAA` prefix).",
            "A personal access token has unrestricted access to the Square account it belongs to:\npayments, refunds, customers, orders and inventory. An OAuth token acts for a seller within\nthe scopes the seller granted. Either lets an attacker read card-holder and customer data or\nissue refunds.",
            "```bash\ncurl https://connect.squareup.com/v2/locations \\\n  -H 'Authorization: Bearer EAAAl2r…Vq8'\n```",
            "```bash\ncurl https://connect.squareup.com/v2/locations \\\n  -H \"Authorization: Bearer ${SQUARE_ACCESS_TOKEN}\"\n```\nRevoke and rotate: for a personal access token, open the application in the Square Developer\nConsole, choose *Credentials* and *Replace* the production or Sandbox token; for an OAuth token\ncall `RevokeToken` (or have the seller revoke the application) and request a new one.",
            "- [Square: Access tokens and other credentials](https://developer.squareup.com/docs/build-basics/access-tokens)\n- [Square: ObtainToken](https://developer.squareup.com/reference/square/o-auth/obtain-token)",
        ),
    ),
    keywords: &["eaaa"],
    pattern: r"(?:^|[^0-9A-Za-z_-])(?P<secret>EAAA[0-9A-Za-z_-]{60})(?:[^0-9A-Za-z_-]|$)",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static SQUARE_APPLICATION_SECRET: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-095",
        "Square OAuth application secret",
        Severity::High,
        "Replace the application secret on the application's OAuth page in the Square Developer Console and keep it server-side only.",
        crate::secret_doc!(
            "Finds Square OAuth application secrets: `sq0csp-` followed by 43 URL-safe base64 characters.",
            "The application secret is what exchanges authorization codes and refresh tokens for access\ntokens. With it and the (public) application ID an attacker can mint access tokens for every\nseller who authorized the application, within the scopes they granted.",
            "```json\n{ \"client_id\": \"sq0idp-…\", \"client_secret\": \"sq0csp-Xf3…kQ\" }\n```",
            "```json\n{ \"client_id\": \"sq0idp-…\", \"client_secret\": \"${SQUARE_APPLICATION_SECRET}\" }\n```\nRevoke and rotate: in the Developer Console open the application, choose *OAuth*, and\n*Replace* the application secret for production (or Sandbox); update the token service, then\nreview which sellers' tokens were refreshed while the secret was exposed.",
            "- [Square: Access tokens and other credentials](https://developer.squareup.com/docs/build-basics/access-tokens)\n- [Square: OAuth API overview](https://developer.squareup.com/docs/oauth-api/overview)",
        ),
    ),
    keywords: &["sq0csp-"],
    pattern: r"\b(?P<secret>sq0csp-[0-9A-Za-z_-]{43})(?:[^0-9A-Za-z_-]|$)",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static SQUARE_LEGACY_ACCESS_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-096",
        "Square legacy personal access token",
        Severity::High,
        "Replace the access token in the Square Developer Console; the new token uses the current format.",
        crate::secret_doc!(
            "Finds Square personal access tokens in the older `sq0atp-` format (22 URL-safe base64\ncharacters after the prefix), still found in long-lived integrations.",
            "Like any Square personal access token it has unrestricted API access to the account:\npayments, refunds, customer and order data.",
            "```php\n$client = new SquareClient(['accessToken' => 'sq0atp-3Lk…9w']);\n```",
            "```php\n$client = new SquareClient(['accessToken' => getenv('SQUARE_ACCESS_TOKEN')]);\n```\nRevoke and rotate: *Developer Console → your application → Credentials → Replace*, then deploy\nthe new token and check the account's activity for unknown payments or refunds.",
            "- [Square: Access tokens and other credentials](https://developer.squareup.com/docs/build-basics/access-tokens)",
        ),
    ),
    keywords: &["sq0atp-"],
    pattern: r"\b(?P<secret>sq0atp-[0-9A-Za-z_-]{22})(?:[^0-9A-Za-z_-]|$)",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static BRAINTREE_ACCESS_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-097",
        "Braintree production access token",
        Severity::Critical,
        "Revoke the access token (Braintree Auth) and load its replacement from a secret manager.",
        crate::secret_doc!(
            "Finds Braintree production access tokens as the Braintree SDKs parse them:\n`access_token$production$<merchant id>$<32 hex characters>`.",
            "An access token acts for a merchant account in production: it can create transactions,\nissue refunds and read vaulted customers and payment methods, within the scopes the merchant\ngranted. Because the environment and merchant are in the token itself, it works as found.",
            "```ruby\ngateway = Braintree::Gateway.new(\n  access_token: \"access_token$production$g8cnjbnz83htzgm4$7c1f…e02\"\n)\n```",
            "```ruby\ngateway = Braintree::Gateway.new(access_token: ENV.fetch(\"BRAINTREE_ACCESS_TOKEN\"))\n```\nRevoke and rotate: revoke the token with `gateway.oauth.revoke_access_token(token)` (or have the\nmerchant disconnect the application in the Braintree Control Panel), obtain a new one through\nthe OAuth flow, and review the merchant's transactions for the exposure window.",
            "- [Braintree: OAuth access tokens](https://developer.paypal.com/braintree/docs/guides/extend/oauth/access-tokens)\n- [Braintree: OAuth flow](https://developer.paypal.com/braintree/docs/guides/braintree-auth/oauth-flow)",
        ),
    ),
    keywords: &["access_token$production$"],
    pattern: r"\b(?P<secret>access_token\$production\$[0-9a-z]{10,32}\$[0-9a-f]{32})\b",
    min_entropy: None,
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static BRAINTREE_CLIENT_SECRET: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-098",
        "Braintree OAuth client secret",
        Severity::High,
        "Regenerate the OAuth client secret in the Braintree Control Panel and keep it in a secret manager.",
        crate::secret_doc!(
            "Finds Braintree production OAuth client secrets as the Braintree SDKs parse them:\n`client_secret$production$` followed by the secret.",
            "The client secret, with the client ID, exchanges authorization codes and refresh tokens for\naccess tokens to the merchants connected to the application, so its holder can act for all of\nthem.",
            "```python\ngateway = braintree.BraintreeGateway(\n    client_id=\"client_id$production$…\",\n    client_secret=\"client_secret$production$5tq…9a\",\n)\n```",
            "```python\ngateway = braintree.BraintreeGateway(\n    client_id=os.environ[\"BRAINTREE_CLIENT_ID\"],\n    client_secret=os.environ[\"BRAINTREE_CLIENT_SECRET\"],\n)\n```\nRevoke and rotate: regenerate the application's client secret in the Braintree Control Panel,\nupdate the token service, and revoke access tokens issued while the old secret was exposed.",
            "- [Braintree: OAuth access tokens](https://developer.paypal.com/braintree/docs/guides/extend/oauth/access-tokens)",
        ),
    ),
    keywords: &["client_secret$production$"],
    pattern: r"\b(?P<secret>client_secret\$production\$[0-9a-z]{24,64})\b",
    min_entropy: Some(3.0),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

#[cfg(test)]
pub(crate) fn samples(rng: &mut crate::testing::Rng) -> Vec<crate::testing::Sample> {
    use crate::testing::Sample;
    let rng = &mut super::fresh::Fresh(rng);
    let merchant = rng.lower_alnum(16);
    vec![
        Sample {
            rule: "PAL-SEC-090",
            text: format!("STRIPE_SECRET_KEY=sk_live_51{}\n", rng.alnum(97)),
            near_misses: vec![
                "STRIPE_SECRET_KEY=sk_live_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n".into(),
                "stripe.api_key = \"${STRIPE_SECRET_KEY}\"  # sk_live_ keys come from the vault\n"
                    .into(),
                format!(
                    "key prefix sk_live_{} is too short to be a key\n",
                    rng.alnum(12)
                ),
            ],
        },
        Sample {
            rule: "PAL-SEC-091",
            text: format!("  restricted_key: \"rk_live_51{}\"\n", rng.alnum(97)),
            near_misses: vec![
                "  restricted_key: \"rk_live_<your-restricted-key>\"\n".into(),
                format!("  restricted_key: rk_live_{}\n", rng.alnum(10)),
            ],
        },
        Sample {
            rule: "PAL-SEC-092",
            text: format!("const endpointSecret = 'whsec_{}';\n", rng.alnum(32)),
            near_misses: vec![
                "const endpointSecret = 'whsec_...';\n".into(),
                "const endpointSecret = process.env.STRIPE_WEBHOOK_SECRET; // whsec_\n".into(),
                format!("whsec_{} (truncated)\n", rng.alnum(8)),
            ],
        },
        Sample {
            rule: "PAL-SEC-093",
            text: format!("Stripe.api_key = \"sk_test_51{}\"\n", rng.alnum(97)),
            near_misses: vec![
                "Stripe.api_key = \"sk_test_4eC39HqLyjWDarjtT1zdp7dc\"\n".into(),
                "Stripe.api_key = \"sk_test_BQokikJOvBiI2HlWgH4olfQ2\"\n".into(),
                "Stripe.api_key = \"sk_test_XXXXXXXXXXXXXXXXXXXXXXXX\"\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-094",
            text: format!(
                "  -H 'Authorization: Bearer EAAA{}' \\\n",
                rng.base64url(60)
            ),
            near_misses: vec![
                "  -H 'Authorization: Bearer {ACCESS_TOKEN}' \\\n".into(),
                // Longer than a Square token: the EAAA prefix alone is not enough.
                format!("fb_token = \"EAAA{}\"\n", rng.alnum(150)),
                format!("  -H 'Authorization: Bearer EAAA{}' \\\n", rng.alnum(30)),
            ],
        },
        Sample {
            rule: "PAL-SEC-095",
            text: format!("\"client_secret\": \"sq0csp-{}\",\n", rng.base64url(43)),
            near_misses: vec![
                "\"client_secret\": \"sq0csp-...\",\n".into(),
                format!("\"client_id\": \"sq0idp-{}\",\n", rng.base64url(22)),
                format!("\"client_secret\": \"sq0csp-{}\",\n", rng.base64url(20)),
            ],
        },
        Sample {
            rule: "PAL-SEC-096",
            text: format!("SQUARE_ACCESS_TOKEN=sq0atp-{}\n", rng.base64url(22)),
            near_misses: vec![
                "SQUARE_ACCESS_TOKEN=sq0atp-XXXXXXXXXXXXXXXXXXXXXX\n".into(),
                format!("SQUARE_ACCESS_TOKEN=sq0atp-{}\n", rng.base64url(9)),
            ],
        },
        Sample {
            rule: "PAL-SEC-097",
            text: format!(
                "BRAINTREE_ACCESS_TOKEN=access_token$production${merchant}${}\n",
                rng.hex(32)
            ),
            near_misses: vec![
                "accessToken: 'access_token$development$integration_merchant_id$fb27c79dd'\n"
                    .into(),
                "BRAINTREE_ACCESS_TOKEN=access_token$production$<merchant-id>$<token>\n".into(),
                format!(
                    "BRAINTREE_ACCESS_TOKEN=access_token$sandbox${merchant}${}\n",
                    rng.hex(32)
                ),
            ],
        },
        Sample {
            rule: "PAL-SEC-098",
            text: format!(
                "  client_secret: \"client_secret$production${}\"\n",
                rng.lower_alnum(32)
            ),
            near_misses: vec![
                "  client_secret: \"client_secret$development$integration_client_secret\"\n".into(),
                "  client_secret: \"client_secret$production$your_client_secret\"\n".into(),
            ],
        },
    ]
}
