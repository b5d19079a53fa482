//! Property tests of the small parsers behind command-line values and of the pop answers the integrity checker
//! reads off the wire: sizes, counts, intervals, ratios, priority lists and weights, `--inject`, `--store`. Any
//! text gives a value or a one-line reason (printable text; a flag's control characters are only checked not to
//! panic).

mod common;

use std::str::FromStr as _;

use _native::analyze::parse_ratio;
use _native::common::parse_byte_size;
use _native::integrity::parse_pop;
use _native::monitor::parse_interval;
use _native::prepopulate::{parse_count, ItemSize, Priorities};
use _native::reference_target::{InjectSpec, StoreSpec};
use common::{config, timed};
use proptest::prelude::*;
use proptest::sample::select;

fn assert_reason(reason: &str, printable: bool) {
    assert!(reason.len() >= 5, "says too little: {reason:?}");
    if printable {
        assert!(!reason.contains(['\n', '\r']), "not one line: {reason:?}");
    }
    for mark in ["Error {", "kind: ", "Some(", "Err(", "ParseIntError", "ParseFloatError"] {
        assert!(!reason.contains(mark), "Debug output in {reason:?}");
    }
}

/// Flag values: near misses of the valid forms, any printable text, and text with control characters.
fn flag_text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[0-9 .,:_=+eE-]{0,12}[kKmMgGiIbBsx%]{0,3}",
        2 => "(drop|dup|seed|[a-z]{0,4})=[0-9.e-]{0,8}(,(drop|dup|seed)=[0-9.e-]{0,25}){0,3}",
        2 => "[0-9]{0,12}(:[0-9]{0,21})?(,[0-9]{0,12}:[0-9]{0,6}){0,4}",
        2 => "\\PC{0,20}",
        1 => select(vec![
            "18446744073709551616", "99999999999999999999GiB", "1e999", "NaN", "inf", "-0", "0:100001",
            "0:18446744073709551615,1:1", "drop=NaN", "drop=0.6,dup=0.6", "postgres://u:pw@[::1", "mysql://u:pw@h",
            "1.5M", "1_000_000", "0.0000001ms", "1e9s", "1e10", "", " ", ",", ":",
        ])
        .prop_map(str::to_owned),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn fuzz_flag_values(text in flag_text()) {
        let printable = !text.chars().any(char::is_control);
        let reasons = timed("flags", || {
            [
                parse_byte_size(&text).err(),
                parse_count(&text).err(),
                parse_interval(&text).err(),
                parse_ratio(&text).err(),
                Priorities::parse_list(&text).err(),
                Priorities::parse_weights(&text).err(),
                ItemSize::from_str(&text).err(),
                InjectSpec::from_str(&text).err().map(|err| err.to_string()),
                StoreSpec::from_str(&text).err().map(|err| err.to_string()),
            ]
        });
        for reason in reasons.iter().flatten() {
            assert_reason(reason, printable);
        }
        if let Ok(ratio) = parse_ratio(&text) {
            prop_assert!(ratio.is_finite() && ratio >= 0.0);
        }
        if let Ok(interval) = parse_interval(&text) {
            prop_assert!(!interval.is_zero());
        }
        if let Ok(priorities) = Priorities::parse_weights(&text) {
            let counts = priorities.counts(u64::MAX);
            prop_assert!(!counts.is_empty());
        }
    }

    /// Pop answers of both shapes, and anything else the service (or a proxy in front of it) might send.
    #[test]
    fn fuzz_pop_answers(body in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        "\\PC{0,60}".prop_map(String::into_bytes),
        (proptest::collection::vec(select(vec![
            "{\"id\": 1, \"_pp\": [1, 2, 3, 4]}", "{\"_pp\": [1, 2]}", "{\"_pp\": \"x\"}", "null", "7", "[]",
            "{\"_pp\": [18446744073709551615, 1, 1, 1]}", "{\"_pp\": [-1, 1, 1, 1]}", "{\"_pp\": [1.5, 1, 1, 1]}",
            "{\"_pp\": [1, 2, 3, 4], \"_pp\": [5, 6, 7, 8]}",
        ]), 0..5), select(vec!["", ", \"count\": 2", ", \"count\": -1", ", \"count\": 1e999", ", \"count\": null"]))
            .prop_map(|(items, count)| format!("{{\"items\": [{}]{count}}}", items.join(", ")).into_bytes()),
        select(vec!["{\"item\": null}", "{\"item\": {\"_pp\": [1, 2, 3, 4]}}", "{}", "{\"items\": null}",
            "{\"items\": {}}", "{\"item\": 1, \"items\": []}"]).prop_map(|text| text.as_bytes().to_vec()),
    ]) {
        match timed("parse_pop", || parse_pop(&body)) {
            Ok(items) => prop_assert!(items.len() <= body.len()),
            Err(err) => assert_reason(&err.to_string(), true),
        }
    }
}
