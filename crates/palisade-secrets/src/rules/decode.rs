//! Small offline decoders shared by the `check` functions of the key, token and config-file
//! rules: lenient base64, DER and OpenSSH key envelopes, OpenPGP secret-key packets and a
//! minimal JSON reader (enough to tell a JWT header from noise). No crypto, no allocation
//! beyond the decoded bytes.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_PAD_INDIFFERENT, URL_SAFE_NO_PAD_INDIFFERENT};

/// Removes whitespace and the `\n` / `\r` escapes of keys embedded in JSON or YAML strings.
pub(crate) fn strip_layout(s: &str) -> String {
    s.replace("\\n", "")
        .replace("\\r", "")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// Standard base64, padding optional, layout (newlines, escapes) ignored.
pub(crate) fn b64(s: &str) -> Option<Vec<u8>> {
    STANDARD_PAD_INDIFFERENT.decode(strip_layout(s)).ok()
}

/// URL-safe base64 without padding (JWT segments).
pub(crate) fn b64url(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD_INDIFFERENT.decode(s).ok()
}

/// Percent-decodes the few escapes base64 values carry in URLs (`%2B`, `%2F`, `%3D`).
pub(crate) fn url_unescape_b64(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c == '%' {
            let rep = match rest.get(1..3).map(|h| h.to_ascii_uppercase()).as_deref() {
                Some("2B") => Some('+'),
                Some("2F") => Some('/'),
                Some("3D") => Some('='),
                _ => None,
            };
            if let Some(r) = rep {
                out.push(r);
                rest = &rest[3..];
                continue;
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The header length and content length of a DER SEQUENCE that spans exactly `der`.
/// `None` when `der` does not start with a SEQUENCE tag, uses an indefinite or oversized
/// length, or the length disagrees with the data.
pub(crate) fn der_sequence(der: &[u8]) -> Option<(usize, usize)> {
    if der.len() < 2 || der[0] != 0x30 {
        return None;
    }
    let (hdr, len) = match der[1] {
        n if n < 0x80 => (2, n as usize),
        0x81 => (3, *der.get(2)? as usize),
        0x82 => (4, u16::from_be_bytes([*der.get(2)?, *der.get(3)?]) as usize),
        0x83 => (
            5,
            ((*der.get(2)? as usize) << 16)
                | ((*der.get(3)? as usize) << 8)
                | *der.get(4)? as usize,
        ),
        _ => return None,
    };
    (hdr + len == der.len()).then_some((hdr, len))
}

/// A private key in DER (PKCS#1, SEC1, DSA or PKCS#8): a SEQUENCE spanning the data whose
/// first element is the INTEGER version.
pub(crate) fn is_der_private_key(der: &[u8]) -> bool {
    matches!(der_sequence(der), Some((hdr, len)) if len >= 3 && der[hdr] == 0x02)
}

/// An encrypted PKCS#8 key (`EncryptedPrivateKeyInfo`): a SEQUENCE spanning the data whose
/// first element is the algorithm SEQUENCE.
pub(crate) fn is_der_encrypted_private_key(der: &[u8]) -> bool {
    matches!(der_sequence(der), Some((hdr, len)) if len >= 3 && der[hdr] == 0x30)
}

/// The cipher name of an `openssh-key-v1` envelope (`none` for unencrypted keys).
pub(crate) fn openssh_cipher(raw: &[u8]) -> Option<String> {
    const MAGIC: &[u8] = b"openssh-key-v1\0";
    let rest = raw.strip_prefix(MAGIC)?;
    let n = u32::from_be_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let name = rest.get(4..4 + n)?;
    if name.is_empty() || !name.iter().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    Some(String::from_utf8_lossy(name).into_owned())
}

/// CRC-24 of OpenPGP ASCII armor (RFC 4880 §6.1).
pub(crate) fn crc24(data: &[u8]) -> u32 {
    let mut crc: u32 = 0x00B7_04CE;
    for &b in data {
        crc ^= (b as u32) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x0100_0000 != 0 {
                crc ^= 0x0186_4CFB;
            }
        }
    }
    crc & 0x00FF_FFFF
}

/// What the first packet of an armored OpenPGP private key block says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PgpKey {
    /// A secret-key packet whose secret material is in the clear (S2K usage 0).
    Clear,
    /// A secret-key packet protected by a passphrase.
    Protected,
    /// A secret-key packet of a version or algorithm this reader does not walk.
    Unknown,
}

/// Splits an armored body into its base64 data and the optional `=XXXX` checksum line.
pub(crate) fn pgp_armor_body(body: &str) -> (String, Option<String>) {
    let norm = body.replace("\\r", "").replace("\\n", "\n");
    let mut data = String::new();
    let mut crc = None;
    for line in norm.lines() {
        let line = line.trim();
        if line.len() == 5 && line.starts_with('=') {
            crc = Some(line[1..].to_string());
        } else {
            data.push_str(line);
        }
    }
    (data, crc)
}

/// Reads the first packet of decoded OpenPGP data. `None` when it is not a secret-key packet.
pub(crate) fn pgp_secret_key(raw: &[u8]) -> Option<PgpKey> {
    let tag_byte = *raw.first()?;
    if tag_byte & 0x80 == 0 {
        return None;
    }
    let (tag, body) = if tag_byte & 0x40 != 0 {
        let tag = tag_byte & 0x3f;
        let o1 = *raw.get(1)? as usize;
        let (hdr, len) = match o1 {
            0..=191 => (2, o1),
            192..=223 => (3, ((o1 - 192) << 8) + *raw.get(2)? as usize + 192),
            255 => (
                6,
                u32::from_be_bytes(raw.get(2..6)?.try_into().ok()?) as usize,
            ),
            _ => (2, raw.len().saturating_sub(2)),
        };
        (tag, raw.get(hdr..(hdr + len).min(raw.len()))?)
    } else {
        let tag = (tag_byte >> 2) & 0x0f;
        let (hdr, len) = match tag_byte & 3 {
            0 => (2, *raw.get(1)? as usize),
            1 => (3, u16::from_be_bytes([*raw.get(1)?, *raw.get(2)?]) as usize),
            2 => (
                5,
                u32::from_be_bytes(raw.get(1..5)?.try_into().ok()?) as usize,
            ),
            _ => (1, raw.len() - 1),
        };
        (tag, raw.get(hdr..(hdr + len).min(raw.len()))?)
    };
    if tag != 5 {
        return None;
    }
    let version = *body.first()?;
    let usage_at = match version {
        4 => {
            // version, creation time, algorithm, then the public key fields.
            let algo = *body.get(5)?;
            let mut at = 6;
            let mpi = |at: &mut usize| -> Option<()> {
                let bits = u16::from_be_bytes([*body.get(*at)?, *body.get(*at + 1)?]) as usize;
                *at += 2 + bits.div_ceil(8);
                (*at <= body.len()).then_some(())
            };
            let oid = |at: &mut usize| -> Option<()> {
                let n = *body.get(*at)? as usize;
                *at += 1 + n;
                (*at <= body.len()).then_some(())
            };
            match algo {
                1..=3 => {
                    mpi(&mut at)?;
                    mpi(&mut at)?;
                }
                16 | 20 => {
                    for _ in 0..3 {
                        mpi(&mut at)?;
                    }
                }
                17 => {
                    for _ in 0..4 {
                        mpi(&mut at)?;
                    }
                }
                18 => {
                    oid(&mut at)?;
                    mpi(&mut at)?;
                    oid(&mut at)?; // KDF parameters: a length octet and its bytes
                }
                19 | 22 => {
                    oid(&mut at)?;
                    mpi(&mut at)?;
                }
                25 | 27 => at += 32,
                26 => at += 56,
                28 => at += 57,
                _ => return Some(PgpKey::Unknown),
            }
            at
        }
        5 | 6 => {
            // version, creation time, algorithm, 4-octet length of the key material.
            let n = u32::from_be_bytes(body.get(6..10)?.try_into().ok()?) as usize;
            10 + n
        }
        _ => return Some(PgpKey::Unknown),
    };
    match body.get(usage_at) {
        Some(0) => Some(PgpKey::Clear),
        Some(_) => Some(PgpKey::Protected),
        None => Some(PgpKey::Unknown),
    }
}

/// A JSON value's type, for the checks that need to know a field is a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonKind {
    String,
    Other,
}

/// The top-level members of a JSON object (name, kind, string value if any); `None` when
/// `text` is not exactly one JSON object.
pub(crate) fn json_object(text: &[u8]) -> Option<Vec<(String, JsonKind, String)>> {
    let mut p = Json {
        s: text,
        i: 0,
        depth: 0,
    };
    p.ws();
    let members = p.object(true)?;
    p.ws();
    (p.i == text.len()).then_some(members)
}

struct Json<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
}

impl Json<'_> {
    fn ws(&mut self) {
        while matches!(self.s.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.s.get(self.i) == Some(&b)).then(|| self.i += 1)
    }

    fn object(&mut self, collect: bool) -> Option<Vec<(String, JsonKind, String)>> {
        self.depth += 1;
        if self.depth > 64 {
            return None;
        }
        self.eat(b'{')?;
        let mut out = Vec::new();
        self.ws();
        if self.eat(b'}').is_some() {
            self.depth -= 1;
            return Some(out);
        }
        loop {
            self.ws();
            let name = self.string()?;
            self.ws();
            self.eat(b':')?;
            self.ws();
            let (kind, value) = self.value()?;
            if collect {
                out.push((name, kind, value));
            }
            self.ws();
            match self.s.get(self.i)? {
                b',' => self.i += 1,
                b'}' => {
                    self.i += 1;
                    self.depth -= 1;
                    return Some(out);
                }
                _ => return None,
            }
        }
    }

    fn array(&mut self) -> Option<()> {
        self.depth += 1;
        if self.depth > 64 {
            return None;
        }
        self.eat(b'[')?;
        self.ws();
        if self.eat(b']').is_some() {
            self.depth -= 1;
            return Some(());
        }
        loop {
            self.ws();
            self.value()?;
            self.ws();
            match self.s.get(self.i)? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    self.depth -= 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn value(&mut self) -> Option<(JsonKind, String)> {
        match *self.s.get(self.i)? {
            b'"' => Some((JsonKind::String, self.string()?)),
            b'{' => self.object(false).map(|_| (JsonKind::Other, String::new())),
            b'[' => self.array().map(|_| (JsonKind::Other, String::new())),
            b't' => self.literal(b"true"),
            b'f' => self.literal(b"false"),
            b'n' => self.literal(b"null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    fn literal(&mut self, word: &[u8]) -> Option<(JsonKind, String)> {
        self.s[self.i..].starts_with(word).then(|| {
            self.i += word.len();
            (JsonKind::Other, String::new())
        })
    }

    fn number(&mut self) -> Option<(JsonKind, String)> {
        let start = self.i;
        self.eat(b'-');
        let digits = |p: &mut Self| {
            let s = p.i;
            while matches!(p.s.get(p.i), Some(b'0'..=b'9')) {
                p.i += 1;
            }
            p.i > s
        };
        if !digits(self) {
            return None;
        }
        if self.eat(b'.').is_some() && !digits(self) {
            return None;
        }
        if matches!(self.s.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.s.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return None;
            }
        }
        (self.i > start).then(|| (JsonKind::Other, String::new()))
    }

    fn string(&mut self) -> Option<String> {
        self.eat(b'"')?;
        let mut out = Vec::new();
        loop {
            let b = *self.s.get(self.i)?;
            self.i += 1;
            match b {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => {
                    let e = *self.s.get(self.i)?;
                    self.i += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' | b'f' | b'n' | b'r' | b't' => out.push(b' '),
                        b'u' => {
                            let hex = self.s.get(self.i..self.i + 4)?;
                            if !hex.iter().all(u8::is_ascii_hexdigit) {
                                return None;
                            }
                            self.i += 4;
                            out.push(b'?');
                        }
                        _ => return None,
                    }
                }
                0x00..=0x1f => return None,
                _ => out.push(b),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_and_json() {
        assert_eq!(der_sequence(&[0x30, 0x03, 0x02, 0x01, 0x00]), Some((2, 3)));
        assert!(is_der_private_key(&[0x30, 0x03, 0x02, 0x01, 0x00]));
        assert!(der_sequence(&[0x30, 0x05, 0x02, 0x01, 0x00]).is_none());
        let m = json_object(br#"{"alg":"HS256","typ":"JWT","n":[1,2.5e3,{"a":null}],"t":true}"#)
            .unwrap();
        assert_eq!(m[0], ("alg".into(), JsonKind::String, "HS256".into()));
        assert_eq!(m.len(), 4);
        assert!(json_object(br#"{"alg":"HS256""#).is_none());
        assert!(json_object(b"[1]").is_none());
        assert_eq!(url_unescape_b64("ab%2Fc%3d%zz"), "ab/c=%zz");
        // RFC 4880 test: CRC-24 of nothing is the initial value.
        assert_eq!(crc24(b""), 0xB704CE);
    }
}
