//! FHIR R4 wire types: only the elements the check reads, borrowed from the line where
//! possible. Every array admits `null` items and every element may be absent, as in the NPD's
//! own output (`"given": ["KIRK", null]`).

use std::borrow::Cow;

use serde::Deserialize;

pub type Text<'a> = Option<Cow<'a, str>>;
pub type List<T> = Option<Vec<Option<T>>>;

/// Items of a list that may be absent and hold nulls.
pub fn items<T>(list: &List<T>) -> impl Iterator<Item = &T> {
    list.iter().flatten().flatten()
}

#[derive(Debug, Deserialize)]
pub struct Coding<'a> {
    #[serde(borrow, default)]
    pub system: Text<'a>,
    #[serde(borrow, default)]
    pub code: Text<'a>,
}

#[derive(Debug, Deserialize)]
pub struct CodeableConcept<'a> {
    #[serde(borrow, default)]
    pub coding: List<Coding<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct Period<'a> {
    #[serde(borrow, default)]
    pub end: Text<'a>,
}

#[derive(Debug, Deserialize)]
pub struct Identifier<'a> {
    #[serde(borrow, default)]
    pub system: Text<'a>,
    #[serde(borrow, default)]
    pub value: Text<'a>,
    #[serde(rename = "type", borrow, default)]
    pub kind: Option<CodeableConcept<'a>>,
    #[serde(borrow, default)]
    pub period: Option<Period<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct Reference<'a> {
    #[serde(borrow, default)]
    pub reference: Text<'a>,
}

#[derive(Debug, Deserialize)]
pub struct Qualification<'a> {
    #[serde(borrow, default)]
    pub code: Option<CodeableConcept<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct Practitioner<'a> {
    #[serde(rename = "resourceType", borrow)]
    pub resource_type: Cow<'a, str>,
    #[serde(borrow, default)]
    pub id: Text<'a>,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(borrow, default)]
    pub identifier: List<Identifier<'a>>,
    #[serde(borrow, default)]
    pub qualification: List<Qualification<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct PractitionerRole<'a> {
    #[serde(rename = "resourceType", borrow)]
    pub resource_type: Cow<'a, str>,
    #[serde(borrow, default)]
    pub id: Text<'a>,
    #[serde(borrow, default)]
    pub practitioner: Option<Reference<'a>>,
    #[serde(borrow, default)]
    pub specialty: List<CodeableConcept<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct Organization<'a> {
    #[serde(rename = "resourceType", borrow)]
    pub resource_type: Cow<'a, str>,
    #[serde(borrow, default)]
    pub id: Text<'a>,
    #[serde(borrow, default)]
    pub identifier: List<Identifier<'a>>,
}

/// Location, Endpoint, OrganizationAffiliation: counted and checked for shape only.
#[derive(Debug, Deserialize)]
pub struct AnyResource<'a> {
    #[serde(rename = "resourceType", borrow)]
    pub resource_type: Cow<'a, str>,
    #[serde(borrow, default)]
    pub id: Text<'a>,
}
