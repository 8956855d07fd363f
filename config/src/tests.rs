use std::path::{Path, PathBuf};

use super::*;

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples")
}

fn err(text: &str) -> String {
    Config::from_text(Path::new("/etc/liaison/liaison.toml"), text)
        .unwrap_err()
        .to_string()
}

const MINIMAL: &str = "[node]\nname = \"kg-border\"\n";

#[test]
fn every_example_parses_and_validates() {
    let mut seen = 0;
    for entry in std::fs::read_dir(examples_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("toml") {
            continue;
        }
        let config = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            config.peers.len(),
            2,
            "{}: the demo federation has three agencies",
            path.display()
        );
        assert!(config.node.country.is_some());
        seen += 1;
    }
    assert_eq!(seen, 3, "three example agencies");
}

#[test]
fn defaults_apply_and_paths_resolve_against_the_file() {
    let c = Config::from_text(Path::new("/srv/kg/liaison.toml"), MINIMAL).unwrap();
    assert_eq!(c.node.data_dir, PathBuf::from("/srv/kg/data"));
    assert_eq!(c.node.key_dir, PathBuf::from("/srv/kg/keys"));
    assert_eq!(c.ingest.batch_size.get(), 2048);
    assert_eq!(c.network.idle_timeout, Duration::from_secs(60));
    assert_eq!(c.network.listen.len(), 2);
    assert_eq!(c.node.federation, "liaison");
}

#[test]
fn init_template_validates_with_and_without_options() {
    let text = new_config_text(&NewNode {
        name: "tj-drug-control",
        country: Some("TJK"),
        federation: Some("central-asia"),
        listen: &["/ip4/127.0.0.1/tcp/0".to_owned()],
        tls: true,
    });
    let c = Config::from_text(Path::new("/x/liaison.toml"), &text).unwrap();
    assert_eq!(c.node.country.unwrap().alpha3(), "TJK");
    assert_eq!(c.network.listen[0].to_string(), "/ip4/127.0.0.1/tcp/0");
    assert_eq!(
        c.api.tls,
        Some(Tls {
            cert: PathBuf::from("/x").join(TLS_CERT_FILE),
            key: PathBuf::from("/x").join(TLS_KEY_FILE),
        })
    );
    let text = new_config_text(&NewNode {
        name: "a",
        country: None,
        federation: None,
        listen: &[],
        tls: false,
    });
    let c = Config::from_text(Path::new("/x/liaison.toml"), &text).unwrap();
    assert_eq!(c.api.tls, None);
    assert_eq!(c.api.listen, None);
}

#[test]
fn api_tls_takes_both_files_and_is_needed_off_loopback() {
    let load = |api: &str| {
        Config::from_text(
            Path::new("/srv/kg/liaison.toml"),
            &format!("{MINIMAL}[api]\n{api}"),
        )
    };
    // Relative to the config's folder, absolute as written.
    let c = load("tls_cert = \"tls/cert.pem\"\ntls_key = \"/etc/liaison/key.pem\"\n").unwrap();
    assert_eq!(
        c.api.tls,
        Some(Tls {
            cert: PathBuf::from("/srv/kg/tls/cert.pem"),
            key: PathBuf::from("/etc/liaison/key.pem"),
        })
    );
    // Any address with TLS; loopback without.
    let c = load("listen = \"0.0.0.0:7780\"\ntls_cert = \"c.pem\"\ntls_key = \"k.pem\"\n").unwrap();
    assert_eq!(c.api.listen, Some("0.0.0.0:7780".parse().unwrap()));
    let c = load("listen = \"[::1]:7780\"\n").unwrap();
    assert_eq!(
        (c.api.listen.map(|a| a.port()), c.api.tls),
        (Some(7780), None)
    );
    let cases = [
        (
            "tls_cert = \"c.pem\"\n",
            "api.tls_key",
            "set tls_key to the certificate's PEM private key",
        ),
        (
            "tls_key = \"k.pem\"\ntls_cert = \" \"\n",
            "api.tls_cert",
            "set tls_cert to the key's PEM certificate",
        ),
        (
            "listen = \"192.0.2.7:7780\"\n",
            "api.listen",
            "set api.tls_cert and api.tls_key",
        ),
        (
            "listen = \"0.0.0.0:7780\"\ntls_cert = \"c.pem\"\n",
            "api.tls_key",
            "or set neither",
        ),
    ];
    for (api, key, fix) in cases {
        let e = load(api).unwrap_err().to_string();
        assert!(e.contains(&format!("key `{key}`")), "{api:?} gave {e}");
        assert!(e.contains(fix), "{api:?} gave {e}");
    }
    let e = load("listen = \"192.0.2.7:7780\"\n")
        .unwrap_err()
        .to_string();
    assert!(e.contains("liaison init --tls"), "{e}");
}

#[test]
fn unknown_key_is_refused_naming_it_and_the_file() {
    let e = err("[node]\nname = \"kg-border\"\nlisten = []\n");
    assert!(e.contains("/etc/liaison/liaison.toml"), "{e}");
    assert!(e.contains("unknown field `listen`"), "{e}");
    assert!(e.contains("line 3"), "{e}");
    let e = err("[node]\nname = \"kg-border\"\n[ingst]\n");
    assert!(e.contains("unknown field `ingst`"), "{e}");
}

#[test]
fn invalid_values_name_the_key_and_the_fix() {
    let cases = [
        (
            "[node]\nname = \"kg\"\n[api.os_users]\naivanova = \"A.Ivanova\"\n",
            "api.os_users.aivanova",
            "not a user name",
        ),
        ("[node]\nname = \"KG Border\"\n", "node.name", "lower-case"),
        (
            "[node]\nname = \"kg\"\ncountry = \"KG\"\n",
            "node.country",
            "alpha-3",
        ),
        (
            "[node]\nname = \"kg\"\n[ingest]\nbatch_size = 0\n",
            "ingest.batch_size",
            "between 1",
        ),
        (
            "[node]\nname = \"kg\"\n[network]\nidle_timeout = \"soon\"\n",
            "network.idle_timeout",
            "\"60s\"",
        ),
        (
            "[node]\nname = \"kg\"\n[network]\nlisten = [\"127.0.0.1:4710\"]\n",
            "network.listen[0]",
            "multiaddr",
        ),
        (
            "[node]\nname = \"kg\"\n[network]\nlisten = [\"/ip4/127.0.0.1/udp/1\"]\n",
            "network.listen[0]",
            "quic-v1",
        ),
        (
            "[node]\nname = \"kg\"\ndata_dir = \"keys\"\n",
            "node.key_dir",
            "differ",
        ),
        (
            "[node]\nname = \"kg\"\n[[peers]]\nname = \"tj\"\nkey = \"abc\"\n",
            "peers[0].key",
            "liaison-agency-v1:",
        ),
    ];
    for (text, key, fix) in cases {
        let e = err(text);
        assert!(e.contains(&format!("key `{key}`")), "{text:?} gave {e}");
        assert!(e.contains(fix), "{text:?} gave {e}");
    }
}

#[test]
fn duplicate_peers_are_refused() {
    let example = std::fs::read_to_string(examples_dir().join("kg-border.toml")).unwrap();
    let raw: RawConfig = toml::from_str(&example).unwrap();
    let mut twice = raw.clone();
    let mut dup = twice.peers[0].clone();
    dup.name = "another-name".into();
    twice.peers.push(dup);
    let e = twice
        .validate(Path::new("/x/liaison.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("peers[2].key") && e.contains("already listed"),
        "{e}"
    );

    let mut same_name = raw.clone();
    let first = same_name.peers[0].clone();
    same_name.peers[1].name = first.name;
    let e = same_name
        .validate(Path::new("/x/liaison.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("peers[1].name") && e.contains("twice"), "{e}");

    let mut budgets = raw.clone();
    budgets.peers[0].budget = Some([("phone".into(), 5), ("default".into(), 7)].into());
    let c = budgets
        .clone()
        .validate(Path::new("/x/liaison.toml"))
        .unwrap();
    assert_eq!(c.peers[0].budget[&SelectorKind::Phone], 5);
    assert_eq!(c.peers[0].budget[&SelectorKind::Iban], 7);
    assert_eq!(c.peers[1].budget[&SelectorKind::Iban], 10_000);
    budgets.peers[0].budget = Some([("telepathy".into(), 5)].into());
    let e = budgets
        .validate(Path::new("/x/liaison.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("peers[0].budget.telepathy") && e.contains("\"default\""),
        "{e}"
    );

    let mut long_overlap = raw.clone();
    long_overlap.matching.overlap = "2d".into();
    let e = long_overlap
        .validate(Path::new("/x/liaison.toml"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("matching.overlap"), "{e}");

    let mut bad_kind = raw;
    bad_kind.peers[0].kinds = Some(vec!["phone".into(), "telepathy".into()]);
    let e = bad_kind
        .validate(Path::new("/x/liaison.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("peers[0].kinds[1]") && e.contains("person_name"),
        "{e}"
    );
}

#[test]
fn release_policy_layers_and_refuses_what_the_node_will_not_do() {
    let example = std::fs::read_to_string(examples_dir().join("kg-border.toml")).unwrap();
    let mut raw: RawConfig = toml::from_str(&example).unwrap();
    raw.exchange.release = Some([("TLP:CLEAR".into(), "auto".into())].into());
    raw.peers[0].release = Some([("default".into(), "auto".into())].into());
    raw.peers[1].release = Some([("tlp:green".into(), "never".into())].into());
    let c = raw.clone().validate(Path::new("/x/liaison.toml")).unwrap();
    let (p0, p1) = (&c.peers[0].release, &c.peers[1].release);
    // default = "auto" is capped: AMBER+STRICT by hand, RED never.
    assert_eq!(p0.decide(Handling::Amber), Release::Auto);
    assert_eq!(p0.decide(Handling::AmberStrict), Release::Manual);
    assert_eq!(p0.decide(Handling::Red), Release::Never);
    // The peer's table over the node's: CLEAR auto from [exchange].
    assert_eq!(p1.decide(Handling::Clear), Release::Auto);
    assert_eq!(p1.decide(Handling::Green), Release::Never);
    assert_eq!(p1.decide(Handling::Amber), Release::Manual);
    assert_eq!(c.exchange.deadline, Duration::from_secs(48 * 3600));
    assert_eq!(c.exchange.on_withdrawal, OnWithdrawal::Mark);

    for (table, key, fix) in [
        ("TLP:RED", "auto", "never released"),
        ("TLP:AMBER+STRICT", "auto", "never released automatically"),
        ("TLP:PURPLE", "auto", "\"default\""),
        ("TLP:GREEN", "always", "\"auto\", \"manual\" or \"never\""),
    ] {
        let mut bad = raw.clone();
        bad.peers[1].release = Some([(table.into(), key.into())].into());
        let e = bad
            .validate(Path::new("/x/liaison.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("peers[1].release") && e.contains(fix), "{e}");
    }
    let mut bad = raw;
    bad.exchange.on_withdrawal = "shred".into();
    let e = bad
        .validate(Path::new("/x/liaison.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("exchange.on_withdrawal") && e.contains("\"mark\""),
        "{e}"
    );
}

#[test]
fn two_person_codes_parse_default_to_none_and_are_never_automatic() {
    let c = Config::from_text(Path::new("/x/liaison.toml"), MINIMAL).unwrap();
    assert!(c.exchange.two_person.is_empty());

    let example = std::fs::read_to_string(examples_dir().join("kg-border.toml")).unwrap();
    let mut raw: RawConfig = toml::from_str(&example).unwrap();
    raw.exchange.two_person = vec!["TLP:AMBER+STRICT".into(), "tlp:amber".into()];
    raw.peers[0].release = Some([("default".into(), "auto".into())].into());
    let c = raw.clone().validate(Path::new("/x/liaison.toml")).unwrap();
    assert_eq!(
        c.exchange.two_person,
        [Handling::Amber, Handling::AmberStrict].into()
    );
    // default = "auto" is capped for a two-person code, not for others.
    let p0 = &c.peers[0].release;
    assert_eq!(p0.decide(Handling::Amber), Release::Manual);
    assert_eq!(p0.decide(Handling::Green), Release::Auto);

    for (codes, key, fix) in [
        (
            vec!["TLP:AMBER", "TLP:PURPLE"],
            "exchange.two_person[1]",
            "TLP:AMBER+STRICT",
        ),
        (vec!["TLP:RED"], "exchange.two_person[0]", "never released"),
    ] {
        let mut bad = raw.clone();
        bad.exchange.two_person = codes.into_iter().map(String::from).collect();
        let e = bad
            .validate(Path::new("/x/liaison.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains(key) && e.contains(fix), "{e}");
    }
    // Naming a two-person code `auto` says what the node will not do.
    let mut bad = raw;
    bad.peers[1].release = Some([("TLP:AMBER".into(), "auto".into())].into());
    let e = bad
        .validate(Path::new("/x/liaison.toml"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("peers[1].release") && e.contains("exchange.two_person"),
        "{e}"
    );
}

#[test]
fn markings_map_to_tlp_and_bad_ones_name_their_key() {
    let with = |table: &str| {
        let text = format!("{MINIMAL}\n[ingest.markings]\n{table}\n");
        Config::from_text(Path::new("/srv/kg/liaison.toml"), &text)
    };
    let c = with("\"H1\" = \"TLP:AMBER+STRICT\"\n\"дсп\" = \"TLP:AMBER+STRICT\"").expect("valid");
    assert_eq!(c.ingest.markings.len(), 2);
    assert!(c.ingest.markings.contains_key("ДСП"));
    for (table, key) in [
        ("\"H1\" = \"ORANGE\"", "ingest.markings.\"H1\""),
        ("\"TLP:RED\" = \"TLP:RED\"", "ingest.markings.\"TLP:RED\""),
        (
            "\"ДСП\" = \"TLP:AMBER\"\n\"дсп\" = \"TLP:RED\"",
            "ingest.markings",
        ),
        ("\" \" = \"TLP:RED\"", "ingest.markings"),
    ] {
        let e = with(table).expect_err(table).to_string();
        assert!(e.contains(key), "{table}: {e}");
    }
    // The template's example table parses (commented out, it is empty).
    let t = crate::template::new_config_text(&crate::template::NewNode {
        name: "kg-border",
        country: Some("KGZ"),
        federation: None,
        listen: &[],
        tls: false,
    });
    let uncommented = t.replace("# \"H", "\"H").replace("# \"ДСП\"", "\"ДСП\"");
    let c = Config::from_text(Path::new("/srv/kg/liaison.toml"), &uncommented).expect("template");
    assert_eq!(c.ingest.markings.len(), 5);
}
