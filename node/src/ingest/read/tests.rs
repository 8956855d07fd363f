//! Tests of reading input files: NDJSON, CSV and call detail records.

use liaison_protocol::record::Entity;

use super::*;

struct Got {
    line: u64,
    record: Result<Record, Refusal>,
}

fn items(text: &str, format: Option<Format>, name: &str) -> Vec<Got> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    open(
        &path,
        format,
        200,
        Some("KGZ".parse().unwrap()),
        Arc::default(),
    )
    .unwrap()
    .map(|i| Got {
        line: i.line,
        record: i.into_record().0,
    })
    .collect()
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
