//! AI model APIs: OpenAI, Anthropic, Hugging Face, Cohere, Replicate, Groq and Mistral.

use palisade_core::{RuleMeta, Scanner, Severity};

use crate::rule::{Check, DEFAULT_WINDOW, SecretRule};

pub static RULES: &[&SecretRule] = &[
    &OPENAI_API_KEY,
    &OPENAI_ADMIN_KEY,
    &ANTHROPIC_API_KEY,
    &ANTHROPIC_ADMIN_KEY,
    &HUGGING_FACE_TOKEN,
    &COHERE_API_KEY,
    &REPLICATE_API_TOKEN,
    &GROQ_API_KEY,
    &MISTRAL_API_KEY,
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

pub static OPENAI_API_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-149",
        "OpenAI API key",
        Severity::High,
        "Delete the key in the OpenAI platform (API keys page of the project) and load a new one from a secret manager.",
        crate::secret_doc!(
            "Finds OpenAI API keys: project keys (`sk-proj-`), service account keys (`sk-svcacct-`) and\nolder user keys (`sk-`), all of which carry the marker `T3BlbkFJ` (base64 of \"OpenAI\") in\nthe middle. Admin keys have their own rule.",
            "A key calls the API as its project or user: it runs up usage billed to the organization,\nreads the project's files, vector stores, fine-tuned models and stored responses, and with\nwrite permissions changes assistants and fine-tunes. Keys found in public code are abused\nwithin minutes.",
            "```python\nclient = OpenAI(api_key=\"sk-proj-Hq2…T3BlbkFJ…x9Q\")\n```",
            "```python\nclient = OpenAI()  # reads OPENAI_API_KEY from the environment\n```\nRevoke and rotate: on *platform.openai.com* open the project's *API keys* page (service account\nkeys are under the project's *Service accounts*), delete the key, create a replacement with\nrestricted permissions if possible, and review *Usage* for requests you did not make.",
            "- [OpenAI: API authentication](https://platform.openai.com/docs/api-reference/authentication)\n- [OpenAI: Best practices for API key safety](https://help.openai.com/en/articles/5112595-best-practices-for-api-key-safety)",
        ),
    ),
    keywords: &["t3blbkfj"],
    pattern: r"\b(?P<secret>sk-(?:proj-|svcacct-|None-)?[0-9A-Za-z_-]{20,200}T3BlbkFJ[0-9A-Za-z_-]{20,200})(?:[^0-9A-Za-z_-]|$)",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: Some(openai_not_admin),
    window: DEFAULT_WINDOW,
};

/// Admin keys (`sk-admin-`) are reported by their own, stricter rule.
fn openai_not_admin(secret: &str) -> Check {
    if secret.starts_with("sk-admin-") {
        Check::Invalid
    } else {
        Check::Unknown
    }
}

pub static OPENAI_ADMIN_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-150",
        "OpenAI admin key",
        Severity::Critical,
        "Delete the admin key in the OpenAI platform (Organization settings → Admin keys) and keep administration out of application code.",
        crate::secret_doc!(
            "Finds OpenAI organization admin keys: `sk-admin-` followed by at least 40 URL-safe characters.",
            "An admin key manages the organization through the Administration API: it invites and\nremoves members, creates projects, service accounts and API keys, and reads audit logs and\nusage. Whoever holds it can mint new keys and keep access after the leak is found.",
            "```bash\ncurl https://api.openai.com/v1/organization/users -H 'Authorization: Bearer sk-admin-Jm3…T3BlbkFJ…Pq'\n```",
            "```bash\ncurl https://api.openai.com/v1/organization/users -H \"Authorization: Bearer ${OPENAI_ADMIN_KEY}\"\n```\nRevoke and rotate: an organization owner opens *Organization settings → Admin keys* and deletes\nthe key (or calls `DELETE /v1/organization/admin_api_keys/{key_id}`); then review the audit\nlog for members, projects and keys created while it was exposed and remove them.",
            "- [OpenAI: Administration API](https://platform.openai.com/docs/api-reference/administration)\n- [OpenAI: Admin API keys](https://platform.openai.com/docs/api-reference/admin-api-keys)",
        ),
    ),
    keywords: &["sk-admin-"],
    pattern: r"\b(?P<secret>sk-admin-[0-9A-Za-z_-]{40,250})(?:[^0-9A-Za-z_-]|$)",
    min_entropy: Some(4.0),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static ANTHROPIC_API_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-151",
        "Anthropic API key",
        Severity::High,
        "Delete the key in the Claude Console (Settings → API keys) and load a new one from a secret manager.",
        crate::secret_doc!(
            "Finds Anthropic API keys: `sk-ant-api03-` followed by 93 URL-safe characters and `AA`\n(108 characters in all).",
            "An API key sends requests billed to its workspace and reads what the workspace stores:\nuploaded files, batches and their results. Leaked keys are used to resell model access until\nthe spend limit is reached.",
            "```typescript\nconst anthropic = new Anthropic({ apiKey: 'sk-ant-api03-Rk8…c2AA' });\n```",
            "```typescript\nconst anthropic = new Anthropic(); // reads ANTHROPIC_API_KEY from the environment\n```\nRevoke and rotate: in the Claude Console open *Settings → API keys*, disable or delete the key,\ncreate a new one in the right workspace, and review *Usage* and *Cost* for the exposure\nwindow. Anthropic also revokes keys reported by GitHub secret scanning.",
            "- [Anthropic: API overview and authentication](https://docs.anthropic.com/en/api/overview)\n- [Anthropic: API key best practices](https://support.anthropic.com/en/articles/9767949-api-key-best-practices-keeping-your-keys-safe-and-secure)",
        ),
    ),
    keywords: &["sk-ant-api"],
    pattern: r"\b(?P<secret>sk-ant-api03-[0-9A-Za-z_-]{93}AA)(?:[^0-9A-Za-z_-]|$)",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static ANTHROPIC_ADMIN_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-152",
        "Anthropic admin key",
        Severity::Critical,
        "Delete the admin key in the Claude Console (Settings → Admin keys) and keep organization administration out of application code.",
        crate::secret_doc!(
            "Finds Anthropic Admin API keys: `sk-ant-admin01-` followed by the key (URL-safe characters).",
            "An admin key manages the organization through the Admin API: members and invites,\nworkspaces, and the organization's API keys, and it reads usage and cost reports. An attacker\ncan create keys of their own and add themselves to the organization.",
            "```bash\nexport ANTHROPIC_ADMIN_KEY=sk-ant-admin01-Vb4…z7AA\n```",
            "```bash\n# Admin automation reads the key from the secret manager at run time\nANTHROPIC_ADMIN_KEY=\"$(vault kv get -field=key secret/anthropic-admin)\" ./sync-workspaces\n```\nRevoke and rotate: an organization admin opens *Settings → Admin keys* in the Claude Console and\ndeletes the key, then reviews members, invites, workspaces and API keys created while it was\nexposed.",
            "- [Anthropic: Admin API](https://docs.anthropic.com/en/api/administration-api)",
        ),
    ),
    keywords: &["sk-ant-admin"],
    pattern: r"\b(?P<secret>sk-ant-admin01-[0-9A-Za-z_-]{80,120})(?:[^0-9A-Za-z_-]|$)",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static HUGGING_FACE_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-153",
        "Hugging Face access token",
        Severity::High,
        "Invalidate the token in Hugging Face (Settings → Access Tokens) and create a fine-grained replacement kept in a secret manager.",
        crate::secret_doc!(
            "Finds Hugging Face user access tokens: `hf_` followed by 34 letters (and legacy organization\ntokens, `api_org_` followed by 34 letters).",
            "A write token pushes to every model, dataset and Space of its owner and their\norganizations: an attacker can replace model weights with a backdoored or pickled payload that\nruns on every machine that loads it. Read tokens expose private and gated repositories.",
            "```python\nlogin(token=\"hf_KzQ…VwL\")\n```",
            "```python\nfrom huggingface_hub import login\nlogin()  # uses HF_TOKEN from the environment or the cached login\n```\nRevoke and rotate: on huggingface.co open *Settings → Access Tokens*, *Invalidate and refresh*\nor delete the token, prefer fine-grained tokens limited to the repositories needed, and check\nthe repositories' commit history for pushes you did not make.",
            "- [Hugging Face: User access tokens](https://huggingface.co/docs/hub/security-tokens)\n- [Hugging Face: Secret scanning](https://huggingface.co/docs/hub/security-secrets)",
        ),
    ),
    keywords: &["hf_", "api_org_"],
    pattern: r"\b(?P<secret>(?:hf_|api_org_)[A-Za-z]{34})\b",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static COHERE_API_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-154",
        "Cohere API key",
        Severity::High,
        "Delete the key in the Cohere dashboard (API keys) and load its replacement from a secret manager.",
        crate::secret_doc!(
            "Finds Cohere API keys: 40 letters and digits assigned to `CO_API_KEY` or a name with `cohere`\nand `key` / `token` in it, or passed to `cohere.Client(…)` / `cohere.ClientV2(…)`.",
            "A production key runs models billed to the account and reads its datasets, fine-tuned\nmodels and connectors; trial keys still expose the account's data.",
            "```python\nco = cohere.ClientV2(\"Zq8L…u4Tx\")\n```",
            "```python\nco = cohere.ClientV2()  # reads CO_API_KEY from the environment\n```\nRevoke and rotate: in the Cohere dashboard open *API keys*, delete the key, create a new one and\ndeploy it; review usage for the exposure window.",
            "- [Cohere: API reference, authentication](https://docs.cohere.com/reference/about)",
        ),
    ),
    keywords: &["cohere", "co_api_key"],
    pattern: r#"(?:(?:(?i:cohere)[\w.-]{0,20}?|\b(?i:co)[_.-])(?i:api[_.-]?key|key|token)["']?\s*[:=]\s*["']?|(?i:cohere)\.(?:Async)?Client(?:V2)?\(\s*(?:api_key\s*=\s*)?["'])(?P<secret>[0-9A-Za-z]{40})\b"#,
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static REPLICATE_API_TOKEN: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-155",
        "Replicate API token",
        Severity::High,
        "Disable the token on Replicate (Account → API tokens) and create a new one kept in a secret manager.",
        crate::secret_doc!(
            "Finds Replicate API tokens: `r8_` followed by 37 letters and digits.",
            "The token runs predictions and trainings billed to the account (GPU time adds up quickly),\nreads prediction inputs and outputs, and can push new versions of the account's models and\ncreate deployments.",
            "```bash\nexport REPLICATE_API_TOKEN=r8_Lq9…Zx2\n```",
            "```bash\n# The runtime provides REPLICATE_API_TOKEN from its secret store\npython predict.py\n```\nRevoke and rotate: on replicate.com open *Account settings → API tokens*, disable the token and\ncreate a new one; review the predictions and trainings list for runs you did not start.",
            "- [Replicate: API tokens](https://replicate.com/docs/topics/security/api-tokens)\n- [Replicate: HTTP API authentication](https://replicate.com/docs/reference/http#authentication)",
        ),
    ),
    keywords: &["r8_"],
    pattern: r"\b(?P<secret>r8_[0-9A-Za-z]{37})\b",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static GROQ_API_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-156",
        "Groq API key",
        Severity::High,
        "Delete the key in the GroqCloud console (API Keys) and load a new one from a secret manager.",
        crate::secret_doc!(
            "Finds GroqCloud API keys: `gsk_` followed by 52 letters and digits.",
            "The key runs inference billed to the organization and reads its batches and files; leaked\nkeys are resold for free model access until rate or spend limits stop them.",
            "```javascript\nconst groq = new Groq({ apiKey: 'gsk_Yt6…0Rm' });\n```",
            "```javascript\nconst groq = new Groq(); // reads GROQ_API_KEY from the environment\n```\nRevoke and rotate: in the GroqCloud console open *API Keys*, delete the key, create a\nreplacement, and check usage for the exposure window.",
            "- [Groq: Quickstart (API keys)](https://console.groq.com/docs/quickstart)",
        ),
    ),
    keywords: &["gsk_"],
    pattern: r"\b(?P<secret>gsk_[0-9A-Za-z]{52})\b",
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

pub static MISTRAL_API_KEY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-157",
        "Mistral AI API key",
        Severity::High,
        "Delete the key in Mistral's console (API Keys) and load a new one from a secret manager.",
        crate::secret_doc!(
            "Finds Mistral AI API keys: 32 letters and digits assigned to a name with `mistral` and\n`key` / `token` in it (`MISTRAL_API_KEY`), or passed as `Mistral(api_key=\"…\")`. The format has\nno prefix, so the name is required.",
            "The key runs models billed to the workspace and reads its files, fine-tuning jobs, agents\nand libraries.",
            "```python\nclient = Mistral(api_key=\"Qw3n…8Tz\")\n```",
            "```python\nclient = Mistral(api_key=os.environ[\"MISTRAL_API_KEY\"])\n```\nRevoke and rotate: in Mistral's console (*La Plateforme*) open *API Keys*, delete the key,\ncreate a new one with an expiry, and check usage for the exposure window.",
            "- [Mistral AI: Quickstart (API keys)](https://docs.mistral.ai/getting-started/quickstart/)",
        ),
    ),
    keywords: &["mistral"],
    pattern: r#"(?:(?i:mistral)[\w.-]{0,20}?(?i:api[_.-]?key|key|token)["']?\s*[:=]\s*["']?|(?i:mistral)(?:Client)?\(\s*api_key\s*=\s*["'])(?P<secret>[0-9A-Za-z]{32})\b"#,
    min_entropy: Some(3.5),
    path: None,
    allow: &[],
    check: None,
    window: DEFAULT_WINDOW,
};

#[cfg(test)]
pub(crate) fn samples(rng: &mut crate::testing::Rng) -> Vec<crate::testing::Sample> {
    use crate::testing::Sample;
    let rng = &mut super::fresh::Fresh(rng);
    let letters = |rng: &mut super::fresh::Fresh<'_>, n: usize| {
        rng.pick(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", n)
    };
    vec![
        Sample {
            rule: "PAL-SEC-149",
            text: format!("OPENAI_API_KEY=sk-proj-{}T3BlbkFJ{}\n", rng.base64url(74), rng.base64url(74)),
            near_misses: vec![
                "OPENAI_API_KEY=sk-...\n".into(),
                "OPENAI_API_KEY=sk-proj-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxT3BlbkFJxxxxxxxxxxxxxxxxxxxxxxxx\n".into(),
                format!("OPENAI_API_KEY=sk-proj-{}\n", rng.alnum(40)),
            ],
        },
        Sample {
            rule: "PAL-SEC-149",
            text: format!("openai.api_key = \"sk-{}T3BlbkFJ{}\"\n", rng.alnum(20), rng.alnum(20)),
            near_misses: vec![format!("# base64 of OpenAI is T3BlbkFJ, see {}\n", rng.hex(12))],
        },
        Sample {
            rule: "PAL-SEC-150",
            text: format!("  -H 'Authorization: Bearer sk-admin-{}T3BlbkFJ{}'\n", rng.base64url(58), rng.base64url(58)),
            near_misses: vec![
                "  -H 'Authorization: Bearer sk-admin-...'\n".into(),
                format!("  -H 'Authorization: Bearer sk-admin-{}'\n", rng.base64url(16)),
            ],
        },
        Sample {
            rule: "PAL-SEC-151",
            text: format!("ANTHROPIC_API_KEY=sk-ant-api03-{}AA\n", rng.base64url(93)),
            near_misses: vec![
                "ANTHROPIC_API_KEY=sk-ant-api03-...\n".into(),
                format!("ANTHROPIC_API_KEY=sk-ant-api03-{}\n", rng.base64url(40)),
                format!("ANTHROPIC_API_KEY=sk-ant-api03-{}ZZ\n", rng.base64url(93)),
            ],
        },
        Sample {
            rule: "PAL-SEC-152",
            text: format!("export ANTHROPIC_ADMIN_KEY=sk-ant-admin01-{}AA\n", rng.base64url(93)),
            near_misses: vec![
                "export ANTHROPIC_ADMIN_KEY=sk-ant-admin01-...\n".into(),
                format!("export ANTHROPIC_ADMIN_KEY=sk-ant-admin01-{}\n", rng.base64url(30)),
            ],
        },
        Sample {
            rule: "PAL-SEC-153",
            text: format!("HF_TOKEN=hf_{}\n", letters(rng, 34)),
            near_misses: vec![
                "path = hf_hub_download(repo_id=\"org/model\", filename=\"config.json\")\n".into(),
                "HF_TOKEN=hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n".into(),
                format!("HF_TOKEN=hf_{}7\n", letters(rng, 33)),
            ],
        },
        Sample {
            rule: "PAL-SEC-154",
            text: format!("CO_API_KEY={}\n", rng.alnum(40)),
            near_misses: vec![
                "CO_API_KEY=<your-cohere-api-key>\n".into(),
                format!("cohere model {} selected\n", rng.alnum(40)),
                format!("CO_API_KEY={}\n", rng.alnum(24)),
            ],
        },
        Sample {
            rule: "PAL-SEC-154",
            text: format!("co = cohere.ClientV2(\"{}\")\n", rng.alnum(40)),
            near_misses: vec![],
        },
        Sample {
            rule: "PAL-SEC-155",
            text: format!("export REPLICATE_API_TOKEN=r8_{}\n", rng.alnum(37)),
            near_misses: vec![
                "export REPLICATE_API_TOKEN=r8_...\n".into(),
                format!("export REPLICATE_API_TOKEN=r8_{}\n", rng.alnum(20)),
            ],
        },
        Sample {
            rule: "PAL-SEC-156",
            text: format!("GROQ_API_KEY=gsk_{}\n", rng.alnum(52)),
            near_misses: vec![
                "GROQ_API_KEY=gsk_your_api_key_here\n".into(),
                format!("GROQ_API_KEY=gsk_{}\n", rng.alnum(30)),
            ],
        },
        Sample {
            rule: "PAL-SEC-157",
            text: format!("MISTRAL_API_KEY={}\n", rng.alnum(32)),
            near_misses: vec![
                "MISTRAL_API_KEY=your-mistral-api-key\n".into(),
                format!("mistral-large model id {}\n", rng.uuid()),
                format!("MISTRAL_API_KEY={}\n", rng.alnum(20)),
            ],
        },
        Sample {
            rule: "PAL-SEC-157",
            text: format!("client = Mistral(api_key=\"{}\")\n", rng.alnum(32)),
            near_misses: vec![],
        },
    ]
}
