//! The quality-measure data elements a payer may receive for payment and operations, as
//! code-filtered SMART scopes. Codes (facts): LOINC (Regenstrief Institute) for the
//! observations, SNOMED CT (SNOMED International) for the procedures.

use crate::scopes::{Audience, Permissions, ResourceScope, ResourceType};

/// One quality-measure data element.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QualityMeasure {
    Hba1c,
    Mammography,
    Colonoscopy,
    BloodPressure,
    Bmi,
    DepressionScreening,
}

/// (element, FHIR resource type, `code` search value)
const CATALOGUE: [(QualityMeasure, &str, &str); 7] = [
    // Hemoglobin A1c/Hemoglobin.total in Blood
    (
        QualityMeasure::Hba1c,
        "Observation",
        "http://loinc.org|4548-4",
    ),
    // Mammography (procedure)
    (
        QualityMeasure::Mammography,
        "Procedure",
        "http://snomed.info/sct|71651007",
    ),
    // Colonoscopy (procedure)
    (
        QualityMeasure::Colonoscopy,
        "Procedure",
        "http://snomed.info/sct|73761001",
    ),
    // Blood pressure panel with all children optional
    (
        QualityMeasure::BloodPressure,
        "Observation",
        "http://loinc.org|85354-9",
    ),
    // Body mass index (BMI) [Ratio]
    (
        QualityMeasure::Bmi,
        "Observation",
        "http://loinc.org|39156-5",
    ),
    // PHQ-9 total score
    (
        QualityMeasure::DepressionScreening,
        "Observation",
        "http://loinc.org|44261-6",
    ),
    // PHQ-2 total score
    (
        QualityMeasure::DepressionScreening,
        "Observation",
        "http://loinc.org|55758-7",
    ),
];

impl QualityMeasure {
    /// The name used in the Cedar policies (`Scope.quality_measure`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hba1c => "hba1c",
            Self::Mammography => "mammography",
            Self::Colonoscopy => "colonoscopy",
            Self::BloodPressure => "blood-pressure",
            Self::Bmi => "bmi",
            Self::DepressionScreening => "depression-screening",
        }
    }

    /// The element a scope reaches exactly, if any: its resource type is the element's and
    /// it filters on the element's code (further parameters only narrow it).
    pub fn of_scope(scope: &ResourceScope) -> Option<QualityMeasure> {
        CATALOGUE.iter().find_map(|(measure, resource, code)| {
            let same_type = scope.resource_type.as_str() == *resource;
            (same_type && scope.has_param("code", code)).then_some(*measure)
        })
    }

    /// Every element, as a full-permission scope template for `audience` (intersect it with
    /// a requested scope to get a candidate).
    pub fn templates(audience: Audience) -> impl Iterator<Item = ResourceScope> {
        CATALOGUE.iter().map(move |(_, resource, code)| {
            ResourceScope::new(
                audience,
                ResourceType::Named((*resource).to_owned()),
                Permissions::ALL,
            )
            .with_param("code", code)
        })
    }
}
