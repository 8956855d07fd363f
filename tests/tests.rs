//! Whole-node tests: the real `liaison` binary as separate processes, each
//! node in its own temporary folder with a real RocksDB store.
//!
//! - [`common`]: building and running the binary, nodes in temp dirs,
//!   waits with timeouts.
//! - [`api`]: the API's TCP listener over TLS (`init --tls`): HTTPS
//!   answers with the certificate init printed, plain HTTP gets none.
//! - [`analyst_formats`]: handling markings by the config's table, and
//!   records to i2 charts and STIX bundles and back, through the CLI.
//! - [`audit`]: witnessed logs, exports that agree, and a log that
//!   verifies after kill -9.
//! - [`cli`]: init, ingest, find, withdraw and every kind of bad input.
//! - [`console`]: the analysts' web console in Debian's Chromium, driven
//!   by the Playwright suite in `tests/browser/` (needs
//!   `scripts/browser-deps`).
//! - [`crash`]: kill -9 during ingest loses no committed batch.
//! - [`demo`]: `liaison demo` runs and finds what it promises.
//! - [`exchange`]: follow-up requests, policy, reports, withdrawal and
//!   retention between three daemons.
//! - [`federation`]: daemons on loopback: connect, refuse strangers,
//!   deliver the outbox exactly once across stops and kill -9.
//! - [`people`]: users and roles across every route of the OpenAPI
//!   document, browser sessions, and a day's actions in the audit log
//!   under each person's name.
//! - [`hostile`]: hostile peers and hosts, one module per attack: a
//!   trusted peer misbehaving on the wire or flooding, strangers holding
//!   sockets open, dial steering, and local users reading the store or
//!   squatting the daemon's port.
//! - [`stopping`]: SIGTERM in the middle of a filter build of a million
//!   selectors: out within seconds, built again whole at the next start.

mod agency_files;
mod analyst_formats;
mod api;
mod audit;
mod cli;
mod common;
mod console;
mod crash;
mod demo;
mod exchange;
mod federation;
mod formats_anx;
mod formats_stix;
mod hostile;
mod matching;
mod people;
mod stopping;
