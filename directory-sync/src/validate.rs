//! Release gates (npd.md §5.1): a release that fails one never becomes current.

use crate::report::{Check, Dataset, Limits, Summary};

fn pct(x: f64) -> String {
    format!("{:.2}%", x * 100.0)
}

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

/// Every check for `dataset`, passed or not. `previous` is the record count of the current
/// release, when there is one.
pub fn checks(dataset: Dataset, s: &Summary, previous: Option<u64>, limits: &Limits) -> Vec<Check> {
    let mut out = Vec::new();
    let mut check = |name: &str, passed: bool, detail: String| {
        out.push(Check {
            name: name.to_owned(),
            passed,
            detail,
        })
    };
    check(
        "records",
        s.records > 0,
        format!("{} {} records", s.records, dataset),
    );
    check(
        "malformed_rows",
        s.malformed <= limits.max_malformed,
        format!(
            "{} malformed rows (at most {} accepted)",
            s.malformed, limits.max_malformed
        ),
    );
    if let Some(prev) = previous.filter(|p| *p > 0) {
        let change = (s.records as f64 - prev as f64).abs() / prev as f64;
        check(
            "count_change",
            change <= limits.max_count_change,
            format!(
                "{} → {} records: {} change (at most {} accepted)",
                prev,
                s.records,
                pct(change),
                pct(limits.max_count_change)
            ),
        );
    }
    if matches!(
        dataset,
        Dataset::Npd | Dataset::Nppes | Dataset::Deactivations
    ) {
        let considered = s.records
            + if dataset == Dataset::Npd {
                0
            } else {
                s.npi_invalid
            };
        let rate = ratio(s.with_valid_npi, considered);
        check(
            "npi_extraction",
            rate >= limits.min_npi_rate,
            format!(
                "{} of {} records carry a valid NPI: {} (at least {} required; systems seen: {})",
                s.with_valid_npi,
                considered,
                pct(rate),
                pct(limits.min_npi_rate),
                systems(s)
            ),
        );
    }
    if matches!(dataset, Dataset::Npd | Dataset::Nppes) {
        let unique = s.with_valid_npi.saturating_sub(s.duplicates);
        let active = unique.saturating_sub(s.inactive + s.deactivated);
        let share = ratio(active, unique);
        check(
            "active_share",
            unique == 0 || share >= limits.min_active_share,
            format!(
                "{} of {} NPIs active: {} (at least {} required)",
                active,
                unique,
                pct(share),
                pct(limits.min_active_share)
            ),
        );
    }
    if dataset == Dataset::Nucc {
        check(
            "classification",
            s.individual > 0 && s.individual < s.records,
            format!(
                "{} of {} codes individual (both classes must be present)",
                s.individual, s.records
            ),
        );
    }
    out
}

fn systems(s: &Summary) -> String {
    if s.npi_systems.is_empty() {
        return "none".into();
    }
    s.npi_systems
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(records: u64, valid: u64) -> Summary {
        Summary {
            records,
            with_valid_npi: valid,
            ..Summary::default()
        }
    }

    #[test]
    fn gates() {
        let l = Limits::default();
        let ok = checks(Dataset::Npd, &summary(1000, 1000), Some(1100), &l);
        assert!(ok.iter().all(|c| c.passed), "{ok:?}");
        let zero = checks(Dataset::Npd, &summary(1000, 3), None, &l);
        assert!(zero.iter().any(|c| c.name == "npi_extraction" && !c.passed));
        let shrink = checks(Dataset::Npd, &summary(100, 100), Some(1000), &l);
        assert!(shrink.iter().any(|c| c.name == "count_change" && !c.passed));
        let mut inactive = summary(100, 100);
        inactive.inactive = 90;
        let c = checks(Dataset::Npd, &inactive, None, &l);
        assert!(c.iter().any(|c| c.name == "active_share" && !c.passed));
        let mut bad = summary(100, 100);
        bad.malformed = l.max_malformed + 1;
        assert!(
            checks(Dataset::Nppes, &bad, None, &l)
                .iter()
                .any(|c| !c.passed)
        );
        assert!(
            checks(Dataset::Npd, &summary(0, 0), None, &l)
                .iter()
                .any(|c| !c.passed)
        );
    }
}
