//! `liaison demo`: the three-agency demo federation of `config/examples/`,
//! built in a temporary folder, each agency's sample data ingested in its
//! own script and format, three daemons on 127.0.0.1, and narrated: a
//! cross-border hit on a person written in Latin at one agency and in
//! Cyrillic at the others, a watchlist alert when a new record arrives,
//! the budget refusing an enumeration, and every audit log verified.
//!
//! The demo agencies' keys are derived from public seeds
//! ([`demo_identity`]) so the example configs can name each other's keys.
//! They are for the demo only: anyone can derive them.
//!
//! Input: the example configs and sample files, embedded in the binary
//! ([`AGENCIES`]), and `--dir`. Output: the narration on stdout, the three
//! nodes' folders (kept only with `--dir`), each daemon's log in its
//! folder, and exit code 1 when a step did not show what it should.
//! Besides [`crate::cli`]'s dispatch, it imports only the CLI's shared
//! printing (`print`), which imports nothing back.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _, Result};
use liaison_config::Config;
use liaison_protocol::keys::{SealingKey, SigningKey};
use sha2::{Digest as _, Sha256};

use super::client::Client;
use super::print::print_match;
use crate::daemon::api::exchange::{Approval, Approve, Reports, Requests};
use crate::daemon::api::matching::{MatchReply, MatchRequest, WatchAdd, WatchAdded};
use crate::daemon::api::records::Withdrawn;
use crate::daemon::api::records::{IngestReply, IngestRequest};
use crate::exchange::requester::{Ask, ReportView};
use crate::exchange::{Incoming, Outgoing};
use crate::identity::Identity;
use crate::ingest::{self, Quiet};
use crate::matching::querier::{Alert, StoredHit};
use crate::status::Status;
use crate::store::records::Records;
use crate::store::Store;

/// One demo agency: its config and sample files, embedded in the binary so
/// the demo runs from any folder.
#[derive(Debug)]
pub struct Agency {
    /// Node name, as in its config.
    pub name: &'static str,
    /// Who it stands for.
    pub title: &'static str,
    /// Its `liaison.toml`.
    pub config: &'static str,
    /// Its sample files: (file name, contents).
    pub samples: &'static [(&'static str, &'static str)],
}

/// The demo federation.
pub const AGENCIES: [Agency; 3] = [
    Agency {
        name: "kg-border",
        title: "State Border Service, Kyrgyz Republic (records in Russian/Kyrgyz Cyrillic, NDJSON)",
        config: include_str!("../../../config/examples/kg-border.toml"),
        samples: &[("kg-border.ndjson", include_str!("../../../config/examples/data/kg-border.ndjson"))],
    },
    Agency {
        name: "tj-drug-control",
        title: "Drug Control Agency, Republic of Tajikistan (records in Tajik Cyrillic, NDJSON)",
        config: include_str!("../../../config/examples/tj-drug-control.toml"),
        samples: &[("tj-drug-control.ndjson", include_str!("../../../config/examples/data/tj-drug-control.ndjson"))],
    },
    Agency {
        name: "kz-customs",
        title: "State Revenue Committee customs, Republic of Kazakhstan (records in Latin, CSV and call records)",
        config: include_str!("../../../config/examples/kz-customs.toml"),
        samples: &[
            ("kz-customs.csv", include_str!("../../../config/examples/data/kz-customs.csv")),
            ("kz-customs-calls.csv", include_str!("../../../config/examples/data/kz-customs-calls.csv")),
        ],
    },
];

/// The demo identity of `name`, derived from a public seed. Demo only.
pub fn demo_identity(name: &str) -> Identity {
    let seed = |purpose: &str| -> [u8; 32] {
        Sha256::digest(format!("liaison demo {purpose} key|{name}").as_bytes()).into()
    };
    Identity {
        signing: SigningKey::from_seed(&seed("signing")),
        sealing: SealingKey::from_bytes(seed("sealing")),
    }
}

/// One agency's config text with the example's TCP ports (4711-4713, in
/// [`AGENCIES`] order) replaced by `ports`, and its QUIC port by 0.
fn config_text(agency: &Agency, ports: &[u16]) -> String {
    let mut text = agency.config.to_owned();
    for (i, port) in ports.iter().enumerate() {
        text = text
            .replace(&format!("/tcp/{}", 4711 + i), &format!("/tcp/{port}"))
            .replace(&format!("/udp/{}", 4711 + i), "/udp/0");
    }
    text
}

/// Writes one agency's config (its ports and its peers' replaced by
/// `ports`, in [`AGENCIES`] order; 0 listens on a free port), keys and
/// sample files under `root`; returns its validated config and the
/// sample files' paths.
pub fn set_up(root: &Path, agency: &Agency, ports: &[u16]) -> Result<(Config, Vec<PathBuf>)> {
    let config_path = root.join(format!("{}.toml", agency.name));
    std::fs::write(&config_path, config_text(agency, ports))
        .with_context(|| format!("writing {}", config_path.display()))?;
    let config = Config::load(&config_path)?;
    demo_identity(agency.name).write(&config.node.key_dir)?;
    let samples_dir = root.join(agency.name).join("samples");
    std::fs::create_dir_all(&samples_dir)?;
    let mut files = Vec::new();
    for (file, text) in agency.samples {
        let path = samples_dir.join(file);
        std::fs::write(&path, text)?;
        files.push(path);
    }
    Ok((config, files))
}

/// The analyst files the demo uses: (agency, file name, contents).
const QUERY: (&str, &str) = (
    "kz-customs-query.csv",
    include_str!("../../../config/examples/data/kz-customs-query.csv"),
);
const WATCH: (&str, &str) = (
    "kg-border-watch.ndjson",
    include_str!("../../../config/examples/data/kg-border-watch.ndjson"),
);
const NEW_RECORD: (&str, &str) = (
    "tj-drug-control-new.ndjson",
    include_str!("../../../config/examples/data/tj-drug-control-new.ndjson"),
);
/// Longest wait for any step of the demo.
const STEP: Duration = Duration::from_secs(60);

/// A demo daemon: killed if the demo stops early.
struct Daemon {
    name: &'static str,
    config: Config,
    child: Child,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Daemon {
    fn client(&self) -> Result<Client> {
        Client::find(&self.config.node.data_dir)?
            .with_context(|| format!("{}'s daemon is not serving its API", self.name))
    }

    /// SIGTERM, and wait for a clean exit.
    fn stop(mut self) -> Result<()> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        let status = wait(&format!("{} to stop", self.name), || {
            Ok(self.child.try_wait()?)
        })?;
        if !status.success() {
            bail!("{}'s daemon exited with {status}", self.name);
        }
        Ok(())
    }
}

/// Polls `check` every 100 ms until it gives `Some`, for at most [`STEP`].
fn wait<T>(what: &str, mut check: impl FnMut() -> Result<Option<T>>) -> Result<T> {
    let deadline = Instant::now() + STEP;
    loop {
        if let Some(v) = check()? {
            return Ok(v);
        }
        if Instant::now() > deadline {
            bail!("timed out after {STEP:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The TCP port a daemon listens on, once it does.
fn listening_port(d: &Daemon) -> Result<u16> {
    let client = d.client()?;
    wait(&format!("{}'s listen address", d.name), || {
        let s: Status = client.get("/api/v1/status")?;
        Ok(s.listen.iter().find_map(|a| {
            a.strip_prefix("/ip4/127.0.0.1/tcp/")
                .and_then(|p| p.parse::<u16>().ok())
        }))
    })
}

/// Runs the demo in `dir` (kept) or a temporary folder (removed).
pub fn run(dir: Option<&Path>) -> Result<ExitCode> {
    let temp;
    let root = match dir {
        Some(d) => {
            if d.exists() {
                bail!("{} already exists: give --dir a new folder", d.display());
            }
            std::fs::create_dir_all(d)?;
            d.to_owned()
        }
        None => {
            temp = tempfile::Builder::new().prefix("liaison-demo-").tempdir()?;
            temp.path().to_owned()
        }
    };
    // The daemons read the analysts' files by absolute path.
    let root = std::path::absolute(&root)?;
    println!(
        "Liaison demo: three agencies, each with its own node, store and keys, federated on this machine ({})",
        root.display()
    );
    // Each daemon listens on a port the system picks (the example configs
    // say 4711-4713; picking free ports ahead would race anything else
    // starting beside the demo); the peers' addresses follow once known.
    let ports = vec![0u16; AGENCIES.len()];
    let mut daemons = Vec::new();
    for agency in &AGENCIES {
        let (config, files) = set_up(&root, agency, &ports)?;
        let store = Store::open(&config.node.data_dir)?;
        let opts = ingest::Options {
            format: None,
            batch_size: config.ingest.batch_size.get(),
            max_line: config.ingest.max_line_bytes.get(),
            country: config.node.country,
        };
        let summary = ingest::run(&store, &files, &opts, &mut Quiet)?;
        let counts = Records::new(&store).counts()?;
        drop(store);
        println!();
        println!("== {} — {}", agency.name, agency.title);
        println!(
            "   agency key fingerprint {}",
            demo_identity(agency.name).agency_key().fingerprint()
        );
        println!(
            "   holds {} records ({} refused at ingest), indexed under {}",
            counts.records,
            summary.refused,
            counts
                .selectors
                .iter()
                .map(|(k, n)| format!("{n} {k}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let log = std::fs::File::create(root.join(agency.name).join("daemon.log"))?;
        let child = Command::new(std::env::current_exe()?)
            .arg("--config")
            .arg(&config.path)
            .arg("run")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting a demo daemon")?;
        daemons.push(Daemon {
            name: agency.name,
            config,
            child,
        });
    }
    println!();
    println!(
        "Starting the three daemons (libp2p on 127.0.0.1, Noise, signed and sealed envelopes)..."
    );
    for d in &daemons {
        wait(&format!("{}'s daemon", d.name), || {
            Ok(Client::find(&d.config.node.data_dir)?.map(|_| ()))
        })?;
    }
    let ports = daemons
        .iter()
        .map(listening_port)
        .collect::<Result<Vec<u16>>>()?;
    for (d, agency) in daemons.iter().zip(&AGENCIES) {
        std::fs::write(&d.config.path, config_text(agency, &ports))
            .with_context(|| format!("writing {}", d.config.path.display()))?;
        let _: serde_json::Value = d
            .client()?
            .post("/api/v1/config/reload", &serde_json::json!({}))?;
    }
    // Each builds a filter of OPRF tags for each peer, under a key for that
    // peer alone, and sends it; matching starts when they are in.
    for d in &daemons {
        let client = d.client()?;
        wait(&format!("{}'s filters from its peers", d.name), || {
            let s: Status = client.get("/api/v1/status")?;
            Ok(s.matching
                .filters
                .values()
                .all(|e| !e.is_empty())
                .then_some(()))
        })?;
    }
    println!("Each agency has sent each peer a signed filter of keyed hashes (OPRF tags) of what it holds:");
    println!("a peer can test a tag it obtained from the owner online, and nothing else.");

    let [kg, tj, kz] = &daemons[..] else {
        bail!("three demo agencies");
    };
    let mut ok = true;

    println!();
    println!(
        "-- 1. kz-customs asks the others about its case file {}, written in Latin:",
        QUERY.0
    );
    for line in QUERY.1.lines().skip(1) {
        println!("     {line}");
    }
    let query = root.join("kz-customs").join(QUERY.0);
    std::fs::write(&query, QUERY.1)?;
    let reply: MatchReply = kz.client()?.post(
        "/api/v1/local/match",
        &MatchRequest {
            file: query.clone(),
            peer: None,
            case: Some(("KZ-OPS-2026-117".into(), "Customs Code art. 425".into())),
        },
    )?;
    print_match(&reply);
    let kurbanov = reply
        .results
        .iter()
        .filter(|r| r.label.contains("KURBANOV"))
        .flat_map(|r| r.hits.iter().map(|h| h.peer.as_str()))
        .collect::<std::collections::BTreeSet<_>>();
    if kurbanov.len() != 2 || !reply.problems.is_empty() {
        ok = false;
        println!("!! expected KURBANOV at both kg-border and tj-drug-control");
    } else {
        println!("   KURBANOV IUSUF is Курбонов Юсуф at kg-border and Қурбонов Юсуф at tj-drug-control: a cross-border hit across scripts.");
    }
    println!("   The owners learned only that kz-customs asked, how many selectors, and a salted commitment to the case;");
    println!(
        "   no name, number or passport left kz-customs in a form they could read or test offline."
    );

    println!();
    println!("-- 2. kz-customs asks kg-border for the record behind its hit; kg-border decides.");
    let hits: Vec<StoredHit> = kz.client()?.get_all("/api/v1/hits")?;
    let Some(hit) = hits
        .iter()
        .find(|h| h.peer == "kg-border" && h.entity.contains("KURBANOV"))
    else {
        bail!("kz-customs has no hit on KURBANOV at kg-border");
    };
    let out: Outgoing = kz.client()?.post(
        "/api/v1/requests/outgoing",
        &Ask {
            hit: hit.id,
            case: None,
            note: "He is expected at the Karamyk crossing this week.".into(),
        },
    )?;
    let filed: Incoming = wait("kg-border to file the request", || {
        let r: Requests = kg.client()?.requests(0)?;
        Ok(r.incoming.into_iter().find(|i| i.id == out.id))
    })?;
    println!(
        "   kg-border files request {} from kz-customs: case {} ({}); the tags name its record {} [{}].",
        &filed.id[..8],
        filed.reference,
        filed.basis,
        filed.records.join(", "),
        filed.handling.join(", ")
    );
    println!("   Only now does kg-border learn which of its records matched. Its policy: TLP:AMBER waits for an analyst.");
    let _: Approval = kg.client()?.post(
        &format!("/api/v1/requests/incoming/{}/approval", out.id),
        &Approve {
            redact: vec!["v1".into()],
        },
    )?;
    println!("   kg-border's analyst approves it, redacting the vehicle (v1).");
    let report: ReportView = wait("the report at kz-customs", || {
        let r: Reports = kz.client()?.reports()?;
        Ok(r.reports.into_iter().find(|v| v.id == out.id))
    })?;
    match report.records.first() {
        Some(rec) if report.verified => {
            println!(
                "   kz-customs holds report {}: [{}] grading {}, record {} from {}, verified on reading:",
                &report.id[..8],
                rec.handling,
                rec.grading.as_deref().unwrap_or("none"),
                rec.id,
                report.originator
            );
            println!("     signed by kg-border, sealed to kz-customs and naming it as the only recipient;");
            println!(
                "     summary: {}",
                rec.record["summary"].as_str().unwrap_or("(none)")
            );
            println!("   It is kept apart from kz-customs' own records: never indexed, matched or released onward.");
        }
        _ => {
            ok = false;
            println!("!! the report did not verify: {:?}", report.problem);
        }
    }
    let withdrawn: Withdrawn = kg.client()?.delete(&format!(
        "/api/v1/records/{}",
        super::client::url_segment(filed.records.first().map_or("", String::as_str))
    ))?;
    let started = Instant::now();
    wait("the withdrawal notice at kz-customs", || {
        let r: Reports = kz.client()?.reports()?;
        Ok(r.reports.into_iter().find(|v| v.id == out.id).filter(|v| {
            v.records
                .first()
                .is_some_and(|r| r.change.as_deref() == Some("withdrawn"))
        }))
    })?;
    println!(
        "   kg-border withdraws {}; {:.1} s later kz-customs' copy is marked WITHDRAWN by a signed notice.",
        withdrawn.id,
        started.elapsed().as_secs_f64()
    );

    println!();
    println!(
        "-- 3. kg-border watches a number found on a seized phone ({}); nobody holds it yet.",
        WATCH.0
    );
    let watch = root.join("kg-border").join(WATCH.0);
    std::fs::write(&watch, WATCH.1)?;
    let added: WatchAdded = kg.client()?.post(
        "/api/v1/local/watchlist",
        &WatchAdd {
            file: watch,
            weak: false,
        },
    )?;
    for (id, label) in &added.added {
        println!("   watching {id}: {label}");
    }
    // The renewal answers come back, then tj-drug-control records the number.
    wait("kg-border's watchlist to be evaluated", || {
        let s: Status = kg.client()?.get("/api/v1/status")?;
        Ok((s.outbox == 0).then_some(()))
    })?;
    println!(
        "   tj-drug-control ingests a new record ({}): Раҳимов Далер, phone 92 777 4455",
        NEW_RECORD.0
    );
    let new = root.join("tj-drug-control").join(NEW_RECORD.0);
    std::fs::write(&new, NEW_RECORD.1)?;
    let _: IngestReply = tj.client()?.post(
        "/api/v1/local/ingest",
        &IngestRequest {
            files: vec![new],
            ..IngestRequest::default()
        },
    )?;
    let started = Instant::now();
    let alerts: Vec<Alert> = wait("kg-border's alert", || {
        let a: Vec<Alert> = kg.client()?.get_all("/api/v1/alerts")?;
        Ok((!a.is_empty()).then_some(a))
    })?;
    for a in &alerts {
        println!(
            "   ALERT at kg-border after {:.1} s: {} is now held by {} ({} matched, {})",
            started.elapsed().as_secs_f64(),
            a.label,
            a.peer,
            a.kind,
            a.how
        );
    }
    println!("   No new query was sent: tj-drug-control's signed delta of new tags met kg-border's standing tags.");

    println!();
    println!("-- 4. kz-customs tries to enumerate 100 Tajik mobile numbers at tj-drug-control.");
    let mut text = String::from("record_id,phone\n");
    for i in 0..100 {
        text.push_str(&format!("ENUM-{i},+992 93 100 {i:04}\n"));
    }
    let enumeration = root.join("kz-customs").join("enumeration.csv");
    std::fs::write(&enumeration, text)?;
    let reply: MatchReply = kz.client()?.post(
        "/api/v1/local/match",
        &MatchRequest {
            file: enumeration,
            peer: Some("tj-drug-control".into()),
            case: None,
        },
    )?;
    let refused = reply.problems.iter().find(|p| p.contains("budget"));
    match refused {
        Some(p) => println!("   refused: {p}"),
        None => {
            ok = false;
            println!("!! the budget did not refuse: {:?}", reply.problems);
        }
    }
    println!("   Every guess costs an online evaluation the owner counts, signs and logs; the agreement allows 50 a day.");

    println!();
    println!("-- 5. The auditors' view: each node's log is a Merkle tree of every exchange, witnessed by its peers.");
    for d in &daemons {
        let v: serde_json::Value = d.client()?.get("/api/v1/audit/verification")?;
        let problems = v["problems"].as_array().map_or(0, Vec::len);
        println!(
            "   {}: {} entries, {} peer receipts checked, {} problems",
            d.name,
            v["entries"].as_u64().unwrap_or(0),
            v["receipts"].as_u64().unwrap_or(0),
            problems
        );
        ok &= problems == 0;
    }
    for d in daemons {
        d.stop()?;
    }
    println!();
    if let Some(d) = dir {
        println!(
            "The nodes are kept in {}; try: liaison --config {}/kz-customs.toml run, then `liaison --config ... hits`",
            d.display(),
            d.display()
        );
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prints the demo agencies' keys, for writing `config/examples/`:
    /// `cargo test -p liaison print_demo_keys -- --ignored --nocapture`.
    #[test]
    #[ignore = "a tool, not a check"]
    fn print_demo_keys() {
        for agency in &AGENCIES {
            println!(
                "{} {}",
                agency.name,
                demo_identity(agency.name).agency_key()
            );
        }
    }

    #[test]
    fn example_configs_name_each_others_demo_keys() {
        for agency in &AGENCIES {
            let config = Config::from_text(Path::new("/demo/x.toml"), agency.config).unwrap();
            assert_eq!(config.node.name, agency.name);
            for peer in &config.peers {
                let want = demo_identity(&peer.name).agency_key();
                assert_eq!(
                    peer.key, want,
                    "{} lists {} with the wrong key; it should be {want}",
                    agency.name, peer.name
                );
            }
        }
    }
}
