//! One NPPES data row → an [`NppesRow`], or the reason it is malformed.
//!
//! NPPES quotes every value, replaces embedded `"` by `'`, writes empty values as `""` and
//! dates as `MM/DD/YYYY` (npd.md §2.2). A `"` or a line break left inside a parsed value
//! therefore means broken quoting.

use csv::ByteRecord;

use super::header::Columns;
use crate::date::parse_us;
use crate::npd::identifier::is_nucc_code;
use crate::npi::Npi;
use crate::store::NppesRow;

fn field(record: &ByteRecord, i: usize) -> &[u8] {
    record.get(i).unwrap_or(b"")
}

fn text<'r>(record: &'r ByteRecord, cols: &Columns, i: usize) -> Result<&'r str, String> {
    std::str::from_utf8(field(record, i))
        .map(str::trim)
        .map_err(|_| format!("{} is not UTF-8", cols.names[i]))
}

fn date(record: &ByteRecord, cols: &Columns, i: usize) -> Result<Option<time::Date>, String> {
    let raw = text(record, cols, i)?;
    if raw.is_empty() {
        return Ok(None);
    }
    parse_us(raw).map(Some).map_err(|_| {
        format!(
            "bad date in {:?}: {raw:?} (expected MM/DD/YYYY)",
            cols.names[i]
        )
    })
}

pub fn parse(record: &ByteRecord, cols: &Columns) -> Result<NppesRow, String> {
    let raw = record.as_slice();
    // The CR of a CRLF line end stays at the end of the last value.
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    if raw.contains(&b'"') {
        return Err("stray double quote inside a value (broken quoting)".into());
    }
    if raw.contains(&b'\n') || raw.contains(&b'\r') {
        return Err("line break inside a value (unbalanced quotes)".into());
    }
    if record.len() != cols.width {
        return Err(format!(
            "expected {} fields, found {}",
            cols.width,
            record.len()
        ));
    }
    let npi_raw = text(record, cols, cols.npi)?;
    let npi = Npi::parse(npi_raw).map_err(|e| format!("bad NPI {npi_raw:?}: {e}"))?;
    let entity_type = match text(record, cols, cols.entity_type)? {
        "" => None,
        "1" => Some(1),
        "2" => Some(2),
        other => return Err(format!("bad Entity Type Code {other:?}")),
    };
    let deactivated = date(record, cols, cols.deactivation_date)?;
    let reactivated = date(record, cols, cols.reactivation_date)?;
    let mut taxonomies = String::new();
    let mut primary = None;
    let mut first = None;
    for (code_col, switch_col) in &cols.taxonomy {
        let code = text(record, cols, *code_col)?;
        if code.is_empty() {
            continue;
        }
        if !is_nucc_code(code) {
            return Err(format!(
                "bad taxonomy code {code:?} in {:?}",
                cols.names[*code_col]
            ));
        }
        if !taxonomies.is_empty() {
            taxonomies.push(' ');
        }
        taxonomies.push_str(code);
        first.get_or_insert(code);
        let switch = match switch_col {
            Some(c) => text(record, cols, *c)?,
            None => "",
        };
        if switch.eq_ignore_ascii_case("Y") && primary.is_none() {
            primary = Some(code);
        }
    }
    // No switch set: a single taxonomy is the primary one.
    let single = taxonomies.split(' ').count() == 1;
    let primary_taxonomy = primary
        .or(if single { first } else { None })
        .map(str::to_owned);
    Ok(NppesRow {
        npi,
        entity_type,
        primary_taxonomy,
        taxonomies,
        deactivated,
        reactivated,
    })
}
