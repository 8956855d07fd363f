//! Tests of reading input files: NDJSON, CSV (in the encodings and with
//! the delimiters agencies save it in, mapped or not) and call detail records.

use std::io;

use liaison_protocol::record::Entity;

use super::*;

#[derive(Debug)]
struct Got {
    line: u64,
    record: Result<Record, Refusal>,
}

fn items(text: &str, format: Option<Format>, name: &str) -> Vec<Got> {
    read_bytes(text.as_bytes(), format, &Reading::default(), name).unwrap()
}

fn read_bytes(
    bytes: &[u8],
    format: Option<Format>,
    reading: &Reading,
    name: &str,
) -> io::Result<Vec<Got>> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    Ok(open_with(
        &path,
        format,
        reading,
        200,
        Some("KGZ".parse().unwrap()),
        Arc::default(),
    )?
    .map(|i| Got {
        line: i.line,
        record: i.into_record().0,
    })
    .collect())
}

fn mapped(toml: &str) -> Reading {
    Reading {
        map: Some(Arc::new(Mapping::parse(toml).unwrap())),
        ..Reading::default()
    }
}

#[test]
fn ndjson_lines_are_numbered_and_over_long_lines_skipped() {
    let long = format!("{{\"id\":\"{}\",\"entities\":[]}}", "x".repeat(300));
    let text = format!(
        "{{\"id\":\"a\",\"entities\":[{{\"type\":\"phone\",\"number\":\"+996775987817\"}}]}}\n\n{long}\n{{\"id\":\"b\"\n{{\"id\":\"c\",\"entities\":[{{\"type\":\"ufo\"}}]}}\r\n{{\"id\":\"d\"}}"
    );
    let got = items(&text, None, "x.ndjson");
    let lines: Vec<u64> = got.iter().map(|i| i.line).collect();
    assert_eq!(lines, vec![1, 3, 4, 5, 6]);
    assert_eq!(got[0].record.as_ref().unwrap().id, "a");
    let e = got[1].record.as_ref().unwrap_err();
    assert!(e.reason.contains("over the 200 byte limit"), "{e}");
    let e = got[2].record.as_ref().unwrap_err();
    assert!(e.reason.contains("not valid JSON"), "{e}");
    let e = got[3].record.as_ref().unwrap_err();
    assert_eq!(e.field.as_deref(), Some("entities[0].type"), "{e}");
    assert!(e.reason.contains("unknown variant `ufo`"), "{e}");
    assert_eq!(
        got[4].record.as_ref().unwrap().id,
        "d",
        "a last line without newline is read"
    );
}

#[test]
fn json_errors_name_the_field() {
    let e = parse_json(br#"{"id":"a","grading":"Z9","entities":[]}"#).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("grading"));
    assert!(e.reason.contains("Admiralty"), "{e}");
    let e = parse_json(br#"{"summary":"no id","entities":[]}"#).unwrap_err();
    assert!(e.reason.contains("missing field `id`"), "{e}");
    let e = parse_json(br#"{"id":"a","created":"yesterday","entities":[]}"#).unwrap_err();
    assert_eq!(e.field.as_deref(), Some("created"));
}

#[test]
fn csv_rows_become_linked_entities() {
    let text = "record_id,surname,given,dob,phone,passport_country,passport_number,plate,source_unit\n\
                KZ-1,KURBANOV,YUSUF,1985-03-14,+996 775 987 817;8 701 123 45 67,KGZ,AN1234567,123 ABA 02,Dostyk post\n\
                ,NOBODY,,,,,,,\n";
    let got = items(text, None, "x.csv");
    let r = got[0].record.as_ref().unwrap();
    assert_eq!(got[0].line, 2);
    assert_eq!(r.id, "KZ-1");
    let types: Vec<&str> = r.entities.iter().map(Entity::type_name).collect();
    assert_eq!(
        types,
        vec!["person", "phone", "phone", "document", "vehicle"]
    );
    assert_eq!(r.links.len(), 4);
    assert!(r.links.iter().all(|l| l.from == "p1"));
    assert_eq!(r.extra["source_unit"], "Dostyk post");
    let Entity::Document(d) = &r.entities[3] else {
        panic!()
    };
    assert_eq!(
        (d.doc_type.as_deref(), d.country.as_deref()),
        (Some("passport"), Some("KGZ"))
    );
    let e = got[1].record.as_ref().unwrap_err();
    assert_eq!((got[1].line, e.field.as_deref()), (3, Some("record_id")));
}

#[test]
fn call_detail_records() {
    let text = "caller,callee,start,duration,cell\n\
                0775 987 817,+992 93 555 1234,2024-05-01 09:30:00,185,OSH-0042\n\
                +996775987817,+992935551234,2024-05-01 09:30:00,185,OSH-0042\n\
                0775 987 817,+992 93 555 1234,yesterday,185,OSH-0042\n\
                0775 987 817,+992 93 555 1234,2024-05-01 09:30:00,3:05,OSH-0042\n";
    let got = items(text, None, "calls.csv");
    let (a, b) = (
        got[0].record.as_ref().unwrap(),
        got[1].record.as_ref().unwrap(),
    );
    assert_eq!(a.id, b.id, "the same call written two ways is one record");
    assert_eq!(a.links[0].rel, "called");
    assert_eq!(a.links[0].extra["duration"], 185);
    assert_eq!(
        got[2].record.as_ref().unwrap_err().field.as_deref(),
        Some("start")
    );
    assert_eq!(
        got[3].record.as_ref().unwrap_err().field.as_deref(),
        Some("duration")
    );
}

#[test]
fn windows_1251_with_semicolons_and_a_utf8_bom_read_alike() {
    let text = "record_id;surname;given;dob;phone\r\n\
                KG-1;Курбанов;Юсуф;14.03.1985;\"0775 987 817;+992 93 555 1234\"\r\n";
    let cp1251 = encoding_rs::WINDOWS_1251.encode(text).0.into_owned();
    let bom = [b"\xef\xbb\xbf".as_slice(), text.as_bytes()].concat();
    let tabs = text.replace(';', "\t").replace(
        "\"0775 987 817\t+992 93 555 1234\"",
        "0775 987 817;+992 93 555 1234",
    );
    let utf16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain(tabs.encode_utf16().flat_map(u16::to_le_bytes))
        .collect();
    let mut seen = Vec::new();
    for (bytes, name) in [
        (cp1251.as_slice(), "a.csv"),
        (&bom, "b.csv"),
        (text.as_bytes(), "c.txt"),
        (&utf16, "d.txt"),
        (tabs.as_bytes(), "e"),
    ] {
        let got = read_bytes(bytes, None, &Reading::default(), name).unwrap();
        assert_eq!(got.len(), 1, "{name}");
        let r = got[0]
            .record
            .as_ref()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(got[0].line, 2, "{name}");
        let Entity::Person(p) = &r.entities[0] else {
            panic!("{name}")
        };
        assert_eq!(p.surname.as_deref(), Some("Курбанов"), "{name}");
        assert_eq!(p.dob.as_deref(), Some("14.03.1985"), "{name}");
        assert_eq!(r.entities.len(), 3, "{name}: two phones");
        seen.push(serde_json::to_string(r).unwrap());
    }
    seen.dedup();
    assert_eq!(seen.len(), 1, "one record however the file was saved");
}

#[test]
fn bytes_that_are_not_utf8_are_named_by_offset() {
    // UTF-8 in the first 64 KiB, Windows-1251 further on.
    let mut bytes = b"record_id,surname\n".to_vec();
    for i in 0..7000 {
        bytes.extend_from_slice(format!("A-{i},Smith\n").as_bytes());
    }
    let offset = bytes.len() + "B-1,".len();
    bytes.extend_from_slice(b"B-1,\xcf\xe5\xf2\xf0\xee\xe2\nB-2,Jones\n");
    let got = read_bytes(&bytes, None, &Reading::default(), "x.csv").unwrap();
    assert_eq!(got.len(), 7002);
    let e = got[7000].record.as_ref().unwrap_err();
    assert!(
        e.reason
            .starts_with(&format!("byte {offset} (0xcf 0xe5 0xf2 0xf0) is not UTF-8")),
        "{e}"
    );
    assert!(e.reason.contains("--encoding windows-1251"), "{e}");
    assert_eq!(
        got[7001].record.as_ref().unwrap().id,
        "B-2",
        "the rest is read"
    );
    // Said to be UTF-8, a Windows-1251 header does not open.
    let cp1251 = encoding_rs::WINDOWS_1251
        .encode("Фамилия;Имя\nА;Б\n")
        .0
        .into_owned();
    let utf8 = Reading {
        encoding: Some(encoding_rs::UTF_8),
        ..Reading::default()
    };
    let e = read_bytes(&cp1251, None, &utf8, "x.csv").unwrap_err();
    assert!(
        e.to_string()
            .contains("byte 0 (0xd4 0xe0 0xec 0xe8) is not UTF-8 (chosen by --encoding)"),
        "{e}"
    );
}

#[test]
fn a_map_reads_an_agency_register() {
    let reading = mapped(
        r#"
        id_prefix = "KG-REG-"
        [columns]
        "№ п/п" = "record_id"
        "Фамилия" = "surname"
        "Имя" = "given"
        "Отчество" = "patronymic"
        "Дата рождения" = "dob"
        "№ паспорта" = "passport_number"
        "Госномер" = "plate"
        "Телефон" = "phone"
        "Телефон (доп.)" = "phone"
        [constants]
        passport_country = "KGZ"
        handling = "TLP:GREEN"
        "#,
    );
    let text = "Реестр лиц, проверенных на посту Дostyk;;;;;;;;;\n\
                ;;;;;;;;;\n\
                № п/п;Фамилия;Имя;Отчество;Дата рождения;№ паспорта;Госномер;Телефон;Телефон (доп.);Примечание\n\
                1;Курбанов;Юсуф;Ахмедович;14.03.1985 0:00;AN1234567;01 KG 123 ABC;0775 987 817;+992 93 555 1234;проверен\n\
                2;Асанов;Бакыт;;1979-11-02;;;;;\n\
                ;;;;;;;;;\n";
    let cp1251 = encoding_rs::WINDOWS_1251.encode(text).0.into_owned();
    let got = read_bytes(&cp1251, None, &reading, "register.csv").unwrap();
    assert_eq!(got.len(), 2, "the title and blank rows are not records");
    assert_eq!(got[0].line, 4);
    let r = got[0].record.as_ref().unwrap();
    assert_eq!(r.id, "KG-REG-1");
    assert_eq!(r.handling.to_string(), "TLP:GREEN");
    let types: Vec<&str> = r.entities.iter().map(Entity::type_name).collect();
    assert_eq!(types, ["person", "phone", "phone", "document", "vehicle"]);
    let Entity::Person(p) = &r.entities[0] else {
        panic!()
    };
    assert_eq!(p.dob.as_deref(), Some("14.03.1985"));
    let Entity::Document(d) = &r.entities[3] else {
        panic!()
    };
    assert_eq!(d.country.as_deref(), Some("KGZ"));
    assert_eq!(r.extra["Примечание"], "проверен");
    assert_eq!(got[1].record.as_ref().unwrap().id, "KG-REG-2");

    // The same map on a file without one of its columns.
    let e = read_bytes(
        "№ п/п;Фамилия;Имя\n1;А;Б\n".as_bytes(),
        None,
        &reading,
        "short.csv",
    )
    .unwrap_err();
    assert!(e.to_string().contains("the file's header lacks: "), "{e}");
    assert!(e.to_string().contains("\"Госномер\""), "{e}");
}

#[test]
fn a_map_reads_an_operator_call_export_and_one_call_is_one_record() {
    let reading = mapped(
        r#"
        [columns]
        "Абонент А" = "caller"
        "Абонент Б" = "callee"
        "Дата" = "start"
        "Время" = "start"
        "Длительность" = "duration"
        "БС" = "cell"
        "#,
    );
    let text = "Абонент А\tАбонент Б\tДата\tВремя\tДлительность\tБС\tТип\n\
                996775987817\t+992935551234\t01.05.2024\t9:30\t0:03:05\tOSH-0042\tисх.\n";
    let got = read_bytes(text.as_bytes(), None, &reading, "calls.txt").unwrap();
    let a = got[0].record.as_ref().unwrap();
    let plain = items(
        "caller,callee,start,duration,cell\n0775 987 817,+992 93 555 1234,2024-05-01 09:30:00,185,OSH-0042\n",
        None,
        "calls.csv",
    );
    let b = plain[0].record.as_ref().unwrap();
    assert_eq!(a.id, b.id, "the same call written two ways is one record");
    assert_eq!(a.links[0].extra["start"], "2024-05-01 09:30:00");
    assert_eq!(a.links[0].extra["duration"], 185);
    assert_eq!(a.extra["Тип"], "исх.");
}

#[test]
fn call_ids_of_the_forms_read_before_are_unchanged() {
    // The id as derived before starts were normalised, for both forms
    // accepted then: stores keep their calls' ids.
    for start in ["2024-05-01 09:30:00", "2024-05-01T09:30:00Z"] {
        let got = items(
            &format!("caller,callee,start\n+996775987817,+992935551234,{start}\n"),
            None,
            "c.csv",
        );
        let digest = <sha2::Sha256 as sha2::Digest>::digest(
            format!("+996775987817|+992935551234|{start}").as_bytes(),
        );
        let old: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(got[0].record.as_ref().unwrap().id, format!("CDR-{old}"));
    }
}

#[test]
fn every_field_a_map_may_name_is_read() {
    for f in csv_rows::field_list().split(", ") {
        let mut cells = vec![(f, "1")];
        if !matches!(f, "id" | "record_id") {
            cells.push(("record_id", "x"));
        }
        if let Ok(r) = csv_record(&cells) {
            assert!(!r.extra.contains_key(f), "{f} is kept as an unknown column");
        }
    }
}

#[test]
fn xlsx_cells_read_as_csv_cells_through_the_shipped_map() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let reading = Reading {
        map: Some(Arc::new(
            Mapping::load(&root.join("config/examples/maps/case-register-ru.toml")).unwrap(),
        )),
        ..Reading::default()
    };
    let path = root.join("tests/data/agency-files/register.xlsx");
    let country = Some("KGZ".parse().unwrap());
    let got: Vec<Item> = open_with(&path, None, &reading, 10_000, country, Arc::default())
        .unwrap()
        .collect();
    assert_eq!(got.len(), 5);
    assert_eq!(
        got[0].line, 4,
        "sheet rows: a title, a blank row, the header"
    );
    let (r, _) = got.into_iter().next().unwrap().into_record();
    let r = r.unwrap();
    let Entity::Person(p) = &r.entities[0] else {
        panic!()
    };
    assert_eq!(p.dob.as_deref(), Some("1985-03-14"), "a date cell");
    let Entity::Phone(t) = &r.entities[1] else {
        panic!()
    };
    assert_eq!(t.number, "996775987817", "a number cell, in full");
    // The second sheet only by name.
    let e = open_with(
        &path,
        None,
        &Reading {
            sheet: Some("Лист2".into()),
            ..reading
        },
        10_000,
        country,
        Arc::default(),
    )
    .err()
    .unwrap();
    assert!(
        e.to_string()
            .contains("its sheets are \"Реестр\", \"Звонки\""),
        "{e}"
    );
}

#[test]
fn files_without_an_extension_are_known_by_their_first_bytes() {
    let record = liaison_protocol::record::Record {
        entities: vec![serde_json::from_str(
            r#"{"ref":"t1","type":"phone","number":"+996 775 987 817"}"#,
        )
        .unwrap()],
        ..liaison_protocol::record::Record::new("KG-1")
    };
    let source = crate::formats::Source {
        agency: "kg-border".into(),
        country: Some("KGZ".into()),
    };
    let now = time::OffsetDateTime::UNIX_EPOCH;
    let (anx, _) = crate::formats::Export::Anx.write(std::slice::from_ref(&record), &source, now);
    let (stix, _) = crate::formats::Export::Stix.write(std::slice::from_ref(&record), &source, now);
    let csv16: Vec<u8> = [0xff, 0xfe]
        .into_iter()
        .chain(
            "record_id,phone\nKG-2,+996 775 987 818\n"
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        )
        .collect();
    for (bytes, what) in [
        (anx, "an i2 chart"),
        (stix, "a STIX bundle"),
        (csv16, "a UTF-16 CSV"),
    ] {
        let got = read_bytes(&bytes, None, &Reading::default(), "upload").expect(what);
        let ids: Vec<String> = got
            .into_iter()
            .filter_map(|g| g.record.ok().map(|r| r.id))
            .collect();
        assert!(
            ids.iter().any(|i| i == "KG-1" || i == "KG-2"),
            "{what}: {ids:?}"
        );
    }
}
