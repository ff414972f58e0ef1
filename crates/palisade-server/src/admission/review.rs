//! `admission.k8s.io/v1` AdmissionReview: reading requests, writing responses.
//!
//! A body the webhook cannot answer for (not JSON, another API version, no `request.uid`)
//! gets an HTTP error with a `metav1.Status` body, which the API server shows verbatim in
//! its "failed calling webhook" error; anything with a uid gets an AdmissionReview back,
//! since that is what the API server matches answers by.

use serde_json::{Map, Value, json};

/// The only API version served; `admissionReviewVersions: [v1]` in the webhook
/// configuration makes the API server send it.
pub const API_VERSION: &str = "admission.k8s.io/v1";

/// A request body that is not a v1 AdmissionReview with a request uid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReviewError {
    #[error("request body is not JSON: {0}")]
    NotJson(String),
    #[error("request body is not an AdmissionReview: expected a JSON object")]
    NotObject,
    #[error(
        "AdmissionReview apiVersion {0:?} is not supported: this webhook serves admission.k8s.io/v1; set admissionReviewVersions: [\"v1\"] in the webhook configuration"
    )]
    ApiVersion(String),
    #[error("expected kind \"AdmissionReview\", got {0:?}")]
    Kind(String),
    #[error("AdmissionReview has no request")]
    NoRequest,
    #[error("AdmissionReview request has no uid")]
    NoUid,
}

/// Group, version and kind (or resource) as the review names them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupVersion {
    pub group: String,
    pub version: String,
    /// `kind` for `request.kind`, `resource` for `request.resource`.
    pub name: String,
}

impl GroupVersion {
    fn read(v: Option<&Value>, field: &str) -> GroupVersion {
        let s = |k: &str| {
            v.and_then(|v| v.get(k))
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        GroupVersion {
            group: s("group"),
            version: s("version"),
            name: s(field),
        }
    }
}

/// The parts of `request` the webhook uses.
#[derive(Debug, Clone, Default)]
pub struct AdmissionRequest {
    /// `apiVersion` and `kind` as sent, echoed in the response.
    pub api_version: String,
    pub review_kind: String,
    pub uid: String,
    pub kind: GroupVersion,
    pub resource: GroupVersion,
    pub sub_resource: String,
    pub name: String,
    pub namespace: String,
    /// CREATE, UPDATE, DELETE or CONNECT.
    pub operation: String,
    pub username: String,
    pub groups: Vec<String>,
    pub object: Option<Value>,
    pub old_object: Option<Value>,
    pub dry_run: bool,
}

impl AdmissionRequest {
    /// Reads a request body.
    pub fn parse(body: &[u8]) -> Result<AdmissionRequest, ReviewError> {
        let mut review: Value = serde_json::from_slice(body).map_err(|e| {
            let msg = e.to_string();
            ReviewError::NotJson(msg)
        })?;
        let Some(top) = review.as_object_mut() else {
            return Err(ReviewError::NotObject);
        };
        let api_version = top
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if api_version != API_VERSION {
            return Err(ReviewError::ApiVersion(api_version));
        }
        let review_kind = top
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if review_kind != "AdmissionReview" {
            return Err(ReviewError::Kind(review_kind));
        }
        let Some(Value::Object(mut req)) = top.remove("request") else {
            return Err(ReviewError::NoRequest);
        };
        let uid = match req.get("uid").and_then(Value::as_str) {
            Some(u) if !u.is_empty() => u.to_string(),
            _ => return Err(ReviewError::NoUid),
        };
        let s = |m: &Map<String, Value>, k: &str| {
            m.get(k).and_then(Value::as_str).unwrap_or("").to_string()
        };
        let user = req.get("userInfo");
        let groups = user
            .and_then(|u| u.get("groups"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default();
        let username = user
            .and_then(|u| u.get("username"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let take = |req: &mut Map<String, Value>, k: &str| match req.remove(k) {
            Some(Value::Null) | None => None,
            Some(v) => Some(v),
        };
        Ok(AdmissionRequest {
            api_version,
            review_kind,
            kind: GroupVersion::read(req.get("kind"), "kind"),
            resource: GroupVersion::read(req.get("resource"), "resource"),
            sub_resource: s(&req, "subResource"),
            name: s(&req, "name"),
            namespace: s(&req, "namespace"),
            operation: s(&req, "operation"),
            dry_run: req.get("dryRun").and_then(Value::as_bool).unwrap_or(false),
            object: take(&mut req, "object"),
            old_object: take(&mut req, "oldObject"),
            uid,
            username,
            groups,
        })
    }

    /// `Deployment shop/web` or `Pod web-7d9f…` for messages and logs; objects created
    /// with `generateName` have no name yet.
    pub fn describe(&self) -> String {
        let name = if self.name.is_empty() {
            self.object
                .as_ref()
                .and_then(|o| o.pointer("/metadata/generateName"))
                .and_then(Value::as_str)
                .map(|g| format!("{g}…"))
                .unwrap_or_default()
        } else {
            self.name.clone()
        };
        let kind = &self.kind.name;
        match (self.namespace.is_empty(), name.is_empty()) {
            (true, true) => kind.clone(),
            (true, false) => format!("{kind} {name}"),
            (false, true) => format!("{kind} in {}", self.namespace),
            (false, false) => format!("{kind} {}/{name}", self.namespace),
        }
    }
}

/// What the webhook answers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Verdict {
    pub allowed: bool,
    /// HTTP-style code for a refusal (403 for findings, 400 for a bad object, 500 when
    /// policies failed).
    pub code: Option<u16>,
    pub message: Option<String>,
    pub warnings: Vec<String>,
    /// JSONPatch operations (mutate only).
    pub patch: Option<Vec<Value>>,
    pub audit_annotations: Vec<(String, String)>,
}

impl Verdict {
    pub fn allow() -> Verdict {
        Verdict {
            allowed: true,
            ..Verdict::default()
        }
    }

    pub fn deny(code: u16, message: impl Into<String>) -> Verdict {
        Verdict {
            allowed: false,
            code: Some(code),
            message: Some(message.into()),
            ..Verdict::default()
        }
    }
}

/// The AdmissionReview answering `req`.
pub fn response(req: &AdmissionRequest, verdict: &Verdict) -> Value {
    let mut resp = Map::new();
    resp.insert("uid".into(), Value::String(req.uid.clone()));
    resp.insert("allowed".into(), Value::Bool(verdict.allowed));
    if verdict.code.is_some() || verdict.message.is_some() {
        let mut status = Map::new();
        if let Some(c) = verdict.code {
            status.insert("code".into(), json!(c));
        }
        if let Some(m) = &verdict.message {
            status.insert("message".into(), Value::String(m.clone()));
        }
        resp.insert("status".into(), Value::Object(status));
    }
    if !verdict.warnings.is_empty() {
        resp.insert("warnings".into(), json!(verdict.warnings));
    }
    if let Some(ops) = &verdict.patch {
        let text = serde_json::to_vec(ops).unwrap_or_default();
        resp.insert("patchType".into(), Value::String("JSONPatch".into()));
        resp.insert("patch".into(), Value::String(base64_encode(&text)));
    }
    if !verdict.audit_annotations.is_empty() {
        let m: Map<String, Value> = verdict
            .audit_annotations
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        resp.insert("auditAnnotations".into(), Value::Object(m));
    }
    json!({
        "apiVersion": req.api_version,
        "kind": req.review_kind,
        "response": resp,
    })
}

/// The `metav1.Status` body of an HTTP error.
pub fn status_body(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Status",
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    })
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding, as `response.patch` wants it.
pub fn base64_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decodes standard base64 (padding optional); None on any other character.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let text = text.trim_end_matches('=');
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in text.bytes() {
        let v = B64.iter().position(|&b| b == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("[{\"op\":\"add\"}]", "W3sib3AiOiJhZGQifV0="),
        ] {
            assert_eq!(base64_encode(plain.as_bytes()), coded);
            assert_eq!(base64_decode(coded).unwrap(), plain.as_bytes());
        }
        assert_eq!(base64_decode("a*b"), None);
    }

    #[test]
    fn bad_reviews_say_what_is_wrong() {
        let e = |b: &str| AdmissionRequest::parse(b.as_bytes()).unwrap_err();
        assert!(matches!(e("{"), ReviewError::NotJson(_)));
        assert_eq!(e("[]"), ReviewError::NotObject);
        assert_eq!(
            e(r#"{"apiVersion":"admission.k8s.io/v1beta1","kind":"AdmissionReview"}"#),
            ReviewError::ApiVersion("admission.k8s.io/v1beta1".into())
        );
        assert_eq!(
            e(r#"{"apiVersion":"admission.k8s.io/v1","kind":"Review"}"#),
            ReviewError::Kind("Review".into())
        );
        assert_eq!(
            e(r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}"#),
            ReviewError::NoRequest
        );
        assert_eq!(
            e(
                r#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":""}}"#
            ),
            ReviewError::NoUid
        );
    }

    #[test]
    fn response_shape() {
        let req = AdmissionRequest::parse(
            br#"{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1","kind":{"group":"","version":"v1","kind":"Pod"},"namespace":"ns","operation":"CREATE","userInfo":{"username":"alice","groups":["dev"]},"object":{"metadata":{"generateName":"web-"}},"oldObject":null}}"#,
        )
        .unwrap();
        assert_eq!(req.describe(), "Pod ns/web-…");
        assert!(req.old_object.is_none());
        assert_eq!(req.groups, ["dev"]);
        let mut v = Verdict::deny(403, "no");
        v.warnings.push("w".into());
        assert_eq!(
            response(&req, &v),
            json!({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview",
                   "response":{"uid":"u1","allowed":false,"status":{"code":403,"message":"no"},"warnings":["w"]}})
        );
    }
}
