//! The console's templates (`node/src/daemon/console/web/templates/*.html`, embedded in
//! the binary) in one minijinja environment. Every value is escaped for
//! HTML on output (the templates' `.html` extension turns escaping on);
//! nothing is marked safe. Templates call:
//!
//! - `t("key", name=value...)`: the message in the page's language;
//! - `field(name)`, `rel(name)`: a record field's or link's name in that
//!   language, if the catalogue has one;
//! - `value | when`: a Unix time in ms as the language writes it;
//! - `value | num`: an integer with the language's digit grouping;
//! - `value | tlp_class`: the CSS class of a handling code's banner;
//! - `value | seg`: percent-encoded for a URL path segment or query;
//! - `value | lead`: a sentence's first word (a hit's strength).

use minijinja::value::{Kwargs, Value};
use minijinja::{Environment, Error, ErrorKind, State};

use super::i18n::{self, Catalogues, Lang};

/// Every template: (name, source).
pub(super) const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("web/templates/base.html")),
    ("signin.html", include_str!("web/templates/signin.html")),
    ("overview.html", include_str!("web/templates/overview.html")),
    ("search.html", include_str!("web/templates/search.html")),
    ("match.html", include_str!("web/templates/match.html")),
    (
        "watchlist.html",
        include_str!("web/templates/watchlist.html"),
    ),
    ("requests.html", include_str!("web/templates/requests.html")),
    ("request.html", include_str!("web/templates/request.html")),
    ("reports.html", include_str!("web/templates/reports.html")),
    ("report.html", include_str!("web/templates/report.html")),
    ("chart.html", include_str!("web/templates/chart.html")),
    ("audit.html", include_str!("web/templates/audit.html")),
    ("admin.html", include_str!("web/templates/admin.html")),
    ("record.html", include_str!("web/templates/record.html")),
    ("macros.html", include_str!("web/templates/macros.html")),
    ("error.html", include_str!("web/templates/error.html")),
];

fn lang_of(state: &State<'_, '_>) -> Lang {
    state
        .lookup("lang")
        .and_then(|v| v.as_str().and_then(Lang::parse))
        .unwrap_or(Lang::En)
}

/// The environment, with the catalogues behind `t`.
pub(super) fn environment(
    catalogues: std::sync::Arc<Catalogues>,
) -> Result<Environment<'static>, Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Chainable);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)?;
    }
    // A record's field or link name in the page's language, or as written
    // when the catalogue has no name for it (records may carry any).
    for (function, prefix) in [("field", "field-"), ("rel", "rel-")] {
        let names = catalogues.clone();
        env.add_function(
            function,
            move |state: &State<'_, '_>, name: &str| -> String {
                let key = format!("{prefix}{name}");
                let lang = lang_of(state);
                if names.has(lang, &key) {
                    names.text(lang, &key, None)
                } else {
                    name.to_owned()
                }
            },
        );
    }
    env.add_function(
        "t",
        move |state: &State<'_, '_>, key: &str, kwargs: Kwargs| -> Result<String, Error> {
            let mut args = fluent_bundle::FluentArgs::new();
            for name in kwargs.args() {
                let v: Value = kwargs.get(name)?;
                let json = serde_json::to_value(&v)
                    .map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?;
                args.set(name.to_owned(), i18n::arg(&json));
            }
            kwargs.assert_all_used()?;
            let lang = lang_of(state);
            let any = args.iter().next().is_some();
            Ok(catalogues.text(lang, key, any.then_some(&args)))
        },
    );
    // Unix ms, or an RFC 3339 time as the audit log's entries give it.
    env.add_filter("when", |state: &State<'_, '_>, v: Value| -> String {
        let ms = match v.as_str() {
            Some(text) => {
                time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
                    .ok()
                    .and_then(|t| u64::try_from(t.unix_timestamp_nanos() / 1_000_000).ok())
            }
            None => u64::try_from(v.clone()).ok(),
        };
        ms.filter(|&m| m > 0)
            .map_or_else(|| "—".to_owned(), |ms| i18n::datetime(lang_of(state), ms))
    });
    env.add_filter("num", |state: &State<'_, '_>, n: Option<i64>| -> String {
        n.map_or_else(|| "—".to_owned(), |n| i18n::number(lang_of(state), n))
    });
    env.add_filter("seg", |s: &str| -> String {
        super::super::api::wire::url_segment(s)
    });
    // The first word of a sentence (`strong: every name part...`).
    env.add_filter("lead", |s: &str| -> String {
        s.split([':', ' '])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase()
    });
    env.add_filter("tlp_class", |code: Option<String>| -> String {
        let code = code.unwrap_or_default().to_ascii_uppercase();
        match code.as_str() {
            "TLP:RED" => "tlp-red",
            "TLP:AMBER+STRICT" => "tlp-amber-strict",
            "TLP:AMBER" => "tlp-amber",
            "TLP:GREEN" => "tlp-green",
            "TLP:CLEAR" | "TLP:WHITE" => "tlp-clear",
            _ => "tlp-unknown",
        }
        .to_owned()
    });
    Ok(env)
}
