//! Columns found by normalised header name, never by position: CMS headers carry irregular
//! spaces and hyphens and the documentation disagrees with itself (npd.md §2.2–2.3).

use super::columns::{TAXONOMY_SLOTS, WIDTH};

/// Lowercase, BOM and surrounding space removed, runs of whitespace collapsed, no space
/// around `-` or `_`.
pub fn normalize(name: &str) -> String {
    let name = name.trim_start_matches('\u{feff}');
    let mut out = String::with_capacity(name.len());
    for word in name.split_whitespace() {
        let joiner = out.ends_with(['-', '_']) || word.starts_with(['-', '_']);
        if !out.is_empty() && !joiner {
            out.push(' ');
        }
        out.push_str(&word.to_lowercase());
    }
    out
}

/// Where the needed columns are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    pub width: usize,
    pub npi: usize,
    pub entity_type: usize,
    pub deactivation_date: usize,
    pub reactivation_date: usize,
    /// (code column, primary-switch column) per taxonomy slot present.
    pub taxonomy: Vec<(usize, Option<usize>)>,
    pub names: Vec<String>,
    pub warnings: Vec<String>,
}

/// Resolve the header; `Err` names the missing or duplicated column.
pub fn resolve(header: &[String]) -> Result<Columns, String> {
    let normalized: Vec<String> = header.iter().map(|h| normalize(h)).collect();
    for (i, n) in normalized.iter().enumerate() {
        if n.is_empty() {
            return Err(format!("header column {} is empty", i + 1));
        }
        if normalized[..i].contains(n) {
            return Err(format!("header column {:?} appears twice", header[i]));
        }
    }
    let find = |name: &str| normalized.iter().position(|n| *n == normalize(name));
    let need = |name: &str| {
        find(name).ok_or_else(|| {
            format!(
                "missing column {name:?} (the header has {} columns, starting {:?})",
                header.len(),
                header.iter().take(3).collect::<Vec<_>>()
            )
        })
    };
    let mut taxonomy = Vec::new();
    for n in 1..=TAXONOMY_SLOTS {
        if let Some(code) = find(&format!("Healthcare Provider Taxonomy Code_{n}")) {
            taxonomy.push((
                code,
                find(&format!("Healthcare Provider Primary Taxonomy Switch_{n}")),
            ));
        }
    }
    if taxonomy.is_empty() {
        return Err("missing column \"Healthcare Provider Taxonomy Code_1\"".into());
    }
    let mut warnings = Vec::new();
    if header.len() != WIDTH {
        warnings.push(format!(
            "the header has {} columns, the V2 layout {WIDTH}",
            header.len()
        ));
    }
    Ok(Columns {
        width: header.len(),
        npi: need("NPI")?,
        entity_type: need("Entity Type Code")?,
        deactivation_date: need("NPI Deactivation Date")?,
        reactivation_date: need("NPI Reactivation Date")?,
        taxonomy,
        names: header.to_vec(),
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_irregular_spacing() {
        assert_eq!(
            normalize("  NPI  Deactivation\tDate "),
            "npi deactivation date"
        );
        assert_eq!(
            normalize("\u{feff}Provider Secondary Practice Location Address-  Address Line 2"),
            "provider secondary practice location address-address line 2"
        );
        assert_eq!(
            normalize("Healthcare Provider Taxonomy Code _1"),
            "healthcare provider taxonomy code_1"
        );
    }

    #[test]
    fn resolves_by_name_in_any_order() {
        let mut h = super::super::columns::v2_header();
        h.swap(0, 5);
        h[39] = "NPI  Deactivation Date".into();
        let c = resolve(&h).unwrap();
        assert_eq!(c.npi, 5);
        assert_eq!(c.deactivation_date, 39);
        assert_eq!(c.taxonomy.len(), 15);
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn refuses_bad_headers() {
        let h = super::super::columns::v2_header();
        let mut missing = h.clone();
        missing.remove(0);
        assert!(resolve(&missing).unwrap_err().contains("\"NPI\""));
        let mut twice = h.clone();
        twice[2] = "NPI".into();
        assert!(resolve(&twice).unwrap_err().contains("twice"));
        let mut empty = h.clone();
        empty[3] = " ".into();
        assert!(resolve(&empty).unwrap_err().contains("empty"));
        assert!(resolve(&["NPI".to_owned()]).is_err());
    }
}
