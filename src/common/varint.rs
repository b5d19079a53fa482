//! LEB128 varints and a bounds-checked reader: the pieces the binary deltas a worker sends its master are built of
//! (`crate::stats::wire`, `crate::integrity::wire`). Each format names its own errors from `ReadError`.

/// Appends `value` as a LEB128 varint: seven bits a byte, low bits first (one byte below 128).
pub fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        #[allow(clippy::cast_possible_truncation)] // the low seven bits
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    #[allow(clippy::cast_possible_truncation)] // below 0x80
    out.push(value as u8);
}

/// Appends `text` as its varint length and its UTF-8 bytes.
pub fn put_str(out: &mut Vec<u8>, text: &str) {
    put_varint(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

/// Appends a histogram's recorded buckets, `(value, count)` sorted by value: their number, then each value as the
/// difference from the previous one (buckets are a few µs to a few hundred µs apart, so one or two bytes) and its
/// count (one byte, mostly).
pub fn put_buckets(out: &mut Vec<u8>, buckets: &[(u64, u64)]) {
    put_varint(out, buckets.len() as u64);
    let mut previous = 0;
    for &(value, count) in buckets {
        // sorted ascending: the difference is small and never negative
        put_varint(out, value.wrapping_sub(previous));
        put_varint(out, count);
        previous = value;
    }
}

/// What is wrong with the bytes, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} at byte {at} of {len}")]
pub struct ReadError {
    pub what: &'static str,
    pub at: usize,
    pub len: usize,
}

/// Reads varints, strings and floats from `bytes`, each read checked against the end.
pub struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    /// A reader of `bytes` from offset `at` (past a header the caller checked).
    #[must_use]
    pub fn new(bytes: &'a [u8], at: usize) -> Self {
        Self { bytes, at }
    }

    /// The error `what` at the current offset.
    #[must_use]
    pub fn invalid(&self, what: &'static str) -> ReadError {
        ReadError {
            what,
            at: self.at,
            len: self.bytes.len(),
        }
    }

    /// Whether every byte has been read.
    #[must_use]
    pub fn is_done(&self) -> bool {
        self.at == self.bytes.len()
    }

    pub fn varint(&mut self) -> Result<u64, ReadError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.bytes.get(self.at) else {
                return Err(self.invalid("truncated delta"));
            };
            self.at += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return Ok(value);
            }
        }
        Err(self.invalid("varint longer than 64 bits"))
    }

    /// A count of things that follow, each at least a byte long: no larger than the bytes left (so a corrupt
    /// count cannot reserve gigabytes).
    pub fn length(&mut self) -> Result<usize, ReadError> {
        let value = self.varint()?;
        match usize::try_from(value) {
            Ok(length) if length <= self.bytes.len() - self.at => Ok(length),
            _ => Err(self.invalid("length beyond the delta's end")),
        }
    }

    pub fn take(&mut self, length: usize) -> Result<&'a [u8], ReadError> {
        let end = self.at.checked_add(length).filter(|&end| end <= self.bytes.len());
        let Some(end) = end else {
            return Err(self.invalid("truncated delta"));
        };
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }

    pub fn string(&mut self) -> Result<String, ReadError> {
        let length = self.length()?;
        let bytes = self.take(length)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| self.invalid("a name that is not UTF-8"))
    }

    /// Buckets written by `put_buckets`, checked ascending.
    pub fn buckets(&mut self) -> Result<Vec<(u64, u64)>, ReadError> {
        let buckets = self.length()?;
        let mut counts = Vec::with_capacity(buckets);
        let mut value = 0u64;
        for _ in 0..buckets {
            let step = self.varint()?;
            if step == 0 && !counts.is_empty() {
                return Err(self.invalid("bucket values not ascending"));
            }
            value = value
                .checked_add(step)
                .ok_or_else(|| self.invalid("bucket value beyond 64 bits"))?;
            counts.push((value, self.varint()?));
        }
        Ok(counts)
    }

    /// A little-endian f64.
    pub fn float(&mut self) -> Result<f64, ReadError> {
        let mut bytes = [0; 8];
        bytes.copy_from_slice(self.take(8)?);
        Ok(f64::from_le_bytes(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_and_strings_round_trip() {
        let mut out = Vec::new();
        let values = [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX];
        for value in values {
            put_varint(&mut out, value);
        }
        put_str(&mut out, "pü");
        put_buckets(&mut out, &[(3, 1), (700, 2), (u64::MAX, 1)]);
        out.extend_from_slice(&1.5f64.to_le_bytes());
        assert_eq!(&out[..4], [0, 1, 127, 0x80]);
        let mut reader = Reader::new(&out, 0);
        for value in values {
            assert_eq!(reader.varint().unwrap(), value);
        }
        assert_eq!(reader.string().unwrap(), "pü");
        assert_eq!(reader.buckets().unwrap(), [(3, 1), (700, 2), (u64::MAX, 1)]);
        assert!((reader.float().unwrap() - 1.5).abs() < f64::EPSILON);
        assert!(reader.is_done());
        assert_eq!(reader.varint().unwrap_err().what, "truncated delta");
    }

    #[test]
    fn damage_is_an_error_not_a_panic() {
        // eleven continuation bytes: more than 64 bits
        assert_eq!(
            Reader::new(&[0xff; 11], 0).varint().unwrap_err().what,
            "varint longer than 64 bits"
        );
        // a length beyond the end
        assert_eq!(
            Reader::new(&[5, b'a'], 0).string().unwrap_err(),
            ReadError {
                what: "length beyond the delta's end",
                at: 1,
                len: 2
            }
        );
        assert!(Reader::new(&[2, 0xff, 0xfe], 0).string().is_err());
        assert!(Reader::new(&[1, 2, 3], 0).float().is_err());
        assert_eq!(
            Reader::new(&[2, 5, 1, 0, 1], 0).buckets().unwrap_err().what,
            "bucket values not ascending"
        );
    }
}
