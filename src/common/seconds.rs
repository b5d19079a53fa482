/// `500ms`, `30s`, `2m`, `1h` or a plain number of seconds, as seconds; None for anything else (or a value that is
/// not finite). Whether zero or a negative value is acceptable is the caller's to say.
#[must_use]
pub fn parse_seconds(text: &str) -> Option<f64> {
    let text = text.trim();
    let (number, scale) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 0.001)
    } else if let Some(s) = text.strip_suffix('s') {
        (s, 1.0)
    } else if let Some(m) = text.strip_suffix('m') {
        (m, 60.0)
    } else if let Some(h) = text.strip_suffix('h') {
        (h, 3600.0)
    } else {
        (text, 1.0)
    };
    number
        .trim()
        .parse::<f64>()
        .ok()
        .map(|value| value * scale)
        .filter(|seconds| seconds.is_finite())
}

#[cfg(test)]
mod tests {
    use super::parse_seconds;

    #[test]
    #[allow(clippy::float_cmp)] // exact decimals
    fn units() {
        for (text, seconds) in [
            ("500ms", 0.5),
            ("30s", 30.0),
            (" 2m", 120.0),
            ("1h", 3600.0),
            ("0.25", 0.25),
            ("-1s", -1.0),
        ] {
            assert_eq!(parse_seconds(text), Some(seconds), "{text}");
        }
        for bad in ["", "s", "ten", "1d", "inf", "1e400"] {
            assert_eq!(parse_seconds(bad), None, "{bad}");
        }
    }
}
