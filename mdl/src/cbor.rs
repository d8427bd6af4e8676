//! A byte-preserving CBOR view (RFC 8949 §3) used to walk the wire structures.
//!
//! Each [`Raw`] is exactly the bytes of one well-formed data item as received, so digests
//! and signatures are computed over what the wallet sent, never over a re-encoding.
//! Non-preferred (longer than necessary) length headers are accepted; truncation,
//! trailing bytes, reserved additional-information values, invalid UTF-8 in text strings,
//! duplicate map keys and nesting deeper than [`MAX_DEPTH`] are refused.

use std::borrow::Cow;

use crate::error::Refusal;

/// Deepest nesting accepted (mdoc structures need about 10).
pub const MAX_DEPTH: usize = 32;

/// One well-formed CBOR item, as its raw bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Raw<'a>(&'a [u8]);

impl std::fmt::Debug for Raw<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Raw({})", hex::encode(self.0))
    }
}

struct Head {
    major: u8,
    /// `None` for indefinite length.
    arg: Option<u64>,
    len: usize,
}

fn head(buf: &[u8], pos: usize, ctx: &'static str) -> Result<Head, Refusal> {
    let first = *buf.get(pos).ok_or(Refusal::CborTruncated(ctx))?;
    let major = first >> 5;
    let ai = first & 0x1f;
    let (arg, len) = match ai {
        0..=23 => (Some(u64::from(ai)), 1),
        24..=27 => {
            let n = 1usize << (ai - 24);
            let bytes = buf
                .get(pos + 1..pos + 1 + n)
                .ok_or(Refusal::CborTruncated(ctx))?;
            let v = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
            (Some(v), 1 + n)
        }
        31 if matches!(major, 2..=5 | 7) => (None, 1),
        _ => {
            return Err(Refusal::CborMalformed(format!(
                "reserved additional information in {ctx}"
            )));
        }
    };
    Ok(Head { major, arg, len })
}

fn checked_end(buf: &[u8], start: usize, n: u64, ctx: &'static str) -> Result<usize, Refusal> {
    let n = usize::try_from(n).map_err(|_| Refusal::CborTruncated(ctx))?;
    let end = start.checked_add(n).ok_or(Refusal::CborTruncated(ctx))?;
    if end > buf.len() {
        return Err(Refusal::CborTruncated(ctx));
    }
    Ok(end)
}

/// Returns the end offset of the item starting at `pos`.
fn item_end(buf: &[u8], pos: usize, depth: usize, ctx: &'static str) -> Result<usize, Refusal> {
    if depth > MAX_DEPTH {
        return Err(Refusal::CborTooDeep);
    }
    let h = head(buf, pos, ctx)?;
    let body = pos + h.len;
    match (h.major, h.arg) {
        (0 | 1, Some(_)) => Ok(body),
        (2 | 3, Some(n)) => {
            let end = checked_end(buf, body, n, ctx)?;
            if h.major == 3 && std::str::from_utf8(&buf[body..end]).is_err() {
                return Err(Refusal::CborMalformed(format!(
                    "invalid UTF-8 text in {ctx}"
                )));
            }
            Ok(end)
        }
        (2 | 3, None) => {
            let mut p = body;
            loop {
                if *buf.get(p).ok_or(Refusal::CborTruncated(ctx))? == 0xff {
                    return Ok(p + 1);
                }
                let c = head(buf, p, ctx)?;
                if c.major != h.major || c.arg.is_none() {
                    return Err(Refusal::CborMalformed(format!("bad string chunk in {ctx}")));
                }
                p = item_end(buf, p, depth + 1, ctx)?;
            }
        }
        (4 | 5, Some(n)) => {
            let count = if h.major == 5 {
                n.checked_mul(2)
            } else {
                Some(n)
            }
            .ok_or(Refusal::CborTruncated(ctx))?;
            // Every item takes at least one byte: refuse impossible counts before looping.
            if count > (buf.len() - body) as u64 {
                return Err(Refusal::CborTruncated(ctx));
            }
            let mut p = body;
            for _ in 0..count {
                p = item_end(buf, p, depth + 1, ctx)?;
            }
            Ok(p)
        }
        (4 | 5, None) => {
            let mut p = body;
            let mut count = 0usize;
            loop {
                if *buf.get(p).ok_or(Refusal::CborTruncated(ctx))? == 0xff {
                    if h.major == 5 && count % 2 == 1 {
                        return Err(Refusal::CborMalformed(format!("odd map in {ctx}")));
                    }
                    return Ok(p + 1);
                }
                p = item_end(buf, p, depth + 1, ctx)?;
                count += 1;
            }
        }
        (6, Some(_)) => item_end(buf, body, depth + 1, ctx),
        (7, Some(v)) => {
            if h.len == 2 && v < 32 {
                return Err(Refusal::CborMalformed(format!("bad simple value in {ctx}")));
            }
            Ok(body)
        }
        (7, None) => Err(Refusal::CborMalformed(format!("unexpected break in {ctx}"))),
        _ => Err(Refusal::CborMalformed(format!("bad item in {ctx}"))),
    }
}

/// Parses exactly one item spanning all of `buf` (no trailing bytes).
pub fn decode_one<'a>(buf: &'a [u8], ctx: &'static str) -> Result<Raw<'a>, Refusal> {
    let end = item_end(buf, 0, 0, ctx)?;
    if end != buf.len() {
        return Err(Refusal::CborTrailingBytes(ctx));
    }
    Ok(Raw(buf))
}

impl<'a> Raw<'a> {
    /// The item's bytes exactly as received.
    pub fn bytes(&self) -> &'a [u8] {
        self.0
    }

    fn head(&self) -> Head {
        // A Raw is always well-formed, so its head parses.
        head(self.0, 0, "item").unwrap_or(Head {
            major: 7,
            arg: None,
            len: 1,
        })
    }

    /// The CBOR major type (0–7).
    pub fn major(&self) -> u8 {
        self.0.first().map(|b| b >> 5).unwrap_or(7)
    }

    /// Children of an array or map, in order.
    fn children(&self, ctx: &'static str) -> Result<Vec<Raw<'a>>, Refusal> {
        let h = self.head();
        let mut p = h.len;
        let mut out = Vec::new();
        let buf = self.0;
        let limit = match h.arg {
            Some(n) if h.major == 5 => Some(n.saturating_mul(2)),
            other => other,
        };
        loop {
            if let Some(n) = limit {
                if out.len() as u64 == n {
                    break;
                }
            } else if buf.get(p) == Some(&0xff) {
                break;
            }
            let end = item_end(buf, p, 1, ctx)?;
            out.push(Raw(&buf[p..end]));
            p = end;
        }
        Ok(out)
    }

    /// Elements of an array.
    pub fn array(&self, ctx: &'static str) -> Result<Vec<Raw<'a>>, Refusal> {
        if self.major() != 4 {
            return Err(Refusal::WrongType(ctx));
        }
        self.children(ctx)
    }

    /// Entries of a map, refusing duplicate keys.
    pub fn map(&self, ctx: &'static str) -> Result<Vec<(Raw<'a>, Raw<'a>)>, Refusal> {
        if self.major() != 5 {
            return Err(Refusal::WrongType(ctx));
        }
        let items = self.children(ctx)?;
        let mut out: Vec<(Raw<'a>, Raw<'a>)> = Vec::with_capacity(items.len() / 2);
        for pair in items.chunks_exact(2) {
            let (k, v) = (pair[0], pair[1]);
            if out.iter().any(|(seen, _)| seen.same_key(&k)) {
                return Err(Refusal::CborDuplicateKey(ctx));
            }
            out.push((k, v));
        }
        Ok(out)
    }

    fn same_key(&self, other: &Raw<'_>) -> bool {
        if self.0 == other.0 {
            return true;
        }
        match (self.major(), other.major()) {
            (3, 3) => self.text().is_some() && self.text() == other.text(),
            (0, 0) | (1, 1) => self.head().arg == other.head().arg,
            _ => false,
        }
    }

    /// Unsigned integer value (major type 0).
    pub fn uint(&self) -> Option<u64> {
        (self.major() == 0).then(|| self.head().arg).flatten()
    }

    /// Signed integer value (major types 0 and 1).
    pub fn int(&self) -> Option<i128> {
        let arg = i128::from(self.head().arg?);
        match self.major() {
            0 => Some(arg),
            1 => Some(-1 - arg),
            _ => None,
        }
    }

    /// Text string (definite length only; indefinite text is concatenated).
    pub fn text(&self) -> Option<Cow<'a, str>> {
        if self.major() != 3 {
            return None;
        }
        match self.string_content()? {
            Cow::Borrowed(b) => std::str::from_utf8(b).ok().map(Cow::Borrowed),
            Cow::Owned(v) => String::from_utf8(v).ok().map(Cow::Owned),
        }
    }

    /// Byte string content.
    pub fn byte_string(&self) -> Option<Cow<'a, [u8]>> {
        if self.major() != 2 {
            return None;
        }
        self.string_content()
    }

    fn string_content(&self) -> Option<Cow<'a, [u8]>> {
        let h = self.head();
        match h.arg {
            Some(n) => Some(Cow::Borrowed(
                self.0.get(h.len..h.len + usize::try_from(n).ok()?)?,
            )),
            None => {
                let mut out = Vec::new();
                let mut p = h.len;
                while self.0.get(p) != Some(&0xff) {
                    let c = head(self.0, p, "chunk").ok()?;
                    let n = usize::try_from(c.arg?).ok()?;
                    out.extend_from_slice(self.0.get(p + c.len..p + c.len + n)?);
                    p += c.len + n;
                }
                Some(Cow::Owned(out))
            }
        }
    }

    /// `(tag, tagged item)` if this is a tag.
    pub fn tag(&self) -> Option<(u64, Raw<'a>)> {
        if self.major() != 6 {
            return None;
        }
        let h = self.head();
        Some((h.arg?, Raw(&self.0[h.len..])))
    }

    /// True for the simple value null.
    pub fn is_null(&self) -> bool {
        self.0 == [0xf6]
    }

    /// Boolean value.
    pub fn boolean(&self) -> Option<bool> {
        match self.0 {
            [0xf4] => Some(false),
            [0xf5] => Some(true),
            _ => None,
        }
    }

    /// For `#6.24(bstr .cbor X)`: the embedded bytes, themselves checked to be exactly one item.
    pub fn tag24(&self, ctx: &'static str) -> Result<Cow<'a, [u8]>, Refusal> {
        match self.tag() {
            Some((24, inner)) => {
                let content = inner.byte_string().ok_or(Refusal::NotTag24(ctx))?;
                decode_one(&content, ctx)?;
                Ok(content)
            }
            _ => Err(Refusal::NotTag24(ctx)),
        }
    }
}

/// Looks up a text key in map entries.
pub fn get<'a>(entries: &[(Raw<'a>, Raw<'a>)], key: &str) -> Option<Raw<'a>> {
    entries
        .iter()
        .find(|(k, _)| k.text().as_deref() == Some(key))
        .map(|(_, v)| *v)
}

/// Looks up a required text key.
pub fn require<'a>(entries: &[(Raw<'a>, Raw<'a>)], key: &'static str) -> Result<Raw<'a>, Refusal> {
    get(entries, key).ok_or(Refusal::MissingField(key))
}

/// Required text value.
pub fn text_field(entries: &[(Raw<'_>, Raw<'_>)], key: &'static str) -> Result<String, Refusal> {
    require(entries, key)?
        .text()
        .map(Cow::into_owned)
        .ok_or(Refusal::WrongType(key))
}

// ---------------------------------------------------------------- encoding helpers

/// Appends a head with the preferred (shortest) argument encoding.
pub fn write_head(out: &mut Vec<u8>, major: u8, arg: u64) {
    let m = major << 5;
    if arg < 24 {
        out.push(m | arg as u8);
    } else if arg <= 0xff {
        out.extend_from_slice(&[m | 24, arg as u8]);
    } else if arg <= 0xffff {
        out.push(m | 25);
        out.extend_from_slice(&(arg as u16).to_be_bytes());
    } else if arg <= 0xffff_ffff {
        out.push(m | 26);
        out.extend_from_slice(&(arg as u32).to_be_bytes());
    } else {
        out.push(m | 27);
        out.extend_from_slice(&arg.to_be_bytes());
    }
}

/// Appends a text string.
pub fn write_text(out: &mut Vec<u8>, s: &str) {
    write_head(out, 3, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Appends a byte string.
pub fn write_bytes(out: &mut Vec<u8>, b: &[u8]) {
    write_head(out, 2, b.len() as u64);
    out.extend_from_slice(b);
}

/// `#6.24(bstr)` wrapping already-encoded CBOR.
pub fn tag24(encoded: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(encoded.len() + 6);
    write_head(&mut out, 6, 24);
    write_bytes(&mut out, encoded);
    out
}

/// Encodes a ciborium value (preferred serialisation).
pub fn to_vec(value: &ciborium::Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail for values built in memory.
    if ciborium::into_writer(value, &mut out).is_err() {
        out.clear();
    }
    out
}

/// Decodes one item as a ciborium value (after a strict well-formedness check).
pub fn to_value(raw: Raw<'_>) -> Result<ciborium::Value, Refusal> {
    ciborium::from_reader(raw.bytes()).map_err(|e| Refusal::CborMalformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_truncation_and_trailing() {
        assert_eq!(
            decode_one(&[0x82, 0x01], "t"),
            Err(Refusal::CborTruncated("t"))
        );
        assert_eq!(
            decode_one(&[0x01, 0x02], "t"),
            Err(Refusal::CborTrailingBytes("t"))
        );
        assert!(matches!(
            decode_one(&[0x1c], "t"),
            Err(Refusal::CborMalformed(_))
        ));
        assert!(matches!(
            decode_one(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], "t"),
            Err(Refusal::CborTruncated(_))
        ));
    }

    #[test]
    fn accepts_non_preferred_lengths_and_keeps_bytes() {
        // text "a" with a 1-byte length header (non-preferred)
        let raw = decode_one(&[0x78, 0x01, b'a'], "t").unwrap();
        assert_eq!(raw.text().as_deref(), Some("a"));
        let m = decode_one(&[0xb9, 0x00, 0x01, 0x61, b'k', 0x01], "t").unwrap();
        let e = m.map("t").unwrap();
        assert_eq!(get(&e, "k").unwrap().uint(), Some(1));
    }

    #[test]
    fn refuses_duplicate_keys_and_deep_nesting() {
        let m = decode_one(&[0xa2, 0x61, b'k', 0x01, 0x61, b'k', 0x02], "t").unwrap();
        assert_eq!(m.map("t"), Err(Refusal::CborDuplicateKey("t")));
        let deep = vec![0x81; 100]
            .into_iter()
            .chain([0x00])
            .collect::<Vec<_>>();
        assert_eq!(decode_one(&deep, "t"), Err(Refusal::CborTooDeep));
    }

    #[test]
    fn indefinite_items() {
        let raw = decode_one(&[0x5f, 0x41, 1, 0x41, 2, 0xff], "t").unwrap();
        assert_eq!(raw.byte_string().unwrap().as_ref(), &[1, 2]);
        let a = decode_one(&[0x9f, 0x01, 0x02, 0xff], "t").unwrap();
        assert_eq!(a.array("t").unwrap().len(), 2);
    }
}
