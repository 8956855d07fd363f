use liaison_protocol::audit::{Entry, Kind, LOCAL_DENIED, LOCAL_DONE, LOCAL_FAILED};

use super::*;

const T: u64 = 1_800_000_000_000;

fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("store")).expect("store");
    (dir, store)
}

fn locals(store: &Store) -> Vec<Entry> {
    let mut out = Vec::new();
    store
        .scan_log(0, |_, bytes| {
            let e = Entry::decode(bytes).expect("entry");
            if e.kind == Kind::Local {
                out.push(e);
            }
            true
        })
        .expect("log");
    out
}

#[test]
fn roles_grant_what_the_issue_lists_and_nothing_else() {
    let analyst = [
        Right::Status,
        Right::Peers,
        Right::Records,
        Right::Search,
        Right::Match,
        Right::Watch,
        Right::Request,
        Right::Reports,
    ];
    for right in Right::ALL {
        assert_eq!(
            Role::Analyst.grants(right),
            analyst.contains(&right),
            "{right:?}"
        );
        assert_eq!(
            Role::Supervisor.grants(right),
            analyst.contains(&right) || matches!(right, Right::Decide | Right::Withdraw),
            "{right:?}"
        );
        // Auditors and admins never reach records or reports.
        for role in [Role::Auditor, Role::Admin] {
            if matches!(
                right,
                Right::Records
                    | Right::Search
                    | Right::Match
                    | Right::Reports
                    | Right::Decide
                    | Right::Withdraw
                    | Right::Request
                    | Right::Watch
            ) {
                assert!(!role.grants(right), "{role} {right:?}");
            }
        }
    }
    assert!(Role::Auditor.grants(Right::Audit) && !Role::Admin.grants(Right::Audit));
    assert!(Role::Admin.grants(Right::Users) && !Role::Supervisor.grants(Right::Users));
}

#[test]
fn accounts_are_added_once_and_each_change_is_logged_under_its_actor() {
    let (_d, s) = store();
    add(&s, "root", "ivanov", &[Role::Analyst], None, T).expect("add");
    assert!(matches!(
        add(&s, "root", "ivanov", &[Role::Admin], None, T),
        Err(Error::Exists(_))
    ));
    assert!(matches!(
        add(&s, "root", "Ivanov", &[Role::Admin], None, T),
        Err(Error::BadName(_))
    ));
    assert!(matches!(
        add(&s, "root", "petrov", &[], None, T),
        Err(Error::NoRole)
    ));
    assert!(matches!(
        add(&s, "root", "petrov", &[Role::Admin], Some("short"), T),
        Err(Error::BadPassword)
    ));
    set_enabled(&s, "admin1", "ivanov", false, T + 1).expect("disable");
    assert!(get(&s, "ivanov").expect("get").expect("there").disabled);
    let entries = locals(&s);
    let seen: Vec<(&str, Option<&str>)> = entries
        .iter()
        .map(|e| (e.context.as_str(), e.user.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            ("user-add:ivanov", Some("root")),
            ("user-disable:ivanov", Some("admin1"))
        ]
    );
    assert!(entries.iter().all(|e| e.code == LOCAL_DONE));
    assert_eq!(list(&s).expect("list").len(), 1);
}

#[test]
fn a_token_is_shown_once_kept_as_a_hash_and_refused_once_replaced_or_disabled() {
    let (_d, s) = store();
    add(&s, "root", "bot", &[Role::Analyst], None, T).expect("add");
    let first = new_token(&s, "root", "bot", T).expect("token");
    assert!(first.starts_with("lsn_") && first.len() == 68);
    assert_eq!(
        by_token(&s, &first).expect("look").map(|u| u.name),
        Some("bot".into())
    );
    let stored = format!("{:?}", get(&s, "bot").expect("get"));
    assert!(
        !stored.contains(&first[4..]),
        "the token itself is never stored or shown"
    );
    let second = new_token(&s, "root", "bot", T + 1).expect("token");
    assert!(
        by_token(&s, &first).expect("look").is_none(),
        "the old token is gone"
    );
    assert!(by_token(&s, &second).expect("look").is_some());
    set_enabled(&s, "root", "bot", false, T + 2).expect("disable");
    assert!(
        by_token(&s, &second).expect("look").is_none(),
        "a disabled user's token is refused at once"
    );
    assert!(by_token(&s, "lsn_00").expect("look").is_none());
}

#[test]
fn sign_in_locks_after_repeated_failures_and_logs_each() {
    let (_d, s) = store();
    let password = "correct horse battery";
    add(
        &s,
        "root",
        "sidorova",
        &[Role::Supervisor],
        Some(password),
        T,
    )
    .expect("add");
    assert_eq!(
        sign_in(&s, "sidorova", password, T).expect("good").name,
        "sidorova"
    );
    for i in 0..LOCK_AFTER {
        assert!(matches!(
            sign_in(&s, "sidorova", "wrong password!", T + u64::from(i)),
            Err(Error::SignIn)
        ));
    }
    let u = get(&s, "sidorova").expect("get").expect("there");
    assert!(u.account(T + 10).locked);
    // Locked: even the right password is refused, with the same answer.
    assert!(matches!(
        sign_in(&s, "sidorova", password, T + 10),
        Err(Error::SignIn)
    ));
    // After the lock runs out it works, and the count starts again.
    let later = T + LOCK_FOR.as_millis() as u64 + 10;
    assert!(sign_in(&s, "sidorova", password, later).is_ok());
    assert_eq!(
        get(&s, "sidorova").expect("get").expect("there").failures,
        0
    );
    // Unknown names fail the same way and are logged without a name.
    assert!(matches!(
        sign_in(&s, "nobody", password, T),
        Err(Error::SignIn)
    ));
    let entries = locals(&s);
    let outcomes: Vec<(&str, u16)> = entries
        .iter()
        .map(|e| (e.context.as_str(), e.code))
        .collect();
    let mut expected = vec![("user-add:sidorova", LOCAL_DONE), ("login", LOCAL_DONE)];
    for i in 0..LOCK_AFTER {
        expected.push(("login-failed", LOCAL_FAILED));
        if i + 1 == LOCK_AFTER {
            expected.push(("locked", LOCAL_FAILED));
        }
    }
    expected.extend([
        ("login-failed", LOCAL_FAILED),
        ("login", LOCAL_DONE),
        ("login-failed", LOCAL_FAILED),
    ]);
    assert_eq!(outcomes, expected);
    assert_eq!(entries.last().and_then(|e| e.user.clone()), None);
}

#[test]
fn a_refused_right_is_logged_and_names_the_roles_that_have_it() {
    let (_d, s) = store();
    add(&s, "root", "audit1", &[Role::Auditor], None, T).expect("add");
    let e = authorize(&s, "audit1", Right::Search, "find", T).expect_err("denied");
    assert!(e.to_string().contains("analyst or supervisor"), "{e}");
    assert!(authorize(&s, "audit1", Right::Audit, "audit-verify", T).is_ok());
    let last = locals(&s).pop().expect("entry");
    assert_eq!(
        (last.context.as_str(), last.code, last.user.as_deref()),
        ("find", LOCAL_DENIED, Some("audit1"))
    );
}

#[test]
fn a_user_keeps_its_own_language_and_the_change_is_logged() {
    let (_dir, store) = store();
    add(&store, "root", "ivanov", &[Role::Analyst], None, T).expect("add");
    let u = set_language(&store, "ivanov", Some("ru"), T + 1).expect("set");
    assert_eq!(u.lang.as_deref(), Some("ru"));
    assert_eq!(
        get(&store, "ivanov")
            .expect("get")
            .expect("user")
            .lang
            .as_deref(),
        Some("ru")
    );
    for bad in ["", "r", "RU", "ru_RU", "-ru", "a-very-long-tag"] {
        assert!(
            matches!(
                set_language(&store, "ivanov", Some(bad), T),
                Err(Error::BadLanguage(_))
            ),
            "{bad:?}"
        );
    }
    assert_eq!(
        set_language(&store, "ivanov", None, T + 2)
            .expect("clear")
            .lang,
        None
    );
    assert!(matches!(
        set_language(&store, "nobody", Some("en"), T),
        Err(Error::Unknown(_))
    ));
    let actions: Vec<_> = locals(&store).iter().map(|e| e.context.clone()).collect();
    assert_eq!(
        actions
            .iter()
            .filter(|a| a.as_str() == "user-lang:ivanov")
            .count(),
        2,
        "{actions:?}"
    );
}
