//! The analysts' console: server-rendered pages under `/console/`, in
//! Russian and English, served on the API's TCP listener.
//!
//! The console holds no data and decides nothing: every page is built
//! from calls to the `/api/v1` router, made in process with the browser's
//! own session cookie (and, for a state change, the form's CSRF token as
//! `X-CSRF-Token`). So each page and button is refused by exactly the
//! rule that refuses the API route behind it, and is logged under the
//! same user with the same action. The console adds only what a browser
//! needs: forms instead of JSON, the page's language, and the roles'
//! view (a link or button a role may not use is not drawn).
//!
//! - `i18n`: catalogues, language negotiation, dates and numbers;
//! - `views`: the templates;
//! - `pages`: the handlers;
//! - `chart`: the link chart's graph, built from records and reports;
//! - `assets`: the static files in `web/static/` (styles, scripts, the vendored chart
//!   library), embedded in the binary.

mod assets;
mod chart;
pub mod i18n;
mod pages;
mod views;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, Request, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use tower::ServiceExt as _;

use super::api::auth::{COOKIE, CSRF_HEADER};
use crate::users::{Right, Role};
use i18n::{Catalogues, Lang};

/// The cookie holding the language a browser chose.
pub const LANG_COOKIE: &str = "liaison_lang";

/// The pages' Content-Security-Policy: scripts, styles and fetches from
/// the node only, no inline script or style, no framing.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// Why the console could not start (a broken template or catalogue in
/// this build: the unit tests catch both first).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A catalogue.
    #[error(transparent)]
    Catalogue(#[from] i18n::CatalogueError),
    /// A template.
    #[error("console template: {0}")]
    Template(#[from] minijinja::Error),
}

/// The console: the API it calls, its templates and catalogues.
pub struct Console {
    api: Router,
    views: minijinja::Environment<'static>,
    /// The catalogues behind `views`' `t` (the tests ask them directly).
    #[cfg_attr(not(test), allow(dead_code))]
    catalogues: Arc<Catalogues>,
    node: String,
    /// The node's country (records without one were read with it).
    country: Option<String>,
}

impl std::fmt::Debug for Console {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Console")
            .field("node", &self.node)
            .finish_non_exhaustive()
    }
}

/// The console's routes, calling `api` (the API's router with its
/// authentication) for everything.
pub fn router(api: Router, node: &str, country: Option<String>) -> Result<Router, Error> {
    let catalogues = Arc::new(Catalogues::load()?);
    let console = Arc::new(Console {
        api,
        views: views::environment(catalogues.clone())?,
        catalogues,
        node: node.to_owned(),
        country,
    });
    Ok(Router::new()
        .route("/", get(|| async { Redirect::to("/console/") }))
        .route("/console", get(|| async { Redirect::to("/console/") }))
        .route(
            "/favicon.ico",
            get(|| async { Redirect::to("/console/static/favicon.svg") }),
        )
        .route("/console/", get(pages::overview))
        .route("/console/static/{*file}", get(assets::serve))
        .route(
            "/console/signin",
            get(pages::sign_in_page).post(pages::sign_in),
        )
        .route("/console/signout", post(pages::sign_out))
        .route("/console/language", post(pages::language))
        .route(
            "/console/search",
            get(pages::search_page).post(pages::search),
        )
        .route(
            "/console/match",
            get(pages::match_page).post(pages::run_match),
        )
        .route("/console/matches/{id}", get(pages::match_result))
        .route("/console/hits/{id}/request", post(pages::request_hit))
        .route("/console/records/{id}", get(pages::record))
        .route(
            "/console/records/{id}/export/{format}",
            get(pages::record_export),
        )
        .route(
            "/console/reports/{id}/export/{format}",
            get(pages::report_export),
        )
        .route("/console/export/{format}", post(pages::selection_export))
        .route(
            "/console/matches/{id}/export/{format}",
            get(pages::match_export),
        )
        .route(
            "/console/watchlist",
            get(pages::watchlist).post(pages::watch_add),
        )
        .route("/console/watchlist/{id}/remove", post(pages::watch_remove))
        .route("/console/requests", get(pages::requests))
        .route("/console/requests/{id}", get(pages::request))
        .route("/console/requests/{id}/approve", post(pages::approve))
        .route("/console/requests/{id}/refuse", post(pages::refuse))
        .route("/console/reports", get(pages::reports))
        .route("/console/reports/{id}", get(pages::report))
        .route("/console/chart", get(pages::chart))
        .route("/console/chart/graph.json", get(chart::graph))
        .route("/console/audit", get(pages::audit).post(pages::audit))
        .route("/console/audit/verify", post(pages::audit_verify))
        .route("/console/audit/export", get(pages::audit_export))
        .route("/console/admin", get(pages::admin))
        .route("/console/admin/users", post(pages::user_add))
        .route(
            "/console/admin/users/{name}/{change}",
            post(pages::user_change),
        )
        .route("/console/admin/reload", post(pages::reload))
        .route(
            "/console/{*rest}",
            get(pages::not_found).post(pages::not_found),
        )
        .layer(axum::middleware::from_fn(same_origin))
        .layer(axum::middleware::map_response(page_headers))
        .layer(axum::extract::DefaultBodyLimit::max(
            super::api::wire::MAX_UPLOAD,
        ))
        .with_state(console))
}

/// Headers on every console answer: the strict CSP, no framing, no
/// sniffing, no referrer, and no caching of pages (assets set their own).
async fn page_headers(mut r: Response) -> Response {
    let h = r.headers_mut();
    super::api::protect(h, CSP);
    h.insert(
        "cross-origin-opener-policy",
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}

/// Refuses a form posted from another site (the browser says so in
/// `Sec-Fetch-Site`, or its `Origin` names another host): besides the
/// CSRF token, this stops a page elsewhere from signing a browser in to
/// an account of its choosing (sign-in has no session, so no token yet).
async fn same_origin(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let h = request.headers();
        let site = h.get("sec-fetch-site").and_then(|v| v.to_str().ok());
        let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
        let origin_host = h
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .filter(|o| *o != "null")
            .map(|o| o.split_once("://").map_or(o, |(_, rest)| rest));
        let cross = matches!(site, Some("cross-site" | "same-site"))
            || origin_host.is_some_and(|o| Some(o) != host);
        if cross {
            return (
                StatusCode::FORBIDDEN,
                "a form from another site: the console takes forms from its own pages only",
            )
                .into_response();
        }
    }
    next.run(request).await
}

/// The signed-in user, as the API's session says.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Who {
    /// Account name.
    pub name: String,
    /// Its roles.
    pub roles: Vec<Role>,
    /// The session's CSRF token, for the page's forms.
    pub csrf: String,
}

impl Who {
    fn may(&self, right: Right) -> bool {
        self.roles.iter().any(|r| r.grants(right))
    }
}

/// One request as the console sees it: its language (the user's own
/// choice, else the browser's cookie, else `Accept-Language`), its
/// session cookie and who that is.
#[derive(Debug, Clone)]
pub struct Ctx {
    lang: Lang,
    cookie: Option<String>,
    who: Option<Who>,
}

/// An answer from the API.
#[derive(Debug)]
pub struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    json: Value,
}

impl Answer {
    fn ok(&self) -> bool {
        self.status.is_success()
    }

    /// The problem's detail, for a page's error banner.
    fn detail(&self) -> String {
        self.json["detail"]
            .as_str()
            .map_or_else(|| self.status.to_string(), str::to_owned)
    }
}

/// What a page shows instead of itself.
#[derive(Debug)]
pub enum Refusal {
    /// Not signed in (or the session ended): to the sign-in page.
    SignIn,
    /// The API refused or failed: a page with its status and detail.
    Api(StatusCode, String),
    /// Not found.
    NotFound,
}

impl Console {
    /// The request's context: its language, and who its session cookie
    /// belongs to (asked of the API: `GET /api/v1/session`).
    async fn ctx(&self, headers: &HeaderMap) -> Ctx {
        let chosen = super::api::auth::cookie(headers, LANG_COOKIE);
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        let lang = i18n::negotiate(chosen, accept);
        let cookie = super::api::auth::cookie(headers, COOKIE).map(str::to_owned);
        let mut ctx = Ctx {
            lang,
            cookie,
            who: None,
        };
        if ctx.cookie.is_some() {
            let a = self
                .call(&ctx, Method::GET, "/api/v1/session", None, None)
                .await;
            if let (true, Ok(w)) = (a.ok(), serde_json::from_value::<WhoJson>(a.json)) {
                // The user's own choice, kept with the account, comes first.
                if let Some(l) = w.lang.as_deref().and_then(Lang::parse) {
                    ctx.lang = l;
                }
                ctx.who = Some(Who {
                    name: w.user,
                    roles: w.roles,
                    csrf: w.csrf.unwrap_or_default(),
                });
            }
        }
        ctx
    }

    /// Calls the API in process, as the browser: its cookie, and `csrf`
    /// as the CSRF header (the form's, never the session's own: a form
    /// without it is refused by the API).
    async fn call(
        &self,
        ctx: &Ctx,
        method: Method,
        path: &str,
        csrf: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(c) = &ctx.cookie {
            req = req.header(header::COOKIE, format!("{COOKIE}={c}"));
        }
        if let Some(t) = csrf {
            req = req.header(CSRF_HEADER, t);
        }
        let body = match body {
            Some(v) => {
                req = req.header(header::CONTENT_TYPE, "application/json");
                Body::from(serde_json::to_vec(&v).unwrap_or_default())
            }
            None => Body::empty(),
        };
        let Ok(req) = req.body(body) else {
            return Answer::failed("the console built a bad request");
        };
        let Ok(res) = self.api.clone().oneshot(req).await;
        let (parts, body) = res.into_parts();
        let bytes = match axum::body::to_bytes(body, super::api::wire::MAX_UPLOAD).await {
            Ok(b) => b,
            Err(_) => return Answer::failed("the API's answer could not be read"),
        };
        Answer {
            status: parts.status,
            json: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            headers: parts.headers,
        }
    }

    /// As [`call`](Self::call), and a refusal unless it succeeded.
    async fn get(&self, ctx: &Ctx, path: &str) -> Result<Value, Refusal> {
        let a = self.call(ctx, Method::GET, path, None, None).await;
        a.into_result()
    }

    /// Renders a page.
    fn render(&self, ctx: &Ctx, template: &str, page: &str, data: Value) -> Response {
        self.render_status(ctx, StatusCode::OK, template, page, data)
    }

    fn render_status(
        &self,
        ctx: &Ctx,
        status: StatusCode,
        template: &str,
        page: &str,
        data: Value,
    ) -> Response {
        let nav: Vec<Value> = NAV
            .iter()
            .filter(|(_, _, right)| ctx.who.as_ref().is_some_and(|w| w.may(*right)))
            .map(|(path, key, _)| serde_json::json!({"path": path, "key": key, "here": *key == page}))
            .collect();
        let rights: serde_json::Map<String, Value> = Right::ALL
            .iter()
            .map(|r| {
                let name = serde_json::to_value(r)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                (
                    name,
                    Value::Bool(ctx.who.as_ref().is_some_and(|w| w.may(*r))),
                )
            })
            .collect();
        let context = minijinja::context! {
            lang => ctx.lang.tag(),
            langs => Lang::ALL.iter().map(|l| l.tag()).collect::<Vec<_>>(),
            who => ctx.who,
            csrf => ctx.who.as_ref().map(|w| w.csrf.clone()).unwrap_or_default(),
            may => rights,
            nav => nav,
            page => page,
            node => self.node,
            data => data,
        };
        let html = self
            .views
            .get_template(template)
            .and_then(|t| t.render(context));
        match html {
            Ok(html) => {
                let mut r = (status, html).into_response();
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                );
                r
            }
            Err(e) => {
                tracing::error!(template, error = %e, "console template failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the page could not be drawn: see the daemon's log",
                )
                    .into_response()
            }
        }
    }

    /// The page for a refusal.
    fn refused(&self, ctx: &Ctx, refusal: Refusal) -> Response {
        match refusal {
            Refusal::SignIn => Redirect::to("/console/signin").into_response(),
            Refusal::NotFound => self.render_status(
                ctx,
                StatusCode::NOT_FOUND,
                "error.html",
                "error",
                serde_json::json!({"status": 404, "title": "error-not-found", "detail": ""}),
            ),
            Refusal::Api(status, detail) => {
                let title = match status.as_u16() {
                    403 => "error-forbidden",
                    404 => "error-not-found",
                    400 | 422 => "error-bad-request",
                    409 => "error-conflict",
                    413 => "error-too-large",
                    429 => "error-too-many",
                    _ => "error-failed",
                };
                self.render_status(
                    ctx,
                    status,
                    "error.html",
                    "error",
                    serde_json::json!({"status": status.as_u16(), "title": title, "detail": detail}),
                )
            }
        }
    }
}

impl Answer {
    fn failed(detail: &str) -> Answer {
        Answer {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            headers: HeaderMap::new(),
            json: serde_json::json!({ "detail": detail }),
        }
    }

    fn into_result(self) -> Result<Value, Refusal> {
        match self.status {
            s if s.is_success() => Ok(self.json),
            StatusCode::UNAUTHORIZED => Err(Refusal::SignIn),
            s => Err(Refusal::Api(s, self.detail())),
        }
    }
}

#[derive(serde::Deserialize)]
struct WhoJson {
    user: String,
    roles: Vec<Role>,
    #[serde(default)]
    csrf: Option<String>,
    #[serde(default)]
    lang: Option<String>,
}

/// The navigation: (path, message key, right it needs).
const NAV: [(&str, &str, Right); 8] = [
    ("/console/", "nav-overview", Right::Status),
    ("/console/search", "nav-search", Right::Search),
    ("/console/match", "nav-match", Right::Match),
    ("/console/watchlist", "nav-watchlist", Right::Watch),
    ("/console/requests", "nav-requests", Right::Request),
    ("/console/reports", "nav-reports", Right::Reports),
    ("/console/audit", "nav-audit", Right::Audit),
    ("/console/admin", "nav-admin", Right::Users),
];

#[cfg(test)]
mod tests;
