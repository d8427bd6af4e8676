//! Small, specific error enums, one per protocol step.
//!
//! Every parser of outside input returns one of these; nothing in this crate
//! panics on malformed input.

use thiserror::Error;

/// Failure to verify an RFC 9162 inclusion or consistency proof.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// The older tree is larger than the newer one.
    #[error("old tree size {size1} is larger than new tree size {size2}")]
    SizesReversed { size1: u64, size2: u64 },
    /// A consistency proof from the empty tree is meaningless (RFC 9162 requires 0 < size1).
    #[error("consistency proof from an empty tree is meaningless")]
    EmptyOldTree,
    /// Equal sizes (or an empty old tree) require an empty proof.
    #[error("proof must be empty for these tree sizes")]
    ProofNotEmpty,
    /// The proof has more hashes than the tree shape allows.
    #[error("proof has too many hashes")]
    ProofTooLong,
    /// The proof has fewer hashes than the tree shape requires.
    #[error("proof has too few hashes")]
    ProofTooShort,
    /// The recomputed (old) root does not match the expected root.
    #[error("recomputed root does not match the expected root")]
    RootMismatch,
    /// The recomputed new root does not match the expected new root.
    #[error("recomputed new root does not match the expected new root")]
    NewRootMismatch,
}

/// Failure while computing hashes or proofs from stored hashes.
#[derive(Debug, Error)]
pub enum TreeError<E: std::error::Error + 'static> {
    /// The hash storage failed.
    #[error("hash storage: {0}")]
    Storage(#[source] E),
    /// The hash storage returned a different number of hashes than asked for.
    #[error("hash storage returned {got} hashes, expected {want}")]
    ShortRead { got: usize, want: usize },
    /// A leaf index is not inside the tree.
    #[error("index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// Sizes given in the wrong order or out of the supported range.
    #[error("invalid tree sizes {size1}, {size2}")]
    BadSizes { size1: u64, size2: u64 },
    /// Tree size above the supported maximum (2^62).
    #[error("tree size {0} exceeds the supported maximum")]
    TooLarge(u64),
}

/// Failure to parse a C2SP signed note or a verifier key, or to verify it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NoteError {
    #[error("note is larger than {0} bytes")]
    TooLarge(usize),
    #[error("note is not valid UTF-8")]
    NotUtf8,
    #[error("note contains a control character other than newline")]
    ControlCharacter,
    #[error("note text must be non-empty and end with a newline")]
    MalformedText,
    #[error("note has no blank line separating text and signatures")]
    MissingSignatureBlock,
    #[error("malformed signature line {0}")]
    MalformedSignatureLine(usize),
    #[error("note has more than {0} signatures")]
    TooManySignatures(usize),
    #[error("invalid key name")]
    BadKeyName,
    #[error("malformed verifier key: {0}")]
    BadVerifierKey(&'static str),
    #[error("unsupported signature type 0x{0:02x}")]
    UnsupportedKeyType(u8),
    #[error("signature by {0} does not verify")]
    InvalidSignature(String),
    #[error("no signature from a known key")]
    NoKnownSignature,
}

/// Failure to parse a tlog-checkpoint body or match it to its log.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CheckpointError {
    #[error("checkpoint must have an origin, a size and a root line")]
    MissingLines,
    #[error("checkpoint text must end with a newline")]
    NoFinalNewline,
    #[error("empty or invalid origin line")]
    BadOrigin,
    #[error("tree size is not a canonical decimal number")]
    BadSize,
    #[error("root hash is not canonical base64 of 32 bytes")]
    BadRoot,
    #[error("empty extension line")]
    EmptyExtension,
    #[error("more than {0} extension lines")]
    TooManyExtensions(usize),
    #[error("checkpoint origin {origin:?} does not match log key name {key:?}")]
    OriginMismatch { origin: String, key: String },
    #[error("checkpoint note: {0}")]
    Note(#[from] NoteError),
}

/// Failure of a tlog-cosignature/v1 signature.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CosignatureError {
    #[error("cosignature must be 8 timestamp bytes and 64 signature bytes")]
    BadLength,
    #[error("cosignature timestamp exceeds 2^63-1")]
    BadTimestamp,
    #[error("key is not a cosignature/v1 (0x04) key")]
    WrongKeyType,
    #[error("cosignature does not verify")]
    Invalid,
}

/// Failure to parse a tlog-tiles path, hash tile or entry bundle.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TileError {
    #[error("path does not start with tile/")]
    NotATilePath,
    #[error("invalid tile level")]
    BadLevel,
    #[error("invalid tile index encoding")]
    BadIndex,
    #[error("invalid partial tile width")]
    BadWidth,
    #[error("hash tile has {got} bytes, expected {want}")]
    BadTileLength { got: usize, want: usize },
    #[error("entry bundle is truncated")]
    TruncatedBundle,
    #[error("entry bundle has {got} entries, expected {want}")]
    BundleCount { got: usize, want: usize },
    #[error("entry of {0} bytes exceeds 65535")]
    EntryTooLarge(usize),
    #[error("hash is not covered by any tile of this tree size")]
    NotInTree,
}

/// Failure to parse or verify a c2sp.org/tlog-proof@v1 document.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProofDocError {
    #[error("missing c2sp.org/tlog-proof@v1 header")]
    BadHeader,
    #[error("proof is not valid UTF-8")]
    NotUtf8,
    #[error("invalid extra line")]
    BadExtra,
    #[error("missing or invalid index line")]
    BadIndex,
    #[error("invalid inclusion proof hash on line {0}")]
    BadHash(usize),
    #[error("more than {0} inclusion proof hashes")]
    TooManyHashes(usize),
    #[error("missing empty line before the checkpoint")]
    MissingCheckpoint,
    #[error("proof is larger than {0} bytes")]
    TooLarge(usize),
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("policy: {0}")]
    Policy(#[from] PolicyError),
    #[error("inclusion: {0}")]
    Inclusion(#[from] ProofError),
}

/// Failure to parse a tlog-policy file or to satisfy it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PolicyError {
    #[error("policy is not valid UTF-8")]
    NotUtf8,
    #[error("line {0}: forbidden control character")]
    ControlCharacter(usize),
    #[error("line {0}: unknown keyword")]
    UnknownKeyword(usize),
    #[error("line {0}: wrong number of fields")]
    FieldCount(usize),
    #[error("line {0}: bad verifier key: {1}")]
    BadKey(usize, NoteError),
    #[error("line {0}: key has the wrong signature type for its role")]
    WrongKeyType(usize),
    #[error("line {0}: duplicate key")]
    DuplicateKey(usize),
    #[error("line {0}: name already defined or reserved")]
    DuplicateName(usize),
    #[error("line {0}: undefined name")]
    UndefinedName(usize),
    #[error("line {0}: member listed twice")]
    DuplicateMember(usize),
    #[error("line {0}: bad threshold")]
    BadThreshold(usize),
    #[error("policy must have exactly one quorum line")]
    Quorum,
    #[error("policy exceeds {0} logs, witnesses or groups")]
    TooLarge(usize),
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    #[error("no log in the policy signed this checkpoint")]
    NoLogSignature,
    #[error("witness quorum not reached")]
    QuorumNotReached,
}
