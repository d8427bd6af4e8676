//! The NPPES V2 `npidata_pfile` header, 330 columns in file order. Column names and order are
//! facts from the NPPES Data Dissemination readme (Exhibit 2-1), as transcribed in npd.md §2.2;
//! `Provider Sex Code` replaced `Provider Gender Code` (Federal Register 2025-14478).

/// Columns 0–46.
const HEAD: [&str; 47] = [
    "NPI",
    "Entity Type Code",
    "Replacement NPI",
    "Employer Identification Number (EIN)",
    "Provider Organization Name (Legal Business Name)",
    "Provider Last Name (Legal Name)",
    "Provider First Name",
    "Provider Middle Name",
    "Provider Name Prefix Text",
    "Provider Name Suffix Text",
    "Provider Credential Text",
    "Provider Other Organization Name",
    "Provider Other Organization Name Type Code",
    "Provider Other Last Name",
    "Provider Other First Name",
    "Provider Other Middle Name",
    "Provider Other Name Prefix Text",
    "Provider Other Name Suffix Text",
    "Provider Other Credential Text",
    "Provider Other Last Name Type Code",
    "Provider First Line Business Mailing Address",
    "Provider Second Line Business Mailing Address",
    "Provider Business Mailing Address City Name",
    "Provider Business Mailing Address State Name",
    "Provider Business Mailing Address Postal Code",
    "Provider Business Mailing Address Country Code (If outside U.S.)",
    "Provider Business Mailing Address Telephone Number",
    "Provider Business Mailing Address Fax Number",
    "Provider First Line Business Practice Location Address",
    "Provider Second Line Business Practice Location Address",
    "Provider Business Practice Location Address City Name",
    "Provider Business Practice Location Address State Name",
    "Provider Business Practice Location Address Postal Code",
    "Provider Business Practice Location Address Country Code (If outside U.S.)",
    "Provider Business Practice Location Address Telephone Number",
    "Provider Business Practice Location Address Fax Number",
    "Provider Enumeration Date",
    "Last Update Date",
    "NPI Deactivation Reason Code",
    "NPI Deactivation Date",
    "NPI Reactivation Date",
    "Provider Sex Code",
    "Authorized Official Last Name",
    "Authorized Official First Name",
    "Authorized Official Middle Name",
    "Authorized Official Title or Position",
    "Authorized Official Telephone Number",
];

pub const WIDTH: usize = 330;
pub const TAXONOMY_SLOTS: usize = 15;

/// The 330 header names in order.
pub fn v2_header() -> Vec<String> {
    let mut h: Vec<String> = HEAD.iter().map(|s| (*s).to_owned()).collect();
    for n in 1..=TAXONOMY_SLOTS {
        h.push(format!("Healthcare Provider Taxonomy Code_{n}"));
        h.push(format!("Provider License Number_{n}"));
        h.push(format!("Provider License Number State Code_{n}"));
        h.push(format!("Healthcare Provider Primary Taxonomy Switch_{n}"));
    }
    for n in 1..=50 {
        h.push(format!("Other Provider Identifier_{n}"));
        h.push(format!("Other Provider Identifier Type Code_{n}"));
        h.push(format!("Other Provider Identifier State_{n}"));
        h.push(format!("Other Provider Identifier Issuer_{n}"));
    }
    for name in [
        "Is Sole Proprietor",
        "Is Organization Subpart",
        "Parent Organization LBN",
        "Parent Organization TIN",
        "Authorized Official Name Prefix Text",
        "Authorized Official Name Suffix Text",
        "Authorized Official Credential Text",
    ] {
        h.push(name.to_owned());
    }
    for n in 1..=TAXONOMY_SLOTS {
        h.push(format!("Healthcare Provider Taxonomy Group_{n}"));
    }
    h.push("Certification Date".to_owned());
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_the_readme() {
        let h = v2_header();
        assert_eq!(h.len(), WIDTH);
        assert_eq!(h[47], "Healthcare Provider Taxonomy Code_1");
        assert_eq!(h[106], "Healthcare Provider Primary Taxonomy Switch_15");
        assert_eq!(h[107], "Other Provider Identifier_1");
        assert_eq!(h[306], "Other Provider Identifier Issuer_50");
        assert_eq!(h[307], "Is Sole Proprietor");
        assert_eq!(h[314], "Healthcare Provider Taxonomy Group_1");
        assert_eq!(h[329], "Certification Date");
    }
}
