//! Input rules of the contract, kept apart from HTTP so they are unit-tested on their own.

use serde_json::value::RawValue;

/// Largest priority the reference target accepts; larger ones are "absurdly large" in the contract's words.
pub const MAX_PRIORITY: u32 = 1000;
/// Largest pop depth.
pub const MAX_DEPTH: usize = 100;
const MAX_QUEUE_ID_LEN: usize = 200;

/// 1..=200 characters of `[A-Za-z0-9._:-]`.
pub fn validate_queue_id(id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > MAX_QUEUE_ID_LEN {
        return Err(format!(
            "queue id must be 1 to {MAX_QUEUE_ID_LEN} characters long (got {})",
            id.len()
        ));
    }
    if let Some(bad) = id
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')))
    {
        return Err(format!(
            "queue id may only contain letters, digits and . _ : - (found {bad:?})"
        ));
    }
    Ok(())
}

/// The push body's `priority`: absent means 0; otherwise a JSON integer in `0..=MAX_PRIORITY`.
pub fn parse_priority(raw: Option<&RawValue>) -> Result<u32, String> {
    let Some(raw) = raw else { return Ok(0) };
    let text = raw.get();
    if let Ok(value) = text.parse::<u64>() {
        return u32::try_from(value)
            .ok()
            .filter(|p| *p <= MAX_PRIORITY)
            .ok_or_else(|| format!("Priority must be at most {MAX_PRIORITY} (got {value})"));
    }
    if text.parse::<i64>().is_ok() || text.starts_with('-') && text[1..].bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("Priority must be non-negative (got {text})"));
    }
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("Priority must be at most {MAX_PRIORITY} (got {text})"));
    }
    Err(format!("Priority must be an integer (got {})", abbreviate(text)))
}

/// The pop's `depth` query value: absent means 1; otherwise an integer in `1..=MAX_DEPTH`.
pub fn parse_depth(raw: Option<&str>) -> Result<usize, String> {
    let Some(text) = raw else { return Ok(1) };
    match text.trim().parse::<usize>() {
        Ok(depth) if (1..=MAX_DEPTH).contains(&depth) => Ok(depth),
        _ => Err(format!(
            "depth must be an integer from 1 to {MAX_DEPTH} (got {:?})",
            abbreviate(text)
        )),
    }
}

/// The push body's `item` must be a JSON object; its text is kept exactly as sent.
pub fn check_item(raw: Option<&RawValue>) -> Result<&str, String> {
    let Some(raw) = raw else {
        return Err("item is required and must be a JSON object".to_owned());
    };
    let text = raw.get();
    if text.starts_with('{') {
        Ok(text)
    } else {
        Err(format!("item must be a JSON object (got {})", abbreviate(text)))
    }
}

/// Echoing a 1 MiB value into an error message helps no one.
fn abbreviate(text: &str) -> String {
    const LIMIT: usize = 60;
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn queue_ids() {
        assert!(validate_queue_id("load-test-k3j9x0aa").is_ok());
        assert!(validate_queue_id("a.b_c:d-E9").is_ok());
        assert!(validate_queue_id(&"x".repeat(200)).is_ok());
        assert!(validate_queue_id(&"x".repeat(201)).is_err());
        assert!(validate_queue_id("").is_err());
        assert!(validate_queue_id("a b").is_err());
        assert!(validate_queue_id("a/b").is_err());
        assert!(validate_queue_id("é").is_err());
    }

    #[test]
    fn priorities() {
        assert_eq!(parse_priority(None), Ok(0));
        assert_eq!(parse_priority(Some(&raw("0"))), Ok(0));
        assert_eq!(parse_priority(Some(&raw("1000"))), Ok(1000));
        assert!(parse_priority(Some(&raw("1001"))).unwrap_err().contains("at most"));
        assert!(parse_priority(Some(&raw("99999999999999999999999")))
            .unwrap_err()
            .contains("at most"));
        assert!(parse_priority(Some(&raw("-1"))).unwrap_err().contains("non-negative"));
        assert!(parse_priority(Some(&raw("-99999999999999999999999")))
            .unwrap_err()
            .contains("non-negative"));
        assert!(parse_priority(Some(&raw("1.5"))).unwrap_err().contains("integer"));
        assert!(parse_priority(Some(&raw("1e2"))).unwrap_err().contains("integer"));
        assert!(parse_priority(Some(&raw("\"1\""))).unwrap_err().contains("integer"));
        assert!(parse_priority(Some(&raw("null"))).unwrap_err().contains("integer"));
    }

    #[test]
    fn depths() {
        assert_eq!(parse_depth(None), Ok(1));
        assert_eq!(parse_depth(Some("1")), Ok(1));
        assert_eq!(parse_depth(Some("100")), Ok(100));
        for bad in ["0", "101", "-1", "abc", "", "1.0"] {
            assert!(parse_depth(Some(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn items() {
        assert_eq!(check_item(Some(&raw("{\"a\": 1}"))), Ok("{\"a\": 1}"));
        assert_eq!(check_item(Some(&raw("{}"))), Ok("{}"));
        for bad in ["\"s\"", "1", "[1]", "null", "true"] {
            assert!(check_item(Some(&raw(bad))).is_err(), "{bad}");
        }
        assert!(check_item(None).is_err());
        assert!(
            check_item(Some(&raw(&format!("\"{}\"", "x".repeat(500)))))
                .unwrap_err()
                .len()
                < 120
        );
    }
}
