//! API errors: every 4xx and 5xx the API sends is `{"error": "...", "detail": ...}`.
//!
//! Messages name what the client sent and what is wrong with it, never internals: a 500
//! logs its cause on stderr under a request id and returns only that id. The extractor
//! wrappers here ([`ApiJson`], [`ApiQuery`], [`ApiPath`]) turn axum's rejections (wrong
//! content type, bad JSON, unparsable path parameters) into the same shape.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use palisade_store::StoreError;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: String,
    pub detail: Option<Value>,
    headers: Vec<(HeaderName, HeaderValue)>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: impl Into<String>) -> ApiError {
        ApiError {
            status,
            error: error.into(),
            detail: None,
            headers: Vec::new(),
        }
    }

    pub fn bad_request(msg: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, msg)
    }

    pub fn unauthorized(msg: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, msg)
    }

    pub fn forbidden(msg: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, msg)
    }

    pub fn not_found(what: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, format!("{} not found", what.into()))
    }

    pub fn conflict(msg: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, msg)
    }

    pub fn too_large(msg: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, msg)
    }

    pub fn unsupported(msg: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, msg)
    }

    pub fn unprocessable(msg: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, msg)
    }

    /// 429 with `Retry-After`.
    pub fn too_many(msg: impl Into<String>, retry_after_secs: u64) -> ApiError {
        let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, msg);
        e.detail = Some(json!({ "retry_after_seconds": retry_after_secs }));
        if let Ok(v) = HeaderValue::from_str(&retry_after_secs.to_string()) {
            e.headers.push((header::RETRY_AFTER, v));
        }
        e
    }

    /// A failure that is not the client's: the cause goes to stderr with a fresh request id,
    /// the client gets the id only.
    pub fn internal(cause: impl std::fmt::Display) -> ApiError {
        let id = request_id();
        eprintln!("palisade serve: error {id}: {cause}");
        let mut e = ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; the server log has the cause under this request id",
        );
        e.detail = Some(json!({ "request_id": id }));
        e
    }

    /// The store is unreachable or failed: 503 for the client, the cause in the log.
    pub fn unavailable(cause: impl std::fmt::Display) -> ApiError {
        let id = request_id();
        eprintln!("palisade serve: error {id}: {cause}");
        let mut e = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the database is unavailable; try again later",
        );
        e.detail = Some(json!({ "request_id": id }));
        e
    }

    pub fn with_header(mut self, name: HeaderName, value: HeaderValue) -> ApiError {
        self.headers.push((name, value));
        self
    }

    pub fn with_detail(mut self, detail: Value) -> ApiError {
        self.detail = Some(detail);
        self
    }

    /// From an axum rejection: its status and its text (which names only what the client
    /// sent: the field, the expected type, the position).
    pub fn from_rejection(status: StatusCode, text: String) -> ApiError {
        let status = if status.is_server_error() {
            StatusCode::BAD_REQUEST
        } else {
            status
        };
        ApiError::new(status, text)
    }
}

/// A short random id tying a client's error to the server log line.
fn request_id() -> String {
    match super::tokens::random_bytes::<8>() {
        Ok(b) => palisade_store::hex(&b),
        Err(_) => "unknown".into(),
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        super::metrics::store_error();
        match e {
            StoreError::Conflict(what) => ApiError::conflict(format!("{what} already exists")),
            StoreError::NotFound(what) => ApiError::not_found(what),
            StoreError::Invalid(msg) => ApiError::unprocessable(msg),
            other => ApiError::internal(other),
        }
    }
}

impl From<super::tokens::RandomError> for ApiError {
    fn from(e: super::tokens::RandomError) -> ApiError {
        ApiError::internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "error": self.error });
        if let Some(d) = self.detail {
            body["detail"] = d;
        }
        let mut r = (self.status, Json(body)).into_response();
        for (k, v) in self.headers {
            r.headers_mut().insert(k, v);
        }
        r
    }
}

/// `Json<T>` whose rejections are [`ApiError`]s.
#[derive(Debug, Clone)]
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(ApiJson(v)),
            Err(e) => Err(ApiError::from_rejection(e.status(), e.body_text())),
        }
    }
}

/// `Query<T>` whose rejections are [`ApiError`]s.
#[derive(Debug, Clone)]
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(e) => Err(ApiError::from_rejection(e.status(), e.body_text())),
        }
    }
}

/// `Path<T>` whose rejections are [`ApiError`]s (400 naming the parameter).
#[derive(Debug, Clone)]
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(e) => Err(ApiError::from_rejection(e.status(), e.body_text())),
        }
    }
}

/// A body sent as JSON or as an HTML form (`application/x-www-form-urlencoded`), as the
/// login and password endpoints accept both: the console posts forms, scripts post JSON.
#[derive(Debug, Clone)]
pub struct JsonOrForm<T> {
    pub value: T,
    /// Whether it came as a form (the answer is then a redirect, not JSON).
    pub form: bool,
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonOrForm<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                ct.trim_start()
                    .to_ascii_lowercase()
                    .starts_with("application/x-www-form-urlencoded")
            });
        if is_form {
            match axum::Form::<T>::from_request(req, state).await {
                Ok(axum::Form(v)) => Ok(JsonOrForm {
                    value: v,
                    form: true,
                }),
                Err(e) => Err(ApiError::from_rejection(e.status(), e.body_text())),
            }
        } else {
            let ApiJson(v) = ApiJson::<T>::from_request(req, state).await?;
            Ok(JsonOrForm {
                value: v,
                form: false,
            })
        }
    }
}
