//! The commented config file that `liaison init` writes.

use std::fmt::Write as _;

/// What `liaison init` knows about the new node.
#[derive(Clone, Debug)]
pub struct NewNode<'a> {
    /// Short name.
    pub name: &'a str,
    /// ISO 3166 alpha-3, if given.
    pub country: Option<&'a str>,
    /// Federation id, if given (else the default).
    pub federation: Option<&'a str>,
    /// Listen addresses, if given (else the defaults).
    pub listen: &'a [String],
    /// Whether `[api]` names the certificate and key `liaison init --tls`
    /// writes beside the config ([`TLS_CERT_FILE`], [`TLS_KEY_FILE`]).
    pub tls: bool,
}

/// The API's certificate as `liaison init --tls` names it, beside the config.
pub const TLS_CERT_FILE: &str = "api-cert.pem";
/// The API's private key as `liaison init --tls` names it, beside the config.
pub const TLS_KEY_FILE: &str = "api-key.pem";

fn quoted(s: &str) -> String {
    // TOML basic strings share JSON's escapes for everything we emit.
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The text of a new node's `liaison.toml`, every key commented.
pub fn new_config_text(n: &NewNode<'_>) -> String {
    let mut t = String::new();
    t.push_str("# Liaison node configuration. Every key is documented; see README.md, \"Configuration\".\n\n");
    t.push_str("[node]\n");
    t.push_str("# Short name of this agency's node, shown in logs and to peers.\n");
    let _ = writeln!(t, "name = {}", quoted(n.name));
    t.push_str("# ISO 3166 alpha-3 country: national phone numbers are read by it.\n");
    match n.country {
        Some(c) => {
            let _ = writeln!(t, "country = {}", quoted(c));
        }
        None => t.push_str("# country = \"KGZ\"\n"),
    }
    t.push_str("# The federation's id: the same on every node that should talk to this one.\n");
    let _ = writeln!(
        t,
        "federation = {}",
        quoted(n.federation.unwrap_or("liaison"))
    );
    t.push_str("# Store and key folders, relative to this file.\n");
    t.push_str("data_dir = \"data\"\nkey_dir = \"keys\"\n\n");
    t.push_str("[ingest]\n");
    t.push_str("# Records per atomic write batch; a crash loses at most the batch in flight.\n");
    t.push_str("batch_size = 2048\n");
    t.push_str("# Longest NDJSON line or CSV row accepted, in bytes.\n");
    t.push_str("max_line_bytes = 1048576\n\n");
    t.push_str("# Handling markings other than TLP 2.0 that records carry, and the TLP code\n");
    t.push_str("# each is handled as (release policy, exports). A record keeps the marking\n");
    t.push_str("# as written (`marking`). Europol's handling codes H0-H3 and national\n");
    t.push_str("# markings: set them to your agency's reading; case and spaces do not count.\n");
    t.push_str("[ingest.markings]\n");
    t.push_str("# \"H0\" = \"TLP:AMBER\"\n");
    t.push_str("# \"H1\" = \"TLP:AMBER+STRICT\"\n");
    t.push_str("# \"H2\" = \"TLP:AMBER+STRICT\"\n");
    t.push_str("# \"H3\" = \"TLP:RED\"\n");
    t.push_str("# \"ДСП\" = \"TLP:AMBER+STRICT\"   # для служебного пользования\n\n");
    t.push_str("[network]\n");
    t.push_str("# Multiaddrs `liaison run` listens on.\n");
    if n.listen.is_empty() {
        t.push_str("listen = [\"/ip4/0.0.0.0/tcp/4710\", \"/ip4/0.0.0.0/udp/4710/quic-v1\"]\n");
    } else {
        let list: Vec<String> = n.listen.iter().map(|a| quoted(a)).collect();
        let _ = writeln!(t, "listen = [{}]", list.join(", "));
    }
    t.push_str("# Close connections idle this long.\nidle_timeout = \"60s\"\n");
    t.push_str("# Most connections open at once.\nmax_connections = 64\n");
    t.push_str("# Oldest envelope accepted (a peer offline this long still gets everything).\n");
    t.push_str("max_message_age = \"7d\"\n");
    t.push_str("# How far ahead of this clock a peer's may be.\nmax_clock_skew = \"5m\"\n\n");
    t.push_str("[api]\n");
    t.push_str("# The local HTTP API is served on the Unix socket DATA_DIR/api.sock (mode\n");
    t.push_str("# 0600), which the CLI uses, acting as a user (see os_users). `listen` adds\n");
    t.push_str("# a TCP address for browsers and the agency's tools, where each request is a\n");
    t.push_str("# user's token or session (port 0: a free one, written to DATA_DIR/api.addr).\n");
    t.push_str("listen = \"\"\n");
    t.push_str("# With a PEM certificate and key (relative to this file; the key mode 0600)\n");
    t.push_str("# `listen` speaks HTTPS only and may be any address, not just loopback.\n");
    t.push_str("# `liaison init --tls` writes a self-signed pair and prints its fingerprint.\n");
    if n.tls {
        let _ = writeln!(t, "tls_cert = {}", quoted(TLS_CERT_FILE));
        let _ = writeln!(t, "tls_key = {}\n", quoted(TLS_KEY_FILE));
    } else {
        t.push_str("tls_cert = \"\"\ntls_key = \"\"\n\n");
    }
    t.push_str("# The CLI acts as the user named like the OS account running it, or as\n");
    t.push_str("# mapped here (`--as USER` overrides): { \"aivanova\" = \"ivanova\" }.\n");
    t.push_str("[api.os_users]\n\n");
    t.push_str("[audit]\n");
    t.push_str("# How often to sign a checkpoint of the audit log and send it to the peers\n");
    t.push_str("# to witness (cosign).\n");
    t.push_str("checkpoint_interval = \"5m\"\n\n");
    t.push_str("[matching]\n");
    t.push_str("# Each peer gets a new OPRF key and filter every epoch; the old key answers\n");
    t.push_str("# queries in flight for `overlap` more, then is destroyed.\n");
    t.push_str("epoch = \"24h\"\noverlap = \"10m\"\n");
    t.push_str("# How often tags of new records go to the peers (watchlist alerts follow).\n");
    t.push_str("delta_interval = \"60s\"\n");
    t.push_str("# Selectors of one kind a peer may have evaluated per window (a peer's own\n");
    t.push_str("# `budget = { phone = 5000, default = 1000 }` overrides it).\n");
    t.push_str("budget_window = \"24h\"\nbudget = 10000\n");
    t.push_str("# How much of a peer's budget (per kind, per window) its watchlist\n# renewals may take: renewals count against the budget too.\nrenewal_budget = 10000\n");
    t.push_str(
        "# How long `liaison match` waits for the peers' answers.\nanswer_timeout = \"60s\"\n\n",
    );
    t.push_str("[exchange]\n");
    t.push_str("# What a peer's request for a record gets, by its handling code: \"auto\"\n");
    t.push_str("# (released at once), \"manual\" (`liaison approve` or `refuse`) or \"never\".\n");
    t.push_str("# TLP:RED is never released and TLP:AMBER+STRICT never automatically. A peer's\n");
    t.push_str("# own `release = { ... }` overrides it code by code.\n");
    t.push_str("release = { default = \"manual\" }\n");
    t.push_str("# Handling codes whose release needs two different supervisors: the first\n");
    t.push_str("# approval waits for a second by someone else. Never released automatically.\n");
    t.push_str("two_person = []   # e.g. [\"TLP:AMBER+STRICT\"]\n");
    t.push_str("# A request waiting this long raises a reminder (Prüm II: 48 hours).\n");
    t.push_str("deadline = \"48h\"\n");
    t.push_str("# A report whose owner withdraws its record: \"mark\" it or \"delete\" it.\n");
    t.push_str("on_withdrawal = \"mark\"\n");
    t.push_str("# Retention: received reports, hits and alerts, answered requests. Records\n");
    t.push_str("# go at their own `expires`. Checked every `purge_interval`.\n");
    t.push_str("report_retention = \"365d\"\nhit_retention = \"90d\"\n");
    t.push_str("request_retention = \"365d\"\npurge_interval = \"1h\"\n");
    t.push_str("# Per peer and day: follow-up requests, and new case references they open.\n");
    t.push_str("requests_per_day = 500\ncases_per_day = 100\n\n");
    t.push_str("# Trusted agencies, one [[peers]] table each (`liaison peer add` writes them):\n");
    t.push_str("# [[peers]]\n# name = \"tj-drug-control\"\n# key = \"liaison-agency-v1:...\"\n");
    t.push_str("# addrs = [\"/ip4/192.0.2.20/tcp/4710\"]\n");
    t.push_str("# kinds = [\"phone\", \"document\", \"person_name\"]   # default: every kind\n");
    t.push_str("# budget = { phone = 5000, default = 1000 }   # default: [matching] budget\n");
    t.push_str("# release = { \"TLP:GREEN\" = \"auto\" }   # default: [exchange] release\n");
    t.push_str(
        "# match_red = false   # true: our TLP:RED records can be hits for it (never released)\n",
    );
    t
}
