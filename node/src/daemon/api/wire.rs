//! What every route shares on the wire: errors as RFC 9457 problem
//! documents, JSON bodies read with the path of the field that was wrong,
//! and cursor pages for lists.
//!
//! A problem is `application/problem+json`: `type` (`about:blank`: the
//! status says it), `title` (the status's phrase), `status`, `detail`
//! (what was wrong and the fix, for people) and, where one field was
//! wrong, `field` (its JSON path, `entities[3].kind`). Bodies are read
//! whole up to the route's limit ([`MAX_BODY`] for JSON), so an over-size
//! upload is a 413 problem before anything is parsed.

use axum::extract::{FromRequest, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Largest JSON body a route reads.
pub const MAX_BODY: usize = 64 * 1024;
/// Largest file upload (records, matches, watchlist entries).
pub const MAX_UPLOAD: usize = 64 << 20;
/// Most items in one page.
pub const MAX_PAGE: usize = 1000;
/// Items in a page when the caller does not say.
pub const DEFAULT_PAGE: usize = 100;

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status code says what kind of problem.
    #[serde(rename = "type")]
    pub kind: String,
    /// The status's phrase.
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What was wrong and what to do, for people.
    pub detail: String,
    /// The JSON path or parameter that was wrong, if one was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

/// An API error: a status, the detail and maybe the field.
#[derive(Debug)]
pub struct ApiError {
    pub(super) status: StatusCode,
    pub(super) detail: String,
    pub(super) field: Option<String>,
}

impl ApiError {
    /// A problem with `status`.
    pub(super) fn new(status: StatusCode, detail: impl std::fmt::Display) -> ApiError {
        ApiError {
            status,
            detail: detail.to_string(),
            field: None,
        }
    }

    /// The same, naming the field that was wrong.
    pub(super) fn at(mut self, field: impl Into<String>) -> ApiError {
        self.field = Some(field.into());
        self
    }

    /// The problem document.
    pub fn problem(&self) -> Problem {
        Problem {
            kind: "about:blank".into(),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            field: self.field.clone(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut r = (self.status, body).into_response();
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        r
    }
}

/// A 400.
pub(super) fn bad_request(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, e)
}

/// A 404.
pub(super) fn not_found(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, e)
}

/// A 500. The detail is the node's own error (a store or task failure),
/// which names no secret.
pub(super) fn internal(e: impl std::fmt::Display) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e)
}

/// A JSON body, read up to `LIMIT` bytes; a body that does not decode is
/// a 400 problem naming the field (or 415 if it is not JSON).
#[derive(Debug)]
pub struct JsonBody<T, const LIMIT: usize = MAX_BODY>(pub T);

impl<T: DeserializeOwned, S: Send + Sync, const LIMIT: usize> FromRequest<S>
    for JsonBody<T, LIMIT>
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                let v = v.split(';').next().unwrap_or("").trim();
                v == "application/json" || v.ends_with("+json")
            });
        if !json {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send the body as JSON, with Content-Type: application/json",
            )
            .at("Content-Type"));
        }
        let bytes = body_bytes(req, state, LIMIT).await?;
        decode(&bytes).map(JsonBody)
    }
}

/// Decodes JSON `bytes`, naming the field that did not fit.
pub(super) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let at = if path == "." { "body".to_owned() } else { path };
        bad_request(format!("the body is not what this route takes: {inner}")).at(at)
    })
}

/// The whole body, refused with a 413 problem past `limit` bytes.
pub(super) async fn body_bytes<S: Send + Sync>(
    req: Request,
    state: &S,
    limit: usize,
) -> Result<axum::body::Bytes, ApiError> {
    let too_big = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the body is over this route's limit of {limit} bytes: send less in each request"
            ),
        )
    };
    if req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .is_some_and(|n| n > limit)
    {
        return Err(too_big());
    }
    let req = req.map(|b| axum::body::Body::new(http_body_util::Limited::new(b, limit)));
    axum::body::Bytes::from_request(req, state)
        .await
        .map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                too_big()
            } else {
                bad_request(format!("reading the body: {e}"))
            }
        })
}

/// A list's page: `?limit=N&cursor=C`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Most items (1 to 1000; default 100).
    pub limit: Option<usize>,
    /// Where to go on from: the `next` of the previous page.
    pub cursor: Option<String>,
}

/// One page of a list, and the cursor of the next (absent on the last).
#[derive(Debug, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items, in the list's order.
    pub items: Vec<T>,
    /// Pass as `cursor` for the next page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<String>,
}

impl PageQuery {
    /// The page size asked for, checked.
    pub(super) fn limit(&self) -> Result<usize, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_PAGE),
            Some(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
            Some(_) => Err(bad_request(format!("limit must be 1 to {MAX_PAGE}")).at("limit")),
        }
    }

    /// `items` (in ascending order of `key`) from after the cursor: keys
    /// are compared as strings, so callers give sortable ones (zero-padded
    /// numbers).
    pub(super) fn page<T>(
        &self,
        items: Vec<T>,
        key: impl Fn(&T) -> String,
    ) -> Result<Page<T>, ApiError> {
        let limit = self.limit()?;
        let after = match &self.cursor {
            None => None,
            Some(c) => Some(
                crate::hex::decode_vec(c)
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        bad_request(
                            "not a cursor this API gave: pass the `next` of the previous page",
                        )
                        .at("cursor")
                    })?,
            ),
        };
        let mut rest: Vec<(String, T)> = items
            .into_iter()
            .map(|i| (key(&i), i))
            .filter(|(k, _)| after.as_ref().is_none_or(|a| k > a))
            .collect();
        // Paged in the order of the key the cursor names, whatever order
        // the list came in.
        rest.sort_by(|a, b| a.0.cmp(&b.0));
        let next = (rest.len() > limit).then(|| crate::hex::encode(rest[limit - 1].0.as_bytes()));
        rest.truncate(limit);
        Ok(Page {
            items: rest.into_iter().map(|(_, i)| i).collect(),
            next,
        })
    }
}

/// A number as a key that sorts as the number.
pub(super) fn sortable(n: u64) -> String {
    format!("{n:020}")
}

/// `text` as one percent-encoded URL path segment or query value.
pub fn url_segment(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
