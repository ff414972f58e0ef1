//! Private keys: PEM blocks (PKCS#1 RSA, SEC1 EC, DSA, PKCS#8), OpenSSH, OpenPGP and PuTTY
//! key files, unencrypted (CRITICAL) and passphrase-protected (MEDIUM). Every rule decodes the
//! key body and checks its envelope (a DER SEQUENCE, the `openssh-key-v1` magic, an OpenPGP
//! secret-key packet), so truncated documentation snippets and public keys are not reported.

use palisade_core::{RuleMeta, Scanner, Severity};

use super::decode::{self, PgpKey};
use crate::rule::{Check, SecretRule};

pub static RULES: &[&SecretRule] = &[
    &RSA,
    &EC,
    &DSA,
    &OPENSSH,
    &PGP,
    &PKCS8,
    &PUTTY,
    &PKCS8_ENCRYPTED,
    &PEM_ENCRYPTED,
    &OPENSSH_ENCRYPTED,
    &PGP_ENCRYPTED,
    &PUTTY_ENCRYPTED,
];

/// Keys are a few kilobytes; RSA-8192 in PEM is about 6.5 KB.
const KEY_WINDOW: usize = 16384;

const FIX_CLEAR: &str = "Remove the key from the file and its history, replace the key pair (revoke the certificate, remove the public key from authorized_keys or the service it was registered with), and load the new key from a secret store at runtime.";
const FIX_ENCRYPTED: &str = "Remove the key from the file and its history and replace the key pair: a passphrase only slows down an offline guessing attack, it does not make a published key safe.";

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

// Separators and bodies shared by the PEM patterns. Keys appear as files, but also inside JSON
// or YAML strings with `\n` escapes, so an escaped newline counts as layout.
macro_rules! sep {
    () => {
        r"(?:\s|\\[rn])*"
    };
}
macro_rules! body {
    () => {
        r"(?P<secret>[A-Za-z0-9+/=][A-Za-z0-9+/=\s\\]{38,}[A-Za-z0-9+/=])"
    };
}
macro_rules! pem {
    ($label:literal) => {
        concat!(
            "-----BEGIN ",
            $label,
            "-----",
            sep!(),
            body!(),
            sep!(),
            "-----END ",
            $label,
            "-----"
        )
    };
}

fn check_der_key(body: &str) -> Check {
    match decode::b64(body) {
        Some(der) if decode::is_der_private_key(&der) => Check::Valid,
        _ => Check::Invalid,
    }
}

fn check_der_encrypted(body: &str) -> Check {
    match decode::b64(body) {
        Some(der) if decode::is_der_encrypted_private_key(&der) => Check::Valid,
        _ => Check::Invalid,
    }
}

/// Legacy OpenSSL encryption (`Proc-Type: 4,ENCRYPTED`): the body is block-cipher output.
fn check_pem_encrypted(body: &str) -> Check {
    match decode::b64(body) {
        Some(raw) if raw.len() >= 64 && raw.len() % 8 == 0 => Check::Valid,
        _ => Check::Invalid,
    }
}

fn check_openssh(body: &str) -> Check {
    match decode::b64(body)
        .as_deref()
        .and_then(decode::openssh_cipher)
    {
        Some(c) if c == "none" => Check::Valid,
        _ => Check::Invalid,
    }
}

fn check_openssh_encrypted(body: &str) -> Check {
    match decode::b64(body)
        .as_deref()
        .and_then(decode::openssh_cipher)
    {
        Some(c) if c != "none" => Check::Valid,
        _ => Check::Invalid,
    }
}

/// Decodes an armored OpenPGP key: its first packet, and whether the CRC-24 line matches.
fn pgp(body: &str) -> Option<(PgpKey, bool)> {
    let (data, crc) = decode::pgp_armor_body(body);
    let raw = decode::b64(&data)?;
    let key = decode::pgp_secret_key(&raw)?;
    let crc_ok = match crc.and_then(|c| decode::b64(&c)) {
        Some(c) if c.len() == 3 => {
            let want = ((c[0] as u32) << 16) | ((c[1] as u32) << 8) | c[2] as u32;
            want == decode::crc24(&raw)
        }
        Some(_) => false,
        None => true,
    };
    Some((key, crc_ok))
}

fn check_pgp(body: &str) -> Check {
    match pgp(body) {
        Some((PgpKey::Clear | PgpKey::Unknown, true)) => Check::Valid,
        Some((PgpKey::Clear | PgpKey::Unknown, false)) => Check::ChecksumMismatch,
        _ => Check::Invalid,
    }
}

fn check_pgp_encrypted(body: &str) -> Check {
    match pgp(body) {
        Some((PgpKey::Protected, true)) => Check::Valid,
        Some((PgpKey::Protected, false)) => Check::ChecksumMismatch,
        _ => Check::Invalid,
    }
}

/// An unencrypted PPK private blob is SSH wire format: it starts with a length-prefixed field.
fn check_putty(body: &str) -> Check {
    match decode::b64(body) {
        Some(raw) if raw.len() >= 8 => {
            let n = u32::from_be_bytes([raw[0], raw[1], raw[2], raw[3]]) as usize;
            if n > 0 && 4 + n <= raw.len() {
                Check::Valid
            } else {
                Check::Invalid
            }
        }
        _ => Check::Invalid,
    }
}

/// An encrypted PPK private blob is AES-256-CBC output.
fn check_putty_encrypted(body: &str) -> Check {
    match decode::b64(body) {
        Some(raw) if raw.len() >= 16 && raw.len() % 16 == 0 => Check::Valid,
        _ => Check::Invalid,
    }
}

pub static RSA: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-019",
        "RSA private key (PKCS#1 PEM)",
        Severity::Critical,
        FIX_CLEAR,
        RSA_DOC,
    ),
    keywords: &["begin rsa private key"],
    pattern: pem!("RSA PRIVATE KEY"),
    min_entropy: None,
    path: None,
    allow: &[],
    check: Some(check_der_key),
    window: KEY_WINDOW,
};

const RSA_DOC: &str = crate::secret_doc!(
    "Finds unencrypted RSA private keys in PKCS#1 PEM form (`-----BEGIN RSA PRIVATE KEY-----`), \
     as files, or embedded in JSON and YAML strings with `\\n` escapes. The base64 body must \
     decode to a DER SEQUENCE that starts with the version INTEGER; truncated snippets from \
     documentation are ignored.",
    "A private key is the identity itself: whoever has it can sign as the server (TLS), log in \
     where the public key is authorized (SSH deploy keys, CI), decrypt traffic or data encrypted \
     to it, and sign tokens or packages that others trust. Without a passphrase, using it takes \
     no effort at all.",
    "```text\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAy8Dbv8prpJ/0kKhlGeJYozo2t60EG8L0561g13R29LvMR5hy\n...\n-----END RSA PRIVATE KEY-----\n```",
    "```yaml\n# Mount the key from a secret store at runtime instead of committing it\nvolumes:\n  - name: deploy-key\n    secret:\n      secretName: deploy-key   # created by External Secrets / Vault, not in Git\n```\nRevoke and rotate: generate a new key pair (`openssl genpkey -algorithm RSA -out new.pem` \
     or `ssh-keygen -t ed25519`), replace the public key wherever the old one was trusted \
     (authorized_keys, deploy keys, the CA: revoke the certificate), then delete the old key \
     and purge it from history (`git filter-repo`).",
    "- [RFC 7468: Textual encodings of PKIX, PKCS and CMS structures](https://www.rfc-editor.org/rfc/rfc7468)\n\
     - [RFC 8017: PKCS #1 RSA private key syntax](https://www.rfc-editor.org/rfc/rfc8017#appendix-A.1.2)\n\
     - [GitHub: Removing sensitive data from a repository](https://docs.github.com/en/authentication/keeping-your-account-and-data-secure/removing-sensitive-data-from-a-repository)",
);

pub static EC: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-020",
        "EC private key (SEC1 PEM)",
        Severity::Critical,
        FIX_CLEAR,
        EC_DOC,
    ),
    keywords: &["begin ec private key"],
    pattern: pem!("EC PRIVATE KEY"),
    min_entropy: None,
    path: None,
    allow: &[],
    check: Some(check_der_key),
    window: KEY_WINDOW,
};

const EC_DOC: &str = crate::secret_doc!(
    "Finds unencrypted elliptic-curve private keys in SEC1 PEM form \
     (`-----BEGIN EC PRIVATE KEY-----`), whose body must decode to a DER SEQUENCE starting with \
     the version INTEGER.",
    "EC keys sign TLS handshakes, JWTs (ES256), code and SSH logins. A leaked key lets anyone \
     impersonate its owner and forge signatures that verifiers accept until the key is revoked.",
    "```text\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oBXyEc0QzP9aoAoGCCqGSM49\n...\n-----END EC PRIVATE KEY-----\n```",
    "```yaml\n# Reference the key, do not embed it\ntls:\n  keyFile: /run/secrets/tls.key   # mounted from the secret store\n```\nRevoke and rotate: create a new key (`openssl ecparam -genkey -name prime256v1`), reissue \
     the certificate or re-register the public key, revoke the old certificate with the CA, \
     and remove the old key from the repository history.",
    "- [RFC 5915: Elliptic Curve Private Key Structure](https://www.rfc-editor.org/rfc/rfc5915)\n\
     - [RFC 7468: Textual encodings](https://www.rfc-editor.org/rfc/rfc7468)",
);

pub static DSA: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-021",
        "DSA private key (PEM)",
        Severity::Critical,
        FIX_CLEAR,
        DSA_DOC,
    ),
    keywords: &["begin dsa private key"],
    pattern: pem!("DSA PRIVATE KEY"),
    min_entropy: None,
    path: None,
    allow: &[],
    check: Some(check_der_key),
    window: KEY_WINDOW,
};

const DSA_DOC: &str = crate::secret_doc!(
    "Finds unencrypted DSA private keys in OpenSSL's PEM form \
     (`-----BEGIN DSA PRIVATE KEY-----`), whose body must decode to a DER SEQUENCE starting \
     with the version INTEGER.",
    "DSA keys are mostly old SSH host and user keys. A leaked one still authenticates wherever \
     its public half is trusted, and DSA itself is deprecated, so the key should go either way.",
    "```text\n-----BEGIN DSA PRIVATE KEY-----\nMIIBuwIBAAKBgQCvD1ZJkXU2mnWmPbq9XcRPR2y0Y8B5lZgL4yqj3vjB6u5wq1Fw\n...\n-----END DSA PRIVATE KEY-----\n```",
    "```sh\n# Replace with a modern key kept outside the repository\nssh-keygen -t ed25519 -f ~/.ssh/id_ed25519\n```\nRevoke and rotate: remove the DSA public key from every `authorized_keys` and service it \
     was registered with, deploy the new key, and purge the old one from history.",
    "- [RFC 7468: Textual encodings](https://www.rfc-editor.org/rfc/rfc7468)\n\
     - [OpenSSH release notes: DSA support removed](https://www.openssh.com/releasenotes.html)",
);

pub static OPENSSH: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-022",
        "OpenSSH private key",
        Severity::Critical,
        FIX_CLEAR,
        OPENSSH_DOC,
    ),
    keywords: &["begin openssh private key"],
    pattern: pem!("OPENSSH PRIVATE KEY"),
    min_entropy: None,
    path: None,
    allow: &[],
    check: Some(check_openssh),
    window: KEY_WINDOW,
};

const OPENSSH_DOC: &str = crate::secret_doc!(
    "Finds unencrypted OpenSSH private keys (`-----BEGIN OPENSSH PRIVATE KEY-----`): the body \
     must decode to the `openssh-key-v1` envelope with cipher `none`. Passphrase-protected \
     keys are reported by PAL-SEC-028 instead.",
    "An SSH private key logs in to every host and Git service where its public key is \
     authorized: servers, deploy keys with write access, CI runners. Unencrypted, it needs \
     nothing else.",
    "```text\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\n...\n-----END OPENSSH PRIVATE KEY-----\n```",
    "```yaml\n# CI: the key comes from the CI secret store, never from the repository\n- uses: webfactory/ssh-agent@v0.9.0\n  with:\n    ssh-private-key: ${{ secrets.DEPLOY_KEY }}\n```\nRevoke and rotate: delete the public key from `~/.ssh/authorized_keys` on every host and \
     from the Git provider (repository *Settings → Deploy keys*, or your account's SSH keys), \
     create a new key with `ssh-keygen -t ed25519`, and purge the old key from history.",
    "- [OpenSSH PROTOCOL.key: the private key format](https://github.com/openssh/openssh-portable/blob/master/PROTOCOL.key)\n\
     - [ssh-keygen(1)](https://man.openbsd.org/ssh-keygen.1)",
);

/// An armored block: optional `Name: value` header lines, then the radix-64 body.
const PGP_PATTERN: &str = concat!(
    "-----BEGIN PGP PRIVATE KEY BLOCK-----",
    sep!(),
    r"(?:[A-Za-z][A-Za-z0-9-]*: [^\r\n\\]*",
    sep!(),
    ")*",
    body!(),
    sep!(),
    "-----END PGP PRIVATE KEY BLOCK-----"
);

pub static PGP: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-023",
        "OpenPGP private key block",
        Severity::Critical,
        FIX_CLEAR,
        PGP_DOC,
    ),
    keywords: &["begin pgp private key block"],
    pattern: PGP_PATTERN,
    min_entropy: None,
    path: None,
    allow: &[],
    check: Some(check_pgp),
    window: KEY_WINDOW,
};

const PGP_DOC: &str = crate::secret_doc!(
    "Finds OpenPGP private key blocks (`-----BEGIN PGP PRIVATE KEY BLOCK-----`) whose first \
     packet is a secret-key packet with the secret material in the clear (S2K usage 0). The \
     armor checksum (CRC-24) is verified when present; a mismatch is reported one severity \
     lower. Passphrase-protected keys are reported by PAL-SEC-029.",
    "An OpenPGP secret key signs commits, releases and packages (APT/RPM repositories, Maven \
     Central) and decrypts messages and backups encrypted to it. A leaked signing key lets an \
     attacker publish packages that users' package managers trust.",
    "```text\n-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGXk1ZsBCAC7q0kq6tW2...\n=Qm4c\n-----END PGP PRIVATE KEY BLOCK-----\n```",
    "```yaml\n# CI: import the signing key from the CI secret store at release time\n- run: echo \"$GPG_PRIVATE_KEY\" | gpg --batch --import\n  env:\n    GPG_PRIVATE_KEY: ${{ secrets.GPG_PRIVATE_KEY }}\n```\nRevoke and rotate: publish a revocation certificate (`gpg --gen-revoke KEYID`, import it \
     and `gpg --send-keys KEYID`), create a new key, re-sign what must stay trusted, and tell \
     the users of your repositories to trust the new key.",
    "- [RFC 9580: OpenPGP (ASCII armor, secret-key packets)](https://www.rfc-editor.org/rfc/rfc9580)\n\
     - [GnuPG manual: revoking a key](https://www.gnupg.org/gph/en/manual/c14.html)",
);

pub static PKCS8: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-024",
        "Private key (PKCS#8 PEM)",
        Severity::Critical,
        FIX_CLEAR,
        PKCS8_DOC,
    ),
    keywords: &["begin private key"],
    pattern: pem!("PRIVATE KEY"),
    min_entropy: None,
    path: None,
    allow: &[],
    check: Some(check_der_key),
    window: KEY_WINDOW,
};

const PKCS8_DOC: &str = crate::secret_doc!(
    "Finds unencrypted PKCS#8 private keys (`-----BEGIN PRIVATE KEY-----`), the form OpenSSL \
     3, Java and most cloud consoles write, including keys embedded in JSON with `\\n` \
     escapes (GCP service-account files, Firebase configs). The body must decode to a DER \
     `PrivateKeyInfo` SEQUENCE.",
    "PKCS#8 holds any key type: TLS server keys, service-account keys, JWT signing keys. \
     Anyone holding it can impersonate the service, mint tokens the service's clients accept, \
     or decrypt what was encrypted to it.",
    "```json\n{ \"signing_key\": \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC...\\n-----END PRIVATE KEY-----\\n\" }\n```",
    "```sh\n# Keep the key in a secret manager and fetch it at startup\naws secretsmanager get-secret-value --secret-id prod/signing-key --query SecretString --output text > /run/key.pem\n```\nRevoke and rotate: issue a new key, revoke the certificate tied to the old one (or remove \
     the key from the service that trusts it: JWKS, IAM, identity provider), redeploy, and \
     purge the old key from history.",
    "- [RFC 5208: PKCS #8 Private-Key Information Syntax](https://www.rfc-editor.org/rfc/rfc5208)\n\
     - [RFC 7468: Textual encodings](https://www.rfc-editor.org/rfc/rfc7468)",
);

pub static PUTTY: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-025",
        "PuTTY private key (PPK)",
        Severity::Critical,
        FIX_CLEAR,
        PUTTY_DOC,
    ),
    keywords: &["putty-user-key-file-"],
    pattern: r"PuTTY-User-Key-File-[23]: [A-Za-z0-9@.-]+\r?\nEncryption: none\r?\nComment: [^\r\n]*\r?\nPublic-Lines: [0-9]+\r?\n[A-Za-z0-9+/=\r\n]+?Private-Lines: [0-9]+\r?\n(?P<secret>[A-Za-z0-9+/=][A-Za-z0-9+/=\r\n]*?)\r?\nPrivate-MAC: ",
    min_entropy: None,
    path: None,
    allow: &[],
    check: Some(check_putty),
    window: KEY_WINDOW,
};

const PUTTY_DOC: &str = crate::secret_doc!(
    "Finds PuTTY private key files (`PuTTY-User-Key-File-2` or `-3`) stored with \
     `Encryption: none`; the private lines must decode to SSH wire-format fields.",
    "A PPK file holds an SSH private key. Unencrypted, it logs in to every server and Git \
     service where its public key is authorized.",
    "```text\nPuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: deploy@build\nPublic-Lines: 2\nAAAAC3NzaC1lZDI1NTE5AAAAIOc0tqk...\nPrivate-Lines: 1\nAAAAIBc3a1...\nPrivate-MAC: 5b1c...\n```",
    "```text\n# Keep keys out of the repository; load them into Pageant or ssh-agent\n# from the user's profile or a password manager\n```\nRevoke and rotate: remove the public key from `authorized_keys` and Git services, generate \
     a new key in PuTTYgen (with a passphrase), and purge the old file from history.",
    "- [PuTTY manual, Appendix C: PPK file format](https://the.earth.li/~sgtatham/putty/latest/htmldoc/AppendixC.html)",
);

pub static PKCS8_ENCRYPTED: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-026",
        "Encrypted private key (PKCS#8 PEM)",
        Severity::Medium,
        FIX_ENCRYPTED,
        PKCS8_ENCRYPTED_DOC,
    ),
    keywords: &["begin encrypted private key"],
    pattern: pem!("ENCRYPTED PRIVATE KEY"),
    min_entropy: None,
    path: None,
    allow: &[],
    check: Some(check_der_encrypted),
    window: KEY_WINDOW,
};

const PKCS8_ENCRYPTED_DOC: &str = crate::secret_doc!(
    "Finds passphrase-protected PKCS#8 keys (`-----BEGIN ENCRYPTED PRIVATE KEY-----`) whose \
     body decodes to a DER `EncryptedPrivateKeyInfo` SEQUENCE.",
    "The key is encrypted, but the ciphertext is now public and can be attacked offline at \
     any speed; the passphrase is often in the same repository (a `.env`, a CI variable dump) \
     or weak. Treat it as exposed.",
    "```text\n-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIFHzBJBgkqhkiG9w0BBQ0wPDAbBgkqhkiG9w0BBQwwDgQI...\n-----END ENCRYPTED PRIVATE KEY-----\n```",
    "```sh\n# Store the key (and its passphrase) in a secret manager, not next to the code\nvault kv put secret/tls key=@server.key\n```\nRevoke and rotate: create a new key pair, revoke the certificate of the old one, and purge \
     the file from history.",
    "- [RFC 5958: Asymmetric Key Packages (EncryptedPrivateKeyInfo)](https://www.rfc-editor.org/rfc/rfc5958)\n\
     - [RFC 7468 §11: Encrypted PKCS #8](https://www.rfc-editor.org/rfc/rfc7468#section-11)",
);

pub static PEM_ENCRYPTED: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-027",
        "Encrypted private key (legacy PEM Proc-Type)",
        Severity::Medium,
        FIX_ENCRYPTED,
        PEM_ENCRYPTED_DOC,
    ),
    keywords: &[
        "begin rsa private key",
        "begin ec private key",
        "begin dsa private key",
    ],
    pattern: concat!(
        "-----BEGIN (?:RSA|EC|DSA) PRIVATE KEY-----",
        sep!(),
        r"Proc-Type:\s*4,ENCRYPTED",
        sep!(),
        r"DEK-Info:\s*[A-Za-z0-9-]+,[0-9A-Fa-f]+",
        sep!(),
        body!(),
        sep!(),
        "-----END (?:RSA|EC|DSA) PRIVATE KEY-----"
    ),
    min_entropy: None,
    path: None,
    allow: &[],
    check: Some(check_pem_encrypted),
    window: KEY_WINDOW,
};

const PEM_ENCRYPTED_DOC: &str = crate::secret_doc!(
    "Finds RSA, EC and DSA keys in OpenSSL's legacy encrypted PEM form: a `Proc-Type: \
     4,ENCRYPTED` header and a `DEK-Info` line naming the cipher and IV, followed by a body of \
     block-cipher output.",
    "The legacy format derives the key from the passphrase with a single MD5 round, so offline \
     guessing is cheap. A published encrypted key should be treated as exposed.",
    "```text\n-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,3F17F5316E2BAC89B8C6A4B3E1D2C0F9\n\nq8Hc0Rr3m6xK2v9Lw1TzYb4nE7sUa5dG...\n-----END RSA PRIVATE KEY-----\n```",
    "```sh\n# Keep keys out of the repository entirely\nopenssl genpkey -algorithm ed25519 -out /secure/store/key.pem\n```\nRevoke and rotate: generate a new key pair, replace the public key or certificate wherever \
     the old one is trusted, and purge the file from history.",
    "- [OpenSSL PEM_read_bio_PrivateKey: PEM encryption format](https://docs.openssl.org/master/man3/PEM_read_bio_PrivateKey/)\n\
     - [RFC 1421: Proc-Type and DEK-Info headers](https://www.rfc-editor.org/rfc/rfc1421)",
);

pub static OPENSSH_ENCRYPTED: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-028",
        "Encrypted OpenSSH private key",
        Severity::Medium,
        FIX_ENCRYPTED,
        OPENSSH_ENCRYPTED_DOC,
    ),
    keywords: &["begin openssh private key"],
    pattern: pem!("OPENSSH PRIVATE KEY"),
    min_entropy: None,
    path: None,
    allow: &[],
    check: Some(check_openssh_encrypted),
    window: KEY_WINDOW,
};

const OPENSSH_ENCRYPTED_DOC: &str = crate::secret_doc!(
    "Finds OpenSSH private keys protected by a passphrase: the `openssh-key-v1` envelope names \
     a cipher other than `none` (e.g. `aes256-ctr` with the `bcrypt` KDF).",
    "bcrypt slows guessing down, but a published key can be attacked offline forever, and \
     passphrases chosen for convenience fall quickly. Treat the key as exposed.",
    "```text\n-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0AAAAGAAAABD...\n-----END OPENSSH PRIVATE KEY-----\n```",
    "```sh\n# Keep private keys in ~/.ssh or an agent, never in the repository\nssh-keygen -t ed25519 -a 100 -f ~/.ssh/id_ed25519\n```\nRevoke and rotate: remove the public key from `authorized_keys` and Git services, create \
     a new key, and purge the old file from history.",
    "- [OpenSSH PROTOCOL.key](https://github.com/openssh/openssh-portable/blob/master/PROTOCOL.key)\n\
     - [ssh-keygen(1)](https://man.openbsd.org/ssh-keygen.1)",
);

pub static PGP_ENCRYPTED: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-029",
        "Passphrase-protected OpenPGP private key block",
        Severity::Medium,
        FIX_ENCRYPTED,
        PGP_ENCRYPTED_DOC,
    ),
    keywords: &["begin pgp private key block"],
    pattern: PGP_PATTERN,
    min_entropy: None,
    path: None,
    allow: &[],
    check: Some(check_pgp_encrypted),
    window: KEY_WINDOW,
};

const PGP_ENCRYPTED_DOC: &str = crate::secret_doc!(
    "Finds OpenPGP private key blocks whose secret-key packet is protected by a passphrase \
     (S2K usage not 0). The armor CRC-24 is verified when present.",
    "The secret material is encrypted, but it is now available for offline guessing; signing \
     keys of release pipelines often use short passphrases kept in the same CI configuration.",
    "```text\n-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQWGBGXk1ZsBDADKx7...\n=8Jx2\n-----END PGP PRIVATE KEY BLOCK-----\n```",
    "```yaml\n- run: echo \"$GPG_PRIVATE_KEY\" | gpg --batch --import\n  env:\n    GPG_PRIVATE_KEY: ${{ secrets.GPG_PRIVATE_KEY }}\n```\nRevoke and rotate: publish a revocation certificate for the key, create and publish a new \
     one, and purge the exported block from history.",
    "- [RFC 9580: OpenPGP](https://www.rfc-editor.org/rfc/rfc9580)\n\
     - [GnuPG manual: revoking a key](https://www.gnupg.org/gph/en/manual/c14.html)",
);

pub static PUTTY_ENCRYPTED: SecretRule = SecretRule {
    meta: meta(
        "PAL-SEC-030",
        "Encrypted PuTTY private key (PPK)",
        Severity::Medium,
        FIX_ENCRYPTED,
        PUTTY_ENCRYPTED_DOC,
    ),
    keywords: &["putty-user-key-file-"],
    pattern: r"PuTTY-User-Key-File-[23]: [A-Za-z0-9@.-]+\r?\nEncryption: aes256-cbc\r?\nComment: [^\r\n]*\r?\nPublic-Lines: [0-9]+\r?\n[A-Za-z0-9+/=\r\n]+?(?:[A-Za-z0-9-]+: [^\r\n]*\r?\n)*Private-Lines: [0-9]+\r?\n(?P<secret>[A-Za-z0-9+/=][A-Za-z0-9+/=\r\n]*?)\r?\nPrivate-MAC: ",
    min_entropy: None,
    path: None,
    allow: &[],
    check: Some(check_putty_encrypted),
    window: KEY_WINDOW,
};

const PUTTY_ENCRYPTED_DOC: &str = crate::secret_doc!(
    "Finds PuTTY private key files encrypted with a passphrase (`Encryption: aes256-cbc`); the \
     private lines must decode to whole AES blocks.",
    "The key can be attacked offline now that it is published; version 2 files use a fast \
     SHA-1 key derivation that makes guessing cheap.",
    "```text\nPuTTY-User-Key-File-3: ssh-rsa\nEncryption: aes256-cbc\nComment: admin\nPublic-Lines: 6\n...\nKey-Derivation: Argon2id\n...\nPrivate-Lines: 14\n...\nPrivate-MAC: 0c7f...\n```",
    "```text\n# Keep PPK files in the user profile, never in the repository\n```\nRevoke and rotate: remove the public key from `authorized_keys`, generate a new key in \
     PuTTYgen and purge the old file from history.",
    "- [PuTTY manual, Appendix C: PPK file format](https://the.earth.li/~sgtatham/putty/latest/htmldoc/AppendixC.html)",
);

#[cfg(test)]
pub(crate) mod sample_keys {
    //! Fake keys with the right envelopes and random contents (no crypto involved).

    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use crate::testing::Rng;

    pub fn bytes(rng: &mut Rng, n: usize) -> Vec<u8> {
        (0..n).map(|_| rng.next() as u8).collect()
    }

    /// A DER SEQUENCE around `content`.
    pub fn der_seq(content: &[u8]) -> Vec<u8> {
        let mut out = vec![0x30];
        match content.len() {
            n if n < 0x80 => out.push(n as u8),
            n if n < 0x100 => out.extend([0x81, n as u8]),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(content);
        out
    }

    /// A private key: version INTEGER then random fields.
    pub fn der_key(rng: &mut Rng, len: usize) -> Vec<u8> {
        let mut content = vec![0x02, 0x01, 0x00, 0x02, 0x82, 0x01, 0x01, 0x00];
        content.extend(bytes(rng, len));
        der_seq(&content)
    }

    /// Base64 wrapped at 64 columns with `nl` as the line break, regenerated until no
    /// placeholder word happens to appear in it.
    pub fn armor(rng: &mut Rng, nl: &str, mut make: impl FnMut(&mut Rng) -> Vec<u8>) -> String {
        loop {
            let b64 = STANDARD.encode(make(rng));
            let lines: Vec<&str> = b64
                .as_bytes()
                .chunks(64)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect();
            let body = lines.join(nl);
            if !crate::engine::is_placeholder(&body) {
                return body;
            }
        }
    }

    pub fn pem(label: &str, body: &str) -> String {
        format!("-----BEGIN {label}-----\n{body}\n-----END {label}-----\n")
    }

    fn ssh_string(out: &mut Vec<u8>, s: &[u8]) {
        out.extend((s.len() as u32).to_be_bytes());
        out.extend_from_slice(s);
    }

    pub fn openssh(rng: &mut Rng, cipher: &str) -> Vec<u8> {
        let mut out = b"openssh-key-v1\0".to_vec();
        ssh_string(&mut out, cipher.as_bytes());
        if cipher == "none" {
            ssh_string(&mut out, b"none");
            ssh_string(&mut out, b"");
        } else {
            ssh_string(&mut out, b"bcrypt");
            let mut kdf = Vec::new();
            ssh_string(&mut kdf, &bytes(rng, 16));
            kdf.extend(16u32.to_be_bytes());
            ssh_string(&mut out, &kdf);
        }
        out.extend(1u32.to_be_bytes());
        let mut public = Vec::new();
        ssh_string(&mut public, b"ssh-ed25519");
        ssh_string(&mut public, &bytes(rng, 32));
        ssh_string(&mut out, &public);
        ssh_string(&mut out, &bytes(rng, 144));
        out
    }

    /// An OpenPGP v4 RSA secret-key packet; `protected` sets a non-zero S2K usage.
    pub fn pgp_packet(rng: &mut Rng, protected: bool, tag: u8) -> Vec<u8> {
        let mut body = vec![4];
        body.extend(bytes(rng, 4));
        body.push(1);
        let mut n = bytes(rng, 256);
        n[0] |= 0x80;
        body.extend([0x08, 0x00]);
        body.extend(n);
        body.extend([0x00, 0x11, 0x01, 0x00, 0x01]);
        if protected {
            body.extend([0xfe, 0x09, 0x03, 0x08]);
        } else {
            body.push(0);
        }
        body.extend(bytes(rng, 600));
        let len = body.len() - 192;
        let mut out = vec![0xc0 | tag, (len >> 8) as u8 + 192, len as u8];
        out.extend(body);
        out
    }

    pub fn pgp_armor(rng: &mut Rng, protected: bool, tag: u8, good_crc: bool) -> String {
        loop {
            let raw = pgp_packet(rng, protected, tag);
            let mut crc = crate::rules::decode::crc24(&raw);
            if !good_crc {
                crc ^= 0x5a5a5a;
            }
            let b64 = STANDARD.encode(&raw);
            let lines: Vec<&str> = b64
                .as_bytes()
                .chunks(64)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect();
            let crc = STANDARD.encode([(crc >> 16) as u8, (crc >> 8) as u8, crc as u8]);
            let body = format!("{}\n={crc}", lines.join("\n"));
            if !crate::engine::is_placeholder(&body) {
                return format!(
                    "-----BEGIN PGP PRIVATE KEY BLOCK-----\nComment: release signing key\n\n{body}\n-----END PGP PRIVATE KEY BLOCK-----\n"
                );
            }
        }
    }

    pub fn ppk(rng: &mut Rng, encrypted: bool) -> String {
        let mut public = Vec::new();
        ssh_string(&mut public, b"ssh-ed25519");
        ssh_string(&mut public, &bytes(rng, 32));
        let private = armor(rng, "\n", |rng| {
            if encrypted {
                bytes(rng, 48)
            } else {
                let mut p = Vec::new();
                ssh_string(&mut p, &bytes(rng, 32));
                p
            }
        });
        let public = STANDARD.encode(public);
        let lines = private.lines().count();
        let (enc, kdf) = if encrypted {
            (
                "aes256-cbc",
                "Key-Derivation: Argon2id\nArgon2-Memory: 8192\nArgon2-Passes: 13\nArgon2-Parallelism: 1\nArgon2-Salt: 4bb5bd8b9c1a0c6e7f2d3a4b5c6d7e8f\n",
            )
        } else {
            ("none", "")
        };
        format!(
            "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: {enc}\nComment: eddsa-key-20240315\nPublic-Lines: 2\n{}\n{}\n{kdf}Private-Lines: {lines}\n{private}\nPrivate-MAC: {}\n",
            &public[..64],
            &public[64..],
            rng.hex(64)
        )
    }
}

#[cfg(test)]
pub(crate) fn samples(rng: &mut crate::testing::Rng) -> Vec<crate::testing::Sample> {
    use sample_keys::*;

    use crate::testing::Sample;

    let not_der = |rng: &mut crate::testing::Rng| {
        let mut b = bytes(rng, 600);
        b[0] = 0x31;
        b
    };
    let truncated = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAy8Dbv8prpJ/0kKhlGeJYozo2t60EG8L0561g13R29LvMR5hy\n...\n-----END RSA PRIVATE KEY-----\n";

    let rsa = pem("RSA PRIVATE KEY", &armor(rng, "\n", |r| der_key(r, 1180)));
    let ec = pem("EC PRIVATE KEY", &armor(rng, "\n", |r| der_key(r, 110)));
    let dsa = pem("DSA PRIVATE KEY", &armor(rng, "\n", |r| der_key(r, 430)));
    let ossh = pem(
        "OPENSSH PRIVATE KEY",
        &armor(rng, "\n", |r| openssh(r, "none")),
    );
    let pkcs8_json = format!(
        "{{\"signing_key\": \"-----BEGIN PRIVATE KEY-----\\n{}\\n-----END PRIVATE KEY-----\\n\"}}\n",
        armor(rng, "\\n", |r| der_key(r, 1200))
    );
    let enc8 = pem(
        "ENCRYPTED PRIVATE KEY",
        &armor(rng, "\n", |r| {
            let mut c = der_seq(&[
                0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d,
            ]);
            c.extend([0x04, 0x82, 0x04, 0xd0]);
            c.extend(bytes(r, 0x4d0));
            der_seq(&c)
        }),
    );
    let enc_pem = format!(
        "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,{}\n\n{}\n-----END RSA PRIVATE KEY-----\n",
        rng.hex(32).to_uppercase(),
        armor(rng, "\n", |r| bytes(r, 1200))
    );
    let enc_ossh = pem(
        "OPENSSH PRIVATE KEY",
        &armor(rng, "\n", |r| openssh(r, "aes256-ctr")),
    );

    vec![
        Sample {
            rule: "PAL-SEC-019",
            text: rsa,
            near_misses: vec![
                truncated.into(),
                pem("RSA PRIVATE KEY", &armor(rng, "\n", not_der)),
                "-----BEGIN RSA PRIVATE KEY-----\n<your private key here>\n-----END RSA PRIVATE KEY-----\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-020",
            text: format!("# tls/server.key\n{ec}"),
            near_misses: vec![
                pem("EC PRIVATE KEY", &armor(rng, "\n", not_der)),
                pem("PUBLIC KEY", &armor(rng, "\n", |r| der_key(r, 280))),
            ],
        },
        Sample {
            rule: "PAL-SEC-021",
            text: dsa,
            near_misses: vec![
                pem("DSA PRIVATE KEY", &armor(rng, "\n", |r| der_key(r, 430)[..300].to_vec())),
                "-----BEGIN DSA PRIVATE KEY-----\n${DSA_KEY}\n-----END DSA PRIVATE KEY-----\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-022",
            text: ossh,
            near_misses: vec![
                pem("OPENSSH PRIVATE KEY", &armor(rng, "\n", not_der)),
                format!("ssh-ed25519 {} deploy@ci\n", armor(rng, "", |r| bytes(r, 51))),
            ],
        },
        Sample {
            rule: "PAL-SEC-023",
            text: pgp_armor(rng, false, 5, true),
            near_misses: vec![
                pgp_armor(rng, false, 6, true),
                "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n...\n-----END PGP PRIVATE KEY BLOCK-----\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-024",
            text: pkcs8_json,
            near_misses: vec![
                pem("PRIVATE KEY", &armor(rng, "\n", not_der)),
                "key: \"-----BEGIN PRIVATE KEY-----\\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC...\\n-----END PRIVATE KEY-----\\n\"\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-025",
            text: ppk(rng, false),
            near_misses: vec![
                "PuTTY-User-Key-File-3: ssh-ed25519\nEncryption: none\nComment: x\nPublic-Lines: 1\nAAAA\nPrivate-Lines: 1\n<private key>\nPrivate-MAC: 00\n".into(),
            ],
        },
        Sample {
            rule: "PAL-SEC-026",
            text: enc8,
            near_misses: vec![pem("ENCRYPTED PRIVATE KEY", &armor(rng, "\n", not_der))],
        },
        Sample {
            rule: "PAL-SEC-027",
            text: enc_pem,
            near_misses: vec![format!(
                "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,{}\n\n{}\n-----END RSA PRIVATE KEY-----\n",
                rng.hex(32).to_uppercase(),
                armor(rng, "\n", |r| bytes(r, 1201))
            )],
        },
        Sample {
            rule: "PAL-SEC-028",
            text: enc_ossh,
            near_misses: vec!["-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAACmFlczI1Ni1jdHIAAAAGYmNyeXB0...\n-----END OPENSSH PRIVATE KEY-----\n".into()],
        },
        Sample {
            rule: "PAL-SEC-029",
            text: pgp_armor(rng, true, 5, true),
            near_misses: vec![pgp_armor(rng, true, 6, true)],
        },
        Sample {
            rule: "PAL-SEC-030",
            text: ppk(rng, true),
            near_misses: vec![
                "PuTTY-User-Key-File-2: ssh-rsa\nEncryption: aes256-cbc\nComment: x\nPublic-Lines: 1\nAAAA\nPrivate-Lines: 1\nAAAAB3Nza\nPrivate-MAC: 00\n".into(),
            ],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::sample_keys::*;
    use super::*;
    use crate::testing::Rng;

    #[test]
    fn envelopes_decide_which_rule_reports() {
        let mut rng = Rng::new(7);
        let engine = crate::builtin();
        let ids = |text: &str| -> Vec<&str> {
            engine
                .scan("k", text.as_bytes())
                .iter()
                .map(|h| engine.rules()[h.rule].meta.id)
                .collect()
        };
        assert_eq!(ids(&pgp_armor(&mut rng, false, 5, true)), ["PAL-SEC-023"]);
        assert_eq!(ids(&pgp_armor(&mut rng, true, 5, true)), ["PAL-SEC-029"]);
        let bad_crc = pgp_armor(&mut rng, false, 5, false);
        let hits = engine.scan("k", bad_crc.as_bytes());
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].check, Check::ChecksumMismatch);
        let ossh = pem(
            "OPENSSH PRIVATE KEY",
            &armor(&mut rng, "\n", |r| openssh(r, "none")),
        );
        assert_eq!(ids(&ossh), ["PAL-SEC-022"]);
        let enc = pem(
            "OPENSSH PRIVATE KEY",
            &armor(&mut rng, "\n", |r| openssh(r, "aes256-ctr")),
        );
        assert_eq!(ids(&enc), ["PAL-SEC-028"]);
        // CRLF line ends and YAML indentation.
        let rsa = pem(
            "RSA PRIVATE KEY",
            &armor(&mut rng, "\r\n    ", |r| der_key(r, 600)),
        );
        let yaml = format!("key: |\n    {}", rsa.replace('\n', "\n    "));
        assert_eq!(ids(&yaml), ["PAL-SEC-019"]);
    }
}
