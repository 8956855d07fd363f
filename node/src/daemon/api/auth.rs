//! Who is asking, and may they: the principal behind each request, the
//! browser sessions, and the check of each route's right.
//!
//! - On the Unix socket (the CLI; mode 0600, so the service account
//!   only) the caller names its user in `X-Liaison-User` (`--user`, or
//!   the OS account's name). That user's roles apply and its actions are
//!   logged under its name. A node with no accounts yet (made before
//!   accounts existed) takes the socket's caller as its operator with
//!   every role, so the first `liaison user add` can be made.
//! - On the TCP listener: `Authorization: Bearer lsn_…` (a user's API
//!   token, for scripts), or the session cookie a browser got from
//!   `POST /api/v1/session`, plus `X-CSRF-Token` on every state change.
//!
//! Every request reads the account again, so a disabled user's token or
//! session is refused at once. Sessions are kept in the daemon's memory
//! (a restart signs everyone out): [`IDLE`] without a request or
//! [`ABSOLUTE`] after sign-in ends them. Sign-ins are throttled node-wide
//! ([`SIGN_INS_PER_MINUTE`]) on top of the per-account lockout in
//! [`crate::users`].

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use liaison_protocol::audit::{LOCAL_DENIED, LOCAL_DONE, LOCAL_FAILED};
use rand_core_09::{OsRng, TryRngCore as _};
use sha2::{Digest as _, Sha256};

use super::wire::{internal, ApiError};
use crate::daemon::Node;
use crate::users::{self, Right, Role};

/// A session ends after this long without a request.
pub const IDLE: Duration = Duration::from_secs(30 * 60);
/// A session ends this long after sign-in, however busy.
pub const ABSOLUTE: Duration = Duration::from_secs(12 * 3600);
/// Sign-in attempts the node takes in a minute, from everyone together.
pub const SIGN_INS_PER_MINUTE: usize = 120;
/// Sessions held at once; the oldest goes first past this.
const MAX_SESSIONS: usize = 10_000;
/// The session cookie.
pub const COOKIE: &str = "liaison_session";
/// The header naming the CLI's user on the socket.
pub const USER_HEADER: &str = "x-liaison-user";
/// The header carrying a session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Which listener a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// The Unix socket (the service account).
    Socket,
    /// The TCP listener.
    Network,
}

/// Who a request is from.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The account's name.
    pub name: String,
    /// Its roles.
    pub roles: Vec<Role>,
    /// The listener.
    pub via: Via,
    /// The session, if signed in from a browser (its id's hash).
    pub session: Option<[u8; 32]>,
    /// Whether the user proved who it is (a token, a session). A name the
    /// CLI gives on the socket is the service account's word for it.
    pub proven: bool,
}

impl Principal {
    /// Whether one of its roles grants `right`.
    pub fn may(&self, right: Right) -> bool {
        self.roles.iter().any(|r| r.grants(right))
    }
}

/// A browser's session.
#[derive(Debug, Clone)]
struct Session {
    user: String,
    csrf: String,
    created_ms: u64,
    seen_ms: u64,
}

/// The daemon's sessions and its sign-in throttles.
pub struct Sessions {
    open: Mutex<HashMap<[u8; 32], Session>>,
    attempts: Mutex<VecDeque<u64>>,
    by_name: Mutex<HashMap<String, VecDeque<u64>>>,
    /// Argon2 hashes at once (46 MiB each).
    pub hashing: tokio::sync::Semaphore,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the session ids' hashes or the CSRF tokens.
        f.debug_struct("Sessions").finish_non_exhaustive()
    }
}

/// Argon2 hashes the daemon runs at once: on 2 cores more only queue.
pub const HASHING: usize = 2;
/// Sign-in attempts one account name gets in a minute.
pub const SIGN_INS_PER_NAME: usize = 10;

impl Default for Sessions {
    fn default() -> Sessions {
        Sessions::new()
    }
}

impl Sessions {
    /// No sessions yet.
    pub fn new() -> Sessions {
        Sessions {
            open: Mutex::default(),
            attempts: Mutex::default(),
            by_name: Mutex::default(),
            hashing: tokio::sync::Semaphore::new(HASHING),
        }
    }
}

/// Why a session was not taken.
#[derive(Debug, PartialEq, Eq)]
pub enum SessionError {
    /// No such session (never made, signed out, or the daemon restarted).
    Unknown,
    /// It ran out.
    Expired,
}

fn random_hex() -> Result<String, ApiError> {
    let mut b = [0u8; 32];
    OsRng.try_fill_bytes(&mut b).map_err(internal)?;
    Ok(crate::hex::encode(&b))
}

fn id_hash(id: &str) -> [u8; 32] {
    Sha256::digest(id.as_bytes()).into()
}

/// Equal in constant time in the contents.
fn same(a: &[u8], b: &[u8]) -> bool {
    !b.is_empty()
        && a.len() == b.len()
        && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Sessions {
    fn open_map(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Session>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A new session for `user`: its id (the cookie) and CSRF token.
    pub fn open(&self, user: &str, now_ms: u64) -> Result<(String, String), ApiError> {
        let (id, csrf) = (random_hex()?, random_hex()?);
        let mut open = self.open_map();
        open.retain(|_, s| !expired(s, now_ms));
        if open.len() >= MAX_SESSIONS {
            if let Some(oldest) = open.iter().min_by_key(|(_, s)| s.seen_ms).map(|(k, _)| *k) {
                open.remove(&oldest);
            }
        }
        open.insert(
            id_hash(&id),
            Session {
                user: user.to_owned(),
                csrf: csrf.clone(),
                created_ms: now_ms,
                seen_ms: now_ms,
            },
        );
        Ok((id, csrf))
    }

    /// The user and CSRF token of session `id`, which counts as used now.
    pub fn check(&self, id: &str, now_ms: u64) -> Result<(String, String, [u8; 32]), SessionError> {
        let key = id_hash(id);
        let mut open = self.open_map();
        let s = open.get_mut(&key).ok_or(SessionError::Unknown)?;
        if expired(s, now_ms) {
            open.remove(&key);
            return Err(SessionError::Expired);
        }
        s.seen_ms = now_ms;
        Ok((s.user.clone(), s.csrf.clone(), key))
    }

    /// Ends the session whose id hashes to `key`.
    pub fn close(&self, key: &[u8; 32]) {
        self.open_map().remove(key);
    }

    /// Whether another sign-in as `name` may be tried now (and counts
    /// it): at most [`SIGN_INS_PER_NAME`] a minute for one name, so
    /// guessing at one account does not keep the others out, and
    /// [`SIGN_INS_PER_MINUTE`] in all, which bounds the hashing. `Some`
    /// with whether this is the first refusal in the window (the one to
    /// log), `None` when it may go on.
    pub fn throttled(&self, name: &str, now_ms: u64) -> Option<bool> {
        fn window(q: &mut VecDeque<u64>, now_ms: u64) {
            while q.front().is_some_and(|t| *t + 60_000 <= now_ms) {
                q.pop_front();
            }
        }
        let mut by_name = self.by_name.lock().unwrap_or_else(PoisonError::into_inner);
        if by_name.len() > MAX_SESSIONS {
            by_name.retain(|_, q| q.back().is_some_and(|t| *t + 60_000 > now_ms));
        }
        let q = by_name.entry(name.chars().take(64).collect()).or_default();
        window(q, now_ms);
        let mut all = self.attempts.lock().unwrap_or_else(PoisonError::into_inner);
        window(&mut all, now_ms);
        if q.len() >= SIGN_INS_PER_NAME || all.len() >= SIGN_INS_PER_MINUTE {
            let first = q.len() == SIGN_INS_PER_NAME;
            // Counted past the limit, so only the first refusal is logged.
            q.push_back(now_ms);
            return Some(first);
        }
        q.push_back(now_ms);
        all.push_back(now_ms);
        None
    }

    /// Ends every session of `user` (its password changed, it was
    /// disabled).
    pub fn close_user(&self, user: &str) {
        self.open_map().retain(|_, s| s.user != user);
    }

    /// Whether the session whose id hashes to `key` is still open.
    pub fn is_open(&self, key: &[u8; 32], now_ms: u64) -> bool {
        self.open_map()
            .get(key)
            .is_some_and(|s| !expired(s, now_ms))
    }
}

fn expired(s: &Session, now_ms: u64) -> bool {
    now_ms >= s.seen_ms + IDLE.as_millis() as u64
        || now_ms >= s.created_ms + ABSOLUTE.as_millis() as u64
}

/// The value of cookie `name` in `headers`.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// The API's shared state for authentication.
#[derive(Debug)]
pub struct Auth {
    /// The node.
    pub node: Arc<Node>,
    /// Browser sessions.
    pub sessions: Sessions,
    /// Event streams that may still open.
    pub streams: Arc<tokio::sync::Semaphore>,
}

fn unauthorized(detail: &str) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, detail)
}

/// Routes anyone may call: the document and signing in.
pub(super) fn public(method: &Method, path: &str) -> bool {
    path == "/api/openapi.json" || (method == Method::POST && path == "/api/v1/session")
}

/// Finds the principal behind the request (or refuses it with a 401 or,
/// for a session's state change without its CSRF token, a 403).
pub async fn authenticate(
    State(auth): State<Arc<Auth>>,
    mut request: Request,
    next: Next,
) -> Response {
    if public(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    let via = request
        .extensions()
        .get::<Via>()
        .copied()
        .unwrap_or(Via::Network);
    match principal(&auth, via, request.method(), request.headers()).await {
        Ok(p) => {
            request.extensions_mut().insert(p);
            next.run(request).await
        }
        Err(e) => e.into_response(),
    }
}

async fn principal(
    auth: &Auth,
    via: Via,
    method: &Method,
    headers: &HeaderMap,
) -> Result<Principal, ApiError> {
    let store = auth.node.post.store().clone();
    let now = auth.node.post.now_ms();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_owned())
        });
    if via == Via::Socket && bearer.is_none() {
        let name = headers
            .get(USER_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let user = {
            let name = name.clone();
            super::blocking(move || -> Result<_, users::Error> {
                if !users::any(&store)? {
                    return Ok(None);
                }
                users::get(&store, &name).map(Some)
            })
            .await?
        };
        return match user {
            // A node without accounts: its operator, named as the CLI says.
            None => Ok(Principal {
                name: if liaison_protocol::audit::Entry::valid_user(&name) { name } else { "operator".into() },
                roles: Role::ALL.to_vec(),
                via,
                session: None,
                proven: false,
            }),
            Some(Some(u)) if !u.disabled => Ok(Principal {
                name: u.name,
                roles: u.roles,
                via,
                session: None,
                proven: false,
            }),
            Some(Some(_)) => Err(unauthorized(&users::Error::Disabled(name).to_string())),
            Some(None) => Err(unauthorized(&format!(
                "no user {name:?} on this node: act as one `liaison user list` shows (--as NAME, or LIAISON_USER)"
            ))),
        };
    }
    if let Some(token) = bearer {
        let user = super::blocking(move || users::by_token(&store, &token)).await?;
        return user
            .map(|u| Principal {
                name: u.name,
                roles: u.roles,
                via,
                session: None,
                proven: true,
            })
            .ok_or_else(|| unauthorized("the bearer token is not one of this node's (revoked, replaced, or its user disabled): ask an admin for `liaison user token NAME`"));
    }
    let Some(id) = cookie(headers, COOKIE) else {
        return Err(unauthorized(
            "sign in first (POST /api/v1/session), or send Authorization: Bearer with a user's API token",
        ));
    };
    let (name, csrf, key) = auth.sessions.check(id, now).map_err(|e| match e {
        SessionError::Unknown => unauthorized(
            "this session is not known (signed out, or the node restarted): sign in again",
        ),
        SessionError::Expired => unauthorized("the session has expired: sign in again"),
    })?;
    let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let given = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !same(given.as_bytes(), csrf.as_bytes()) {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "missing or stale CSRF token: send the session's token (from POST or GET /api/v1/session) in X-CSRF-Token",
            )
            .at(CSRF_HEADER));
        }
    }
    let n = name.clone();
    let user = super::blocking(move || users::get(&store, &n)).await?;
    match user {
        Some(u) if !u.disabled => Ok(Principal {
            name: u.name,
            roles: u.roles,
            via,
            session: Some(key),
            proven: true,
        }),
        _ => {
            auth.sessions.close(&key);
            Err(unauthorized(&format!(
                "user {name} is disabled or gone: the session is closed"
            )))
        }
    }
}

/// What a handler adds to its action's audit entry.
#[derive(Debug, Clone, Default)]
pub struct Audited {
    /// The case commitment the action was made under.
    pub case: Option<[u8; 32]>,
    /// How many items it touched.
    pub count: u64,
    /// The request it named.
    pub request: Option<[u8; 16]>,
    /// The peer it concerned.
    pub peer: Option<[u8; 32]>,
    /// A name to add to the action (`user-add:NAME`, `peer-add:NAME`).
    pub object: Option<String>,
}

/// A response carrying what its audit entry adds.
pub(super) fn audited(
    r: impl axum::response::IntoResponse,
    a: Audited,
) -> axum::response::Response {
    let mut r = r.into_response();
    r.extensions_mut().insert(a);
    r
}

/// What a route needs, for [`authorize`].
#[derive(Debug, Clone, Copy)]
pub struct Needs {
    /// The right (none: any signed-in user).
    pub right: Option<Right>,
    /// The audit log's name for the action, if it is logged.
    pub action: Option<&'static str>,
    /// Only on the socket (the route reads or writes the server's files).
    pub socket_only: bool,
    /// Anyone may call it (the document, signing in).
    pub public: bool,
}

/// Refuses a principal without the route's right (a 403, logged), runs
/// the route, and logs the action under the principal's name.
pub async fn authorize(
    State((auth, needs)): State<(Arc<Auth>, Needs)>,
    request: Request,
    next: Next,
) -> Response {
    let Some(p) = request.extensions().get::<Principal>().cloned() else {
        if needs.public {
            return next.run(request).await;
        }
        // Fail closed: a route that is not public never runs for nobody.
        return unauthorized("sign in first").into_response();
    };
    if needs.socket_only && p.via != Via::Socket {
        return ApiError::new(
            StatusCode::NOT_FOUND,
            "this route reads or writes the node's own files: it is served on the local socket only (use the CLI on the node's machine)",
        )
        .into_response();
    }
    if let Some(right) = needs.right {
        if !p.may(right) {
            let action = needs.action.unwrap_or(request.uri().path()).to_owned();
            log(&auth, &p.name, &action, LOCAL_DENIED, Audited::default()).await;
            return ApiError::new(StatusCode::FORBIDDEN, users::denied(&p.name, right))
                .into_response();
        }
    }
    let response = next.run(request).await;
    if let Some(action) = needs.action {
        let extra = response
            .extensions()
            .get::<Audited>()
            .cloned()
            .unwrap_or_default();
        let outcome = if response.status().is_success() {
            LOCAL_DONE
        } else {
            LOCAL_FAILED
        };
        let action = match &extra.object {
            Some(o) => format!("{action}:{o}"),
            None => action.to_owned(),
        };
        if !log(&auth, &p.name, &action, outcome, extra).await {
            return internal("the action was done but its audit entry could not be written: see the daemon's log").into_response();
        }
    }
    response
}

/// Appends a local entry; whether it was written.
pub async fn log(auth: &Auth, user: &str, action: &str, outcome: u16, extra: Audited) -> bool {
    let mut e = users::local(action, user, outcome, auth.node.post.now_ms());
    e.case = extra.case;
    e.count = extra.count;
    e.message_id = extra.request.map(liaison_protocol::envelope::MessageId);
    e.peer = extra.peer;
    let store = auth.node.post.store().clone();
    let written = tokio::task::spawn_blocking(move || {
        store.append(crate::store::Batch::default(), &[e], true)
    })
    .await;
    match written {
        Ok(Ok(_)) => true,
        Ok(Err(e)) => {
            tracing::error!(error = %e, "writing a local action's audit entry");
            false
        }
        Err(e) => {
            tracing::error!(error = %e, "writing a local action's audit entry");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_800_000_000_000;

    #[test]
    fn a_session_ends_when_idle_or_old_and_on_sign_out() {
        let s = Sessions::new();
        let (id, csrf) = s.open("ivanov", T).expect("open");
        let (user, c, key) = s.check(&id, T + 1000).expect("fresh");
        assert_eq!((user.as_str(), c.as_str()), ("ivanov", csrf.as_str()));
        let idle = IDLE.as_millis() as u64;
        // Used just before it would idle out: it goes on.
        assert!(s.check(&id, T + 1000 + idle - 1).is_ok());
        // Idle too long: gone, and stays gone.
        let later = T + 1000 + 2 * idle;
        assert_eq!(s.check(&id, later), Err(SessionError::Expired));
        assert_eq!(s.check(&id, later), Err(SessionError::Unknown));
        // However busy, it ends at the absolute limit.
        let (id, _) = s.open("ivanov", T).expect("open");
        let mut t = T;
        while t + idle / 2 < T + ABSOLUTE.as_millis() as u64 {
            t += idle / 2;
            assert!(s.check(&id, t).is_ok());
        }
        assert_eq!(
            s.check(&id, T + ABSOLUTE.as_millis() as u64),
            Err(SessionError::Expired)
        );
        let (id, _) = s.open("ivanov", T).expect("open");
        s.close(&key);
        s.close(&id_hash(&id));
        assert_eq!(s.check(&id, T), Err(SessionError::Unknown));
    }

    #[test]
    fn sign_ins_are_throttled_per_name_and_in_all() {
        let s = Sessions::new();
        for i in 0..SIGN_INS_PER_NAME as u64 {
            assert_eq!(s.throttled("ivanov", T + i), None);
        }
        // The first refusal is the one logged; the next are only refused.
        assert_eq!(s.throttled("ivanov", T + 100), Some(true));
        assert_eq!(s.throttled("ivanov", T + 101), Some(false));
        // Another name is not kept out by guesses at the first...
        assert_eq!(s.throttled("petrova", T + 102), None);
        // ...until the node's own limit.
        for i in 0..SIGN_INS_PER_MINUTE as u64 {
            let _ = s.throttled(&format!("n{i}"), T + 200);
        }
        assert!(s.throttled("sidorova", T + 300).is_some());
        // A minute on, everyone may try again.
        assert_eq!(s.throttled("ivanov", T + 100 + 60_001 + 60_000), None);
    }

    #[test]
    fn cookies_are_found_by_name() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; liaison_session=abc; b=2".parse().expect("header"),
        );
        assert_eq!(cookie(&h, COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "c"), None);
    }
}
