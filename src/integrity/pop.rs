//! Reading a pop answer on the load generator's hot path: one pass over the body, borrowing, keeping only each
//! item's marker. Payload fields are skipped, never built into values.

use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::error::{IntegrityError, Result};
use super::producer::MARKER_LIMIT;

/// The `_pp` field of an item: who pushed it, as which of their items, at which priority, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marker {
    pub producer: u64,
    pub seq: u64,
    pub priority: u64,
    /// Unix time of the push, in microseconds.
    pub push_us: u64,
}

impl Marker {
    /// `[producer, seq, priority, push_us]`, every value below 2^53; anything else is no marker.
    #[must_use]
    pub fn from_values(values: [u64; 4]) -> Option<Self> {
        values.iter().all(|&value| value < MARKER_LIMIT).then_some(Self {
            producer: values[0],
            seq: values[1],
            priority: values[2],
            push_us: values[3],
        })
    }

    #[must_use]
    pub fn values(&self) -> [u64; 4] {
        [self.producer, self.seq, self.priority, self.push_us]
    }
}

/// One item of a pop answer: its marker, or `None` when it has none or a malformed one (a foreign item).
struct PoppedItem(Option<Marker>);

/// The items of a pop answer, in order.
pub fn parse_pop(body: &[u8]) -> Result<Vec<Option<Marker>>> {
    let parsed: PopBody = serde_json::from_slice(body).map_err(|err| match err.classify() {
        serde_json::error::Category::Data => IntegrityError::BadShape(err.to_string()),
        _ => IntegrityError::NotJson(err.to_string()),
    })?;
    match parsed {
        PopBody::Items { items, count } => match count {
            Some(count) if count != items.len() as u64 => Err(IntegrityError::CountMismatch {
                count,
                len: items.len(),
            }),
            _ => Ok(items),
        },
        PopBody::Single(item) => Ok(vec![item]),
        PopBody::Neither => Err(IntegrityError::BadShape("it has neither field".to_owned())),
    }
}

enum PopBody {
    /// `count` may be absent, as the Python side accepts too.
    Items {
        items: Vec<Option<Marker>>,
        count: Option<u64>,
    },
    /// `{"item": null}` is an empty pop of an older deployment, which this reads as no marker: see `check_pop`.
    Single(Option<Marker>),
    Neither,
}

impl<'de> Deserialize<'de> for PopBody {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(BodyVisitor)
    }
}

struct BodyVisitor;

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = PopBody;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PopBody, A::Error> {
        let mut items: Option<Vec<Option<Marker>>> = None;
        let mut count: Option<u64> = None;
        let mut single: Option<Option<Option<Marker>>> = None;
        while let Some(key) = map.next_key::<BodyKey>()? {
            match key {
                BodyKey::Items => items = Some(map.next_value::<ItemList>()?.0),
                BodyKey::Count => count = Some(map.next_value()?),
                BodyKey::Item => single = Some(map.next_value::<Option<PoppedItem>>()?.map(|item| item.0)),
                BodyKey::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(match (items, single) {
            (Some(items), _) => PopBody::Items { items, count },
            (None, Some(Some(item))) => PopBody::Single(item),
            // {"item": null}: nothing popped
            (None, Some(None)) => PopBody::Items {
                items: Vec::new(),
                count: None,
            },
            (None, None) => PopBody::Neither,
        })
    }
}

enum BodyKey {
    Items,
    Count,
    Item,
    Other,
}

impl<'de> Deserialize<'de> for BodyKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = BodyKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<BodyKey, E> {
                Ok(match key {
                    "items" => BodyKey::Items,
                    "count" => BodyKey::Count,
                    "item" => BodyKey::Item,
                    _ => BodyKey::Other,
                })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

struct ItemList(Vec<Option<Marker>>);

impl<'de> Deserialize<'de> for ItemList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = ItemList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of items")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ItemList, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(16).min(128));
                while let Some(item) = seq.next_element::<PoppedItem>()? {
                    items.push(item.0);
                }
                Ok(ItemList(items))
            }
        }
        deserializer.deserialize_seq(ListVisitor)
    }
}

impl<'de> Deserialize<'de> for PoppedItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ItemVisitor)
    }
}

/// Any JSON value is an item; only an object with a well-formed `_pp` has a marker.
struct ItemVisitor;

impl<'de> Visitor<'de> for ItemVisitor {
    type Value = PoppedItem;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an item")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PoppedItem, A::Error> {
        let mut marker = None;
        while let Some(key) = map.next_key::<ItemKey>()? {
            if matches!(key, ItemKey::Marker) && marker.is_none() {
                // Borrowed raw text, then a typed parse of those few bytes: a malformed marker makes the item
                // foreign instead of failing the whole answer.
                let raw: &RawValue = map.next_value()?;
                marker = serde_json::from_str::<[u64; 4]>(raw.get())
                    .ok()
                    .and_then(Marker::from_values);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(PoppedItem(marker))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PoppedItem, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(PoppedItem(None))
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<PoppedItem, E> {
        Ok(PoppedItem(None))
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<PoppedItem, E> {
        Ok(PoppedItem(None))
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<PoppedItem, E> {
        Ok(PoppedItem(None))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<PoppedItem, E> {
        Ok(PoppedItem(None))
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<PoppedItem, E> {
        Ok(PoppedItem(None))
    }

    fn visit_unit<E: de::Error>(self) -> Result<PoppedItem, E> {
        Ok(PoppedItem(None))
    }
}

enum ItemKey {
    Marker,
    Other,
}

impl<'de> Deserialize<'de> for ItemKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = ItemKey;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<ItemKey, E> {
                Ok(if key == "_pp" { ItemKey::Marker } else { ItemKey::Other })
            }
        }
        deserializer.deserialize_identifier(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(values: [u64; 4]) -> Option<Marker> {
        Marker::from_values(values)
    }

    #[test]
    fn both_shapes() {
        let body = br#"{"items": [{"id": "a", "_pp": [1, 0, 2, 100], "data": "x\"y"}, {"_pp": [1, 1, 0, 101]}],
                        "count": 2}"#;
        assert_eq!(
            parse_pop(body).unwrap(),
            vec![marker([1, 0, 2, 100]), marker([1, 1, 0, 101])]
        );
        assert_eq!(parse_pop(br#"{"count": 0, "items": []}"#).unwrap(), vec![]);
        assert_eq!(parse_pop(br#"{"items": []}"#).unwrap(), vec![]);
        assert_eq!(
            parse_pop(br#"{"item": {"_pp": [7, 8, 9, 10]}}"#).unwrap(),
            vec![marker([7, 8, 9, 10])]
        );
        assert_eq!(parse_pop(br#"{"item": null}"#).unwrap(), vec![]);
    }

    #[test]
    fn items_without_a_good_marker_are_foreign() {
        let body = br#"{"items": [{"id": 1}, "text", 3, null, [1, 2], {"_pp": [1, 2, 3]}, {"_pp": [1, -2, 3, 4]},
                        {"_pp": "x"}, {"_pp": [1, 2, 3, 9007199254740992]}, {"_pp": [1.5, 2, 3, 4]},
                        {"nested": {"_pp": [1, 2, 3, 4]}}, {"_pp": [1, 2, 3, 4], "_pp": [5, 6, 7, 8]}],
                        "count": 12}"#;
        let items = parse_pop(body).unwrap();
        assert_eq!(items.len(), 12);
        assert!(items[..11].iter().all(Option::is_none), "{items:?}");
        assert_eq!(items[11], marker([1, 2, 3, 4]));
        assert_eq!(parse_pop(br#"{"item": "text"}"#).unwrap(), vec![None]);
    }

    #[test]
    fn bad_shapes_are_errors() {
        for (body, want) in [
            (&b"not json"[..], "not JSON"),
            (b"", "not JSON"),
            (br#"{"items": [{"_pp": [1,2,3,4]}"#, "not JSON"),
            (b"[]", "neither"),
            (b"null", "neither"),
            (br#"{"detail": "Internal error"}"#, "neither"),
            (br#"{"items": {"a": 1}, "count": 1}"#, "neither"),
            (br#"{"items": [], "count": "0"}"#, "neither"),
            (br#"{"items": [{"a": 1}], "count": 2}"#, "count 2"),
        ] {
            let err = parse_pop(body).unwrap_err().to_string();
            assert!(err.contains(want), "{}: {err}", String::from_utf8_lossy(body));
        }
    }
}
