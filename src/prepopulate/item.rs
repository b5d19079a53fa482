//! The items pushed: the seed's item shape with the toolkit's integrity marker, sized to the byte. As the Python
//! users' marked items (`pushpop_load.payloads.make_item`), the marker stands in for the seed's `seq` and
//! `timestamp` (it holds both), so that a small item is still exactly 100 bytes.

use std::io::Write as _;

/// Marker fields stay below 2^53 so that every JSON reader (JavaScript's, Python's float path) keeps them exact.
pub const MARKER_LIMIT: u64 = 1 << 53;

/// Length of an item id (`[a-z0-9]`).
pub const ID_LENGTH: usize = 12;

/// One item's fields, all of them written into the marker but the id.
#[derive(Debug, Clone, Copy)]
pub struct ItemFields<'a> {
    pub id: &'a [u8; ID_LENGTH],
    pub producer: u64,
    pub seq: u64,
    pub priority: u32,
    /// Push time in unix microseconds.
    pub push_us: u64,
}

/// Appends the item's JSON to `out`, in Python's `json.dumps` layout (`", "` and `": "`), padded with `data` so
/// that it is exactly `size` bytes (at least 100 always fits). Returns the item's length.
pub fn write_item(out: &mut Vec<u8>, fields: &ItemFields<'_>, size: usize) -> usize {
    let start = out.len();
    out.extend_from_slice(b"{\"id\": \"");
    out.extend_from_slice(fields.id);
    out.extend_from_slice(b"\", \"data\": \"");
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
            r#"{"id": "abc123def456", "data": "", "_pp": [7, 3, 2, 1700000000123456]}"#
        );
    }

    #[test]
    fn exact_sizes_with_the_marker() {
        for size in [100, 1024, 10 * 1024] {
            // the largest producer id, ten million items in one queue, a push time of this century
            for (producer, seq, push_us) in [
                (0, 0, 1_000_000),
                (MARKER_LIMIT - 1, 9_999_999, 4_000_000_000_000_000),
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
                assert!(value["data"].as_str().unwrap().bytes().all(|b| b == b'x'));
            }
        }
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
