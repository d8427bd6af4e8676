//! Streaming one NPD resource file (zstd NDJSON) into rows and counts.

use std::io::{BufReader, Read};

use super::lines::{Line, Lines};
use super::{practitioner, resources};
use crate::error::{DirectoryError, Result};
use crate::npi::NpiSet;
use crate::pipeline::{Batcher, Sink};
use crate::progress::Progress;
use crate::report::{FileStats, Summary};
use crate::store::Rows;

/// Decompress `compressed` (zstd) as a stream and parse it as `resource` lines.
pub fn parse_zst(
    resource: &str,
    file: &str,
    compressed: impl Read,
    sink: Sink<'_>,
    progress: &Progress,
    cap: usize,
) -> Result<Summary> {
    let decoder = zstd::stream::read::Decoder::new(compressed)
        .map_err(|e| DirectoryError::format(file, format!("not a zstd stream: {e}")))?;
    parse_ndjson(
        resource,
        file,
        BufReader::with_capacity(1 << 18, decoder),
        sink,
        progress,
        cap,
    )
}

/// Parse decompressed NDJSON lines of `resource`.
pub fn parse_ndjson(
    resource: &str,
    file: &str,
    reader: impl std::io::BufRead,
    sink: Sink<'_>,
    progress: &Progress,
    cap: usize,
) -> Result<Summary> {
    let mut s = Summary::default();
    let mut stats = FileStats {
        file: file.to_owned(),
        kind: resource.to_owned(),
        ..FileStats::default()
    };
    let mut lines = Lines::new(reader);
    let mut state = State::new(resource, sink, progress);
    loop {
        let next = lines.next_line().map_err(|e| {
            DirectoryError::format(file, format!("unreadable after line {}: {e}", stats.rows))
        })?;
        let Some((number, line)) = next else { break };
        stats.rows += 1;
        let outcome = match line {
            Line::TooLong => Err(format!("line longer than {} bytes", super::lines::MAX_LINE)),
            Line::Json(bytes) => state.line(bytes, &mut s)?,
        };
        if let Err(reason) = outcome {
            stats.malformed += 1;
            s.malformed(cap, file, number, reason);
        }
    }
    state.finish()?;
    s.files.push(stats);
    Ok(s)
}

enum Pending {
    Practitioner(crate::store::PractitionerRow),
    Role(crate::store::RoleRow),
    Organization(crate::store::OrganizationRow),
}

enum State<'a> {
    Practitioners(Batcher<'a, crate::store::PractitionerRow>, Box<NpiSet>),
    Roles(Batcher<'a, crate::store::RoleRow>),
    Organizations(Batcher<'a, crate::store::OrganizationRow>, Box<NpiSet>),
    Other(String, Progress),
}

impl<'a> State<'a> {
    fn new(resource: &str, sink: Sink<'a>, progress: &Progress) -> Self {
        let p = progress.clone();
        match resource {
            "Practitioner" => State::Practitioners(
                Batcher::new(sink, Rows::Practitioners, p),
                Box::<NpiSet>::default(),
            ),
            "PractitionerRole" => State::Roles(Batcher::new(sink, Rows::Roles, p)),
            "Organization" => State::Organizations(
                Batcher::new(sink, Rows::Organizations, p),
                Box::<NpiSet>::default(),
            ),
            other => State::Other(other.to_owned(), p),
        }
    }

    /// The inner `Err` is a malformed-row reason; the outer one (the loader stopped) aborts.
    fn line(&mut self, bytes: &[u8], s: &mut Summary) -> Result<std::result::Result<(), String>> {
        Ok(match self.parse_line(bytes, s) {
            Ok(Some(Pending::Practitioner(row))) => {
                if let State::Practitioners(batch, _) = self {
                    batch.push(row)?;
                }
                Ok(())
            }
            Ok(Some(Pending::Role(row))) => {
                if let State::Roles(batch) = self {
                    batch.push(row)?;
                }
                Ok(())
            }
            Ok(Some(Pending::Organization(row))) => {
                if let State::Organizations(batch, _) = self {
                    batch.push(row)?;
                }
                Ok(())
            }
            Ok(None) => Ok(()),
            Err(reason) => Err(reason),
        })
    }

    fn parse_line(
        &mut self,
        bytes: &[u8],
        s: &mut Summary,
    ) -> std::result::Result<Option<Pending>, String> {
        match self {
            State::Practitioners(_, seen) => {
                let parsed = practitioner::parse(bytes)?;
                s.records += 1;
                match parsed {
                    practitioner::Parsed::NoNpi => s.npi_missing += 1,
                    practitioner::Parsed::InvalidNpi(reason) => {
                        s.npi_invalid += 1;
                        return Err(reason);
                    }
                    practitioner::Parsed::Row {
                        row,
                        npi_system,
                        taxonomy_systems,
                    } => {
                        Summary::count_system(&mut s.npi_systems, npi_system.as_deref());
                        for t in &taxonomy_systems {
                            Summary::count_system(&mut s.taxonomy_systems, t.as_deref());
                        }
                        if !seen.insert(row.npi) {
                            s.duplicates += 1;
                            s.with_valid_npi += 1;
                            return Ok(None);
                        }
                        s.with_valid_npi += 1;
                        if row.active == Some(false) {
                            s.inactive += 1;
                        } else if row.npi_end.is_some_and(|end| end <= crate::date::today()) {
                            s.deactivated += 1;
                        }
                        return Ok(Some(Pending::Practitioner(row)));
                    }
                }
            }
            State::Roles(_) => {
                if let Some(row) = resources::role(bytes)? {
                    return Ok(Some(Pending::Role(row)));
                }
            }
            State::Organizations(_, seen) => {
                if let Some(row) = resources::organization(bytes)?
                    && seen.insert(row.npi)
                {
                    return Ok(Some(Pending::Organization(row)));
                }
            }
            State::Other(kind, progress) => {
                resources::other(bytes, kind)?;
                progress.add_rows(1);
            }
        }
        Ok(None)
    }

    fn finish(self) -> Result<()> {
        match self {
            State::Practitioners(b, _) => b.finish(),
            State::Roles(b) => b.finish(),
            State::Organizations(b, _) => b.finish(),
            State::Other(..) => Ok(()),
        }
    }
}
