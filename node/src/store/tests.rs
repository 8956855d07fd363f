use super::*;

#[test]
fn batches_prefix_scans_and_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("store")).unwrap();
    let mut b = Batch::default();
    for k in [&b"a\x01"[..], b"a\x02", b"a\xff", b"b\x00"] {
        b.put(Column::Selectors, k.to_vec(), b"".to_vec());
    }
    b.put(Column::Records, b"r".to_vec(), b"v".to_vec());
    store.write(b).unwrap();
    let mut seen = Vec::new();
    store
        .scan_prefix(Column::Selectors, b"a", |k, _| {
            seen.push(k.to_vec());
            true
        })
        .unwrap();
    assert_eq!(
        seen,
        vec![b"a\x01".to_vec(), b"a\x02".to_vec(), b"a\xff".to_vec()]
    );
    assert_eq!(
        store.get(Column::Records, b"r").unwrap().as_deref(),
        Some(&b"v"[..])
    );
    assert_eq!(
        store.get(Column::Meta, b"r").unwrap(),
        None,
        "columns are separate"
    );

    assert!(matches!(
        Store::open(&dir.path().join("store")),
        Err(Error::Locked { .. })
    ));
    drop(store);
    let store = Store::open(&dir.path().join("store")).unwrap();
    let mut d = Batch::default();
    d.delete(Column::Records, b"r".to_vec());
    store.write_durable(d).unwrap();
    assert_eq!(store.get(Column::Records, b"r").unwrap(), None);
}

#[test]
fn a_store_is_made_private_and_one_open_to_others_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep").join("store");
    drop(Store::open(&path).unwrap());
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o700);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o750)).unwrap();
    let e = Store::open(&path).unwrap_err();
    assert!(matches!(e, Error::Permissions { mode: 0o750, .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains(&path.display().to_string()) && text.contains("chmod 700"),
        "{text}"
    );
}

#[test]
fn upper_bounds() {
    assert_eq!(prefix_upper_bound(b"ab"), Some(b"ac".to_vec()));
    assert_eq!(prefix_upper_bound(b"a\xff"), Some(b"b".to_vec()));
    assert_eq!(prefix_upper_bound(b"\xff\xff"), None);
}
