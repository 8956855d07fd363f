//! The console's pages. Each handler reads its form, calls the API as the
//! browser's user (see the module above) and renders what came back.
//! Values typed by people (identifiers, case references) travel in POST
//! bodies, never in URLs; only ids do.

use std::sync::Arc;

use axum::extract::{FromRequest as _, Multipart, Path, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{json, Value};

use super::super::api::wire::url_segment;
use super::{i18n, Console, Ctx, Refusal, LANG_COOKIE};
use crate::users::Right;

type S = State<Arc<Console>>;

/// A form as the browser sent it: its fields in order (a name may come
/// more than once, as checkboxes do) and an uploaded file, if any.
#[derive(Debug, Default)]
pub(super) struct FormData {
    fields: Vec<(String, String)>,
    file: Option<Vec<u8>>,
}

impl FormData {
    fn get(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
            .trim()
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.fields
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn csrf(&self) -> Option<&str> {
        Some(self.get("csrf")).filter(|c| !c.is_empty())
    }

    /// The case reference and legal basis, when both are given.
    fn case(&self) -> Option<(String, String)> {
        let (r, b) = (self.get("case"), self.get("basis"));
        (!r.is_empty() && !b.is_empty()).then(|| (r.to_owned(), b.to_owned()))
    }
}

fn unhex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// `application/x-www-form-urlencoded` text's pairs.
fn url_decoded(body: &[u8]) -> Vec<(String, String)> {
    let decode = |s: &[u8]| -> String {
        let mut out = Vec::with_capacity(s.len());
        let mut i = 0;
        while i < s.len() {
            match s[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < s.len() => match (unhex(s[i + 1]), unhex(s[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push(h * 16 + l);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                },
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    body.split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let mut it = pair.splitn(2, |&b| b == b'=');
            let k = decode(it.next().unwrap_or_default());
            let v = decode(it.next().unwrap_or_default());
            (k, v)
        })
        .collect()
}

/// Reads a urlencoded or multipart form (up to the upload limit).
async fn read_form(request: Request) -> Result<FormData, Refusal> {
    let kind = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let bad = |what: &str| Refusal::Api(StatusCode::BAD_REQUEST, what.to_owned());
    if kind.starts_with("multipart/form-data") {
        let mut parts = Multipart::from_request(request, &())
            .await
            .map_err(|e| bad(&e.body_text()))?;
        let mut form = FormData::default();
        while let Some(field) = parts.next_field().await.map_err(|e| bad(&e.body_text()))? {
            let name = field.name().unwrap_or("").to_owned();
            if field.file_name().is_some() {
                let bytes = field.bytes().await.map_err(|e| bad(&e.body_text()))?;
                if !bytes.is_empty() {
                    form.file = Some(bytes.to_vec());
                }
            } else {
                let text = field.text().await.map_err(|e| bad(&e.body_text()))?;
                form.fields.push((name, text));
            }
        }
        Ok(form)
    } else {
        let bytes = axum::body::to_bytes(request.into_body(), super::super::api::wire::MAX_UPLOAD)
            .await
            .map_err(|_| {
                Refusal::Api(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "the form is larger than the node takes (64 MiB)".into(),
                )
            })?;
        Ok(FormData {
            fields: url_decoded(&bytes),
            file: None,
        })
    }
}

impl Console {
    /// This agency, as an export names it.
    fn ours(&self) -> crate::formats::Source {
        crate::formats::Source {
            agency: self.node.clone(),
            country: self.country.clone(),
        }
    }

    /// The context of a page that needs a signed-in user with `right`.
    async fn page_ctx(&self, headers: &HeaderMap, right: Right) -> Result<Ctx, (Ctx, Refusal)> {
        let ctx = self.ctx(headers).await;
        match &ctx.who {
            None => Err((ctx, Refusal::SignIn)),
            Some(w) if !w.may(right) => {
                let detail = crate::users::denied(&w.name, right).to_string();
                Err((ctx, Refusal::Api(StatusCode::FORBIDDEN, detail)))
            }
            Some(_) => Ok(ctx),
        }
    }

    /// Calls the API for a form's state change, with the form's token.
    async fn change(
        &self,
        ctx: &Ctx,
        form: &FormData,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Refusal> {
        self.call(ctx, method, path, form.csrf(), body)
            .await
            .into_result()
    }
}

/// Runs a page body; renders its refusal if it has one.
macro_rules! page {
    ($console:expr, $headers:expr, $right:expr, |$ctx:ident| $body:expr) => {{
        let console: &Console = &$console;
        match console.page_ctx(&$headers, $right).await {
            Err((ctx, r)) => console.refused(&ctx, r),
            Ok($ctx) => {
                let result: Result<Response, Refusal> = async { $body }.await;
                match result {
                    Ok(r) => r,
                    Err(r) => console.refused(&$ctx, r),
                }
            }
        }
    }};
}

/// Takes a request's headers and form apart.
async fn split(request: Request) -> (HeaderMap, Result<FormData, Refusal>) {
    let headers = request.headers().clone();
    (headers, read_form(request).await)
}

fn see_other(path: &str) -> Response {
    Redirect::to(path).into_response()
}

/// `data` with `extra`'s fields added (a view's own fields and what one
/// answer adds: an error, a result).
fn with(mut data: Value, extra: Value) -> Value {
    if let (Some(d), Value::Object(e)) = (data.as_object_mut(), extra) {
        d.extend(e);
    }
    data
}

fn items(v: &Value) -> Vec<Value> {
    v["items"].as_array().cloned().unwrap_or_default()
}

pub(super) async fn not_found(State(c): S, headers: HeaderMap) -> Response {
    let ctx = c.ctx(&headers).await;
    c.refused(&ctx, Refusal::NotFound)
}

// --- Signing in and out, language ------------------------------------

pub(super) async fn sign_in_page(State(c): S, headers: HeaderMap) -> Response {
    let ctx = c.ctx(&headers).await;
    if ctx.who.is_some() {
        return see_other("/console/");
    }
    c.render(&ctx, "signin.html", "signin", json!({}))
}

pub(super) async fn sign_in(State(c): S, request: Request) -> Response {
    let (headers, form) = split(request).await;
    let ctx = c.ctx(&headers).await;
    let form = match form {
        Ok(f) => f,
        Err(r) => return c.refused(&ctx, r),
    };
    let name = form.get("name").to_owned();
    let body = json!({ "name": name, "password": form.get("password") });
    let a = c
        .call(&ctx, Method::POST, "/api/v1/session", None, Some(body))
        .await;
    if a.ok() {
        let mut r = see_other("/console/");
        if let Some(cookie) = a.headers.get(header::SET_COOKIE) {
            r.headers_mut().insert(header::SET_COOKIE, cookie.clone());
        }
        return r;
    }
    let key = match a.status.as_u16() {
        429 => "signin-throttled",
        401 => "signin-failed",
        _ => "error-failed",
    };
    c.render_status(
        &ctx,
        a.status,
        "signin.html",
        "signin",
        json!({ "error": key, "name": name }),
    )
}

pub(super) async fn sign_out(State(c): S, request: Request) -> Response {
    let (headers, form) = split(request).await;
    let ctx = c.ctx(&headers).await;
    let form = match form {
        Ok(f) => f,
        Err(r) => return c.refused(&ctx, r),
    };
    let a = c
        .call(&ctx, Method::DELETE, "/api/v1/session", form.csrf(), None)
        .await;
    if !a.ok() && a.status != StatusCode::UNAUTHORIZED {
        return c.refused(&ctx, Refusal::Api(a.status, a.detail()));
    }
    let mut r = see_other("/console/signin");
    if let Some(cookie) = a.headers.get(header::SET_COOKIE) {
        r.headers_mut().insert(header::SET_COOKIE, cookie.clone());
    }
    r
}

/// Sets the language: for a signed-in user, kept with the account
/// (`PUT /api/v1/session/language`, with the form's CSRF token); and in a
/// cookie for this browser, which is all there is before signing in.
pub(super) async fn language(State(c): S, request: Request) -> Response {
    let (headers, form) = split(request).await;
    let ctx = c.ctx(&headers).await;
    let form = match form {
        Ok(f) => f,
        Err(r) => return c.refused(&ctx, r),
    };
    let Some(lang) = i18n::Lang::parse(form.get("lang")) else {
        return c.refused(
            &ctx,
            Refusal::Api(StatusCode::BAD_REQUEST, "lang is en or ru".into()),
        );
    };
    if ctx.who.is_some() {
        let body = json!({ "lang": lang.tag() });
        if let Err(r) = c
            .change(
                &ctx,
                &form,
                Method::PUT,
                "/api/v1/session/language",
                Some(body),
            )
            .await
        {
            return c.refused(&ctx, r);
        }
    }
    let back = if ctx.who.is_some() {
        "/console/"
    } else {
        "/console/signin"
    };
    let mut r = see_other(back);
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={}; Path=/console; SameSite=Strict; Max-Age=31536000",
        lang.tag()
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

// --- Overview ----------------------------------------------------------

pub(super) async fn overview(State(c): S, headers: HeaderMap) -> Response {
    page!(c, headers, Right::Status, |ctx| {
        let status = c.get(&ctx, "/api/v1/status").await?;
        let who = ctx
            .who
            .as_ref()
            .map(|w| w.may(Right::Watch))
            .unwrap_or(false);
        let alerts = if who {
            let all = items(&c.get(&ctx, "/api/v1/alerts?limit=1000").await?);
            all.iter().rev().take(10).cloned().collect()
        } else {
            Vec::new()
        };
        Ok(c.render(
            &ctx,
            "overview.html",
            "nav-overview",
            json!({ "status": status, "alerts": alerts }),
        ))
    })
}

// --- Search ------------------------------------------------------------

pub(super) async fn search_page(State(c): S, headers: HeaderMap) -> Response {
    page!(c, headers, Right::Search, |ctx| Ok(c.render(
        &ctx,
        "search.html",
        "nav-search",
        json!({ "form": {} })
    )))
}

pub(super) async fn search(State(c): S, request: Request) -> Response {
    let (headers, form) = split(request).await;
    page!(c, headers, Right::Search, |ctx| {
        let form = form?;
        let mut body = json!({ "value": form.get("value"), "limit": 100 });
        if !form.get("dob").is_empty() {
            body["dob"] = json!(form.get("dob"));
        }
        if let Some(case) = form.case() {
            body["case"] = json!([case.0, case.1]);
        }
        let form_echo = json!({
            "value": form.get("value"), "dob": form.get("dob"),
            "case": form.get("case"), "basis": form.get("basis"),
        });
        match c
            .call(
                &ctx,
                Method::POST,
                "/api/v1/searches",
                form.csrf(),
                Some(body),
            )
            .await
        {
            a if a.ok() => Ok(c.render(
                &ctx,
                "search.html",
                "nav-search",
                json!({ "form": form_echo, "found": a.json }),
            )),
            a if a.status == StatusCode::BAD_REQUEST => Ok(c.render_status(
                &ctx,
                a.status,
                "search.html",
                "nav-search",
                json!({ "form": form_echo, "error": a.detail() }),
            )),
            a => Err(Refusal::Api(a.status, a.detail())),
        }
    })
}

pub(super) async fn record(State(c): S, headers: HeaderMap, Path(id): Path<String>) -> Response {
    page!(c, headers, Right::Records, |ctx| {
        let path = format!("/api/v1/records/{}", url_segment(&id));
        let r = c.get(&ctx, &path).await?;
        Ok(c.render(&ctx, "record.html", "nav-search", json!({ "record": r })))
    })
}

// --- Match ---------------------------------------------------------------

/// The kinds a person may type into the match form, and the NDJSON
/// entity each becomes.
fn typed_entity(kind: &str, value: &str, extra: &str) -> Option<Value> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    Some(match kind {
        "phone" => json!({ "type": "phone", "number": value }),
        "passport" => {
            let mut e = json!({ "type": "document", "doc_type": "passport", "number": value });
            if !extra.trim().is_empty() {
                e["country"] = json!(extra.trim().to_uppercase());
            }
            e
        }
        "plate" => json!({ "type": "vehicle", "plate": value }),
        "vin" => json!({ "type": "vehicle", "vin": value }),
        "email" => json!({ "type": "email", "address": value }),
        "person" => json!({ "type": "person", "full_name": value, "dob": extra.trim() }),
        _ => return None,
    })
}

/// How many typed rows the match and watchlist forms offer.
const ROWS: usize = 5;

/// The content to match or watch: the uploaded file, else the typed rows
/// as NDJSON (one record per row).
fn content(form: &FormData) -> Result<String, Refusal> {
    if let Some(file) = &form.file {
        return String::from_utf8(file.clone()).map_err(|e| {
            Refusal::Api(
                StatusCode::BAD_REQUEST,
                format!(
                    "the file is not UTF-8 text (byte {}): save it as UTF-8",
                    e.utf8_error().valid_up_to()
                ),
            )
        });
    }
    let (kinds, values, extras) = (form.all("kind"), form.all("value"), form.all("extra"));
    let mut lines = Vec::new();
    for (i, (kind, value)) in kinds.iter().zip(&values).enumerate() {
        let extra = extras.get(i).map_or("", String::as_str);
        if let Some(e) = typed_entity(kind, value, extra) {
            lines.push(json!({ "id": format!("form-{}", i + 1), "entities": [e] }).to_string());
        }
    }
    if lines.is_empty() {
        return Err(Refusal::Api(
            StatusCode::BAD_REQUEST,
            "nothing to match: choose a file, or type at least one identifier".into(),
        ));
    }
    Ok(lines.join("\n") + "\n")
}

pub(super) async fn match_page(State(c): S, headers: HeaderMap) -> Response {
    page!(c, headers, Right::Match, |ctx| {
        let peers = items(&c.get(&ctx, "/api/v1/peers?limit=1000").await?);
        Ok(c.render(
            &ctx,
            "match.html",
            "nav-match",
            json!({ "form": {}, "rows": ROWS, "peers": peers }),
        ))
    })
}

pub(super) async fn run_match(State(c): S, request: Request) -> Response {
    let (headers, form) = split(request).await;
    page!(c, headers, Right::Match, |ctx| {
        let form = form?;
        let peers = items(&c.get(&ctx, "/api/v1/peers?limit=1000").await?);
        let echo = json!({ "case": form.get("case"), "basis": form.get("basis"), "peer": form.get("peer") });
        let view =
            |extra: Value| with(json!({ "form": echo, "rows": ROWS, "peers": peers }), extra);
        let Some(case) = form.case() else {
            return Ok(c.render_status(
                &ctx,
                StatusCode::BAD_REQUEST,
                "match.html",
                "nav-match",
                view(json!({ "error_key": "match-need-case" })),
            ));
        };
        let content = match content(&form) {
            Ok(t) => t,
            Err(Refusal::Api(status, detail)) => {
                return Ok(c.render_status(
                    &ctx,
                    status,
                    "match.html",
                    "nav-match",
                    view(json!({ "error": detail })),
                ))
            }
            Err(r) => return Err(r),
        };
        let mut body = json!({ "content": content, "case": [case.0, case.1] });
        if !form.get("peer").is_empty() {
            body["peer"] = json!(form.get("peer"));
        }
        let a = c
            .call(
                &ctx,
                Method::POST,
                "/api/v1/matches",
                form.csrf(),
                Some(body),
            )
            .await;
        if a.status == StatusCode::BAD_REQUEST {
            return Ok(c.render_status(
                &ctx,
                a.status,
                "match.html",
                "nav-match",
                view(json!({ "error": a.detail() })),
            ));
        }
        let reply = a.into_result()?;
        Ok(c.render(
            &ctx,
            "match.html",
            "nav-match",
            view(json!({ "reply": reply })),
        ))
    })
}

/// A match's hits again, by its id.
pub(super) async fn match_result(State(c): S, headers: HeaderMap, Path(id): Path<u64>) -> Response {
    page!(c, headers, Right::Match, |ctx| {
        let hits = items(
            &c.get(&ctx, &format!("/api/v1/matches/{id}?limit=1000"))
                .await?,
        );
        Ok(c.render(
            &ctx,
            "match.html",
            "nav-match",
            json!({ "form": {}, "rows": ROWS, "peers": [], "stored": { "id": id, "hits": hits } }),
        ))
    })
}

pub(super) async fn request_hit(State(c): S, Path(hit): Path<u64>, request: Request) -> Response {
    let (headers, form) = split(request).await;
    page!(c, headers, Right::Request, |ctx| {
        let form = form?;
        let mut body = json!({ "hit": hit, "note": form.get("note") });
        if let Some(case) = form.case() {
            body["case"] = json!([case.0, case.1]);
        }
        c.change(
            &ctx,
            &form,
            Method::POST,
            "/api/v1/requests/outgoing",
            Some(body),
        )
        .await?;
        Ok(see_other("/console/requests"))
    })
}

// --- Watchlist -------------------------------------------------------------

async fn watch_view(
    c: &Console,
    ctx: &Ctx,
    extra: Value,
    status: StatusCode,
) -> Result<Response, Refusal> {
    let list = items(&c.get(ctx, "/api/v1/watchlist?limit=1000").await?);
    let alerts: Vec<Value> = items(&c.get(ctx, "/api/v1/alerts?limit=1000").await?)
        .into_iter()
        .rev()
        .collect();
    let data = with(
        json!({ "watchlist": list, "alerts": alerts, "rows": ROWS }),
        extra,
    );
    Ok(c.render_status(ctx, status, "watchlist.html", "nav-watchlist", data))
}

pub(super) async fn watchlist(State(c): S, headers: HeaderMap) -> Response {
    page!(c, headers, Right::Watch, |ctx| watch_view(
        &c,
        &ctx,
        json!({}),
        StatusCode::OK
    )
    .await)
}

pub(super) async fn watch_add(State(c): S, request: Request) -> Response {
    let (headers, form) = split(request).await;
    page!(c, headers, Right::Watch, |ctx| {
        let form = form?;
        let content = match content(&form) {
            Ok(t) => t,
            Err(Refusal::Api(status, detail)) => {
                return watch_view(&c, &ctx, json!({ "error": detail }), status).await
            }
            Err(r) => return Err(r),
        };
        let body = json!({ "content": content, "weak": form.get("weak") == "on" });
        let a = c
            .call(
                &ctx,
                Method::POST,
                "/api/v1/watchlist",
                form.csrf(),
                Some(body),
            )
            .await;
        if a.status == StatusCode::BAD_REQUEST {
            return watch_view(&c, &ctx, json!({ "error": a.detail() }), a.status).await;
        }
        let added = a.into_result()?;
        watch_view(&c, &ctx, json!({ "added": added }), StatusCode::OK).await
    })
}

pub(super) async fn watch_remove(State(c): S, Path(id): Path<u64>, request: Request) -> Response {
    let (headers, form) = split(request).await;
    page!(c, headers, Right::Watch, |ctx| {
        let form = form?;
        c.change(
            &ctx,
            &form,
            Method::DELETE,
            &format!("/api/v1/watchlist/{id}"),
            None,
        )
        .await?;
        Ok(see_other("/console/watchlist"))
    })
}

// --- Requests --------------------------------------------------------------

pub(super) async fn requests(State(c): S, headers: HeaderMap) -> Response {
    page!(c, headers, Right::Request, |ctx| {
        let who = ctx.who.clone();
        let may = |r: Right| who.as_ref().is_some_and(|w| w.may(r));
        let incoming: Vec<Value> = if may(Right::Decide) {
            items(&c.get(&ctx, "/api/v1/requests/incoming?limit=1000").await?)
                .into_iter()
                .rev()
                .collect()
        } else {
            Vec::new()
        };
        let outgoing: Vec<Value> =
            items(&c.get(&ctx, "/api/v1/requests/outgoing?limit=1000").await?)
                .into_iter()
                .rev()
                .collect();
        let now = crate::clock::system_ms();
        Ok(c.render(
            &ctx,
            "requests.html",
            "nav-requests",
            json!({ "incoming": incoming, "outgoing": outgoing, "now": now }),
        ))
    })
}

async fn incoming_one(c: &Console, ctx: &Ctx, id: &str) -> Result<Value, Refusal> {
    items(&c.get(ctx, "/api/v1/requests/incoming?limit=1000").await?)
        .into_iter()
        .find(|r| r["id"].as_str() == Some(id))
        .ok_or(Refusal::NotFound)
}

/// The redactions a supervisor can pick in one record: its summary, each
/// entity, and each entity's fields (`record-id:field`, as the API takes).
fn redactions(record: &Value) -> Vec<Value> {
    let id = record["id"].as_str().unwrap_or("");
    let mut out = Vec::new();
    if record.get("summary").is_some() {
        out.push(
            json!({ "value": format!("{id}:summary"), "field": "summary", "entity": Value::Null }),
        );
    }
    for e in record["entities"].as_array().into_iter().flatten() {
        let Some(r) = e["ref"].as_str() else { continue };
        out.push(json!({ "value": format!("{id}:{r}"), "field": Value::Null, "entity": r, "kind": e["type"] }));
        for (k, _) in e.as_object().into_iter().flatten() {
            if k != "ref" && k != "type" {
                out.push(json!({ "value": format!("{id}:{r}.{k}"), "field": k, "entity": r }));
            }
        }
    }
    out
}

pub(super) async fn request(State(c): S, headers: HeaderMap, Path(id): Path<String>) -> Response {
    page!(c, headers, Right::Decide, |ctx| {
        let req = incoming_one(&c, &ctx, &id).await?;
        let mut records = Vec::new();
        for rid in req["records"].as_array().into_iter().flatten() {
            let Some(rid) = rid.as_str() else { continue };
            let path = format!("/api/v1/records/{}", url_segment(rid));
            match c.call(&ctx, Method::GET, &path, None, None).await {
                a if a.ok() => {
                    let picks = redactions(&a.json["record"]);
                    records.push(json!({ "id": rid, "stored": a.json, "picks": picks }));
                }
                _ => records.push(json!({ "id": rid, "gone": true })),
            }
        }
        Ok(c.render(
            &ctx,
            "request.html",
            "nav-requests",
            json!({ "request": req, "records": records, "now": crate::clock::system_ms() }),
        ))
    })
}

pub(super) async fn approve(State(c): S, Path(id): Path<String>, request: Request) -> Response {
    let (headers, form) = split(request).await;
    page!(c, headers, Right::Decide, |ctx| {
        let form = form?;
        let body = json!({ "redact": form.all("redact") });
        let path = format!("/api/v1/requests/incoming/{}/approval", url_segment(&id));
        c.change(&ctx, &form, Method::POST, &path, Some(body))
            .await?;
        Ok(see_other(&format!(
            "/console/requests/{}",
            url_segment(&id)
        )))
    })
}

pub(super) async fn refuse(State(c): S, Path(id): Path<String>, request: Request) -> Response {
    let (headers, form) = split(request).await;
    page!(c, headers, Right::Decide, |ctx| {
        let form = form?;
        let body = json!({ "reason": form.get("reason") });
        let path = format!("/api/v1/requests/incoming/{}/refusal", url_segment(&id));
        c.change(&ctx, &form, Method::POST, &path, Some(body))
            .await?;
        Ok(see_other(&format!(
            "/console/requests/{}",
            url_segment(&id)
        )))
    })
}

// --- Reports ---------------------------------------------------------------

pub(super) async fn reports(State(c): S, headers: HeaderMap) -> Response {
    page!(c, headers, Right::Reports, |ctx| {
        let list: Vec<Value> = items(&c.get(&ctx, "/api/v1/reports?limit=1000").await?)
            .into_iter()
            .rev()
            .collect();
        let deleted = items(&c.get(&ctx, "/api/v1/reports/deleted?limit=1000").await?);
        Ok(c.render(
            &ctx,
            "reports.html",
            "nav-reports",
            json!({ "reports": list, "deleted": deleted }),
        ))
    })
}

pub(super) async fn report(State(c): S, headers: HeaderMap, Path(id): Path<String>) -> Response {
    page!(c, headers, Right::Reports, |ctx| {
        let path = format!("/api/v1/reports/{}", url_segment(&id));
        let r = c.get(&ctx, &path).await?;
        Ok(c.render(&ctx, "report.html", "nav-reports", json!({ "report": r })))
    })
}

// --- Chart -------------------------------------------------------------------

#[derive(serde::Deserialize)]
pub(super) struct ChartQuery {
    #[serde(default)]
    report: Option<String>,
    #[serde(default)]
    record: Option<String>,
    #[serde(default, rename = "match")]
    matched: Option<u64>,
}

pub(super) async fn chart(
    State(c): S,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<ChartQuery>,
) -> Response {
    let (right, source) = match (&q.report, &q.record, q.matched) {
        (Some(id), _, _) => (Right::Reports, format!("report={}", url_segment(id))),
        (None, Some(id), _) => (Right::Records, format!("record={}", url_segment(id))),
        (None, None, Some(id)) => (Right::Match, format!("match={id}")),
        _ => (Right::Status, String::new()),
    };
    page!(c, headers, right, |ctx| {
        if source.is_empty() {
            return Err(Refusal::NotFound);
        }
        Ok(c.render(
            &ctx,
            "chart.html",
            "nav-chart",
            json!({ "graph": format!("/console/chart/graph.json?{source}") }),
        ))
    })
}

// --- Exports for analysts' tools ----------------------------------------------

fn export_format(name: &str) -> Result<crate::formats::Export, Refusal> {
    match name {
        "anx" => Ok(crate::formats::Export::Anx),
        "stix" => Ok(crate::formats::Export::Stix),
        _ => Err(Refusal::NotFound),
    }
}

/// A download of `records` held by `agency` as an i2 chart or a STIX
/// bundle; what a handling code kept out is named in a header.
fn download(
    format: crate::formats::Export,
    records: &[liaison_protocol::record::Record],
    source: crate::formats::Source,
    name: &str,
) -> Response {
    let (bytes, skipped) = format.write(records, &source, time::OffsetDateTime::now_utc());
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.media_type()),
    );
    let file: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "attachment; filename=\"{file}.{}\"",
        format.extension()
    )) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    if let Ok(v) = HeaderValue::from_str(&skipped.len().to_string()) {
        h.insert("x-liaison-left-out", v);
    }
    r
}

fn as_record(v: &Value) -> Result<liaison_protocol::record::Record, Refusal> {
    serde_json::from_value(v.clone()).map_err(|e| {
        Refusal::Api(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("a record as stored: {e}"),
        )
    })
}

/// Our records as the API gives them, by id.
async fn our_records(
    c: &Console,
    ctx: &Ctx,
    ids: &[String],
) -> Result<Vec<liaison_protocol::record::Record>, Refusal> {
    let mut out = Vec::new();
    for id in ids {
        let v = c
            .get(ctx, &format!("/api/v1/records/{}", url_segment(id)))
            .await?;
        out.push(as_record(&v["record"])?);
    }
    Ok(out)
}

pub(super) async fn record_export(
    State(c): S,
    headers: HeaderMap,
    Path((id, format)): Path<(String, String)>,
) -> Response {
    page!(c, headers, Right::Records, |ctx| {
        let format = export_format(&format)?;
        let records = our_records(&c, &ctx, std::slice::from_ref(&id)).await?;
        Ok(download(format, &records, c.ours(), &id))
    })
}

pub(super) async fn report_export(
    State(c): S,
    headers: HeaderMap,
    Path((id, format)): Path<(String, String)>,
) -> Response {
    page!(c, headers, Right::Reports, |ctx| {
        let format = export_format(&format)?;
        let r = c
            .get(&ctx, &format!("/api/v1/reports/{}", url_segment(&id)))
            .await?;
        if r["verified"] != true {
            // Content that does not verify is shown nowhere.
            return Err(Refusal::Api(
                StatusCode::CONFLICT,
                "this report does not verify: its content is not exported".into(),
            ));
        }
        let records = r["records"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|rec| as_record(&rec["record"]))
            .collect::<Result<Vec<_>, _>>()?;
        let owner = r["originator"]
            .as_str()
            .filter(|o| !o.is_empty())
            .or(r["peer"].as_str())
            .unwrap_or("?");
        Ok(download(
            format,
            &records,
            crate::formats::Source {
                agency: owner.to_owned(),
                country: None,
            },
            &format!("report-{}", id.chars().take(12).collect::<String>()),
        ))
    })
}

pub(super) async fn match_export(
    State(c): S,
    headers: HeaderMap,
    Path((id, format)): Path<(u64, String)>,
) -> Response {
    page!(c, headers, Right::Match, |ctx| {
        let format = export_format(&format)?;
        let hits = items(
            &c.get(&ctx, &format!("/api/v1/matches/{id}?limit=1000"))
                .await?,
        );
        let records = crate::formats::hits_as_records(id, &hits);
        Ok(download(format, &records, c.ours(), &format!("match-{id}")))
    })
}

/// A link chart's selection: our records by id (a POST form, so the ids
/// of a case's records stay out of URLs and logs of proxies).
pub(super) async fn selection_export(
    State(c): S,
    Path(format): Path<String>,
    request: Request,
) -> Response {
    let (headers, form) = split(request).await;
    page!(c, headers, Right::Records, |ctx| {
        let form = form?;
        let format = export_format(&format)?;
        let who = ctx
            .who
            .as_ref()
            .map(|w| w.csrf.as_bytes().to_vec())
            .unwrap_or_default();
        if form.csrf().map(str::as_bytes) != Some(who.as_slice()) {
            return Err(Refusal::Api(
                StatusCode::FORBIDDEN,
                "missing or stale CSRF token".into(),
            ));
        }
        let ids = form.all("record");
        if ids.is_empty() || ids.len() > 1000 {
            return Err(Refusal::Api(
                StatusCode::BAD_REQUEST,
                "select 1 to 1000 of our records on the chart".into(),
            ));
        }
        let records = our_records(&c, &ctx, &ids).await?;
        Ok(download(format, &records, c.ours(), "chart-selection"))
    })
}

// --- Audit -------------------------------------------------------------------

/// A `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM` form value as Unix ms (UTC).
fn form_time(s: &str, end: bool) -> Result<Option<u64>, String> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let full = match s.len() {
        10 => format!("{s}T{}", if end { "23:59:59" } else { "00:00:00" }),
        16 => format!("{s}:{}", if end { "59" } else { "00" }),
        _ => s.to_owned(),
    };
    let fmt = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let t = time::PrimitiveDateTime::parse(&full, fmt)
        .map_err(|_| format!("{s:?} is not a date (YYYY-MM-DD, or YYYY-MM-DDTHH:MM)"))?;
    let ms = t.assume_utc().unix_timestamp_nanos() / 1_000_000;
    Ok(u64::try_from(ms).ok())
}

/// Percent-encodes a query value.
fn q(s: &str) -> String {
    url_segment(s)
}

pub(super) async fn audit(State(c): S, request: Request) -> Response {
    let method = request.method().clone();
    let (headers, form) = split(request).await;
    page!(c, headers, Right::Audit, |ctx| {
        let form = if method == Method::POST {
            form?
        } else {
            FormData::default()
        };
        let mut query = format!("/api/v1/audit/entries?order=newest&limit={AUDIT_PAGE}");
        let mut error = None;
        // Older pages: the cursor the previous page gave (a log index).
        let cursor = form.get("cursor");
        if !cursor.is_empty() {
            query.push_str(&format!("&cursor={}", q(cursor)));
        }
        for (name, key) in [("peer", "peer"), ("user", "user"), ("case", "case")] {
            if !form.get(name).is_empty() {
                query.push_str(&format!("&{key}={}", q(form.get(name))));
            }
        }
        for (name, key, end) in [("from", "from_ms", false), ("to", "to_ms", true)] {
            match form_time(form.get(name), end) {
                Ok(Some(ms)) => query.push_str(&format!("&{key}={ms}")),
                Ok(None) => {}
                Err(e) => error = Some(e),
            }
        }
        let echo = json!({
            "peer": form.get("peer"), "user": form.get("user"), "case": form.get("case"),
            "from": form.get("from"), "to": form.get("to"),
        });
        if let Some(e) = error {
            return Ok(c.render_status(
                &ctx,
                StatusCode::BAD_REQUEST,
                "audit.html",
                "nav-audit",
                json!({ "form": echo, "entries": [], "error": e }),
            ));
        }
        let a = c.call(&ctx, Method::GET, &query, None, None).await;
        if a.status == StatusCode::BAD_REQUEST {
            return Ok(c.render_status(
                &ctx,
                a.status,
                "audit.html",
                "nav-audit",
                json!({ "form": echo, "entries": [], "error": a.detail() }),
            ));
        }
        let entries = a.into_result()?;
        let status = c.get(&ctx, "/api/v1/status").await?;
        Ok(c.render(
            &ctx,
            "audit.html",
            "nav-audit",
            json!({ "form": echo, "entries": items(&entries), "status": status, "next": entries["next"] }),
        ))
    })
}

pub(super) async fn audit_verify(State(c): S, request: Request) -> Response {
    let (headers, form) = split(request).await;
    page!(c, headers, Right::Audit, |ctx| {
        let _form = form?;
        let checked = c.get(&ctx, "/api/v1/audit/verification").await?;
        let entries = items(
            &c.get(&ctx, "/api/v1/audit/entries?order=newest&limit=200")
                .await?,
        );
        let status = c.get(&ctx, "/api/v1/status").await?;
        Ok(c.render(
            &ctx,
            "audit.html",
            "nav-audit",
            json!({ "form": {}, "entries": entries, "status": status, "verified": checked }),
        ))
    })
}

/// Entries an audit page shows, newest first; older ones a page further.
const AUDIT_PAGE: usize = 100;

/// The whole log as NDJSON, one entry a line, as a download (read page
/// by page from the API, so it is what an auditor's token would read).
pub(super) async fn audit_export(State(c): S, headers: HeaderMap) -> Response {
    page!(c, headers, Right::Audit, |ctx| {
        let mut out = String::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut path = String::from("/api/v1/audit/entries?order=oldest&limit=1000");
            if let Some(cur) = &cursor {
                path.push_str(&format!("&cursor={}", q(cur)));
            }
            let page = c.get(&ctx, &path).await?;
            for e in items(&page) {
                out.push_str(&e.to_string());
                out.push('\n');
            }
            match page["next"].as_str() {
                Some(n) => cursor = Some(n.to_owned()),
                None => break,
            }
        }
        let mut r = out.into_response();
        let h = r.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-ndjson"),
        );
        let name = format!("attachment; filename=\"{}-audit.ndjson\"", c.node);
        if let Ok(v) = HeaderValue::from_str(&name) {
            h.insert(header::CONTENT_DISPOSITION, v);
        }
        Ok(r)
    })
}

// --- Admin -------------------------------------------------------------------

async fn admin_view(
    c: &Console,
    ctx: &Ctx,
    extra: Value,
    status: StatusCode,
) -> Result<Response, Refusal> {
    // The status names each peer with its key's fingerprint, which is
    // what an admin compares by phone.
    let users = items(&c.get(ctx, "/api/v1/users?limit=1000").await?);
    let me = c.get(ctx, "/api/v1/status").await?;
    let data = with(json!({ "users": users, "status": me }), extra);
    Ok(c.render_status(ctx, status, "admin.html", "nav-admin", data))
}

pub(super) async fn admin(State(c): S, headers: HeaderMap) -> Response {
    page!(c, headers, Right::Users, |ctx| admin_view(
        &c,
        &ctx,
        json!({}),
        StatusCode::OK
    )
    .await)
}

pub(super) async fn user_add(State(c): S, request: Request) -> Response {
    let (headers, form) = split(request).await;
    page!(c, headers, Right::Users, |ctx| {
        let form = form?;
        let mut body = json!({ "name": form.get("name"), "roles": form.all("role") });
        if !form.get("password").is_empty() {
            body["password"] = json!(form.get("password"));
        }
        let a = c
            .call(&ctx, Method::POST, "/api/v1/users", form.csrf(), Some(body))
            .await;
        if a.status == StatusCode::BAD_REQUEST {
            return admin_view(&c, &ctx, json!({ "error": a.detail() }), a.status).await;
        }
        a.into_result()?;
        Ok(see_other("/console/admin"))
    })
}

pub(super) async fn user_change(
    State(c): S,
    Path((name, change)): Path<(String, String)>,
    request: Request,
) -> Response {
    let (headers, form) = split(request).await;
    page!(c, headers, Right::Users, |ctx| {
        let form = form?;
        if change != "disable" && change != "enable" {
            return Err(Refusal::NotFound);
        }
        let path = format!("/api/v1/users/{}/{change}", q(&name));
        let a = c.call(&ctx, Method::POST, &path, form.csrf(), None).await;
        if a.status == StatusCode::BAD_REQUEST {
            return admin_view(&c, &ctx, json!({ "error": a.detail() }), a.status).await;
        }
        a.into_result()?;
        Ok(see_other("/console/admin"))
    })
}

pub(super) async fn reload(State(c): S, request: Request) -> Response {
    let (headers, form) = split(request).await;
    page!(c, headers, Right::Reload, |ctx| {
        let form = form?;
        let done = c
            .change(&ctx, &form, Method::POST, "/api/v1/config/reload", None)
            .await?;
        admin_view(&c, &ctx, json!({ "reloaded": done }), StatusCode::OK).await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_as_browsers_encode_them() {
        let f = url_decoded(
            b"name=%D0%98%D0%B2%D0%B0%D0%BD+%2B1&redact=a&redact=b%3Ac&empty=&bad=%zz&end=%4",
        );
        assert_eq!(f[0], ("name".into(), "Иван +1".into()));
        assert_eq!(f[1], ("redact".into(), "a".into()));
        assert_eq!(f[2], ("redact".into(), "b:c".into()));
        assert_eq!(f[3], ("empty".into(), String::new()));
        assert_eq!(f[4], ("bad".into(), "%zz".into()));
        assert_eq!(f[5], ("end".into(), "%4".into()));
    }

    #[test]
    fn typed_rows_become_entities_and_nothing_typed_is_refused() {
        let form = FormData {
            fields: vec![
                ("kind".into(), "phone".into()),
                ("value".into(), "+996 775 987 817".into()),
                ("extra".into(), String::new()),
                ("kind".into(), "person".into()),
                ("value".into(), "Курбонов Юсуф".into()),
                ("extra".into(), "14.03.1985".into()),
                ("kind".into(), "plate".into()),
                ("value".into(), " ".into()),
                ("extra".into(), String::new()),
            ],
            file: None,
        };
        let text = content(&form).expect("content");
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("json"))
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["entities"][0]["number"], "+996 775 987 817");
        assert_eq!(lines[1]["entities"][0]["dob"], "14.03.1985");
        assert!(content(&FormData::default()).is_err());
    }

    #[test]
    fn form_times_are_utc_and_bad_ones_name_the_format() {
        assert_eq!(form_time("2026-12-03", false), Ok(Some(1_796_256_000_000)));
        assert_eq!(form_time("2026-12-03", true), Ok(Some(1_796_342_399_000)));
        assert_eq!(form_time("", true), Ok(None));
        assert!(form_time("03.12.2026", false)
            .unwrap_err()
            .contains("YYYY-MM-DD"));
    }
}
