//! C2SP tlog-policy (<https://c2sp.org/tlog-policy>): known logs, known
//! witnesses, witness groups and the quorum a checkpoint must meet.
//!
//! Lines: `log <vkey> [url]`, `witness <name> <vkey> [url]`,
//! `group <name> <all|any|k> <member>...`, `quorum <name|none>`; `#`
//! comments and blank lines are ignored. This implementation requires the
//! file to be UTF-8 (the spec strongly recommends it).

use crate::checkpoint::Checkpoint;
use crate::error::{CheckpointError, NoteError, PolicyError};
use crate::note::{Note, SignatureType, VerifiedSignature, VerifierKey, verify_note};

/// Most logs, witnesses and groups each (the spec asks for at least 32).
pub const MAX_POLICY_ENTRIES: usize = 256;

/// A log the policy trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyLog {
    pub key: VerifierKey,
    pub url: Option<String>,
}

/// A witness the policy knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyWitness {
    pub name: String,
    pub key: VerifierKey,
    pub url: Option<String>,
}

/// A member of a group: a witness or an earlier group (by position).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Member {
    Witness(usize),
    Group(usize),
}

/// A k-of-n witness group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub threshold: usize,
    pub members: Vec<Member>,
}

/// A parsed policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub logs: Vec<PolicyLog>,
    pub witnesses: Vec<PolicyWitness>,
    pub groups: Vec<Group>,
    /// `None` is `quorum none`.
    pub quorum: Option<Member>,
}

/// A checkpoint that satisfied a policy.
#[derive(Debug, Clone)]
pub struct PolicyOutcome {
    pub checkpoint: Checkpoint,
    /// Names of the witnesses whose cosignatures verified.
    pub witnesses: Vec<String>,
    pub signatures: Vec<VerifiedSignature>,
}

impl Policy {
    /// Parses a policy file.
    pub fn parse(bytes: &[u8]) -> Result<Self, PolicyError> {
        let text = std::str::from_utf8(bytes).map_err(|_| PolicyError::NotUtf8)?;
        let mut p = Self {
            logs: Vec::new(),
            witnesses: Vec::new(),
            groups: Vec::new(),
            quorum: None,
        };
        let mut quorum_seen = false;
        for (i, line) in text.split('\n').enumerate() {
            let n = i + 1;
            if line.chars().any(|c| c.is_ascii_control() && c != '\t') {
                return Err(PolicyError::ControlCharacter(n));
            }
            let f: Vec<&str> = line.split([' ', '\t']).filter(|s| !s.is_empty()).collect();
            match f.as_slice() {
                [] => {}
                [first, ..] if first.starts_with('#') => {}
                ["log", vkey, rest @ ..] if rest.len() <= 1 => {
                    let key = parse_key(n, vkey, SignatureType::Ed25519)?;
                    if p.logs
                        .iter()
                        .any(|l| l.key.public_key() == key.public_key())
                    {
                        return Err(PolicyError::DuplicateKey(n));
                    }
                    p.logs.push(PolicyLog {
                        key,
                        url: rest.first().map(|s| (*s).to_owned()),
                    });
                }
                ["witness", name, vkey, rest @ ..] if rest.len() <= 1 => {
                    p.check_new_name(n, name)?;
                    let key = parse_key(n, vkey, SignatureType::CosignatureV1)?;
                    if p.witnesses
                        .iter()
                        .any(|w| w.key.public_key() == key.public_key())
                    {
                        return Err(PolicyError::DuplicateKey(n));
                    }
                    p.witnesses.push(PolicyWitness {
                        name: (*name).to_owned(),
                        key,
                        url: rest.first().map(|s| (*s).to_owned()),
                    });
                }
                ["group", name, k, members @ ..] if !members.is_empty() => {
                    p.check_new_name(n, name)?;
                    let mut ms: Vec<Member> = Vec::new();
                    for m in members {
                        let m = p.lookup(m).ok_or(PolicyError::UndefinedName(n))?;
                        if ms.contains(&m) {
                            return Err(PolicyError::DuplicateMember(n));
                        }
                        ms.push(m);
                    }
                    let threshold = match *k {
                        "all" => ms.len(),
                        "any" => 1,
                        k => crate::checkpoint::parse_decimal(k)
                            .and_then(|k| usize::try_from(k).ok())
                            .filter(|k| (1..=ms.len()).contains(k))
                            .ok_or(PolicyError::BadThreshold(n))?,
                    };
                    p.groups.push(Group {
                        name: (*name).to_owned(),
                        threshold,
                        members: ms,
                    });
                }
                ["quorum", name] => {
                    if quorum_seen {
                        return Err(PolicyError::Quorum);
                    }
                    quorum_seen = true;
                    if *name != "none" {
                        p.quorum = Some(p.lookup(name).ok_or(PolicyError::UndefinedName(n))?);
                    }
                }
                ["log" | "witness" | "group" | "quorum", ..] => {
                    return Err(PolicyError::FieldCount(n));
                }
                _ => return Err(PolicyError::UnknownKeyword(n)),
            }
            if p.logs.len().max(p.witnesses.len()).max(p.groups.len()) > MAX_POLICY_ENTRIES {
                return Err(PolicyError::TooLarge(MAX_POLICY_ENTRIES));
            }
        }
        if !quorum_seen {
            return Err(PolicyError::Quorum);
        }
        Ok(p)
    }

    fn lookup(&self, name: &str) -> Option<Member> {
        if let Some(i) = self.witnesses.iter().position(|w| w.name == name) {
            return Some(Member::Witness(i));
        }
        self.groups
            .iter()
            .position(|g| g.name == name)
            .map(Member::Group)
    }

    fn check_new_name(&self, line: usize, name: &str) -> Result<(), PolicyError> {
        if name == "none" || self.lookup(name).is_some() {
            Err(PolicyError::DuplicateName(line))
        } else {
            Ok(())
        }
    }

    /// Verifies a checkpoint note: signed by a listed log whose key name is
    /// the origin, and cosigned according to the quorum.
    pub fn verify_checkpoint(&self, note_bytes: &[u8]) -> Result<PolicyOutcome, PolicyError> {
        self.verify(note_bytes, None)
    }

    /// [`Self::verify_checkpoint`] for a caller that knows the log from other context (its
    /// vkey): a policy with no `log` lines then accepts that log, as tlog-policy allows
    /// ("an application where the appropriate log(s) are known from other context may
    /// accept a policy with an empty set of logs").
    pub fn verify_checkpoint_of(
        &self,
        note_bytes: &[u8],
        known_log: &VerifierKey,
    ) -> Result<PolicyOutcome, PolicyError> {
        self.verify(note_bytes, Some(known_log))
    }

    fn verify(
        &self,
        note_bytes: &[u8],
        known_log: Option<&VerifierKey>,
    ) -> Result<PolicyOutcome, PolicyError> {
        let note = Note::parse(note_bytes).map_err(CheckpointError::from)?;
        let checkpoint = Checkpoint::parse(note.text())?;
        let listed: Vec<&VerifierKey> = match known_log {
            Some(key) if self.logs.is_empty() => vec![key],
            _ => self.logs.iter().map(|l| &l.key).collect(),
        };
        let logs: Vec<VerifierKey> = listed
            .into_iter()
            .filter(|key| key.name() == checkpoint.origin)
            .cloned()
            .collect();
        let nlogs = logs.len();
        let mut keys = logs;
        keys.extend(self.witnesses.iter().map(|w| w.key.clone()));
        let signatures = match verify_note(&note, &keys) {
            Err(NoteError::NoKnownSignature) => return Err(PolicyError::NoLogSignature),
            other => other.map_err(CheckpointError::from)?,
        };
        if !signatures.iter().any(|s| s.key_index < nlogs) {
            return Err(PolicyError::NoLogSignature);
        }
        let cosigned: Vec<usize> = signatures
            .iter()
            .filter_map(|s| s.key_index.checked_sub(nlogs))
            .collect();
        if !self.quorum_met(&cosigned) {
            return Err(PolicyError::QuorumNotReached);
        }
        Ok(PolicyOutcome {
            checkpoint,
            witnesses: cosigned
                .iter()
                .filter_map(|&i| self.witnesses.get(i).map(|w| w.name.clone()))
                .collect(),
            signatures,
        })
    }

    /// Whether the witnesses at positions `cosigned` satisfy the quorum.
    pub fn quorum_met(&self, cosigned: &[usize]) -> bool {
        // Groups only refer to earlier entries, so one pass in order suffices.
        let mut group_ok: Vec<bool> = Vec::with_capacity(self.groups.len());
        for g in &self.groups {
            let met = g
                .members
                .iter()
                .filter(|m| member_ok(**m, cosigned, &group_ok))
                .count();
            group_ok.push(met >= g.threshold);
        }
        match self.quorum {
            None => true,
            Some(m) => member_ok(m, cosigned, &group_ok),
        }
    }
}

fn member_ok(m: Member, cosigned: &[usize], group_ok: &[bool]) -> bool {
    match m {
        Member::Witness(i) => cosigned.contains(&i),
        Member::Group(i) => group_ok.get(i).copied().unwrap_or(false),
    }
}

fn parse_key(line: usize, vkey: &str, want: SignatureType) -> Result<VerifierKey, PolicyError> {
    let key = VerifierKey::parse(vkey).map_err(|e| PolicyError::BadKey(line, e))?;
    if key.signature_type() != want {
        return Err(PolicyError::WrongKeyType(line));
    }
    Ok(key)
}

#[cfg(test)]
mod tests;
