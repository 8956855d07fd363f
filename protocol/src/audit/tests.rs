//! Known-answer vectors (RFC 6962, from the certificate-transparency
//! reference suite), every tree-size pair up to 512 against `ct-merkle`'s
//! own in-memory tree, checkpoints, entries, and exports under mutation.

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use proptest::prelude::*;
use rand_chacha_09::rand_core::{RngCore, SeedableRng};
use sha2::Sha256;

use super::entry::{Entry, Kind};
use super::export::{self, Header, Place, Witnessed};
use super::note::{self, Checkpoint, SignedCheckpoint};
use super::tree::{self, cover, Frontier, Hash, Subtrees};
use crate::envelope::{MessageId, Outcome, Receipt};
use crate::keys::{AgencyKey, SealingKey, SigningKey};

fn hd(s: &str) -> Hash {
    let v: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect();
    v.try_into().expect("32 bytes")
}

const CT_LEAVES: [&[u8]; 8] = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
];

const CT_ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// Perfect subtrees of a list of leaf hashes, computed the slow way.
struct Leaves(Vec<Hash>);

impl Subtrees for Leaves {
    type Error = ();
    fn subtree(&self, level: u8, index: u64) -> Result<Hash, ()> {
        let start = (index << level) as usize;
        let end = start + (1usize << level);
        if end > self.0.len() {
            return Err(());
        }
        fn mth(h: &[Hash]) -> Hash {
            if h.len() == 1 {
                return h[0];
            }
            let k = h.len() / 2;
            tree::node_hash(&mth(&h[..k]), &mth(&h[k..]))
        }
        Ok(mth(&self.0[start..end]))
    }
}

/// The same, from the frontier's stored output (what the node keeps).
#[derive(Default)]
struct Stored(std::collections::HashMap<(u8, u64), Hash>, Frontier);

impl Stored {
    fn push(&mut self, leaf: &[u8]) {
        for (level, index, hash) in self.1.push(tree::leaf_hash(leaf)) {
            assert!(
                self.0.insert((level, index), hash).is_none(),
                "written once"
            );
        }
    }
}

impl Subtrees for Stored {
    type Error = ();
    fn subtree(&self, level: u8, index: u64) -> Result<Hash, ()> {
        self.0.get(&(level, index)).copied().ok_or(())
    }
}

#[test]
fn rfc6962_roots() {
    let mut s = Stored::default();
    assert_eq!(tree::root(&s, 0), Ok(hd(CT_ROOTS[0])));
    assert_eq!(s.1.root(), hd(CT_ROOTS[0]));
    for (i, leaf) in CT_LEAVES.iter().enumerate() {
        s.push(leaf);
        assert_eq!(
            tree::root(&s, i as u64 + 1),
            Ok(hd(CT_ROOTS[i + 1])),
            "size {}",
            i + 1
        );
        assert_eq!(
            s.1.root(),
            hd(CT_ROOTS[i + 1]),
            "frontier at size {}",
            i + 1
        );
    }
}

#[test]
fn rfc6962_proofs() {
    let mut s = Stored::default();
    CT_LEAVES.iter().for_each(|l| s.push(l));
    let consistency: [(u64, u64, &[&str]); 4] = [
        (1, 1, &[]),
        (
            1,
            8,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            6,
            8,
            &[
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
        (
            2,
            5,
            &[
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ],
        ),
    ];
    for (old, new, want) in consistency {
        let want: Vec<Hash> = want.iter().map(|h| hd(h)).collect();
        assert_eq!(
            tree::consistency_proof(&s, old, new),
            Ok(want.clone()),
            "{old}->{new}"
        );
        let (r_old, r_new) = (hd(CT_ROOTS[old as usize]), hd(CT_ROOTS[new as usize]));
        assert_eq!(
            tree::verify_consistency(old, &r_old, new, &r_new, &want),
            Ok(())
        );
    }
    let inclusion: [(u64, &[&str]); 2] = [
        (
            0,
            &[
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ],
        ),
        (
            5,
            &[
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ],
        ),
    ];
    for (index, want) in inclusion {
        let want: Vec<Hash> = want.iter().map(|h| hd(h)).collect();
        assert_eq!(tree::inclusion_proof(&s, index, 8), Ok(want.clone()));
        let root = hd(CT_ROOTS[8]);
        let leaf = CT_LEAVES[index as usize];
        assert_eq!(tree::verify_inclusion(leaf, index, 8, &root, &want), Ok(()));
        assert!(tree::verify_inclusion(b"other", index, 8, &root, &want).is_err());
    }
}

/// Every (old, new) pair with 1 ≤ old ≤ new ≤ 512: our proof from stored
/// perfect subtrees equals `ct-merkle`'s from its in-memory tree, and
/// verifies; a proof with one hash changed, or checked against the wrong
/// size, does not.
#[test]
fn consistency_every_pair_up_to_512() {
    const N: usize = 512;
    let mut s = Stored::default();
    let mut reference = MemoryBackedTree::<Sha256, Vec<u8>>::new();
    let mut roots = vec![tree::empty_root()];
    for i in 0..N {
        let leaf = format!("entry {i}").into_bytes();
        s.push(&leaf);
        reference.push(leaf);
        let root = tree::root(&s, i as u64 + 1).expect("stored");
        assert_eq!(
            &root[..],
            &reference.root().as_bytes()[..],
            "root at {}",
            i + 1
        );
        roots.push(root);
    }
    // Proofs are against the newest tree in `reference`; for smaller new
    // sizes we compare with a proof computed by RFC recursion (`Leaves`).
    let leaves = Leaves(
        (0..N)
            .map(|i| tree::leaf_hash(format!("entry {i}").as_bytes()))
            .collect(),
    );
    for new in 1..=N as u64 {
        for old in 1..=new {
            let proof = tree::consistency_proof(&s, old, new).expect("stored");
            assert_eq!(
                tree::verify_consistency(
                    old,
                    &roots[old as usize],
                    new,
                    &roots[new as usize],
                    &proof
                ),
                Ok(()),
                "{old}->{new}"
            );
            if new == N as u64 && old < new {
                let theirs = reference.prove_consistency((new - old) as usize);
                let ours: Vec<u8> = proof.concat();
                assert_eq!(
                    ours,
                    theirs.as_bytes(),
                    "{old}->{new} differs from ct-merkle"
                );
            }
            if old < new && new % 7 == 0 {
                assert_eq!(
                    tree::consistency_proof(&leaves, old, new),
                    Ok(proof.clone())
                );
                let mut bad = proof.clone();
                let at = (old as usize) % bad.len();
                bad[at][3] ^= 1;
                assert!(tree::verify_consistency(
                    old,
                    &roots[old as usize],
                    new,
                    &roots[new as usize],
                    &bad
                )
                .is_err());
                let wrong_old = roots[(old - 1) as usize];
                assert!(tree::verify_consistency(
                    old,
                    &wrong_old,
                    new,
                    &roots[new as usize],
                    &proof
                )
                .is_err());
            }
        }
    }
}

#[test]
fn proofs_never_panic_on_nonsense() {
    let r = tree::empty_root();
    for (old, new) in [
        (0, 0),
        (5, 3),
        (0, u64::MAX),
        (u64::MAX, u64::MAX),
        (1, 1 << 63),
    ] {
        let _ = tree::verify_consistency(old, &r, new, &r, &[r; 3]);
        let _ = tree::verify_inclusion(b"", old, new, &r, &[r; 70]);
    }
    assert!(tree::verify_consistency(0, &r, 9, &[1; 32], &[]).is_ok());
    assert!(tree::verify_consistency(0, &[1; 32], 9, &[1; 32], &[]).is_err());
}

#[test]
fn cover_is_aligned_and_exact() {
    for start in 0..70u64 {
        for end in start..140 {
            let mut at = start;
            for (level, index) in cover(start, end) {
                assert_eq!(index << level, at);
                at += 1 << level;
            }
            assert_eq!(at, end);
        }
    }
}

fn signer(seed: u8) -> (SigningKey, AgencyKey) {
    let signing = SigningKey::from_seed(&[seed; 32]);
    let sealing = SealingKey::from_bytes([seed.wrapping_add(100); 32]);
    let card = AgencyKey::new(&signing, &sealing);
    (signing, card)
}

#[test]
fn checkpoint_note_round_trips_and_signatures_bind() {
    let (a, ak) = signer(1);
    let (w, wk) = signer(2);
    let origin = note::origin("kg-kz-tj", ak.verifying_key());
    let cp = Checkpoint {
        origin: origin.clone(),
        size: 1042,
        root: [9; 32],
    };
    let mut signed = cp.sign(&a);
    let text = signed.to_text();
    assert!(text.starts_with(&format!("{origin}\n1042\nCQkJ")), "{text}");
    assert_eq!(SignedCheckpoint::parse(text.as_bytes()), Ok(signed.clone()));
    assert_eq!(signed.verify_log(ak.verifying_key()), Ok(()));
    assert!(signed.verify_log(wk.verifying_key()).is_err());

    let wname = note::origin("kg-kz-tj", wk.verifying_key());
    signed.cosign(&wname, &w, 1_790_000_000);
    let back = SignedCheckpoint::parse(signed.to_text().as_bytes()).expect("parses");
    assert_eq!(
        back.verify_cosignature(&wname, wk.verifying_key()),
        Ok(1_790_000_000)
    );
    assert_eq!(back.verify_log(ak.verifying_key()), Ok(()));

    // Any other size or root breaks both signatures.
    let mut moved = back.clone();
    moved.checkpoint.size += 1;
    assert!(moved.verify_log(ak.verifying_key()).is_err());
    assert!(moved
        .verify_cosignature(&wname, wk.verifying_key())
        .is_err());

    for bad in [
        "",
        "o\n1\nAA==\n\n",
        "o\n01\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n\n\u{2014} o AAAAAA==\n",
        "o\n1\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\nextra\n\n\u{2014} o AAAAAA==\n",
        "o\n1\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n\n- o AAAAAA==\n",
    ] {
        assert!(SignedCheckpoint::parse(bad.as_bytes()).is_err(), "{bad:?}");
    }
}

fn sample_entry(i: u64, peer: &AgencyKey) -> Entry {
    let mut e = Entry::new(Kind::ALL[(i % 4) as usize], 1_790_000_000_000 + i);
    e.context = "liaison/ping/v1".into();
    e.peer = Some(peer.verifying_key().to_bytes());
    e.message_id = Some(MessageId([i as u8; 16]));
    e.hash = Some([(i * 7) as u8; 32]);
    e.count = i;
    if i % 5 == 0 {
        e.case = Some([3; 32]);
    }
    e
}

proptest! {
    #[test]
    fn entry_round_trips(kind in 0usize..Kind::ALL.len(), time: u64, code: u16, count: u64,
                         context in "[a-z/.-]{0,64}", peer: Option<[u8; 32]>,
                         id: Option<[u8; 16]>, hash: Option<[u8; 32]>,
                         case: Option<[u8; 32]>, receipt in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..=crate::envelope::RECEIPT_LEN)),
                         user in proptest::option::of("[a-z0-9][a-z0-9._-]{0,63}")) {
        let e = Entry { kind: Kind::ALL[kind], time_ms: time, context, code, count, peer,
                        message_id: id.map(MessageId), hash, case, receipt, user };
        let bytes = e.to_bytes();
        prop_assert_eq!(Entry::decode(&bytes), Ok(e));
        for cut in 0..bytes.len() {
            prop_assert!(Entry::decode(&bytes[..cut]).is_err());
        }
        let mut longer = bytes.clone();
        longer.push(0);
        prop_assert!(Entry::decode(&longer).is_err());
    }

    #[test]
    fn entry_decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        if let Ok(e) = Entry::decode(&bytes) {
            prop_assert_eq!(e.to_bytes(), bytes);
        }
    }
}

#[test]
fn an_entry_refuses_a_user_that_is_not_a_name() {
    let mut e = Entry::new(Kind::Local, 1);
    e.user = Some("ivanov".into());
    let good = e.to_bytes();
    assert_eq!(
        Entry::decode(&good).map(|d| d.user),
        Ok(Some("ivanov".into()))
    );
    for bad in [&b""[..], b"Ivanov", b"-x", b"a b", "иванов".as_bytes()] {
        let mut bytes = good[..good.len() - 7].to_vec();
        bytes.push(bad.len() as u8);
        bytes.extend_from_slice(bad);
        assert!(Entry::decode(&bytes).is_err(), "{bad:?}");
    }
    assert!(!Entry::valid_user(&"a".repeat(65)));
    assert!(Entry::valid_user(&"a".repeat(64)));
}

#[test]
fn entry_snapshot() {
    let (_, peer) = signer(4);
    let bytes = sample_entry(5, &peer).to_bytes();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    // version, kind, time, flags, context, code, count, peer, id, hash, case
    assert_eq!(
        hex,
        concat!(
            "01",
            "02",
            "000001a0c4506c05",
            "0f",
            "0f",
            "6c696169736f6e2f70696e672f7631",
            "0000",
            "0000000000000005",
            "ca93ac1705187071d67b83c7ff0efe8108e8ec4530575d7726879333dbdabe7c",
            "05050505050505050505050505050505",
            "2323232323232323232323232323232323232323232323232323232323232323",
            "0303030303030303030303030303030303030303030303030303030303030303",
        )
    );
    assert_eq!(
        bytes.len(),
        1 + 1 + 8 + 1 + 1 + 15 + 2 + 8 + 32 + 16 + 32 + 32
    );
}

/// A log of `n` entries by agency 1 with peer 2, exported over
/// `[first, end)`, with agency 2 as a witness of an earlier prefix.
fn export_of(n: u64, first: u64, end: u64) -> (Vec<u8>, AgencyKey) {
    export_with(n, first, end, |_| {})
}

/// [`export_of`], with the agency rewriting its entries (`doctor`) after
/// the witness cosigned the prefix: the tree, the checkpoint and the file
/// are then made and signed anew from the doctored entries, as a
/// dishonest exporter holding its own key would.
fn export_with(
    n: u64,
    first: u64,
    end: u64,
    doctor: impl FnOnce(&mut Vec<Vec<u8>>),
) -> (Vec<u8>, AgencyKey) {
    let (a, ak) = signer(1);
    let (w, wk) = signer(2);
    let mut s = Stored::default();
    let entries: Vec<Vec<u8>> = (0..n)
        .map(|i| {
            let mut e = sample_entry(i, &wk);
            if e.kind == Kind::Receipted {
                let r = Receipt::sign(
                    &w,
                    *ak.verifying_key(),
                    e.message_id.expect("set"),
                    e.hash.expect("set"),
                    e.time_ms,
                    i + 100,
                    Outcome::Accepted,
                );
                e.receipt = Some(r.to_bytes());
            }
            e.to_bytes()
        })
        .collect();
    let witnessed_size = n / 2;
    entries[..witnessed_size as usize]
        .iter()
        .for_each(|e| s.push(e));
    let origin = note::origin("kg-kz-tj", ak.verifying_key());
    let mut early = Checkpoint {
        origin: origin.clone(),
        size: witnessed_size,
        root: s.1.root(),
    }
    .sign(&a);
    early.cosign(
        &note::origin("kg-kz-tj", wk.verifying_key()),
        &w,
        1_790_000_000,
    );
    let mut entries = entries;
    let before = entries.clone();
    doctor(&mut entries);
    if entries != before {
        s = Stored::default();
        entries[..witnessed_size.min(entries.len() as u64) as usize]
            .iter()
            .for_each(|e| s.push(e));
    }
    let n = entries.len() as u64;
    let end = end.min(n);
    let witnessed_size = witnessed_size.min(n);
    entries[witnessed_size as usize..]
        .iter()
        .for_each(|e| s.push(e));
    let cp = Checkpoint {
        origin,
        size: n,
        root: s.1.root(),
    }
    .sign(&a);
    let header = Header {
        agency: ak.clone(),
        name: "kg-border".into(),
        federation: "kg-kz-tj".into(),
        exported_at_ms: 1_790_000_500_000,
        first,
        end,
    };
    let hashes = |c: Vec<(u8, u64)>| -> Vec<Hash> {
        c.into_iter()
            .map(|(l, i)| s.subtree(l, i).expect("stored"))
            .collect()
    };
    let witnesses = [Witnessed {
        witness: wk,
        checkpoint: early,
        proof: tree::consistency_proof(&s, witnessed_size, n).expect("stored"),
    }];
    let mut w = export::Writer::begin(
        Vec::new(),
        &header,
        &cp,
        &witnesses,
        &hashes(cover(0, first)),
    )
    .expect("writes to memory");
    for e in &entries[first as usize..end as usize] {
        w.entry(e).expect("writes");
    }
    (w.finish(&hashes(cover(end, n)), &a).expect("writes"), ak)
}

#[test]
fn export_verifies_whole_and_in_part() {
    for (n, first, end) in [
        (1, 0, 1),
        (40, 0, 40),
        (40, 13, 29),
        (40, 0, 0),
        (37, 36, 37),
    ] {
        let (file, ak) = export_of(n, first, end);
        let mut seen = Vec::new();
        let report = export::verify(&file[..], Some(ak.verifying_key()), |i, _| seen.push(i));
        assert_eq!(report.problems, vec![], "{n} {first} {end}");
        assert_eq!(seen, (first..end).collect::<Vec<_>>());
        let v = report.verified.expect("verified");
        assert_eq!(v.witnesses.len(), 1);
        assert_eq!(v.witnesses[0].1, n / 2);
    }
}

#[test]
fn export_from_another_agency_is_refused() {
    let (file, _) = export_of(10, 0, 10);
    let (_, other) = signer(9);
    let report = export::verify(&file[..], Some(other.verifying_key()), |_, _| {});
    assert_eq!(report.problems.len(), 1);
    assert_eq!(report.problems[0].place, Place::Header("agency"));
}

fn entry_spans(file: &[u8], n: u64) -> Vec<(usize, usize)> {
    // Find each entry record by re-reading the export structure.
    let mut spans = Vec::new();
    let report = export::verify(file, None, |_, _| {});
    assert!(report.problems.is_empty());
    let mut at = file.len() - 64 - 1; // right hashes count byte is before them
    let _ = &mut at;
    // Entries are the u32-length-prefixed records just before the right
    // subtrees; walk forward from the left subtrees instead.
    let needle = sample_entry(0, &signer(2).1).to_bytes();
    let start = file
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("first entry present")
        - 4;
    let mut at = start;
    for _ in 0..n {
        let len = u32::from_be_bytes(file[at..at + 4].try_into().expect("4")) as usize;
        spans.push((at, at + 4 + len));
        at += 4 + len;
    }
    spans
}

/// A thousand random single-byte changes, deletions and reorderings of an
/// export: every one is reported.
#[test]
fn every_mutation_of_an_export_is_detected() {
    let n = 24;
    let (file, ak) = export_of(n, 0, n);
    let spans = entry_spans(&file, n);
    let mut rng = rand_chacha_09::ChaCha20Rng::seed_from_u64(0x5eed);
    for round in 0..1000 {
        let mut m = file.clone();
        let what = match round % 5 {
            0 | 1 => {
                let i = (rng.next_u64() % m.len() as u64) as usize;
                m[i] ^= 1 << (rng.next_u32() % 8);
                format!("bit flip at {i}")
            }
            2 => {
                let i = (rng.next_u64() % m.len() as u64) as usize;
                let len = 1 + (rng.next_u64() % 40) as usize;
                m.drain(i..(i + len).min(m.len()));
                format!("deleted bytes {i}..+{len}")
            }
            3 => {
                let (s, e) = spans[(rng.next_u64() % n) as usize];
                m.drain(s..e);
                format!("deleted entry at {s}")
            }
            _ => {
                let a = (rng.next_u64() % n) as usize;
                let b = (a + 1 + (rng.next_u64() % (n - 1)) as usize) % n as usize;
                let (x, y) = (spans[a.min(b)], spans[a.max(b)]);
                let mut out = m[..x.0].to_vec();
                out.extend_from_slice(&m[y.0..y.1]);
                out.extend_from_slice(&m[x.1..y.0]);
                out.extend_from_slice(&m[x.0..x.1]);
                out.extend_from_slice(&m[y.1..]);
                m = out;
                format!("swapped entries {a} and {b}")
            }
        };
        if m == file {
            continue; // swapping two identical entries changes nothing
        }
        let report = export::verify(&m[..], Some(ak.verifying_key()), |_, _| {});
        assert!(!report.problems.is_empty(), "undetected: {what}");
    }
}

/// A rewrite of a log's entries.
type Doctor = Box<dyn FnOnce(&mut Vec<Vec<u8>>)>;

/// The same kinds of change, made by the agency itself: the tree, its
/// checkpoint and the whole file made and signed anew with its own key.
/// The file signature and the checkpoint then verify, so what catches
/// them is the witness: its cosigned checkpoint of the prefix is no
/// prefix of the doctored tree.
#[test]
fn an_export_the_agency_doctors_and_signs_again_still_fails_at_its_witness() {
    let n = 24u64;
    let mut rng = rand_chacha_09::ChaCha20Rng::seed_from_u64(0xd0c);
    for round in 0..60 {
        let prefix = (n / 2) as usize;
        let i = (rng.next_u64() % prefix as u64) as usize;
        let j = (i + 1 + (rng.next_u64() % (prefix as u64 - 1)) as usize) % prefix;
        let (what, doctor): (String, Doctor) = match round % 4 {
            0 => (
                format!("count of entry {i} changed"),
                Box::new(move |e: &mut Vec<Vec<u8>>| {
                    let mut x = Entry::decode(&e[i]).unwrap();
                    x.count += 1;
                    e[i] = x.to_bytes();
                }),
            ),
            1 => (
                format!("entry {i} dropped"),
                Box::new(move |e: &mut Vec<Vec<u8>>| {
                    e.remove(i);
                }),
            ),
            2 => (
                format!("entries {i} and {j} swapped"),
                Box::new(move |e: &mut Vec<Vec<u8>>| e.swap(i, j)),
            ),
            _ => (
                format!("an entry inserted at {i}"),
                Box::new(move |e: &mut Vec<Vec<u8>>| {
                    let extra = e[i].clone();
                    let mut x = Entry::decode(&extra).unwrap();
                    x.time_ms += 1;
                    e.insert(i, x.to_bytes());
                }),
            ),
        };
        let (file, ak) = export_with(n, 0, n, doctor);
        let report = export::verify(&file[..], Some(ak.verifying_key()), |_, _| {});
        assert!(
            !report.problems.is_empty(),
            "undetected, though signed anew: {what}"
        );
        assert!(
            report
                .problems
                .iter()
                .all(|p| p.place != Place::Signature && p.place != Place::Tree),
            "{what}: the signature and tree were made anew, yet {:?}",
            report.problems
        );
    }
}

#[test]
fn export_problems_name_the_place() {
    let n = 12;
    let (file, ak) = export_of(n, 0, n);
    let spans = entry_spans(&file, n);
    // A change inside entry 3's context: decodes, but the tree no longer matches.
    let mut m = file.clone();
    m[spans[3].0 + 4 + 13] ^= 0x01;
    let r = export::verify(&m[..], Some(ak.verifying_key()), |_, _| {});
    assert!(
        r.problems.iter().any(|p| p.place == Place::Tree),
        "{:?}",
        r.problems
    );
    // An unknown entry kind: named by index and field.
    let mut m = file.clone();
    m[spans[3].0 + 4 + 1] = 99;
    let r = export::verify(&m[..], Some(ak.verifying_key()), |_, _| {});
    assert!(
        r.problems.iter().any(|p| p.place
            == Place::Entry {
                index: 3,
                field: "kind"
            }),
        "{:?}",
        r.problems
    );
    // Truncated: says so, and where.
    let r = export::verify(&file[..spans[7].0 + 2], Some(ak.verifying_key()), |_, _| {});
    assert_eq!(r.problems.len(), 1);
    assert!(
        r.problems[0].problem.contains("truncated"),
        "{}",
        r.problems[0]
    );
    assert_eq!(
        r.problems[0].place,
        Place::Entry {
            index: 7,
            field: "entry"
        }
    );
}
