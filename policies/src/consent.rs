//! A patient's consent restrictions and the sensitive data categories they can name.

use crate::purpose::ExchangePurpose;
use serde::{Deserialize, Serialize};

/// HL7 v3 ActCode, the code system of the security labels below.
pub const ACT_CODE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

/// A sensitive data category, identified by an HL7 v3-ActCode security label that the FHIR
/// server puts on the records (`meta.security`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DataCategory {
    /// Substance use disorder records protected by 42 CFR Part 2 (label `42CFRPart2`).
    SubstanceUseDisorderPart2,
    /// HIV/AIDS information (label `HIV`).
    Hiv,
    /// Psychiatry / behavioural health information (label `PSY`).
    Psychiatry,
    /// Sexual and reproductive health information (label `SEX`).
    SexualAndReproductiveHealth,
}

impl DataCategory {
    pub const ALL: [DataCategory; 4] = [
        Self::SubstanceUseDisorderPart2,
        Self::Hiv,
        Self::Psychiatry,
        Self::SexualAndReproductiveHealth,
    ];

    /// The v3-ActCode security label code (also the Cedar `DataCategory` entity id).
    pub fn label(self) -> &'static str {
        match self {
            Self::SubstanceUseDisorderPart2 => "42CFRPart2",
            Self::Hiv => "HIV",
            Self::Psychiatry => "PSY",
            Self::SexualAndReproductiveHealth => "SEX",
        }
    }

    /// How a person reads it.
    pub fn display(self) -> &'static str {
        match self {
            Self::SubstanceUseDisorderPart2 => {
                "Substance use disorder treatment records (42 CFR Part 2)"
            }
            Self::Hiv => "HIV/AIDS information",
            Self::Psychiatry => "Mental and behavioural health information",
            Self::SexualAndReproductiveHealth => "Sexual and reproductive health information",
        }
    }

    /// The category whose label is `label`.
    pub fn from_label(label: &str) -> Option<DataCategory> {
        Self::ALL.into_iter().find(|c| c.label() == label)
    }

    /// The value of a `_security` search parameter naming this label.
    pub fn security_token(self) -> String {
        format!("{ACT_CODE_SYSTEM}|{}", self.label())
    }
}

/// The fine-grained scope parameter that excludes a security label.
pub const EXCLUDE_LABEL_PARAM: &str = "_security:not";

/// What a patient has restricted. Any match is a Cedar `forbid`, which wins over every permit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsentRestrictions {
    /// No disclosure for these purposes (sub-codes included: restricting `T-HCO` restricts
    /// `T-HCO-CC`).
    #[serde(default)]
    pub purposes: Vec<ExchangePurpose>,
    /// No disclosure to these organisations (by organisation id).
    #[serde(default)]
    pub recipient_organisations: Vec<String>,
    /// No disclosure of these categories.
    #[serde(default)]
    pub data_categories: Vec<DataCategory>,
}

impl ConsentRestrictions {
    pub fn is_empty(&self) -> bool {
        self.purposes.is_empty()
            && self.recipient_organisations.is_empty()
            && self.data_categories.is_empty()
    }
}
