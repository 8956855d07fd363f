//! The API's one route table: each route's method, path, handler, the
//! right it needs, the audit log's name for its action, its body and
//! query, and a line for people. The router ([`router`]) and the OpenAPI
//! 3.1 document ([`openapi`]) are both built from it, so the document
//! cannot name a route the node does not serve, or a right it does not
//! check.
//!
//! Routes under `/api/v1/local/` read or write the server's own files
//! (an ingest of a file on the node's disk, a bundle on removable media,
//! an audit export): they are served on the Unix socket only, for the CLI
//! on the node's machine.

use std::sync::Arc;

use axum::handler::Handler;
use axum::http::Method;
use axum::routing::{on, MethodFilter, MethodRouter};
use serde_json::{json, Map, Value};
use utoipa::openapi::path::ParameterIn;
use utoipa::{IntoParams, PartialSchema as _, ToSchema};

use super::auth::{Auth, Needs};
use super::wire::{PageQuery, Problem, MAX_BODY, MAX_UPLOAD};
use super::{audit, events, exchange, matching, people, records};
use crate::daemon::Node;
use crate::users::Right;

/// What a route's body is.
#[derive(Debug, Clone)]
enum Body {
    None,
    /// JSON of a schema, up to a limit.
    Json {
        schema: Value,
        limit: usize,
    },
    /// A file as it is, of one of these media types.
    Upload {
        types: &'static [&'static str],
    },
}

/// One route.
pub(super) struct Route {
    method: Method,
    path: &'static str,
    needs: Needs,
    public: bool,
    summary: &'static str,
    tag: &'static str,
    body: Body,
    query: Vec<Value>,
    /// Named schemas its body refers to.
    schemas: Vec<(String, Value)>,
    paged: bool,
    handler: MethodRouter<Arc<Node>>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

fn filter(method: &Method) -> MethodFilter {
    match *method {
        Method::GET => MethodFilter::GET,
        Method::DELETE => MethodFilter::DELETE,
        Method::PUT => MethodFilter::PUT,
        _ => MethodFilter::POST,
    }
}

fn value<T: serde::Serialize>(t: &T) -> Value {
    serde_json::to_value(t).unwrap_or(Value::Null)
}

impl Route {
    fn new<H: Handler<T, Arc<Node>>, T: 'static>(
        method: Method,
        path: &'static str,
        right: Option<Right>,
        action: Option<&'static str>,
        tag: &'static str,
        summary: &'static str,
        handler: H,
    ) -> Route {
        let handler = on(filter(&method), handler);
        Route {
            method,
            path,
            needs: Needs {
                right,
                action,
                socket_only: path.starts_with("/api/v1/local/"),
                public: false,
            },
            public: false,
            summary,
            tag,
            body: Body::None,
            query: Vec::new(),
            schemas: Vec::new(),
            paged: false,
            handler,
        }
    }

    /// A JSON body of `T`, up to `limit` bytes.
    fn json_limit<T: ToSchema>(mut self, limit: usize) -> Route {
        let mut refs = Vec::new();
        T::schemas(&mut refs);
        self.schemas
            .extend(refs.into_iter().map(|(n, s)| (n, value(&s))));
        self.body = Body::Json {
            schema: value(&T::schema()),
            limit,
        };
        self
    }

    /// A JSON body of `T`, up to [`MAX_BODY`].
    fn json<T: ToSchema>(self) -> Route {
        self.json_limit::<T>(MAX_BODY)
    }

    /// A file body of one of `types`.
    fn upload(mut self, types: &'static [&'static str]) -> Route {
        self.body = Body::Upload { types };
        self
    }

    /// Query parameters of `Q`.
    fn query<Q: IntoParams>(mut self) -> Route {
        self.query.extend(
            Q::into_params(|| Some(ParameterIn::Query))
                .iter()
                .map(value),
        );
        self
    }

    /// A list in pages.
    fn paged(mut self) -> Route {
        self.paged = true;
        self.query::<PageQuery>()
    }

    fn public(mut self) -> Route {
        self.public = true;
        self.needs.public = true;
        self
    }
}

/// Every route the API serves.
pub(super) fn table() -> Vec<Route> {
    use Method as M;
    use Right as R;
    vec![
        Route::new(M::GET, "/api/v1/status", Some(R::Status), None, "node", "The node's identity, peers, queues and store counters (no record content).", super::status),
        Route::new(M::GET, "/api/v1/peers", Some(R::Peers), None, "node", "The trusted agencies, with their key fingerprints and connection state.", super::peers).paged(),
        Route::new(M::POST, "/api/v1/config/reload", Some(R::Reload), Some("reload"), "node", "Re-read the config's peers (after `liaison peer add/remove`).", super::reload),
        Route::new(M::POST, "/api/v1/pings", Some(R::Transport), Some("ping"), "node", "Signed round trips to a peer, or pings queued in its outbox.", super::ping).json::<super::PingRequest>(),
        Route::new(M::GET, "/api/v1/events", Some(R::Status), None, "node", "Server-sent events: new hits, alerts, incoming requests, overdue requests, forks and peer state (each as the user's roles allow).", events::stream),
        Route::new(M::POST, "/api/v1/records", Some(R::Records), Some("ingest"), "records", "Store records from the body, as a file is: NDJSON, CSV or call records (any encoding), XLSX, an i2 ANX chart or a STIX 2.1 bundle.", records::upload).upload(&["application/x-ndjson", "text/csv", "text/plain", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/xml", "application/stix+json"]).query::<records::UploadQuery>(),
        Route::new(M::GET, "/api/v1/records/{id}", Some(R::Records), Some("record-show"), "records", "One record as stored.", records::show),
        Route::new(M::DELETE, "/api/v1/records/{id}", Some(R::Withdraw), Some("withdraw"), "records", "Withdraw a record: it and its index entries go; peers it was released to are told.", records::withdraw),
        Route::new(M::POST, "/api/v1/searches", Some(R::Search), Some("find"), "records", "Local records under an identifier written in any form (the value travels in the body, never in a URL).", records::find).json::<records::FindRequest>(),
        Route::new(M::POST, "/api/v1/local/ingest", Some(R::Records), Some("ingest"), "local", "Store records from files on the node's disk.", records::ingest).json::<records::IngestRequest>(),
        Route::new(M::GET, "/api/v1/store/check", Some(R::Upkeep), None, "upkeep", "The store's consistency report.", records::check),
        Route::new(M::POST, "/api/v1/store/reindex", Some(R::Upkeep), Some("reindex"), "upkeep", "Re-index records stored under older rules.", records::reindex),
        Route::new(M::POST, "/api/v1/store/purge", Some(R::Upkeep), Some("purge"), "upkeep", "Purge what is past its retention now.", exchange::purge),
        Route::new(M::POST, "/api/v1/matches", Some(R::Match), Some("match"), "matching", "Hit/no-hit for every entity in the body, against every peer or one.", matching::upload_match).json_limit::<matching::MatchUpload>(MAX_UPLOAD),
        Route::new(M::GET, "/api/v1/matches/{id}", Some(R::Match), Some("hits-read"), "matching", "The hits one match found (a match with none has an empty page).", matching::match_hits).paged(),
        Route::new(M::POST, "/api/v1/local/match", Some(R::Match), Some("match"), "local", "Hit/no-hit for every entity in a file on the node's disk.", matching::run_match).json::<matching::MatchRequest>(),
        Route::new(M::GET, "/api/v1/hits", Some(R::Match), Some("hits-read"), "matching", "Hits found by matches, oldest first.", matching::hits).paged(),
        Route::new(M::GET, "/api/v1/watchlist", Some(R::Watch), Some("watchlist-read"), "matching", "Standing selectors.", matching::watch_list).paged(),
        Route::new(M::POST, "/api/v1/watchlist", Some(R::Watch), Some("watch-add"), "matching", "Watch every entity in the body.", matching::watch_upload).json_limit::<matching::WatchUpload>(MAX_UPLOAD),
        Route::new(M::POST, "/api/v1/local/watchlist", Some(R::Watch), Some("watch-add"), "local", "Watch every entity in a file on the node's disk.", matching::watch_add).json::<matching::WatchAdd>(),
        Route::new(M::DELETE, "/api/v1/watchlist/{id}", Some(R::Watch), Some("watch-remove"), "matching", "Stop watching an entry.", matching::watch_remove),
        Route::new(M::GET, "/api/v1/alerts", Some(R::Watch), Some("alerts-read"), "matching", "Alerts raised by the watchlist, oldest first.", matching::alerts).paged(),
        Route::new(M::GET, "/api/v1/requests/incoming", Some(R::Decide), Some("requests-read"), "exchange", "Follow-up requests peers sent us, oldest first.", exchange::incoming).paged(),
        Route::new(M::POST, "/api/v1/requests/incoming/{id}/approval", Some(R::Decide), Some("approve"), "exchange", "Approve a waiting request (with redactions): its records are released, or wait for a second supervisor under the two-person rule.", exchange::approve).json::<exchange::Approve>(),
        Route::new(M::POST, "/api/v1/requests/incoming/{id}/refusal", Some(R::Decide), Some("refuse"), "exchange", "Refuse a waiting request, with a reason the requester reads.", exchange::refuse).json::<exchange::Refuse>(),
        Route::new(M::GET, "/api/v1/requests/outgoing", Some(R::Request), Some("requests-read"), "exchange", "Follow-up requests we sent, with their answers, oldest first.", exchange::outgoing).paged(),
        Route::new(M::POST, "/api/v1/requests/outgoing", Some(R::Request), Some("request"), "exchange", "Ask a hit's owner for the record behind it.", exchange::request).json::<exchange::AskBody>(),
        Route::new(M::GET, "/api/v1/reports", Some(R::Reports), Some("reports-read"), "exchange", "Reports received, each verified as it is read.", exchange::reports).paged(),
        Route::new(M::GET, "/api/v1/reports/deleted", Some(R::Reports), Some("reports-read"), "exchange", "Reports deleted when their owner withdrew them.", exchange::deleted).paged(),
        Route::new(M::GET, "/api/v1/reports/{id}", Some(R::Reports), Some("report-show"), "exchange", "One report (its id, or 6+ leading hex digits).", exchange::report),
        Route::new(M::GET, "/api/v1/audit/entries", Some(R::Audit), Some("audit-read"), "audit", "Audit log entries, filtered by peer, case, user and time.", audit::entries).query::<audit::EntriesQuery>(),
        Route::new(M::GET, "/api/v1/audit/verification", Some(R::Audit), Some("audit-verify"), "audit", "Verify the whole log now: tree, checkpoints, witnesses.", audit::verify_log),
        Route::new(M::POST, "/api/v1/local/audit/export", Some(R::Audit), Some("audit-export"), "local", "Export the log (or a time range) to a file on the node's disk.", audit::export).json::<audit::ExportRequest>(),
        Route::new(M::POST, "/api/v1/local/bundles/export", Some(R::Transport), Some("bundle-export"), "local", "Write a peer's outbox to a file, for removable media.", super::bundle_export).json::<super::ExportRequest>(),
        Route::new(M::POST, "/api/v1/local/bundles/import", Some(R::Transport), Some("bundle-import"), "local", "Apply a bundle of envelopes or receipts from a file.", super::bundle_import).json::<super::ImportRequest>(),
        Route::new(M::POST, "/api/v1/local/peer-changes", Some(R::ManagePeers), Some("peer-change"), "local", "Log a change the CLI made to the config's peers, under its user.", people::peer_change).json::<people::PeerChange>(),
        Route::new(M::GET, "/api/v1/users", Some(R::Users), None, "users", "Local accounts (no secrets).", people::list).paged(),
        Route::new(M::POST, "/api/v1/users", Some(R::Users), None, "users", "Make an account.", people::add).json::<people::NewUser>(),
        Route::new(M::POST, "/api/v1/users/{name}/password", Some(R::Users), None, "users", "Set an account's password (and unlock it).", people::password).json::<people::Password>(),
        Route::new(M::POST, "/api/v1/users/{name}/token", Some(R::Users), None, "users", "A new API token for an account, replacing its old one; shown once.", people::token),
        Route::new(M::POST, "/api/v1/users/{name}/disable", Some(R::Users), None, "users", "Disable an account: its token and sessions are refused at once.", people::disable),
        Route::new(M::POST, "/api/v1/users/{name}/enable", Some(R::Users), None, "users", "Enable an account again.", people::enable),
        Route::new(M::POST, "/api/v1/session", None, None, "session", "Sign in: sets the session cookie (HttpOnly, Secure, SameSite=Strict) and returns the CSRF token.", people::sign_in).json::<people::SignIn>().public(),
        Route::new(M::GET, "/api/v1/session", None, None, "session", "Who is signed in, with the session's CSRF token.", people::whoami),
        Route::new(M::DELETE, "/api/v1/session", None, Some("logout"), "session", "Sign out.", people::sign_out),
        Route::new(M::PUT, "/api/v1/session/language", None, None, "session", "The signed-in user's language for the console (kept with the account; logged as user-lang).", people::language).json::<people::Language>(),
        Route::new(M::GET, "/api/openapi.json", None, None, "node", "This document.", openapi_json).public(),
    ]
}

async fn openapi_json() -> ([(axum::http::HeaderName, &'static str); 1], String) {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        openapi_text(),
    )
}

/// The document as `docs/openapi.json` holds it: pretty JSON and a newline.
pub fn openapi_text() -> String {
    let mut text = serde_json::to_string_pretty(&openapi()).unwrap_or_default();
    text.push('\n');
    text
}

/// The router: every route with its right checked and its action logged.
pub(super) fn router(auth: &Arc<Auth>) -> axum::Router<Arc<Node>> {
    let mut router = axum::Router::new();
    for r in table() {
        let needs = r.needs;
        let handler = r.handler.route_layer(axum::middleware::from_fn_with_state(
            (auth.clone(), needs),
            super::auth::authorize,
        ));
        router = router.route(r.path, handler);
    }
    router
}

fn problem_response(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
    })
}

/// The OpenAPI 3.1 document of [`table`].
pub fn openapi() -> Value {
    let mut paths = Map::new();
    let mut schemas = Map::new();
    schemas.insert("Problem".into(), value(&Problem::schema()));
    for r in table() {
        let mut op = Map::new();
        let id = format!(
            "{}{}",
            r.method.as_str().to_lowercase(),
            r.path
                .trim_start_matches("/api")
                .split(['/', '{', '}', '-'])
                .filter(|s| !s.is_empty())
                .map(|s| {
                    let mut c = s.chars();
                    c.next()
                        .map(|f| f.to_uppercase().chain(c).collect::<String>())
                        .unwrap_or_default()
                })
                .collect::<String>()
        );
        op.insert("operationId".into(), json!(id));
        op.insert("summary".into(), json!(r.summary));
        op.insert("tags".into(), json!([r.tag]));
        let mut params: Vec<Value> = r
            .path
            .split('/')
            .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
            .map(|p| json!({ "name": p, "in": "path", "required": true, "schema": { "type": "string", "maxLength": 256 } }))
            .collect();
        params.extend(r.query.iter().cloned());
        if !params.is_empty() {
            op.insert("parameters".into(), Value::Array(params));
        }
        match &r.body {
            Body::None => {}
            Body::Json { schema, limit } => {
                op.insert(
                    "requestBody".into(),
                    json!({
                        "required": true,
                        "description": format!("At most {limit} bytes."),
                        "content": { "application/json": { "schema": schema } },
                        "x-max-bytes": limit,
                    }),
                );
            }
            Body::Upload { types } => {
                let content: Map<String, Value> = types
                    .iter()
                    .map(|t| ((*t).to_owned(), json!({ "schema": { "type": "string" } })))
                    .collect();
                op.insert(
                    "requestBody".into(),
                    json!({
                        "required": true,
                        "description": format!("The file as it is, at most {MAX_UPLOAD} bytes."),
                        "content": content,
                        "x-max-bytes": MAX_UPLOAD,
                    }),
                );
            }
        }
        for (name, s) in &r.schemas {
            schemas.insert(name.clone(), s.clone());
        }
        let ok = if r.paged {
            json!({ "description": "One page: `items`, and `next` to pass as `cursor` for the next.",
                    "content": { "application/json": { "schema": {
                        "type": "object", "required": ["items"],
                        "properties": { "items": { "type": "array" }, "next": { "type": "string" } } } } } })
        } else if r.path == "/api/v1/events" {
            json!({ "description": "An event stream.", "content": { "text/event-stream": { "schema": { "type": "string" } } } })
        } else {
            json!({ "description": "Done.", "content": { "application/json": { "schema": {} } } })
        };
        let mut responses = Map::new();
        responses.insert("200".into(), ok);
        responses.insert(
            "400".into(),
            problem_response("The request was wrong: `detail` says how, `field` where."),
        );
        if !r.public {
            responses.insert(
                "401".into(),
                problem_response("No credentials, or not valid ones."),
            );
            responses.insert("403".into(), problem_response("The user's roles do not grant this route's right, or a session's state change came without its CSRF token."));
        }
        responses.insert("404".into(), problem_response("Nothing by that id."));
        if !matches!(r.body, Body::None) {
            responses.insert(
                "413".into(),
                problem_response("The body is over the route's limit."),
            );
        }
        op.insert("responses".into(), Value::Object(responses));
        if r.public {
            op.insert("security".into(), json!([]));
        }
        let roles: Vec<&str> = match r.needs.right {
            Some(right) => right.roles().iter().map(|r| r.as_str()).collect(),
            None if r.public => Vec::new(),
            None => crate::users::Role::ALL.iter().map(|r| r.as_str()).collect(),
        };
        op.insert("x-liaison-right".into(), value(&r.needs.right));
        op.insert("x-liaison-roles".into(), json!(roles));
        op.insert("x-liaison-local-only".into(), json!(r.needs.socket_only));
        if let Some(a) = r.needs.action {
            op.insert("x-liaison-audited-as".into(), json!(a));
        }
        let item = paths
            .entry(r.path.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(item) = item {
            item.insert(r.method.as_str().to_lowercase(), Value::Object(op));
        }
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Liaison node API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "An agency's Liaison node: records, hit/no-hit matching, follow-up requests and reports, the audit log, users. Every route but signing in needs a user: a bearer token (`liaison user token NAME`) or a session cookie with its CSRF token in `X-CSRF-Token` on state changes. Each operation's `x-liaison-roles` lists the roles that may call it; errors are RFC 9457 problem documents.",
            "license": { "name": "Apache-2.0", "identifier": "Apache-2.0" }
        },
        "servers": [{ "url": "/" }],
        "security": [{ "token": [] }, { "session": [] }],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "token": { "type": "http", "scheme": "bearer", "description": "A user's API token, `lsn_` and 64 hex digits." },
                "session": { "type": "apiKey", "in": "cookie", "name": super::auth::COOKIE, "description": "Set by POST /api/v1/session; state changes also need X-CSRF-Token." }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_document_is_the_one_the_code_serves() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.json");
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == openapi_text(),
            "{} differs from the API's routes: run `liaison openapi --out docs/openapi.json` and commit it",
            path.display()
        );
    }

    #[test]
    fn authentication_skips_exactly_the_routes_the_table_marks_public() {
        for r in table() {
            assert_eq!(
                super::super::auth::public(&r.method, r.path),
                r.public,
                "{r:?}"
            );
        }
    }

    #[test]
    fn every_route_but_signing_in_needs_a_user_and_names_its_roles() {
        let doc = openapi();
        let mut operations = 0;
        for (path, item) in doc["paths"].as_object().expect("paths") {
            for (method, op) in item.as_object().expect("item") {
                operations += 1;
                let public = op["security"] == json!([]);
                assert_eq!(
                    public,
                    path == "/api/openapi.json" || (path == "/api/v1/session" && method == "post"),
                    "{method} {path}"
                );
                if !public {
                    assert!(
                        op["responses"]["401"].is_object() && op["responses"]["403"].is_object(),
                        "{method} {path}"
                    );
                    assert!(
                        !op["x-liaison-roles"].as_array().expect("roles").is_empty(),
                        "{method} {path}"
                    );
                }
            }
        }
        assert_eq!(
            operations,
            table().len(),
            "two routes share a method and path"
        );
    }
}
