-- Claims payers have on record, imported by the operator from the network's claims feed
-- (`glassgate admin import-claims`): what lets a payer's backend see the encounter a claim
-- of the last 60 days is for (policy payer-claim-encounters).
CREATE TABLE payer_claims (
    payer      TEXT NOT NULL,
    claim_id   TEXT NOT NULL,
    patient    TEXT NOT NULL,
    encounter  TEXT NOT NULL,
    claim_date INTEGER NOT NULL,
    PRIMARY KEY (payer, claim_id)
) STRICT;
CREATE INDEX payer_claims_by_patient ON payer_claims (payer, patient, claim_date);
