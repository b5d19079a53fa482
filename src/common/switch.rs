/// `on`/`off` (also `true`/`false`, `yes`/`no`, `1`/`0`, any case), as the Locust options `--pp-integrity` and
/// `--pp-drain` take it.
pub fn parse_switch(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        _ => Err(format!("expected on or off (got '{text}')")),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_switch;

    #[test]
    fn both_ways_and_nothing_else() {
        for (text, value) in [
            ("on", true),
            (" YES", true),
            ("1", true),
            ("Off", false),
            ("false", false),
        ] {
            assert_eq!(parse_switch(text), Ok(value), "{text}");
        }
        for bad in ["", "maybe", "2", "onn"] {
            assert!(parse_switch(bad).unwrap_err().contains("expected on or off"), "{bad}");
        }
    }
}
