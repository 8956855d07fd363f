//! `liaison peer add|remove`: edits the `[[peers]]` of the config file.
//!
//! The config file stays the one record of whom the node trusts (IT staff
//! and auditors read it; DESIGN.md's bilateral agreements). Edits keep the
//! file's comments and layout (`toml_edit`), are validated as a whole
//! before anything is written, and replace the file atomically (write a
//! temporary file beside it, then rename).

use std::path::Path;

use anyhow::{bail, Context as _, Result};
use liaison_config::Config;
use toml_edit::{value, Array, ArrayOfTables, DocumentMut, Item, Table};

/// A peer to add.
#[derive(Debug)]
pub struct NewPeer<'a> {
    /// Short name.
    pub name: &'a str,
    /// Agency key card.
    pub key: &'a str,
    /// Multiaddrs.
    pub addrs: &'a [String],
    /// Selector kinds it may match (empty: all, unless `no_matching`).
    pub kinds: &'a [String],
    /// It may match nothing here (`kinds = []`): a transport and witness
    /// agreement only; no filter is built for it.
    pub no_matching: bool,
}

fn read(path: &Path) -> Result<DocumentMut> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.parse::<DocumentMut>()
        .with_context(|| format!("{} is not valid TOML", path.display()))
}

/// Validates the edited document as a config, then replaces the file.
fn write(path: &Path, doc: &DocumentMut) -> Result<Config> {
    let text = doc.to_string();
    let config = Config::from_text(path, &text)?;
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, &text).with_context(|| format!("writing {}", tmp.display()))?;
    if let Ok(meta) = std::fs::metadata(path) {
        std::fs::set_permissions(&tmp, meta.permissions())?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(config)
}

fn peers_mut(doc: &mut DocumentMut) -> Result<&mut ArrayOfTables> {
    if !doc.contains_key("peers") {
        doc.insert("peers", Item::ArrayOfTables(ArrayOfTables::new()));
    }
    doc["peers"]
        .as_array_of_tables_mut()
        .context("`peers` in the config is not a list of [[peers]] tables")
}

/// Adds a peer to the config file at `path`; returns the new config.
pub fn add(path: &Path, peer: &NewPeer<'_>) -> Result<Config> {
    let mut doc = read(path)?;
    let peers = peers_mut(&mut doc)?;
    if peers
        .iter()
        .any(|t| t.get("name").and_then(Item::as_str) == Some(peer.name))
    {
        bail!(
            "{} already has a peer named {:?}: `liaison peer remove {}` first to replace it",
            path.display(),
            peer.name,
            peer.name
        );
    }
    let mut t = Table::new();
    t.insert("name", value(peer.name));
    t.insert("key", value(peer.key));
    t.insert("addrs", value(peer.addrs.iter().collect::<Array>()));
    if peer.no_matching {
        t.insert("kinds", value(Array::new()));
    } else if !peer.kinds.is_empty() {
        t.insert("kinds", value(peer.kinds.iter().collect::<Array>()));
    }
    peers.push(t);
    write(path, &doc).context("the peer was not added")
}

/// Removes the peer called `name`; returns the new config.
pub fn remove(path: &Path, name: &str) -> Result<Config> {
    let mut doc = read(path)?;
    let peers = peers_mut(&mut doc)?;
    let Some(i) = peers
        .iter()
        .position(|t| t.get("name").and_then(Item::as_str) == Some(name))
    else {
        bail!(
            "{} has no peer named {name:?}: see `liaison peer list`",
            path.display()
        );
    };
    peers.remove(i);
    write(path, &doc).context("the peer was not removed")
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str =
        "# my node\n[node]\nname = \"a\"\n\n[network]\nlisten = [\"/ip4/127.0.0.1/tcp/0\"]\n";

    #[test]
    fn add_and_remove_keep_comments_and_validate() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("liaison.toml");
        std::fs::write(&path, BASE).unwrap();
        let signing = liaison_protocol::keys::SigningKey::from_seed(&[3; 32]);
        let sealing = liaison_protocol::keys::SealingKey::from_bytes([4; 32]);
        let key = liaison_protocol::keys::AgencyKey::new(&signing, &sealing).to_string();
        let addrs = ["/ip4/127.0.0.1/tcp/4711".to_owned()];
        let peer = NewPeer {
            name: "b",
            key: &key,
            addrs: &addrs,
            kinds: &[],
            no_matching: false,
        };
        let config = add(&path, &peer).unwrap();
        assert_eq!(config.peers.len(), 1);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("# my node\n"), "{text}");
        // Twice: refused, file unchanged.
        assert!(add(&path, &peer).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        // A bad key: refused naming the key, file unchanged.
        let bad = NewPeer {
            name: "c",
            key: "liaison-agency-v1:xyz",
            addrs: &[],
            kinds: &[],
            no_matching: false,
        };
        let err = format!("{:#}", add(&path, &bad).unwrap_err());
        assert!(err.contains("peers[1].key"), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        let config = remove(&path, "b").unwrap();
        assert!(config.peers.is_empty());
        assert!(remove(&path, "b").is_err());
    }
}
