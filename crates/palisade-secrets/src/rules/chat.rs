//! Chat platforms: Slack tokens and webhooks, Discord webhooks and bot tokens, Microsoft Teams
//! webhooks (connectors and Workflows), Telegram bot tokens, Mattermost and Rocket.Chat
//! incoming webhooks, Google Chat webhooks. Twilio and mail providers live elsewhere.
//!
//! For webhooks the secret reported is the URL's token part (the last path segments, or the
//! `sig`/`token` parameter); the whole URL is what must be rotated.

use palisade_core::{RuleMeta, Scanner, Severity};

use crate::rule::{Check, DEFAULT_WINDOW, SecretRule};

pub static RULES: &[&SecretRule] = &[
    &SLACK_BOT_TOKEN,
    &SLACK_USER_TOKEN,
    &SLACK_APP_TOKEN,
    &SLACK_EXPIRING_TOKEN,
    &SLACK_WEBHOOK,
    &DISCORD_WEBHOOK,
    &DISCORD_BOT_TOKEN,
    &TEAMS_WEBHOOK,
    &TELEGRAM_BOT_TOKEN,
    &MATTERMOST_ROCKETCHAT_WEBHOOK,
    &GOOGLE_CHAT_WEBHOOK,
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

pub static SLACK_BOT_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-079",
        "Slack bot token",
        Severity::High,
        "Revoke the bot token (auth.revoke, or Revoke tokens in the app's OAuth & Permissions page), reinstall the app to get a new one, and load it from a secret store.",
        crate::secret_doc!(
            "Finds Slack bot tokens: `xoxb-`, the workspace ID and bot user ID as numbers, and 24\nletters and digits.",
            "A bot token carries every scope granted to the app's bot in the workspace: typically reading\nchannel history and files, posting as the bot, and listing users. An attacker can read\nconversations the bot is in, exfiltrate files and post convincing phishing messages.",
            "```ini\nSLACK_BOT_TOKEN=xoxb-148276901245-3891024567781-Zq8rT2xVb6Nm4Kd1Hs9FpLwQ\n```",
            concat!(
                "```python\nclient = WebClient(token=os.environ[\"SLACK_BOT_TOKEN\"])  # from the secret store\n```\n",
                "Revoke and rotate: call `auth.revoke` with the token (or, for an app's bot and user tokens,\nopen the app at api.slack.com/apps → *OAuth & Permissions* → *Revoke tokens* / reinstall);\nthen load the new token from a secret store and check the workspace's access logs.\nTurn on token rotation so bot tokens expire."
            ),
            "- [Slack: Token types](https://api.slack.com/authentication/token-types)\n- [Slack: auth.revoke](https://api.slack.com/methods/auth.revoke)\n- [Slack: Using token rotation](https://api.slack.com/authentication/rotation)",
        ),
    ),
    keywords: &["xoxb-"],
    pattern: r"\b(?P<secret>xoxb-[0-9]{8,14}-[0-9]{8,14}-[A-Za-z0-9]{24})\b",
    min_entropy: None,
    path: None,
    allow: &["xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static SLACK_USER_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-080",
        "Slack user or legacy workspace token",
        Severity::High,
        "Revoke the token with auth.revoke (or reinstall the app), and load the new token from a secret store.",
        crate::secret_doc!(
            "Finds Slack user tokens (`xoxp-`) and the older workspace-app and session tokens (`xoxa-2-`,\n`xoxs-`): the prefix, three numeric IDs and 32 to 64 hexadecimal characters.",
            "A user token acts as the person who installed the app, with its user scopes: it can read\ntheir direct messages and private channels, search the workspace and post as them. Legacy\nand session tokens often carry even broader access.",
            "```js\nconst web = new WebClient(\"xoxp-148276901245-148276901246-3891024567781-5e0b…\");\n```",
            concat!(
                "```js\nconst web = new WebClient(process.env.SLACK_USER_TOKEN);\n```\n",
                "Revoke and rotate: call `auth.revoke` with the token (or, for an app's bot and user tokens,\nopen the app at api.slack.com/apps → *OAuth & Permissions* → *Revoke tokens* / reinstall);\nthen load the new token from a secret store and check the workspace's access logs.\nMigrate legacy tokens to a Slack app with granular scopes."
            ),
            "- [Slack: Token types](https://api.slack.com/authentication/token-types)\n- [Slack: auth.revoke](https://api.slack.com/methods/auth.revoke)\n- [Slack: Security best practices](https://api.slack.com/authentication/best-practices)",
        ),
    ),
    keywords: &["xoxp-", "xoxa-", "xoxs-"],
    pattern: r"\b(?P<secret>xox[pas]-(?:2-)?[0-9]{8,14}-[0-9]{8,14}-[0-9]{8,14}-[0-9a-f]{32,64})\b",
    min_entropy: None,
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static SLACK_APP_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-081",
        "Slack app-level token",
        Severity::High,
        "Revoke the app-level token in the app's Basic Information page (App-Level Tokens) and generate a new one kept in a secret store.",
        crate::secret_doc!(
            "Finds Slack app-level tokens: `xapp-1-`, the app ID, a numeric ID and 64 hexadecimal\ncharacters.",
            "App-level tokens act for the app across every workspace it is installed in. With\n`connections:write` an attacker can open Socket Mode connections and receive the app's\nevents (messages, interactions, slash commands) instead of, or alongside, the real app.",
            "```ini\nSLACK_APP_TOKEN=xapp-1-A05GLLRBY5T-5567640932018-3bcb…\n```",
            concat!(
                "```python\napp = App(token=os.environ[\"SLACK_BOT_TOKEN\"])\nSocketModeHandler(app, os.environ[\"SLACK_APP_TOKEN\"]).start()\n```\n",
                "Revoke and rotate: at api.slack.com/apps open the app, *Basic Information → App-Level\nTokens*, *Revoke* the token and generate a new one with only the scopes needed; store it in\nthe secret manager."
            ),
            "- [Slack: Token types — app-level tokens](https://api.slack.com/authentication/token-types#app-level)\n- [Slack: Using Socket Mode](https://api.slack.com/apis/socket-mode)",
        ),
    ),
    keywords: &["xapp-"],
    pattern: r"\b(?P<secret>xapp-1-[A-Z0-9]{9,12}-[0-9]{10,16}-[0-9a-f]{64})\b",
    min_entropy: None,
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static SLACK_EXPIRING_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-082",
        "Slack configuration, rotating or refresh token",
        Severity::High,
        "Revoke the token (auth.revoke, or Generate/Revoke on the app configuration tokens page) and keep configuration and refresh tokens in a secret store.",
        crate::secret_doc!(
            "Finds Slack's expiring tokens and their refresh tokens: app configuration tokens and\nrotating user or bot tokens (`xoxe.xoxp-1-`, `xoxe.xoxb-1-`), refresh tokens (`xoxe-1-`) and\nlegacy refresh tokens (`xoxr-`), each followed by a long URL-safe body.",
            "A configuration token can create, change and delete apps in the workspace through the App\nManifest API, for example add scopes or redirect URLs to an installed app. A refresh token\nmints new access tokens every time it is used, so it outlives the 12-hour access tokens and\ngives lasting access.",
            "```json\n{\"token\": \"xoxe.xoxp-1-Mi0yLTE0…\", \"refresh_token\": \"xoxe-1-My0xLTE0…\"}\n```",
            concat!(
                "```shell\n# keep both in the secret store and rotate with tooling.tokens.rotate\nslack api tooling.tokens.rotate refresh_token=\"$(vault kv get -field=refresh slack/config)\"\n```\n",
                "Revoke and rotate: call `auth.revoke` with the token; configuration tokens can also be\nrevoked on api.slack.com/apps under *Your App Configuration Tokens*. Generate a new pair and\nstore it in the secret manager."
            ),
            "- [Slack: tooling.tokens.rotate](https://api.slack.com/methods/tooling.tokens.rotate)\n- [Slack: Using token rotation](https://api.slack.com/authentication/rotation)\n- [Slack: App manifests — configuration tokens](https://api.slack.com/reference/manifests#config-tokens)",
        ),
    ),
    keywords: &["xoxe.xox", "xoxe-", "xoxr-"],
    pattern: r"\b(?P<secret>(?:xoxe\.xox[bp]-1|xoxe-1)-[A-Za-z0-9_-]{60,400}|xoxr-[A-Za-z0-9_-]{40,400})(?:[^A-Za-z0-9_-]|$)",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static SLACK_WEBHOOK: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-083",
        "Slack webhook URL",
        Severity::Medium,
        "Regenerate or remove the webhook (the app's Incoming Webhooks page, or the workflow's webhook step) and keep the new URL in a secret store.",
        crate::secret_doc!(
            "Finds Slack incoming webhook URLs (`https://hooks.slack.com/services/T…/B…/<24 characters>`)\nand Workflow Builder webhook URLs (`https://hooks.slack.com/triggers/…` and\n`…/workflows/…`).",
            "Anyone with the URL can post messages into the channel as the app, or start the workflow\nwith data of their choosing: enough for convincing phishing inside the workspace, or for\nflooding an alerting channel so real alerts are missed.",
            "```ini\nSLACK_WEBHOOK=https://hooks.slack.com/services/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\n```",
            "```yaml\n# GitHub Actions\n- uses: slackapi/slack-github-action@v2\n  with:\n    webhook: ${{ secrets.SLACK_WEBHOOK_URL }}\n    webhook-type: incoming-webhook\n```\nRevoke and rotate: at api.slack.com/apps open the app, *Incoming Webhooks*, remove the\nwebhook and add a new one (for Workflow Builder, delete the webhook trigger and create a new\none); keep the new URL in a secret store.",
            "- [Slack: Sending messages using incoming webhooks](https://api.slack.com/messaging/webhooks)\n- [Slack: Webhook triggers](https://api.slack.com/automation/triggers/webhook)\n- [Slack GitHub Action: sending data to a Workflow Builder webhook](https://docs.slack.dev/tools/slack-github-action/sending-techniques/sending-data-webhook-slack-workflow)",
        ),
    ),
    keywords: &["hooks.slack.com"],
    pattern: r"https://hooks\.slack\.com/(?:services/T[A-Z0-9]{8,12}/B[A-Z0-9]{8,12}|(?:workflows|triggers)/T[A-Z0-9]{8,12}/(?:A[A-Z0-9]{8,12}/)?[0-9]{8,20})/(?P<secret>[A-Za-z0-9]{24}(?:[A-Za-z0-9]{8})?)(?:[^A-Za-z0-9]|$)",
    min_entropy: None,
    path: None,
    allow: &["c6e6c0d868b3054ca0f4611a5dbadaf"],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static DISCORD_WEBHOOK: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-084",
        "Discord webhook URL",
        Severity::Medium,
        "Delete the webhook (Server Settings → Integrations → Webhooks) and create a new one whose URL stays in a secret store.",
        crate::secret_doc!(
            "Finds Discord webhook URLs: `https://discord.com/api/webhooks/<id>/<token>` (also\n`discordapp.com`, `canary.` and `ptb.` hosts and versioned `/api/v10/` paths).",
            "The URL is the only credential of a webhook: anyone who has it can post messages with any\nname and avatar into the channel (phishing links that look like they come from a bot the\nserver trusts), edit or delete the webhook's messages, and delete the webhook.",
            "```python\nrequests.post(\"https://discord.com/api/webhooks/1234567890123456789/Xk2…\", json={\"content\": \"deployed\"})\n```",
            "```python\nrequests.post(os.environ[\"DISCORD_WEBHOOK_URL\"], json={\"content\": \"deployed\"})\n```\nRevoke and rotate: *Server Settings → Integrations → Webhooks*, select the webhook and\n*Delete Webhook* (or `DELETE /webhooks/{id}/{token}`), create a new one and store its URL in a\nsecret store.",
            "- [Discord Developer Docs: Webhook resource](https://discord.com/developers/docs/resources/webhook)\n- [Discord Support: Intro to Webhooks](https://support.discord.com/hc/en-us/articles/228383668-Intro-to-Webhooks)",
        ),
    ),
    keywords: &["discord.com/api", "discordapp.com/api"],
    pattern: r"https://(?:(?:canary|ptb)\.)?discord(?:app)?\.com/api(?:/v[0-9]{1,2})?/webhooks/[0-9]{17,20}/(?P<secret>[A-Za-z0-9_-]{60,80})(?:[^A-Za-z0-9_-]|$)",
    min_entropy: None,
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

/// A Discord bot token starts with the bot's user ID (a snowflake of 17 to 20 digits) in
/// base64 without padding; anything else with the same shape is not a bot token.
fn check_discord_bot_token(token: &str) -> Check {
    use base64::Engine as _;
    let Some(first) = token.split('.').next() else {
        return Check::Invalid;
    };
    match base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(first) {
        Ok(id)
            if (17..=20).contains(&id.len())
                && id.iter().all(u8::is_ascii_digit)
                && id[0] != b'0' =>
        {
            Check::Valid
        }
        _ => Check::Invalid,
    }
}

pub static DISCORD_BOT_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-085",
        "Discord bot token",
        Severity::High,
        "Reset the bot token in the Developer Portal (Applications → the app → Bot → Reset Token) and load the new token from a secret store.",
        crate::secret_doc!(
            "Finds Discord bot tokens near the word \"discord\": three dot-separated parts, the first of\nwhich is the bot's numeric user ID in base64 (checked: it must decode to 17 to 20 digits),\nthen a 6-character timestamp and a 27 to 40-character HMAC.",
            "The token logs in as the bot. An attacker can read every channel the bot can see, post,\ndelete messages and, if the bot has moderation or administrator permissions, ban members,\nchange roles and take over the server.",
            "```python\nclient.run(\"MTA4NjY4MjQ0NzE0ODAzOTE0OA.GkXqWc.Zq8rT2xVb6Nm4Kd1Hs9FpLwQ3Ey6Tu0Io5P\")  # discord bot\n```",
            "```python\nclient.run(os.environ[\"DISCORD_TOKEN\"])\n```\nRevoke and rotate: in the Discord Developer Portal open *Applications → the app → Bot* and\n*Reset Token*; the old token stops working at once. Update the deployment from the secret\nstore and review the server's audit log.",
            "- [Discord Developer Docs: Authentication (bot tokens)](https://discord.com/developers/docs/reference#authentication)\n- [Discord Developer Docs: Getting started — bot token](https://discord.com/developers/docs/quick-start/getting-started)",
        ),
    ),
    keywords: &["discord"],
    pattern: r"(?:^|[^A-Za-z0-9_.-])(?P<secret>[MNO][A-Za-z0-9_-]{22,26}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,40})(?:[^A-Za-z0-9_.-]|$)",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: Some(check_discord_bot_token),
    window: DEFAULT_WINDOW,
};

pub static TEAMS_WEBHOOK: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-086",
        "Microsoft Teams webhook URL",
        Severity::Medium,
        "Remove the incoming webhook connector or Workflows flow (or regenerate its URL) and keep the new URL in a secret store.",
        crate::secret_doc!(
            "Finds Microsoft Teams incoming webhook URLs of Office 365 connectors\n(`https://<tenant>.webhook.office.com/webhookb2/<group>@<tenant>/IncomingWebhook/<id>/<owner>[/V2…]`,\nand the older `outlook.office.com/webhook/…`), and the Workflows (Power Automate) URLs that\nreplace them (`…logic.azure.com…/workflows/<id>/triggers/manual/paths/invoke?…&sig=…` and\n`…environment.api.powerplatform.com…`), whose `sig` parameter is the credential.",
            "Anyone with the URL can post cards into the channel, with links and buttons that look like\nthey come from a trusted integration, or run the flow with data of their choosing.",
            "```powershell\nInvoke-RestMethod -Method Post -Uri \"https://acme.webhook.office.com/webhookb2/…/IncomingWebhook/…\" -Body $card\n```",
            "```powershell\nInvoke-RestMethod -Method Post -Uri $env:TEAMS_WEBHOOK_URL -Body $card -ContentType 'application/json'\n```\nRevoke and rotate: for a connector, open the channel's *Connectors* (or *Manage channel →\nConnectors*), remove the Incoming Webhook and add a new one; for Workflows, open the flow and\ndelete or recreate the *When a Teams webhook request is received* trigger (or restrict who may\ntrigger it). Store the new URL in a secret store.",
            "- [Microsoft Learn: Create an Incoming Webhook](https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/add-incoming-webhook)\n- [Microsoft Support: Create incoming webhooks with Workflows for Microsoft Teams](https://support.microsoft.com/en-us/office/create-incoming-webhooks-with-workflows-for-microsoft-teams-8ae491c7-0394-4861-ba59-055e33f75498)\n- [Microsoft 365 Developer Blog: Retirement of Office 365 connectors within Microsoft Teams](https://devblogs.microsoft.com/microsoft365dev/retirement-of-office-365-connectors-within-microsoft-teams/)",
        ),
    ),
    keywords: &[
        "webhook.office.com",
        "outlook.office.com/webhook",
        "outlook.office365.com/webhook",
        "logic.azure.com",
        "api.powerplatform.com",
    ],
    pattern: r"https://(?:(?:[A-Za-z0-9-]+\.webhook\.office\.com/webhookb2|outlook\.office(?:365)?\.com/webhook)/[0-9a-f-]{36}@[0-9a-f-]{36}/IncomingWebhook/|[A-Za-z0-9.-]+\.(?:logic\.azure\.com|environment\.api\.powerplatform\.com)(?::443)?/(?:powerautomate/automations/direct/)?workflows/[0-9a-f]{32}/triggers/manual/paths/invoke\?[A-Za-z0-9=&%._-]*?sig=)(?P<secret>[0-9a-f]{32}/[0-9a-f-]{36}(?:/[A-Za-z0-9_-]{20,80})?|[A-Za-z0-9_%-]{20,})",
    min_entropy: None,
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static TELEGRAM_BOT_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-087",
        "Telegram bot token",
        Severity::High,
        "Revoke the token with @BotFather (/revoke, or /token to generate a new one) and load the new token from a secret store.",
        crate::secret_doc!(
            "Finds Telegram bot tokens near the words \"telegram\" or \"bot\": the bot's numeric ID (8 to\n10 digits), a colon and 35 URL-safe characters, also inside\n`https://api.telegram.org/bot<token>/…` URLs.",
            "The token is the bot's whole identity: whoever has it can read the messages users send to\nthe bot, answer as the bot, change its webhook to receive all its updates, and message\nevery user and group that talks to it.",
            "```ini\nTELEGRAM_BOT_TOKEN=7312945806:AAHq2xVb8Nm4Kd1Hs9FzLpQw3Ey6Tu0Io5P\n```",
            "```python\nbot = Bot(token=os.environ[\"TELEGRAM_BOT_TOKEN\"])\n```\nRevoke and rotate: in Telegram, message @BotFather, send `/revoke` (or `/token`) and choose\nthe bot; the old token stops working and BotFather prints a new one. Reset the webhook with\nthe new token (`setWebhook`) and keep the token in a secret store.",
            "- [Telegram: Bots tutorial — obtain your bot token](https://core.telegram.org/bots/tutorial#obtain-your-bot-token)\n- [Telegram Bot API: Authorizing your bot](https://core.telegram.org/bots/api#authorizing-your-bot)\n- [Telegram: Bot features — BotFather](https://core.telegram.org/bots/features#botfather)",
        ),
    ),
    keywords: &["telegram", "bot"],
    pattern: r"(?:\b|bot)(?P<secret>[0-9]{8,10}:[A-Za-z0-9_-]{35})(?:[^A-Za-z0-9_-]|$)",
    min_entropy: Some(3.5),
    path: None,
    allow: &[
        "AAFD39kkdpWt3ywyRZergyOLMaJhac60qc",
        "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
    ],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static MATTERMOST_ROCKETCHAT_WEBHOOK: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-088",
        "Mattermost or Rocket.Chat incoming webhook URL",
        Severity::Medium,
        "Delete the incoming webhook (Mattermost: Integrations → Incoming Webhooks; Rocket.Chat: Administration → Integrations) and create a new one whose URL stays in a secret store.",
        crate::secret_doc!(
            "Finds incoming webhook URLs of self-hosted chat servers: Mattermost\n(`https://<server>/hooks/<26-character ID>`, in Mattermost's ID alphabet) and Rocket.Chat\n(`https://<server>/hooks/<17-character integration ID>/<48-character token>`).",
            "The URL is the webhook's only credential: anyone who has it can post into the channel,\nand on Mattermost, unless locked, into other channels and under other display names, which\nmakes phishing inside the team easy.",
            "```shell\ncurl -d '{\"text\": \"build failed\"}' https://chat.acme.dev/hooks/xi8wbt4ujfdpzq9kc1o7ygmn3e\n```",
            "```shell\ncurl -d '{\"text\": \"build failed\"}' \"$MATTERMOST_WEBHOOK_URL\"\n```\nRevoke and rotate: Mattermost: *Product menu → Integrations → Incoming Webhooks*, *Delete*\nthe webhook and add a new one (lock it to its channel); Rocket.Chat: *Administration →\nWorkspace → Integrations*, open the incoming integration and delete or regenerate it. Store\nthe new URL in a secret store.",
            "- [Mattermost Developers: Incoming webhooks](https://developers.mattermost.com/integrate/webhooks/incoming/)\n- [Rocket.Chat Docs: Integrations](https://docs.rocket.chat/docs/integrations)",
        ),
    ),
    keywords: &["/hooks/"],
    pattern: r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?(?:/[A-Za-z0-9._~-]+)*?/hooks/(?P<secret>[23456789A-HJ-NP-TW-Za-km-z]{17}/[23456789A-HJ-NP-TW-Za-km-z]{48}|[13-9a-km-uw-z]{26})(?:[^A-Za-z0-9_-]|$)",
    min_entropy: Some(3.0),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static GOOGLE_CHAT_WEBHOOK: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-089",
        "Google Chat webhook URL",
        Severity::Medium,
        "Delete the webhook from the space (Apps & integrations → Webhooks) and create a new one whose URL stays in a secret store.",
        crate::secret_doc!(
            "Finds Google Chat incoming webhook URLs:\n`https://chat.googleapis.com/v1/spaces/<space>/messages?key=…&token=…`, where the `token`\nparameter authorizes posting.",
            "Anyone with the URL can post messages and cards into the space as the webhook, which\nmembers tend to trust as an internal integration.",
            "```python\nWEBHOOK = \"https://chat.googleapis.com/v1/spaces/AAAAx8Zr2Lm/messages?key=AIza…&token=Zq8r…%3D\"\n```",
            "```python\nWEBHOOK = os.environ[\"GOOGLE_CHAT_WEBHOOK_URL\"]\n```\nRevoke and rotate: in Google Chat open the space, *Apps & integrations → Webhooks*, delete\nthe webhook and add a new one; store the new URL in a secret store.",
            "- [Google for Developers: Build a Google Chat app as a webhook](https://developers.google.com/workspace/chat/quickstart/webhooks)",
        ),
    ),
    keywords: &["chat.googleapis.com"],
    pattern: r"https://chat\.googleapis\.com/v1/spaces/[A-Za-z0-9_-]{6,30}/messages\?[A-Za-z0-9=&%._-]*?token=(?P<secret>[A-Za-z0-9_%-]{20,100})",
    min_entropy: None,
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

#[cfg(test)]
pub(crate) fn samples(rng: &mut crate::testing::Rng) -> Vec<crate::testing::Sample> {
    use super::github::fresh;
    use crate::testing::Sample;
    use base64::Engine as _;
    let b64 = |rng: &mut crate::testing::Rng, n: usize| fresh(rng, |r| r.base64url(n));
    let guid = |rng: &mut crate::testing::Rng| {
        format!(
            "{}-{}-{}-{}-{}",
            rng.hex(8),
            rng.hex(4),
            rng.hex(4),
            rng.hex(4),
            rng.hex(12)
        )
    };
    let mattermost_id = |rng: &mut crate::testing::Rng| {
        fresh(rng, |r| r.pick(b"ybndrfg8ejkmcpqxot1uwisza345h769", 26))
    };
    let meteor_id = |rng: &mut crate::testing::Rng, n: usize| {
        fresh(rng, |r| {
            r.pick(
                b"23456789ABCDEFGHJKLMNPQRSTWXYZabcdefghijkmnopqrstuvwxyz",
                n,
            )
        })
    };
    let snowflake = format!("1{}", rng.digits(17));
    let discord_id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&snowflake);
    let not_an_id = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("1{}", rng.pick(b"abcdefghijklmnopqrstuvwxyz", 17)));
    vec![
        Sample {
            rule: "PAL-SEC-079",
            text: format!("SLACK_BOT_TOKEN=xoxb-{}-{}-{}\n", rng.digits(12), rng.digits(13), rng.alnum(24)),
            near_misses: vec![
                "SLACK_BOT_TOKEN=xoxb-your-bot-token\n".into(),
                "SLACK_BOT_TOKEN=xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy\n".into(),
                format!("SLACK_BOT_TOKEN=xoxb-{}-{}\n", rng.digits(12), rng.digits(13)),
            ],
        },
        Sample {
            rule: "PAL-SEC-080",
            text: format!(
                "const web = new WebClient(\"xoxp-{}-{}-{}-{}\");\n",
                rng.digits(12),
                rng.digits(12),
                rng.digits(13),
                rng.hex(32)
            ),
            near_misses: vec![
                "token=xoxp-12345-67890-1928471-abcdefg\n".into(),
                "const web = new WebClient(\"xoxp-...\");\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-081",
            text: format!("SLACK_APP_TOKEN=xapp-1-A{}-{}-{}\n", rng.upper_alnum(10), rng.digits(13), rng.hex(64)),
            near_misses: vec![
                "SLACK_APP_TOKEN=xapp-1-...\n".into(),
                "SlackAppToken: \"xapp-1-A0000-1111111111-abcdefghijklmnopqrstuvwxyz\",\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-082",
            text: format!(
                "{{\"ok\": true, \"token\": \"xoxe.xoxp-1-{}\", \"refresh_token\": \"xoxe-1-{}\"}}\n",
                b64(rng, 150),
                b64(rng, 140)
            ),
            near_misses: vec![
                "refresh_token=xoxe-1-abcdefg\n".into(),
                "{\"token\": \"xoxe.xoxp-...\", \"refresh_token\": \"xoxe-...\"}\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-083",
            text: format!(
                "SLACK_WEBHOOK=https://hooks.slack.com/services/T{}/B{}/{}\n",
                rng.upper_alnum(8),
                rng.upper_alnum(10),
                rng.alnum(24)
            ),
            near_misses: vec![
                "SLACK_WEBHOOK=https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX\n".into(),
                "webhook: https://hooks.slack.com/triggers/T0123456789/3141592653589/c6e6c0d868b3054ca0f4611a5dbadaf\n".into(),
                format!(
                    "SLACK_WEBHOOK=https://hooks.slack.com/services/T{}/B{}/{}\n",
                    rng.upper_alnum(8),
                    rng.upper_alnum(10),
                    rng.alnum(20)
                ),
            ],
        },
        Sample {
            rule: "PAL-SEC-083",
            text: format!("webhook: https://hooks.slack.com/triggers/T{}/{}/{}\n", rng.upper_alnum(10), rng.digits(13), rng.hex(32)),
            near_misses: vec![],
        },
        Sample {
            rule: "PAL-SEC-084",
            text: format!(
                "DISCORD_WEBHOOK_URL=https://discord.com/api/webhooks/{}/{}\n",
                rng.digits(19),
                b64(rng, 68)
            ),
            near_misses: vec![
                "DISCORD_WEBHOOK_URL=https://discord.com/api/webhooks/<id>/<token>\n".into(),
                format!("https://discord.com/api/webhooks/{}/{}\n", rng.digits(19), rng.alnum(30)),
            ],
        },
        Sample {
            rule: "PAL-SEC-084",
            text: format!("url = \"https://discordapp.com/api/webhooks/{}/{}\"\n", rng.digits(18), b64(rng, 68)),
            near_misses: vec![],
        },
        Sample {
            rule: "PAL-SEC-085",
            text: format!("DISCORD_BOT_TOKEN={discord_id}.{}.{}\n", b64(rng, 6), b64(rng, 38)),
            near_misses: vec![
                "DISCORD_BOT_TOKEN=your-discord-bot-token\n".into(),
                format!("discord session: {not_an_id}.{}.{}\n", b64(rng, 6), b64(rng, 38)),
            ],
        },
        Sample {
            rule: "PAL-SEC-086",
            text: format!(
                "TEAMS_WEBHOOK=https://acme.webhook.office.com/webhookb2/{}@{}/IncomingWebhook/{}/{}/V2{}\n",
                guid(rng),
                guid(rng),
                rng.hex(32),
                guid(rng),
                b64(rng, 40)
            ),
            near_misses: vec![
                "TEAMS_WEBHOOK=https://xxxxx.webhook.office.com/xxxxxxxxx\n".into(),
                format!("TEAMS_WEBHOOK=https://acme.webhook.office.com/webhookb2/{}@{}\n", guid(rng), guid(rng)),
            ],
        },
        Sample {
            rule: "PAL-SEC-086",
            text: format!(
                "uri: https://prod-{}.westeurope.logic.azure.com:443/workflows/{}/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={}\n",
                rng.digits(2),
                rng.hex(32),
                b64(rng, 43)
            ),
            near_misses: vec![format!(
                "uri: https://prod-12.westeurope.logic.azure.com:443/workflows/{}/triggers/manual/paths/invoke?api-version=2016-06-01\n",
                rng.hex(32)
            )],
        },
        Sample {
            rule: "PAL-SEC-087",
            text: format!("TELEGRAM_BOT_TOKEN={}:AA{}\n", rng.digits(10), b64(rng, 33)),
            near_misses: vec![
                "https://api.telegram.org/bot123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11/getMe\n".into(),
                "TELEGRAM_BOT_TOKEN=4839574812:AAFD39kkdpWt3ywyRZergyOLMaJhac60qc\n".into(),
                format!("TELEGRAM_BOT_TOKEN={}:AA{}\n", rng.digits(10), b64(rng, 20)),
            ],
        },
        Sample {
            rule: "PAL-SEC-087",
            text: format!("curl https://api.telegram.org/bot{}:AA{}/sendMessage\n", rng.digits(9), b64(rng, 33)),
            near_misses: vec![],
        },
        Sample {
            rule: "PAL-SEC-088",
            text: format!("curl -d @payload.json https://chat.acme.dev/hooks/{}\n", mattermost_id(rng)),
            near_misses: vec![
                "curl -d @payload.json https://your-mattermost-server.com/hooks/xxx-generatedkey-xxx\n".into(),
                format!("https://gitlab.com/api/v4/projects/42/hooks/{}\n", rng.digits(6)),
            ],
        },
        Sample {
            rule: "PAL-SEC-088",
            text: format!("ROCKETCHAT_URL=https://rocket.acme.dev/hooks/{}/{}\n", meteor_id(rng, 17), meteor_id(rng, 48)),
            near_misses: vec![],
        },
        Sample {
            rule: "PAL-SEC-089",
            text: format!(
                "WEBHOOK = \"https://chat.googleapis.com/v1/spaces/AAAA{}/messages?key=AIzaSy{}&token={}%3D\"\n",
                rng.alnum(7),
                b64(rng, 33),
                b64(rng, 43)
            ),
            near_misses: vec![
                "WEBHOOK = \"https://chat.googleapis.com/v1/spaces/SPACE_ID/messages?key=KEY&token=TOKEN\"\n".into(),
                format!("WEBHOOK = \"https://chat.googleapis.com/v1/spaces/AAAA{}/messages\"\n", rng.alnum(7)),
            ],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discord_bot_token_check_decodes_the_user_id() {
        assert_eq!(
            check_discord_bot_token(
                "MTA4NjY4MjQ0NzE0ODAzOTE0OA.GkXqWc.Zq8rT2xVb6Nm4Kd1Hs9FpLwQ3Ey6Tu0Io5P"
            ),
            Check::Valid
        );
        assert_eq!(
            check_discord_bot_token(
                "MWFiY2RlZmdoaWprbG1ub3BxcnM.GkXqWc.Zq8rT2xVb6Nm4Kd1Hs9FpLwQ3Ey6Tu0Io5P"
            ),
            Check::Invalid
        );
    }

    #[test]
    fn webhook_tokens_are_reported() {
        let engine = crate::engine::Engine::new(RULES).unwrap();
        let url = "https://hooks.slack.com/services/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";
        let hits = engine.scan("x", format!("url: \"{url}\"\n").as_bytes());
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].secret, "aB3dE5fG7hJ9kL1mN3pQ5rS7");
        // A longer last segment is not a webhook token.
        assert!(engine.scan("x", format!("{url}Z\n").as_bytes()).is_empty());
    }
}
