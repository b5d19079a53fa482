//! The items pushed: the seed's item shape with the toolkit's integrity marker, sized to the byte.

use std::io::Write as _;

/// Marker fields stay below 2^53 so that every JSON reader (JavaScript's, Python's float path) keeps them exact.
pub const MARKER_LIMIT: u64 = 1 << 53;

/// Length of an item id (`[a-z0-9]`).
pub const ID_LENGTH: usize = 12;

/// One item's fields. `seq` is both the seed's `seq` and the marker's sequence number.
#[derive(Debug, Clone, Copy)]
pub struct ItemFields<'a> {
    pub id: &'a [u8; ID_LENGTH],
    pub producer: u64,
    pub seq: u64,
    pub priority: u32,
    /// Push time in unix microseconds; the seed's `timestamp` is the same instant in seconds.
    pub push_us: u64,
}

/// The seed's `timestamp` as Python's `repr(float)` writes it: the shortest text that reads back as the same
/// double (Rust's `Display` finds the same digits), with `.0` on a whole number.
fn write_timestamp(out: &mut Vec<u8>, push_us: u64) {
    // push_us < 2^53: the conversion is exact, and so is the division's rounding to the nearest double
    #[allow(clippy::cast_precision_loss)]
    let seconds = push_us as f64 / 1_000_000.0;
    let start = out.len();
    let _ = write!(out, "{seconds}");
    if !out[start..].contains(&b'.') {
        out.extend_from_slice(b".0");
    }
}

/// Appends the item's JSON to `out`, in Python's `json.dumps` layout (`", "` and `": "`), padded with `data` so
/// that it is exactly `size` bytes — or has an empty `data` when its other fields alone are longer. Returns the
/// item's length.
pub fn write_item(out: &mut Vec<u8>, fields: &ItemFields<'_>, size: usize) -> usize {
    let start = out.len();
    out.extend_from_slice(b"{\"id\": \"");
    out.extend_from_slice(fields.id);
    let _ = write!(out, "\", \"seq\": {}, \"timestamp\": ", fields.seq);
    write_timestamp(out, fields.push_us);
    out.extend_from_slice(b", \"data\": \"");
    let data_at = out.len();
    let _ = write!(
        out,
        "\", \"_pp\": [{}, {}, {}, {}]}}",
        fields.producer, fields.seq, fields.priority, fields.push_us
    );
    let frame = out.len() - start;
    let padding = size.saturating_sub(frame);
    if padding > 0 {
        // the tail written after data_at moves right by `padding`
        out.splice(data_at..data_at, std::iter::repeat_n(b'x', padding));
    }
    out.len() - start
}

/// Appends a push body, `{"item": <item>, "priority": <p>}`, to `out`.
pub fn write_push_body(out: &mut Vec<u8>, fields: &ItemFields<'_>, size: usize) {
    out.extend_from_slice(b"{\"item\": ");
    write_item(out, fields, size);
    let _ = write!(out, ", \"priority\": {}}}", fields.priority);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(fields: &ItemFields<'_>, size: usize) -> String {
        let mut out = Vec::new();
        let length = write_item(&mut out, fields, size);
        assert_eq!(length, out.len());
        String::from_utf8(out).unwrap()
    }

    const ID: &[u8; 12] = b"abc123def456";

    #[test]
    fn layout_is_pythons() {
        let fields = ItemFields {
            id: ID,
            producer: 7,
            seq: 3,
            priority: 2,
            push_us: 1_700_000_000_123_456,
        };
        assert_eq!(
            item(&fields, 0),
            r#"{"id": "abc123def456", "seq": 3, "timestamp": 1700000000.123456, "data": "", "_pp": [7, 3, 2, 1700000000123456]}"#
        );
        let whole = ItemFields {
            push_us: 1_700_000_000_000_000,
            ..fields
        };
        assert!(item(&whole, 0).contains(r#""timestamp": 1700000000.0, "#));
        let tenth = ItemFields {
            push_us: 1_700_000_000_100_000,
            ..fields
        };
        assert!(item(&tenth, 0).contains(r#""timestamp": 1700000000.1, "#));
    }

    #[test]
    fn exact_sizes_with_the_marker() {
        for size in [1024, 10 * 1024] {
            for (producer, seq, push_us) in [
                (0, 0, 1_000_000),
                (MARKER_LIMIT - 1, MARKER_LIMIT - 1, MARKER_LIMIT - 1),
                (123_456_789, 99_999, 1_764_000_000_654_321),
            ] {
                let fields = ItemFields {
                    id: ID,
                    producer,
                    seq,
                    priority: 1000,
                    push_us,
                };
                let text = item(&fields, size);
                assert_eq!(text.len(), size, "{text}");
                let value: serde_json::Value = serde_json::from_str(&text).unwrap();
                assert_eq!(value["_pp"], serde_json::json!([producer, seq, 1000, push_us]));
                assert_eq!(value["seq"], serde_json::json!(seq));
                assert!(value["data"].as_str().unwrap().bytes().all(|b| b == b'x'));
            }
        }
    }

    #[test]
    fn small_is_as_small_as_its_fields_allow() {
        let short = ItemFields {
            id: ID,
            producer: 1,
            seq: 0,
            priority: 0,
            push_us: 1_000_000,
        };
        // short numbers leave room to pad to exactly 100
        assert_eq!(item(&short, 100).len(), 100);
        let long = ItemFields {
            id: ID,
            producer: MARKER_LIMIT - 1,
            seq: 5,
            priority: 0,
            push_us: 1_764_000_000_654_321,
        };
        let text = item(&long, 100);
        assert!(text.len() > 100 && text.contains(r#""data": """#), "{text}");
    }

    #[test]
    fn push_body_wraps_the_item() {
        let fields = ItemFields {
            id: ID,
            producer: 9,
            seq: 1,
            priority: 4,
            push_us: 1_764_000_000_000_001,
        };
        let mut body = Vec::new();
        write_push_body(&mut body, &fields, 1024);
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(value["priority"], 4);
        assert_eq!(value["item"]["_pp"][2], 4);
        let item_text = std::str::from_utf8(&body).unwrap();
        assert!(
            item_text.starts_with(r#"{"item": {"id": "abc123def456""#) && item_text.ends_with(r#"]}, "priority": 4}"#)
        );
        assert_eq!(body.len(), r#"{"item": , "priority": 4}"#.len() + 1024);
    }
}
