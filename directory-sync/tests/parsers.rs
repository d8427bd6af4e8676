//! Negative tests for every parser: whole-file problems are specific errors, row problems are
//! counted with line numbers, nothing panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Cursor;

use glassgate_directory::fixtures::{self, Deactivation};
use glassgate_directory::pipeline::{Sink, discard};
use glassgate_directory::progress::Progress;
use glassgate_directory::store::Rows;
use glassgate_directory::{DirectoryError, Summary, deactivations, npd, nppes, nucc};

fn collect<'a>(out: &'a mut Vec<Rows>) -> Sink<'a> {
    Box::new(move |rows| {
        out.push(rows);
        Ok(())
    })
}

fn ndjson(resource: &str, text: &str) -> Summary {
    npd::parse::parse_ndjson(
        resource,
        "f.ndjson",
        Cursor::new(text.as_bytes().to_vec()),
        discard(),
        &Progress::default(),
        100,
    )
    .unwrap()
}

#[test]
fn ndjson_lines() {
    let good = fixtures::Practitioner::active(&fixtures::npi(1)).line("2026-05-07");
    let text = format!(
        "{good}\n\n   \n{{\"resourceType\":\"Practitioner\",\"id\":\"a\",\"identifier\":null,\"qualification\":[null]}}\n\
         {{\"resourceType\":\"Practitioner\",\"id\":\"b\",\"id\":\"c\"}}\n\
         {{\"resourceType\":\"Practitioner\",\"id\":\"d\",\"identifier\":[{{\"system\":\"http://hl7.org/fhir/sid/us-npi\",\"value\":\"12345\"}}]}}\n\
         {{\"resourceType\":\"Practitioner\",\"id\":\"e\",\"identifier\":[{{\"system\":\"http://hl7.org/fhir/sid/us-npi\",\"value\":\"{}\",\"period\":{{\"end\":\"yesterday\"}}}}]}}\n\
         \u{0}\u{1}\n[]\nnull\n\"x\"\n{good}\r\n",
        fixtures::npi(2)
    );
    let s = ndjson("Practitioner", &text);
    assert_eq!(s.files[0].rows, 10);
    let lines: Vec<u64> = s.malformed_rows.iter().map(|m| m.line).collect();
    assert_eq!(lines, [5, 6, 7, 8, 9, 10, 11], "{:?}", s.malformed_rows);
    assert!(s.malformed_rows[0].reason.contains("duplicate field"));
    assert!(s.malformed_rows[1].reason.contains("not 10 digits"));
    assert!(s.malformed_rows[2].reason.contains("period.end"));
    assert_eq!(s.npi_missing, 1);
    assert_eq!(s.duplicates, 1);
    assert_eq!(s.with_valid_npi, 2);
}

#[test]
fn ndjson_other_resources() {
    let s = ndjson(
        "PractitionerRole",
        "{\"resourceType\":\"PractitionerRole\",\"id\":\"r\",\"practitioner\":{\"reference\":\"Organization/1\"}}\n\
         {\"resourceType\":\"PractitionerRole\",\"id\":\"r\",\"practitioner\":null,\"specialty\":[null,{\"coding\":null}]}\n",
    );
    assert_eq!(s.malformed, 1);
    assert!(s.malformed_rows[0].reason.contains("Practitioner/<id>"));
    let s = ndjson(
        "Location",
        "{\"resourceType\":\"Location\"}\n{\"resourceType\":\"Endpoint\",\"id\":\"1\"}\n",
    );
    assert_eq!(s.malformed, 2);
    let s = ndjson(
        "Organization",
        "{\"resourceType\":\"Organization\",\"id\":\"o\",\"identifier\":[null]}\n",
    );
    assert_eq!(s.malformed, 0);
}

#[test]
fn ndjson_line_too_long() {
    let long = format!(
        "{{\"resourceType\":\"Location\",\"id\":\"{}\"}}\n",
        "x".repeat(17 << 20)
    );
    let text = format!("{long}{{\"resourceType\":\"Location\",\"id\":\"ok\"}}\n");
    let s = ndjson("Location", &text);
    assert_eq!(s.malformed, 1);
    assert!(s.malformed_rows[0].reason.contains("longer than"));
    assert_eq!(s.files[0].rows, 2);
}

#[test]
fn zstd_errors() {
    let err = npd::parse::parse_zst(
        "Practitioner",
        "p.zst",
        Cursor::new(b"not zstd at all".to_vec()),
        discard(),
        &Progress::default(),
        10,
    )
    .unwrap_err();
    assert!(matches!(err, DirectoryError::Format { .. }), "{err}");
}

fn nppes_csv(text: &str) -> Result<Summary, DirectoryError> {
    nppes::parse_csv(
        "n.csv",
        Cursor::new(text.as_bytes().to_vec()),
        discard(),
        &Progress::default(),
        100,
    )
}

#[test]
fn nppes_whole_file_errors() {
    for (text, needle) in [
        ("", "missing column"),
        ("\"NPI\",\"Entity Type Code\"\n", "missing column"),
        ("\"NPI\",\"NPI\"\n", "twice"),
    ] {
        let err = nppes_csv(text).unwrap_err();
        assert!(err.to_string().contains(needle), "{err}");
    }
}

#[test]
fn nppes_rows() {
    let header = glassgate_directory::nppes::columns::v2_header()
        .iter()
        .map(|h| format!("\"{h}\""))
        .collect::<Vec<_>>()
        .join(",");
    let p = |n: u32| {
        fixtures::nppes::line_of(&fixtures::Provider::individual(
            &fixtures::npi(n),
            "207Q00000X",
        ))
    };
    let bad_code = fixtures::nppes::line_of(&fixtures::Provider::individual(
        &fixtures::npi(3),
        "NOT-A-CODE",
    ));
    let bad_entity = p(4).replacen("\"1\"", "\"3\"", 1);
    let text = format!(
        "{header}\n{}\n{bad_code}\n{bad_entity}\n\"{}\n{}\n",
        p(1),
        fixtures::npi(5),
        p(6)
    );
    let mut rows = Vec::new();
    let s = nppes::parse_csv(
        "n.csv",
        Cursor::new(text.into_bytes()),
        collect(&mut rows),
        &Progress::default(),
        100,
    )
    .unwrap();
    assert_eq!(s.records, 1, "{:?}", s.malformed_rows);
    let reasons: Vec<_> = s
        .malformed_rows
        .iter()
        .map(|m| (m.line, m.reason.clone()))
        .collect();
    assert_eq!(reasons[0].0, 3);
    assert!(reasons[0].1.contains("taxonomy"));
    assert_eq!(reasons[1].0, 4);
    assert!(reasons[1].1.contains("Entity Type"));
    // An unbalanced quote swallows the next line.
    assert_eq!(reasons[2].0, 5);
    assert_eq!(rows.iter().map(Rows::len).sum::<usize>(), 1);
}

#[test]
fn nucc_rows_and_headers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nucc.csv");
    fixtures::write_nucc(
        &path,
        &[
            "207Q00000X,Dup,Dup,,,,,Individual",
            "bad,Group,x,,,,,",
            "208D00000X,,x,,,,,",
            "1,2",
        ],
    )
    .unwrap();
    let policy = nucc::TaxonomyPolicy::default();
    let s = nucc::parse_csv(
        "nucc.csv",
        std::fs::File::open(&path).unwrap(),
        &policy,
        discard(),
        &Progress::default(),
        100,
    )
    .unwrap();
    assert_eq!(s.records, 12);
    // Hospitals, facilities, group, suppliers, laboratories, other service providers and the
    // student code are not individual.
    assert_eq!(s.individual, 5);
    let lines: Vec<_> = s.malformed_rows.iter().map(|m| m.line).collect();
    assert_eq!(lines, [14, 15, 16, 17], "{:?}", s.malformed_rows);
    let err = nucc::parse_csv(
        "x.csv",
        Cursor::new(b"Code,Section\n".to_vec()),
        &policy,
        discard(),
        &Progress::default(),
        10,
    )
    .unwrap_err();
    assert!(err.to_string().contains("grouping"), "{err}");
}

#[test]
fn deactivation_report_rows() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.xlsx");
    let rows: Vec<_> = (0..6)
        .map(|i| Deactivation {
            npi: fixtures::npi(i),
            date: (2025, 1, 2),
        })
        .collect();
    let extra = vec![
        (
            fixtures::bad_check_digit(&fixtures::npi(9)),
            "01/02/2025".to_owned(),
        ),
        (fixtures::npi(10), "31/31/2025".to_owned()),
        (fixtures::npi(11), "".to_owned()),
        (fixtures::npi(0), "01/02/2025".to_owned()),
    ];
    fixtures::write_deactivation_report(&path, &rows, &extra).unwrap();
    let mut out = Vec::new();
    let s = deactivations::parse_xlsx(
        "r.xlsx",
        std::fs::File::open(&path).unwrap(),
        collect(&mut out),
        &Progress::default(),
        100,
    )
    .unwrap();
    assert_eq!(s.records, 7, "{:?}", s.malformed_rows);
    assert_eq!(s.duplicates, 1);
    let lines: Vec<_> = s.malformed_rows.iter().map(|m| m.line).collect();
    assert_eq!(lines, [10, 11, 12], "{:?}", s.malformed_rows);
    let Rows::Deactivations(v) = &out[0] else {
        panic!()
    };
    assert_eq!(v.len(), 6);
    assert!(
        v.iter()
            .all(|d| glassgate_directory::date::iso(d.deactivated) == "2025-01-02")
    );
}

#[test]
fn deactivation_report_whole_file_errors() {
    let err = deactivations::parse_xlsx(
        "r.xlsx",
        Cursor::new(b"PK\x03\x04garbage".to_vec()),
        discard(),
        &Progress::default(),
        10,
    )
    .unwrap_err();
    assert!(matches!(err, DirectoryError::Format { .. }), "{err}");
    // A workbook without the header.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nohead.xlsx");
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    for r in 0..30u32 {
        ws.write_string(r, 0, "hello").unwrap();
    }
    wb.save(&path).unwrap();
    let err = deactivations::parse_xlsx(
        "r.xlsx",
        std::fs::File::open(&path).unwrap(),
        discard(),
        &Progress::default(),
        10,
    )
    .unwrap_err();
    assert!(err.to_string().contains("no header row"), "{err}");
}
