//! `liaison export-bundle` and `import-bundle`: envelopes and receipts
//! carried on removable media instead of the network ([`crate::bundle`]).
//!
//! Input: the parsed arguments ([`super::args`]), the bundle file to
//! import, and the outbox, through the running daemon or the store opened
//! directly ([`super::access`], [`offline_router`]). Output: the bundle file
//! written for a peer, or the imported envelopes applied and their
//! receipts written beside the bundle; a summary on stdout and an exit
//! code (1 when an envelope was refused or invalid).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use liaison_config::Config;

use super::args::{ExportBundleArgs, ImportBundleArgs};
use super::{access, Access};
use crate::daemon;
use crate::identity::Identity;
use crate::store::Store;
use crate::users::Right;

/// The node's domains over the store opened directly (no daemon).
fn offline_router(config: &Config, store: Store) -> Result<crate::router::Router> {
    let identity = Identity::load(&config.node.key_dir)?;
    let post = crate::post::Post::new(identity, std::sync::Arc::new(store), config);
    Ok(crate::router::Router::new(
        std::sync::Arc::new(post),
        config,
    ))
}

/// `liaison export-bundle`: the envelopes waiting for a peer, to a new file.
pub(super) fn export_bundle(config: &Config, a: ExportBundleArgs) -> Result<ExitCode> {
    let out = std::path::absolute(&a.out).with_context(|| format!("{}", a.out.display()))?;
    let n = match access(config, Right::Transport, Some("bundle-export"))? {
        Access::Daemon(client) => {
            let r: daemon::api::Exported = client.post(
                "/api/v1/local/bundles/export",
                &daemon::api::ExportRequest {
                    peer: a.peer.clone(),
                    out: out.clone(),
                },
            )?;
            r.envelopes
        }
        Access::Store(store) => {
            crate::bundle::export(offline_router(config, store)?.post(), &a.peer, &out)?
        }
    };
    println!(
        "{n} envelopes for {} written to {} (they stay in the outbox until {}'s receipts come back: `liaison import-bundle FILE.receipts`)",
        a.peer,
        out.display(),
        a.peer
    );
    Ok(ExitCode::SUCCESS)
}

/// `liaison import-bundle`: applies a bundle of envelopes (writing their receipts) or of receipts.
pub(super) fn import_bundle(config: &Config, a: ImportBundleArgs) -> Result<ExitCode> {
    let file = std::path::absolute(&a.file).with_context(|| format!("{}", a.file.display()))?;
    let receipts_out = match &a.receipts_out {
        Some(p) => std::path::absolute(p)?,
        None => {
            let mut name = file.clone().into_os_string();
            name.push(".receipts");
            PathBuf::from(name)
        }
    };
    let done = match access(config, Right::Transport, Some("bundle-import"))? {
        Access::Daemon(client) => client.post(
            "/api/v1/local/bundles/import",
            &daemon::api::ImportRequest {
                file: file.clone(),
                receipts_out,
            },
        )?,
        Access::Store(store) => {
            crate::bundle::import(&offline_router(config, store)?, &file, &receipts_out)?
        }
    };
    if a.json {
        println!("{}", serde_json::to_string(&done)?);
    } else {
        println!(
            "{}: {} accepted, {} already applied, {} refused, {} invalid",
            file.display(),
            done.accepted,
            done.duplicates,
            done.refused,
            done.invalid
        );
        if let Some(r) = &done.receipts {
            println!(
                "receipts written to {}: carry them back to the sender",
                r.display()
            );
        }
    }
    Ok(if done.refused > 0 || done.invalid > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
