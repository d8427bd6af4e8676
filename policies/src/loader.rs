//! Reading a policy directory: exactly one `*.cedarschema`, one or more `*.cedar` files.
//! Every policy carries `@id("…")`, which becomes its Cedar policy id (Cedar does not do this
//! by itself when a file is parsed); every forbid carries `@reason("…")`. The set is then
//! validated against the schema in strict mode, and any error or warning refuses the load.

use crate::decision::DenyReason;
use crate::error::PolicyError;
use cedar_policy::{Effect, PolicyId, PolicySet, Schema, ValidationMode, Validator};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A strictly validated policy directory.
pub(crate) struct LoadedPolicies {
    pub schema: Schema,
    pub policies: PolicySet,
    /// Forbid policy id → the refusal class it stands for.
    pub reasons: HashMap<PolicyId, DenyReason>,
    /// SHA-256 over the sorted file names and contents, lowercase hex.
    pub version: String,
}

/// The files a load reads, sorted by name (also what the reloader watches).
pub(crate) fn policy_files(dir: &Path) -> Result<Vec<PathBuf>, PolicyError> {
    let io = |source| PolicyError::Io {
        path: dir.to_owned(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let ext = path.extension().and_then(|e| e.to_str());
        if path.is_file() && matches!(ext, Some("cedar" | "cedarschema")) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn read(path: &Path) -> Result<String, PolicyError> {
    std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
        path: path.to_owned(),
        source,
    })
}

/// One policy source: where it came from (a file, or `shipped/<name>`) and its text.
pub(crate) struct Source {
    pub path: PathBuf,
    pub text: String,
}

pub(crate) fn load(dir: &Path) -> Result<LoadedPolicies, PolicyError> {
    let sources = policy_files(dir)?
        .into_iter()
        .map(|path| {
            Ok(Source {
                text: read(&path)?,
                path,
            })
        })
        .collect::<Result<Vec<_>, PolicyError>>()?;
    load_sources(dir, sources)
}

/// Loads sources sorted by file name; `dir` only names them in errors.
pub(crate) fn load_sources(
    dir: &Path,
    sources: Vec<Source>,
) -> Result<LoadedPolicies, PolicyError> {
    let mut hash = Sha256::new();
    let mut schema_files = Vec::new();
    let mut policy_files = Vec::new();
    for Source { path, text } in sources {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        hash.update(name.unwrap_or_default().as_bytes());
        hash.update([0]);
        hash.update(text.as_bytes());
        hash.update([0]);
        if path.extension().is_some_and(|e| e == "cedarschema") {
            schema_files.push((path, text));
        } else {
            policy_files.push((path, text));
        }
    }
    let [(schema_path, schema_text)] =
        <[_; 1]>::try_from(schema_files).map_err(|found| PolicyError::Schema {
            dir: dir.to_owned(),
            found: found.len(),
        })?;
    let schema = parse_schema(&schema_path, &schema_text)?;
    if policy_files.is_empty() {
        return Err(PolicyError::NoPolicies {
            dir: dir.to_owned(),
        });
    }

    let mut policies = PolicySet::new();
    let mut origin: HashMap<String, PathBuf> = HashMap::new();
    let mut reasons = HashMap::new();
    for (path, text) in &policy_files {
        let parsed: PolicySet =
            text.parse()
                .map_err(|e: cedar_policy::ParseErrors| PolicyError::PolicyParse {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
        if let Some(index) = parsed.templates().next().map(|_| 0) {
            return Err(PolicyError::Template {
                path: path.clone(),
                index,
            });
        }
        let mut in_file: Vec<_> = parsed.policies().collect();
        // Keep the file's order (Cedar assigns policy0, policy1, … while parsing).
        in_file.sort_by_key(|p| {
            p.id()
                .to_string()
                .trim_start_matches("policy")
                .parse::<usize>()
                .unwrap_or(usize::MAX)
        });
        for (index, policy) in in_file.into_iter().enumerate() {
            let id = policy
                .annotation("id")
                .filter(|id| !id.is_empty())
                .ok_or_else(|| PolicyError::MissingId {
                    path: path.clone(),
                    index,
                })?
                .to_owned();
            if let Some(first) = origin.get(&id) {
                return Err(PolicyError::DuplicateId {
                    id,
                    first: first.clone(),
                    second: path.clone(),
                });
            }
            let policy_id = PolicyId::new(&id);
            if policy.effect() == Effect::Forbid {
                let reason =
                    policy
                        .annotation("reason")
                        .ok_or_else(|| PolicyError::MissingReason {
                            path: path.clone(),
                            id: id.clone(),
                        })?;
                let class = DenyReason::from_annotation(reason).ok_or_else(|| {
                    PolicyError::UnknownReason {
                        path: path.clone(),
                        id: id.clone(),
                        reason: reason.to_owned(),
                    }
                })?;
                reasons.insert(policy_id.clone(), class);
            }
            policies
                .add(policy.new_id(policy_id))
                .map_err(|e| PolicyError::PolicyParse {
                    path: path.clone(),
                    message: e.to_string(),
                })?;
            origin.insert(id, path.clone());
        }
    }

    validate_strictly(&schema, &policies)?;
    Ok(LoadedPolicies {
        schema,
        policies,
        reasons,
        version: hex(&hash.finalize()),
    })
}

fn parse_schema(path: &Path, text: &str) -> Result<Schema, PolicyError> {
    let (schema, mut warnings) =
        Schema::from_cedarschema_str(text).map_err(|e| PolicyError::SchemaParse {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
    if let Some(warning) = warnings.next() {
        return Err(PolicyError::SchemaWarning {
            path: path.to_owned(),
            message: warning.to_string(),
        });
    }
    Ok(schema)
}

/// Strict validation; any error or warning is a failure, each reported with its policy id.
pub(crate) fn validate_strictly(schema: &Schema, policies: &PolicySet) -> Result<(), PolicyError> {
    let result = Validator::new(schema.clone()).validate(policies, ValidationMode::Strict);
    let problems: Vec<String> = result
        .validation_errors()
        .map(|e| format!("error in {}: {e}", e.policy_id()))
        .chain(
            result
                .validation_warnings()
                .map(|w| format!("warning in {}: {w}", w.policy_id())),
        )
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(PolicyError::Validation { problems })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
