//! Purpose of use: the 17 TEFCA exchange purposes (XP SOP v5.1, Table 1), the HL7 v3
//! PurposeOfUse codes (`v3-ActReason`) we recognise, and the mapping between the two.
//!
//! A [`PurposeOfUse`] always carries both forms: the exchange purpose (what the policies and
//! the token's authority rest on) and an HL7 code (what UDAP `hl7-b2b` and FHIR consumers
//! expect). The form the client attested is kept as given; the other is derived with the
//! mapping documented in `docs/purpose-of-use.md`.
//!
//! Sources (facts, not code): The Sequoia Project, "Exchange Purposes (XPs) SOP" v5.1
//! (2026-07-08), Table 1; HL7 Terminology, CodeSystem `v3-ActReason` / ValueSet
//! `v3-PurposeOfUse`.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// OID of the TEFCA exchange purpose code system.
pub const EXCHANGE_PURPOSE_OID: &str = "2.16.840.1.113883.3.7204.1.5.2.1";
/// `urn:oid:` form of [`EXCHANGE_PURPOSE_OID`], the system written in tokens.
pub const EXCHANGE_PURPOSE_SYSTEM: &str = "urn:oid:2.16.840.1.113883.3.7204.1.5.2.1";
/// Canonical FHIR URL of HL7 v3 ActReason, the system written in tokens.
pub const HL7_ACT_REASON_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
/// `urn:oid:` form of HL7 v3 ActReason (used by UDAP examples).
pub const HL7_ACT_REASON_OID_SYSTEM: &str = "urn:oid:2.16.840.1.113883.5.8";

/// Why a purpose of use could not be established.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PurposeError {
    /// No purpose of use was given.
    #[error("purpose of use is required and was not given")]
    Absent,
    /// More than one distinct purpose was given; a token serves exactly one purpose.
    #[error("exactly one purpose of use is allowed, got {count} distinct purposes")]
    MultiplePurposes { count: usize },
    /// The code system is neither TEFCA XP nor HL7 v3 ActReason.
    #[error("unknown purpose of use code system {system:?}")]
    UnknownSystem { system: String },
    /// The code is not in the named code system (or not one we support).
    #[error("unknown purpose of use code {code:?} in {system:?}")]
    UnknownCode { system: String, code: String },
    /// A known HL7 code that has no TEFCA exchange purpose (e.g. `HRESCH`): refused, because
    /// every token must carry an exchange purpose.
    #[error("HL7 purpose of use {code:?} has no TEFCA exchange purpose and is not accepted")]
    NotAnExchangePurpose { code: String },
    /// The request shape is wrong (e.g. not an object, missing `code`).
    #[error("malformed purpose of use: {0}")]
    Malformed(String),
}

macro_rules! code_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = ($code:literal, $display:literal)),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every code, in table order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The code as written on the wire.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The display name.
            pub fn display(self) -> &'static str {
                match self { $($name::$variant => $display),+ }
            }

            /// Looks a code up (case-sensitive, as code systems are).
            pub fn from_code(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }

        /// Serialised as the bare code.
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.code())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let code = String::deserialize(deserializer)?;
                $name::from_code(&code).ok_or_else(|| {
                    serde::de::Error::custom(format!("unknown code {code:?}"))
                })
            }
        }
    };
}

code_enum! {
    /// TEFCA exchange purposes, XP SOP v5.1 Table 1 (17 codes; `T-HCO-QM` was retired).
    ExchangePurpose {
        Treatment = ("T-TREAT", "Treatment"),
        /// Treatment with the required-response obligation of Table 1 (display "Treatment"
        /// in the SOP as well).
        TreatmentRequiredResponse = ("T-TRTMNT", "Treatment"),
        Payment = ("T-PYMNT", "Payment"),
        HealthCareOperations = ("T-HCO", "Health Care Operations"),
        CareCoordination = ("T-HCO-CC", "Care Coordination/Case Management"),
        HedisReporting = ("T-HCO-HED", "HEDIS Reporting"),
        QualityAssessmentAndImprovement = ("T-HCO-QAI", "Quality Assessment and Improvement"),
        PopulationBasedActivities = ("T-HCO-POP", "Population-Based Activities"),
        PatientSafety = ("T-HCO-PTSAFETY", "Patient Safety"),
        PerformanceReview = ("T-HCO-PERF", "Performance Review"),
        PublicHealth = ("T-PH", "Public Health"),
        /// Push only: there are no queries with this code.
        ElectronicCaseReporting = ("T-PH-ECR", "Electronic Case Reporting"),
        /// Push only: there are no queries with this code.
        ElectronicLabReporting = ("T-PH-ELR", "Electronic Lab Reporting"),
        IndividualAccessServices = ("T-IAS", "Individual Access Services"),
        GovernmentBenefitsDetermination = ("T-GOVDTRM", "Government Benefits Determination"),
        SocialSecurityDetermination = ("T-GOVDTRM-SSD", "Social Security Determination"),
        /// Only used together with `T-GOVDTRM-SSD`.
        AccessConsentPolicy = ("T-GOVDTRM-ACP", "Access Consent Policy"),
    }
}

code_enum! {
    /// HL7 v3 ActReason codes of the PurposeOfUse value set that Glassgate recognises.
    Hl7PurposeOfUse {
        Treat = ("TREAT", "treatment"),
        EmergencyTreat = ("ETREAT", "emergency treatment"),
        BreakTheGlass = ("BTG", "break the glass"),
        EmergencyRoomTreat = ("ERTREAT", "emergency room treatment"),
        ContinuityOfCare = ("COC", "continuity of care"),
        ClinicalTrial = ("CLINTRL", "clinical trial"),
        Payment = ("HPAYMT", "healthcare payment"),
        ClaimAttachment = ("CLMATTCH", "claim attachment"),
        CoverageAuthorization = ("COVAUTH", "coverage authorization"),
        Coverage = ("COVERAGE", "coverage under policy or program"),
        EligibilityDetermination = ("ELIGDTRM", "eligibility determination"),
        EligibilityVerification = ("ELIGVER", "eligibility verification"),
        Enrollment = ("ENROLLM", "enrollment"),
        RemittanceAdvice = ("REMITADV", "remittance advice"),
        Operations = ("HOPERAT", "healthcare operations"),
        CareManagement = ("CAREMGT", "care management"),
        QualityImprovement = ("HQUALIMP", "health quality improvement"),
        PatientSafety = ("PATSFTY", "patient safety"),
        PerformanceMeasure = ("PERFMSR", "performance measure"),
        SystemAdministration = ("HSYSADMIN", "health system administration"),
        PatientRequested = ("PATRQT", "patient requested"),
        FamilyRequested = ("FAMRQT", "family requested"),
        PowerOfAttorney = ("PWATRNY", "power of attorney"),
        SupportNetwork = ("SUPNWK", "support network"),
        PublicHealth = ("PUBHLTH", "public health"),
        Disaster = ("DISASTER", "disaster"),
        Threat = ("THREAT", "threat"),
        Research = ("HRESCH", "healthcare research"),
        ClinicalTrialResearch = ("CLINTRCH", "clinical trial research"),
        Marketing = ("HMARKT", "healthcare marketing"),
        Legal = ("HLEGAL", "legal"),
        SystemDevelopment = ("SYSDEV", "system development"),
        Test = ("HTEST", "test health data"),
        Training = ("TRAIN", "training"),
    }
}

impl ExchangePurpose {
    /// The HL7 PurposeOfUse code written beside this exchange purpose. Sub-codes without a
    /// precise HL7 child fall back to the HL7 parent; the government-benefits family has no
    /// HL7 equivalent and uses `COVERAGE`, as networks do for SSA queries (the XP code stays
    /// the authoritative form).
    pub fn hl7(self) -> Hl7PurposeOfUse {
        use ExchangePurpose as X;
        use Hl7PurposeOfUse as H;
        match self {
            X::Treatment | X::TreatmentRequiredResponse => H::Treat,
            X::Payment => H::Payment,
            X::HealthCareOperations | X::HedisReporting | X::PopulationBasedActivities => {
                H::Operations
            }
            X::CareCoordination => H::CareManagement,
            X::QualityAssessmentAndImprovement => H::QualityImprovement,
            X::PatientSafety => H::PatientSafety,
            X::PerformanceReview => H::PerformanceMeasure,
            X::PublicHealth | X::ElectronicCaseReporting | X::ElectronicLabReporting => {
                H::PublicHealth
            }
            X::IndividualAccessServices => H::PatientRequested,
            X::GovernmentBenefitsDetermination
            | X::SocialSecurityDetermination
            | X::AccessConsentPolicy => H::Coverage,
        }
    }

    /// The exchange purpose this one is a sub-code of (`T-HCO-CC` → `T-HCO`), if any.
    pub fn parent(self) -> Option<ExchangePurpose> {
        use ExchangePurpose as X;
        match self {
            X::CareCoordination
            | X::HedisReporting
            | X::QualityAssessmentAndImprovement
            | X::PopulationBasedActivities
            | X::PatientSafety
            | X::PerformanceReview => Some(X::HealthCareOperations),
            X::ElectronicCaseReporting | X::ElectronicLabReporting => Some(X::PublicHealth),
            X::SocialSecurityDetermination | X::AccessConsentPolicy => {
                Some(X::GovernmentBenefitsDetermination)
            }
            _ => None,
        }
    }

    /// The codes a patient's consent restriction on `self` covers (sub-codes are covered by
    /// the entity hierarchy). `T-TREAT` and `T-TRTMNT` are one purpose, "Treatment", to the
    /// patient and to the treatment policies, so restricting either restricts both; this is
    /// not a parent link, so refresh and exchange still treat them as distinct purposes.
    pub fn consent_restricted_codes(self) -> impl Iterator<Item = ExchangePurpose> {
        use ExchangePurpose as X;
        let twin = match self {
            X::Treatment => Some(X::TreatmentRequiredResponse),
            X::TreatmentRequiredResponse => Some(X::Treatment),
            _ => None,
        };
        std::iter::once(self).chain(twin)
    }

    /// True when `self` is `other` or one of its sub-codes.
    pub fn is_same_or_narrower_than(self, other: ExchangePurpose) -> bool {
        self == other || self.parent() == Some(other)
    }
}

impl Hl7PurposeOfUse {
    /// The exchange purpose this HL7 code maps to, or `None` when TEFCA has none (research,
    /// marketing, legal, training, …).
    pub fn exchange_purpose(self) -> Option<ExchangePurpose> {
        use ExchangePurpose as X;
        use Hl7PurposeOfUse as H;
        Some(match self {
            H::Treat | H::EmergencyTreat | H::BreakTheGlass | H::EmergencyRoomTreat => X::Treatment,
            H::ContinuityOfCare => X::Treatment,
            H::Payment
            | H::ClaimAttachment
            | H::CoverageAuthorization
            | H::Coverage
            | H::EligibilityDetermination
            | H::EligibilityVerification
            | H::Enrollment
            | H::RemittanceAdvice => X::Payment,
            H::Operations | H::SystemAdministration => X::HealthCareOperations,
            H::CareManagement => X::CareCoordination,
            H::QualityImprovement => X::QualityAssessmentAndImprovement,
            H::PatientSafety => X::PatientSafety,
            H::PerformanceMeasure => X::PerformanceReview,
            H::PatientRequested | H::PowerOfAttorney => X::IndividualAccessServices,
            H::PublicHealth | H::Disaster | H::Threat => X::PublicHealth,
            H::ClinicalTrial
            | H::FamilyRequested
            | H::SupportNetwork
            | H::Research
            | H::ClinicalTrialResearch
            | H::Marketing
            | H::Legal
            | H::SystemDevelopment
            | H::Test
            | H::Training => return None,
        })
    }
}

/// Which code system the client used to attest the purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeSystem {
    /// TEFCA exchange purposes.
    ExchangePurpose,
    /// HL7 v3 ActReason.
    Hl7ActReason,
}

impl CodeSystem {
    /// Recognises a system URI (`urn:oid:…` or canonical URL; a bare OID is accepted too).
    pub fn from_uri(system: &str) -> Option<Self> {
        match system {
            EXCHANGE_PURPOSE_SYSTEM | EXCHANGE_PURPOSE_OID => Some(Self::ExchangePurpose),
            HL7_ACT_REASON_SYSTEM | HL7_ACT_REASON_OID_SYSTEM | "2.16.840.1.113883.5.8" => {
                Some(Self::Hl7ActReason)
            }
            _ => None,
        }
    }

    /// The system URI written in tokens.
    pub fn uri(self) -> &'static str {
        match self {
            Self::ExchangePurpose => EXCHANGE_PURPOSE_SYSTEM,
            Self::Hl7ActReason => HL7_ACT_REASON_SYSTEM,
        }
    }
}

/// One purpose of use, in both forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PurposeOfUse {
    exchange: ExchangePurpose,
    hl7: Hl7PurposeOfUse,
    attested_in: CodeSystem,
}

impl PurposeOfUse {
    /// From a TEFCA exchange purpose; the HL7 form is derived.
    pub fn from_exchange(exchange: ExchangePurpose) -> Self {
        Self {
            exchange,
            hl7: exchange.hl7(),
            attested_in: CodeSystem::ExchangePurpose,
        }
    }

    /// From an HL7 code; refused when the code has no exchange purpose.
    pub fn from_hl7(hl7: Hl7PurposeOfUse) -> Result<Self, PurposeError> {
        let exchange =
            hl7.exchange_purpose()
                .ok_or_else(|| PurposeError::NotAnExchangePurpose {
                    code: hl7.code().to_owned(),
                })?;
        Ok(Self {
            exchange,
            hl7,
            attested_in: CodeSystem::Hl7ActReason,
        })
    }

    /// Parses a `system` + `code` pair from either code system.
    pub fn parse(system: &str, code: &str) -> Result<Self, PurposeError> {
        let unknown = || PurposeError::UnknownCode {
            system: system.to_owned(),
            code: code.to_owned(),
        };
        match CodeSystem::from_uri(system) {
            Some(CodeSystem::ExchangePurpose) => ExchangePurpose::from_code(code)
                .map(Self::from_exchange)
                .ok_or_else(unknown),
            Some(CodeSystem::Hl7ActReason) => {
                Self::from_hl7(Hl7PurposeOfUse::from_code(code).ok_or_else(unknown)?)
            }
            None => Err(PurposeError::UnknownSystem {
                system: system.to_owned(),
            }),
        }
    }

    /// Parses the UDAP coded-URI form `system#code`, e.g.
    /// `urn:oid:2.16.840.1.113883.5.8#TREAT`.
    pub fn parse_coded_uri(value: &str) -> Result<Self, PurposeError> {
        let (system, code) = value.rsplit_once('#').ok_or_else(|| {
            PurposeError::Malformed(format!("{value:?} is not of the form system#code"))
        })?;
        Self::parse(system, code)
    }

    /// The exchange purpose (what policies decide on).
    pub fn exchange(&self) -> ExchangePurpose {
        self.exchange
    }

    /// The HL7 PurposeOfUse form.
    pub fn hl7(&self) -> Hl7PurposeOfUse {
        self.hl7
    }

    /// The code system the client attested in.
    pub fn attested_in(&self) -> CodeSystem {
        self.attested_in
    }

    /// Same exchange purpose, or a sub-code of it (used for delegation and refresh).
    pub fn is_same_or_narrower_than(&self, other: &PurposeOfUse) -> bool {
        self.exchange.is_same_or_narrower_than(other.exchange)
    }

    /// The token claim: see [`PurposeClaimEntry`] and `docs/purpose-of-use.md`.
    pub fn to_claim(&self) -> Vec<PurposeClaimEntry> {
        self.codings()
            .into_iter()
            .map(|c| PurposeClaimEntry {
                system: c.system.to_owned(),
                code: c.code.to_owned(),
                display: Some(c.display.to_owned()),
            })
            .collect()
    }

    /// The attested coding first, then the other code system's: the claim's entries,
    /// borrowed from the code tables (serialising them allocates nothing).
    pub fn codings(&self) -> [Coding; 2] {
        let xp = Coding {
            system: EXCHANGE_PURPOSE_SYSTEM,
            code: self.exchange.code(),
            display: self.exchange.display(),
        };
        let hl7 = Coding {
            system: HL7_ACT_REASON_SYSTEM,
            code: self.hl7.code(),
            display: self.hl7.display(),
        };
        match self.attested_in {
            CodeSystem::ExchangePurpose => [xp, hl7],
            CodeSystem::Hl7ActReason => [hl7, xp],
        }
    }

    /// Reads the claim written by [`Self::to_claim`] back (introspection, refresh). The first
    /// entry is the attested form; a second entry must agree with it.
    pub fn from_claim(entries: &[PurposeClaimEntry]) -> Result<Self, PurposeError> {
        let mut parsed = entries
            .iter()
            .map(|e| Self::parse(&e.system, &e.code))
            .collect::<Result<Vec<_>, _>>()?
            .into_iter();
        let first = parsed.next().ok_or(PurposeError::Absent)?;
        combine(first, parsed)
    }
}

/// Merges several codings that must name one purpose (e.g. UDAP `purpose_of_use` with an XP
/// code and its HL7 equivalent). An XP coding and an HL7 coding agree when one maps to the
/// other; the result then takes the exchange purpose from the XP coding and the HL7 code from
/// the HL7 coding, and keeps the attested system of `first`.
pub(crate) fn combine(
    first: PurposeOfUse,
    rest: impl Iterator<Item = PurposeOfUse>,
) -> Result<PurposeOfUse, PurposeError> {
    let mut exchange_codes: Vec<ExchangePurpose> = Vec::new();
    let mut hl7_codes: Vec<Hl7PurposeOfUse> = Vec::new();
    for p in std::iter::once(first).chain(rest) {
        match p.attested_in {
            CodeSystem::ExchangePurpose if !exchange_codes.contains(&p.exchange) => {
                exchange_codes.push(p.exchange)
            }
            CodeSystem::Hl7ActReason if !hl7_codes.contains(&p.hl7) => hl7_codes.push(p.hl7),
            _ => {}
        }
    }
    let count = exchange_codes.len().max(hl7_codes.len());
    let too_many = || PurposeError::MultiplePurposes {
        count: count.max(2),
    };
    if exchange_codes.len() > 1 || hl7_codes.len() > 1 {
        return Err(too_many());
    }
    match (exchange_codes.first(), hl7_codes.first()) {
        (Some(&xp), Some(&hl7)) => {
            if xp.hl7() != hl7 && hl7.exchange_purpose() != Some(xp) {
                return Err(too_many());
            }
            Ok(PurposeOfUse {
                exchange: xp,
                hl7,
                attested_in: first.attested_in,
            })
        }
        _ => Ok(first),
    }
}

impl fmt::Display for PurposeOfUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.exchange, self.hl7)
    }
}

/// One coding in the `purpose_of_use` token claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurposeClaimEntry {
    pub system: String,
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

/// One coding of a purpose, as the claim array carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Coding {
    pub system: &'static str,
    pub code: &'static str,
    pub display: &'static str,
}

/// Serialised as the claim array (both forms).
impl Serialize for PurposeOfUse {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.codings().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PurposeOfUse {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entries = Vec::<PurposeClaimEntry>::deserialize(deserializer)?;
        Self::from_claim(&entries).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_claim_lists_the_attested_coding_first_and_reads_back() {
        for (system, code) in [
            (EXCHANGE_PURPOSE_SYSTEM, "T-TREAT"),
            (HL7_ACT_REASON_SYSTEM, "HPAYMT"),
        ] {
            let purpose = PurposeOfUse::parse(system, code).unwrap();
            let [attested, other] = purpose.codings();
            assert_eq!((attested.system, attested.code), (system, code));
            assert_ne!(other.system, system);
            let claim = serde_json::to_value(purpose).unwrap();
            assert_eq!(claim, serde_json::to_value(purpose.to_claim()).unwrap());
            assert_eq!(
                serde_json::from_value::<PurposeOfUse>(claim).unwrap(),
                purpose
            );
        }
    }

    #[test]
    fn seventeen_exchange_purposes_with_unique_codes() {
        assert_eq!(ExchangePurpose::ALL.len(), 17);
        for xp in ExchangePurpose::ALL {
            assert_eq!(ExchangePurpose::from_code(xp.code()), Some(*xp));
        }
        assert_eq!(
            ExchangePurpose::from_code("T-HCO-QM"),
            None,
            "retired in v5.1"
        );
    }

    #[test]
    fn natural_mapping_round_trips_for_parent_codes() {
        use ExchangePurpose as X;
        for xp in [
            X::Treatment,
            X::Payment,
            X::HealthCareOperations,
            X::PublicHealth,
            X::IndividualAccessServices,
            X::CareCoordination,
            X::PatientSafety,
        ] {
            assert_eq!(xp.hl7().exchange_purpose(), Some(xp), "{xp}");
        }
        assert_eq!(X::Treatment.hl7(), Hl7PurposeOfUse::Treat);
        assert_eq!(X::IndividualAccessServices.hl7().code(), "PATRQT");
    }

    #[test]
    fn parses_both_systems_and_coded_uris() {
        let p = PurposeOfUse::parse(EXCHANGE_PURPOSE_SYSTEM, "T-TREAT").unwrap();
        assert_eq!(p.hl7(), Hl7PurposeOfUse::Treat);
        let p = PurposeOfUse::parse_coded_uri("urn:oid:2.16.840.1.113883.5.8#HPAYMT").unwrap();
        assert_eq!(p.exchange(), ExchangePurpose::Payment);
        assert_eq!(p.attested_in(), CodeSystem::Hl7ActReason);
        assert!(matches!(
            PurposeOfUse::parse(HL7_ACT_REASON_SYSTEM, "HRESCH"),
            Err(PurposeError::NotAnExchangePurpose { .. })
        ));
        assert!(matches!(
            PurposeOfUse::parse(EXCHANGE_PURPOSE_SYSTEM, "T-NOPE"),
            Err(PurposeError::UnknownCode { .. })
        ));
        assert!(matches!(
            PurposeOfUse::parse("http://example.org", "TREAT"),
            Err(PurposeError::UnknownSystem { .. })
        ));
    }

    #[test]
    fn claim_round_trip_keeps_attested_form() {
        let p = PurposeOfUse::from_hl7(Hl7PurposeOfUse::EmergencyTreat).unwrap();
        let json = serde_json::to_value(p).unwrap();
        assert_eq!(json[0]["code"], "ETREAT");
        assert_eq!(json[1]["code"], "T-TREAT");
        let back: PurposeOfUse = serde_json::from_value(json).unwrap();
        assert_eq!(back, p);
    }

    #[test]
    fn every_exchange_purpose_survives_the_claim() {
        for xp in ExchangePurpose::ALL {
            let p = PurposeOfUse::from_exchange(*xp);
            let back: PurposeOfUse =
                serde_json::from_value(serde_json::to_value(p).unwrap()).unwrap();
            assert_eq!(back, p, "{xp}");
        }
    }

    #[test]
    fn conflicting_codings_are_two_purposes() {
        let a = PurposeOfUse::from_exchange(ExchangePurpose::Treatment);
        let b = PurposeOfUse::from_hl7(Hl7PurposeOfUse::Payment).unwrap();
        assert!(matches!(
            combine(a, [b].into_iter()),
            Err(PurposeError::MultiplePurposes { .. })
        ));
    }

    #[test]
    fn sub_codes_are_narrower() {
        use ExchangePurpose as X;
        assert!(X::CareCoordination.is_same_or_narrower_than(X::HealthCareOperations));
        assert!(!X::HealthCareOperations.is_same_or_narrower_than(X::CareCoordination));
        assert!(!X::Payment.is_same_or_narrower_than(X::Treatment));
    }

    #[test]
    fn both_treatment_codes_are_one_purpose_for_consent_but_not_for_lineage() {
        use ExchangePurpose as X;
        for (a, b) in [
            (X::Treatment, X::TreatmentRequiredResponse),
            (X::TreatmentRequiredResponse, X::Treatment),
        ] {
            assert_eq!(a.consent_restricted_codes().collect::<Vec<_>>(), [a, b]);
            assert!(!a.is_same_or_narrower_than(b), "{a} must not narrow to {b}");
        }
        assert_eq!(
            X::Payment.consent_restricted_codes().collect::<Vec<_>>(),
            [X::Payment]
        );
    }
}
