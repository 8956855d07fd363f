//! The console's static files, embedded in the binary by `build.rs`
//! (everything under `node/src/daemon/console/web/static/`): styles, scripts, icons and
//! the vendored chart library with its licence. Served with their media
//! type, an ETag (the SHA-256 of the content) and revalidation, so a new
//! binary's files are picked up at once.

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use sha2::{Digest as _, Sha256};

mod files {
    include!(concat!(env!("OUT_DIR"), "/assets.rs"));
}

/// A file's bytes, by its path under `/console/static/`.
pub(super) fn file(path: &str) -> Option<&'static [u8]> {
    files::FILES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|(_, bytes)| *bytes)
}

fn media_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("json") => "application/json",
        Some("woff2") => "font/woff2",
        Some("md" | "txt") | None => "text/plain; charset=utf-8",
        Some(name) if name.eq_ignore_ascii_case("license") => "text/plain; charset=utf-8",
        Some(_) => "application/octet-stream",
    }
}

pub(super) async fn serve(Path(path): Path<String>, headers: HeaderMap) -> Response {
    let Some(bytes) = file(&path) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let tag = format!("\"{}\"", crate::hex::encode(&Sha256::digest(bytes)[..16]));
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == tag);
    let mut r = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        bytes.into_response()
    };
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media_type(&path)),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    if let Ok(v) = HeaderValue::from_str(&tag) {
        h.insert(header::ETAG, v);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chart_library_ships_with_its_licence_and_the_pages_scripts() {
        for path in [
            "app.css",
            "app.js",
            "chart.js",
            "vendor/cytoscape/cytoscape.min.js",
            "vendor/cytoscape/cytoscape.css",
            "vendor/cytoscape/LICENSE",
            "vendor/layout-base/layout-base.js",
            "vendor/layout-base/LICENSE",
            "vendor/cose-base/cose-base.js",
            "vendor/cose-base/LICENSE",
            "vendor/cytoscape-fcose/cytoscape-fcose.js",
            "vendor/cytoscape-fcose/LICENSE",
            "icons/person.svg",
            "icons/expand.svg",
        ] {
            assert!(
                file(path).is_some_and(|b| !b.is_empty()),
                "{path} is not embedded"
            );
        }
        assert_eq!(media_type("app.js"), "text/javascript; charset=utf-8");
        assert_eq!(media_type("icons/person.svg"), "image/svg+xml");
    }
}
