//! Hostile peers and hostile hosts, one module per attack. Each test
//! runs real daemons and plays the attacker itself: a trusted peer
//! speaking libp2p with its own code, a stranger holding sockets open, a
//! local user reading files or squatting a port.
//!
//! - [`wire`]: oversized frames, garbage envelopes, too many streams.
//! - [`handshakes`]: idle sockets from one address, and from many, never
//!   keep a trusted peer out.
//! - [`dials`]: an address a peer advertises is never dialled.
//! - [`floods`]: a trusted peer sending deltas, filter chunks, requests
//!   and evaluations as fast as it can stays within stated bounds of
//!   memory and disk, and the node keeps serving others.
//! - [`local`]: the store is the service account's alone, and the CLI
//!   talks to nothing but its own daemon.

mod dials;
mod floods;
mod handshakes;
mod local;
mod wire;

/// Resident memory of process `pid`, KiB.
pub(crate) fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Bytes of the files under `dir`.
pub(crate) fn disk_bytes(dir: &std::path::Path) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(dir).expect("readable folder").flatten() {
        let Ok(meta) = e.metadata() else { continue };
        n += if meta.is_dir() {
            disk_bytes(&e.path())
        } else {
            meta.len()
        };
    }
    n
}
