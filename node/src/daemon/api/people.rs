//! Users and sessions: the admin's account routes, signing in and out,
//! and the CLI's note of a change it made to the config's peers.
//!
//! Account changes and sign-ins write their own audit entries (in
//! [`crate::users`], in the same batch as the change), naming the user
//! who made them.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse as _, Response};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};

use super::auth::audited;
use super::auth::{Audited, Auth, Principal, ABSOLUTE, COOKIE};
use super::wire::{bad_request, internal, not_found, ApiError, JsonBody, Page, PageQuery};
use crate::daemon::Node;
use crate::users::{self, Account, Role};

fn user_error(e: users::Error) -> ApiError {
    use users::Error as E;
    match e {
        E::BadName(_) | E::Exists(_) | E::LastAdmin(_) => bad_request(e).at("name"),
        E::NoRole => bad_request(e).at("roles"),
        E::BadPassword => bad_request(e).at("password"),
        E::BadLanguage(_) => bad_request(e).at("lang"),
        E::Unknown(_) => not_found(e).at("name"),
        E::SignIn | E::Disabled(_) => ApiError::new(StatusCode::UNAUTHORIZED, e),
        E::Denied { .. } => ApiError::new(StatusCode::FORBIDDEN, e),
        _ => internal(e),
    }
}

async fn on_users<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, users::Error> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(internal)?
        .map_err(user_error)
}

pub(super) async fn list(
    State(node): State<Arc<Node>>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<Account>>, ApiError> {
    let store = node.post.store().clone();
    let now = node.post.now_ms();
    let all = on_users(move || users::list(&store)).await?;
    let accounts = all.iter().map(|u| u.account(now)).collect();
    Ok(Json(page.page(accounts, |a: &Account| a.name.clone())?))
}

/// `POST /api/v1/users`.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// The name (a-z, 0-9, `.`, `_`, `-`; up to 64).
    pub name: String,
    /// Its roles: `analyst`, `supervisor`, `auditor`, `admin`.
    pub roles: Vec<String>,
    /// Its password (12 to 1024 bytes), if it signs in from a browser.
    #[serde(default)]
    pub password: Option<String>,
}

fn roles(names: &[String]) -> Result<Vec<Role>, ApiError> {
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            Role::parse(n).ok_or_else(|| {
                bad_request(format!(
                    "{n:?} is not a role: analyst, supervisor, auditor or admin"
                ))
                .at(format!("roles[{i}]"))
            })
        })
        .collect()
}

pub(super) async fn add(
    State(node): State<Arc<Node>>,
    Extension(who): Extension<Principal>,
    JsonBody(req): JsonBody<NewUser>,
) -> Result<Json<Account>, ApiError> {
    let roles = roles(&req.roles)?;
    let store = node.post.store().clone();
    let now = node.post.now_ms();
    let user = on_users(move || {
        users::add(
            &store,
            &who.name,
            &req.name,
            &roles,
            req.password.as_deref(),
            now,
        )
    })
    .await?;
    Ok(Json(user.account(now)))
}

/// `POST /api/v1/users/{name}/password`.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Password {
    /// The new password (12 to 1024 bytes).
    pub password: String,
}

pub(super) async fn password(
    State(node): State<Arc<Node>>,
    Extension(auth): Extension<Arc<Auth>>,
    Extension(who): Extension<Principal>,
    Path(name): Path<String>,
    JsonBody(req): JsonBody<Password>,
) -> Result<Json<Account>, ApiError> {
    let store = node.post.store().clone();
    let now = node.post.now_ms();
    let user =
        on_users(move || users::set_password(&store, &who.name, &name, &req.password, now)).await?;
    auth.sessions.close_user(&user.name);
    Ok(Json(user.account(now)))
}

/// A new API token: shown this once.
#[derive(Serialize, Deserialize)]
pub struct NewToken {
    /// The account.
    pub user: String,
    /// The token, for `Authorization: Bearer`.
    pub token: String,
}

pub(super) async fn token(
    State(node): State<Arc<Node>>,
    Extension(who): Extension<Principal>,
    Path(name): Path<String>,
) -> Result<Json<NewToken>, ApiError> {
    let store = node.post.store().clone();
    let now = node.post.now_ms();
    let user = name.clone();
    let token = on_users(move || users::new_token(&store, &who.name, &name, now)).await?;
    Ok(Json(NewToken { user, token }))
}

async fn set_enabled(
    node: &Node,
    auth: &Auth,
    who: Principal,
    name: String,
    enabled: bool,
) -> Result<Json<Account>, ApiError> {
    let store = node.post.store().clone();
    let now = node.post.now_ms();
    let user = on_users(move || users::set_enabled(&store, &who.name, &name, enabled, now)).await?;
    if !enabled {
        auth.sessions.close_user(&user.name);
    }
    Ok(Json(user.account(now)))
}

pub(super) async fn disable(
    State(node): State<Arc<Node>>,
    Extension(auth): Extension<Arc<Auth>>,
    Extension(who): Extension<Principal>,
    Path(name): Path<String>,
) -> Result<Json<Account>, ApiError> {
    set_enabled(&node, &auth, who, name, false).await
}

pub(super) async fn enable(
    State(node): State<Arc<Node>>,
    Extension(auth): Extension<Arc<Auth>>,
    Extension(who): Extension<Principal>,
    Path(name): Path<String>,
) -> Result<Json<Account>, ApiError> {
    set_enabled(&node, &auth, who, name, true).await
}

/// `POST /api/v1/session`.
#[derive(Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// The user's name.
    pub name: String,
    /// Its password.
    pub password: String,
}

/// Who is signed in.
#[derive(Serialize, Deserialize)]
pub struct Session {
    /// The user.
    pub user: String,
    /// Its roles.
    pub roles: Vec<Role>,
    /// The token to send in `X-CSRF-Token` with every state change (a
    /// session's only; absent for tokens and the CLI).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csrf: Option<String>,
    /// The language the user chose for the console, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// `PUT /api/v1/session/language`: the signed-in user's own language.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Language {
    /// A language tag (`en`, `ru`), or null for the browser's.
    #[serde(default)]
    pub lang: Option<String>,
}

pub(super) async fn language(
    State(node): State<Arc<Node>>,
    Extension(who): Extension<Principal>,
    JsonBody(req): JsonBody<Language>,
) -> Result<Json<Language>, ApiError> {
    let store = node.post.store().clone();
    let now = node.post.now_ms();
    let name = who.name.clone();
    let user =
        on_users(move || users::set_language(&store, &name, req.lang.as_deref(), now)).await?;
    Ok(Json(Language { lang: user.lang }))
}

fn cookie(value: &str, max_age: u64) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(&format!(
        "{COOKIE}={value}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age={max_age}"
    ))
    .map_err(internal)
}

pub(super) async fn sign_in(
    State(node): State<Arc<Node>>,
    Extension(auth): Extension<Arc<Auth>>,
    JsonBody(req): JsonBody<SignIn>,
) -> Result<Response, ApiError> {
    let now = node.post.now_ms();
    if let Some(first) = auth.sessions.throttled(&req.name, now) {
        if first {
            // Once per name and minute: a flood does not flood the log.
            super::auth::log(
                &auth,
                &req.name,
                "login-throttled",
                liaison_protocol::audit::LOCAL_FAILED,
                Audited::default(),
            )
            .await;
        }
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too many sign-ins for this name, or on this node, in the last minute: wait a minute",
        ));
    }
    let _hashing = auth.sessions.hashing.acquire().await.map_err(internal)?;
    let store = node.post.store().clone();
    let user = on_users(move || users::sign_in(&store, &req.name, &req.password, now)).await?;
    let (id, csrf) = auth.sessions.open(&user.name, now)?;
    let mut r = Json(Session {
        user: user.name,
        roles: user.roles,
        csrf: Some(csrf),
        lang: user.lang,
    })
    .into_response();
    r.headers_mut()
        .insert(header::SET_COOKIE, cookie(&id, ABSOLUTE.as_secs())?);
    Ok(r)
}

pub(super) async fn whoami(
    State(node): State<Arc<Node>>,
    Extension(auth): Extension<Arc<Auth>>,
    Extension(who): Extension<Principal>,
    headers: axum::http::HeaderMap,
) -> Result<Json<Session>, ApiError> {
    let csrf = match super::auth::cookie(&headers, COOKIE) {
        Some(id) if who.session.is_some() => auth
            .sessions
            .check(id, node.post.now_ms())
            .ok()
            .map(|(_, c, _)| c),
        _ => None,
    };
    let store = node.post.store().clone();
    let name = who.name.clone();
    let lang = on_users(move || users::get(&store, &name))
        .await?
        .and_then(|u| u.lang);
    Ok(Json(Session {
        user: who.name,
        roles: who.roles,
        csrf,
        lang,
    }))
}

pub(super) async fn sign_out(
    Extension(auth): Extension<Arc<Auth>>,
    Extension(who): Extension<Principal>,
) -> Result<Response, ApiError> {
    if let Some(key) = who.session {
        auth.sessions.close(&key);
    }
    let mut r = Json(serde_json::json!({ "signed_out": who.name })).into_response();
    r.headers_mut().insert(header::SET_COOKIE, cookie("", 0)?);
    Ok(r)
}

/// `POST /api/v1/local/peer-changes`: the CLI edited the config's peers.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeerChange {
    /// `add` or `remove`.
    pub change: String,
    /// The peer's name.
    pub peer: String,
    /// Its agency key (hex), if known.
    #[serde(default)]
    pub key: Option<String>,
}

pub(super) async fn peer_change(JsonBody(req): JsonBody<PeerChange>) -> Result<Response, ApiError> {
    if req.change != "add" && req.change != "remove" {
        return Err(bad_request("change is `add` or `remove`").at("change"));
    }
    if !liaison_protocol::audit::Entry::valid_user(&req.peer) {
        return Err(bad_request("not a peer name").at("peer"));
    }
    let extra = Audited {
        object: Some(format!("{}:{}", req.change, req.peer)),
        peer: req.key.as_deref().and_then(crate::hex::decode::<32>),
        ..Audited::default()
    };
    Ok(audited(Json(serde_json::json!({ "logged": true })), extra))
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("name", &self.name)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

impl std::fmt::Debug for NewToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewToken")
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for SignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignIn")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}
