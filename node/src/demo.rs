//! `liaison demo`: the three-agency demo federation of `config/examples/`,
//! built in a temporary folder, each agency's sample data ingested in its
//! own script and format, then look-ups that show one identifier written
//! differently by different agencies reading as the same selector.
//!
//! The demo agencies' keys are derived from public seeds
//! ([`demo_identity`]) so the example configs can name each other's keys.
//! They are for the demo only: anyone can derive them.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use liaison_config::Config;
use liaison_protocol::date::Date;
use liaison_protocol::keys::{SealingKey, SigningKey};
use liaison_protocol::SelectorKind;
use sha2::{Digest as _, Sha256};

use crate::find;
use crate::identity::Identity;
use crate::ingest::{self, Quiet};
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
        config: include_str!("../../config/examples/kg-border.toml"),
        samples: &[("kg-border.ndjson", include_str!("../../config/examples/data/kg-border.ndjson"))],
    },
    Agency {
        name: "tj-drug-control",
        title: "Drug Control Agency, Republic of Tajikistan (records in Tajik Cyrillic, NDJSON)",
        config: include_str!("../../config/examples/tj-drug-control.toml"),
        samples: &[("tj-drug-control.ndjson", include_str!("../../config/examples/data/tj-drug-control.ndjson"))],
    },
    Agency {
        name: "kz-customs",
        title: "State Revenue Committee customs, Republic of Kazakhstan (records in Latin, CSV and call records)",
        config: include_str!("../../config/examples/kz-customs.toml"),
        samples: &[
            ("kz-customs.csv", include_str!("../../config/examples/data/kz-customs.csv")),
            ("kz-customs-calls.csv", include_str!("../../config/examples/data/kz-customs-calls.csv")),
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

/// Writes one agency's config, keys and sample files under `root`; returns
/// its validated config and the sample files' paths.
pub fn set_up(root: &Path, agency: &Agency) -> Result<(Config, Vec<PathBuf>)> {
    let config_path = root.join(format!("{}.toml", agency.name));
    std::fs::write(&config_path, agency.config)
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
    println!(
        "Liaison demo: three agencies, each with its own node and store, in {}",
        root.display()
    );
    println!();
    let mut nodes = Vec::new();
    for agency in &AGENCIES {
        let (config, files) = set_up(&root, agency)?;
        let store = Store::open(&config.node.data_dir)?;
        let opts = ingest::Options {
            format: None,
            batch_size: config.ingest.batch_size.get(),
            max_line: config.ingest.max_line_bytes.get(),
            country: config.node.country,
        };
        let summary = ingest::run(&store, &files, &opts, &mut Quiet)?;
        let counts = Records::new(&store).counts()?;
        let identity = demo_identity(agency.name);
        println!("== {} — {}", agency.name, agency.title);
        println!(
            "   agency key fingerprint {}",
            identity.agency_key().fingerprint()
        );
        println!(
            "   ingested {} records ({} refused), holding {} records indexed under:",
            summary.stored + summary.updated,
            summary.refused,
            counts.records
        );
        let kinds: Vec<String> = counts
            .selectors
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        println!("   {}", kinds.join(", "));
        nodes.push((config, store));
    }

    println!();
    println!("Each agency writes the same people and numbers its own way. The normaliser reads them all alike:");
    let probes: [(&str, &str, Option<SelectorKind>, Option<&str>); 4] = [
        ("kz-customs", "Курбонов Юсуф", None, Some("14.03.1985")),
        ("kg-border", "KURBANOV IUSUF", None, Some("1985-03-14")),
        ("kg-border", "+996 775 987 817", None, None),
        (
            "tj-drug-control",
            "АС 1234567",
            Some(SelectorKind::Document),
            None,
        ),
    ];
    let mut missing = 0;
    for (node, value, kind, dob) in probes {
        let (config, store) = nodes
            .iter()
            .find(|(c, _)| c.node.name == node)
            .context("probe names a demo node")?;
        let dob = dob.map(str::parse::<Date>).transpose()?;
        let selectors = find::query_selectors(value, kind, dob, config.node.country)?;
        let found = find::lookup(&Records::new(store), &selectors, 10)?;
        let written = if dob.is_some() {
            format!(
                "{value}, born {}",
                dob.map(|d| d.to_string()).unwrap_or_default()
            )
        } else {
            value.to_owned()
        };
        println!();
        println!("  at {node}, looking for {written:?}:");
        if found.is_empty() {
            missing += 1;
            println!("    nothing found");
        }
        for f in &found {
            let written_there = f
                .record
                .record
                .entities
                .iter()
                .map(|e| {
                    serde_json::to_value(e)
                        .map(|v| compact_entity(&v))
                        .unwrap_or_default()
                })
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join("; ");
            println!(
                "    {} [{}] matched by {}",
                f.record.record.id,
                f.record.record.handling,
                f.matched_kinds()
            );
            println!("      as written there: {written_there}");
        }
    }
    println!();
    println!("Next in Liaison's plan: these agencies ask each other the same questions over libp2p without showing their data (hit/no-hit).");
    if let Some(d) = dir {
        println!(
            "The nodes are kept in {}; try: liaison --config {}/kg-border.toml status",
            d.display(),
            d.display()
        );
    }
    Ok(if missing == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// One entity as a short line: its identifying fields only.
fn compact_entity(v: &serde_json::Value) -> String {
    let Some(map) = v.as_object() else {
        return String::new();
    };
    map.iter()
        .filter(|(k, _)| !matches!(k.as_str(), "ref" | "type"))
        .filter_map(|(_, v)| v.as_str())
        .collect::<Vec<_>>()
        .join(" ")
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
