/// Parses a byte count such as `1048576`, `512KiB`, `1MiB`, `64k` or `2M` (binary multiples, case-insensitive).
pub fn parse_byte_size(text: &str) -> Result<usize, String> {
    let trimmed = text.trim();
    let split = trimmed.find(|c: char| !c.is_ascii_digit()).unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(split);
    let multiplier: usize = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => {
            return Err(format!(
                "unknown size unit '{other}' in '{text}' (use B, KiB, MiB or GiB)"
            ))
        }
    };
    let count: usize = digits
        .parse()
        .map_err(|_| format!("'{text}' is not a size (e.g. 1048576, 512KiB, 1MiB)"))?;
    count
        .checked_mul(multiplier)
        .ok_or_else(|| format!("size '{text}' is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse_byte_size;

    #[test]
    fn units() {
        assert_eq!(parse_byte_size("1048576"), Ok(1_048_576));
        assert_eq!(parse_byte_size("1MiB"), Ok(1_048_576));
        assert_eq!(parse_byte_size("512k"), Ok(524_288));
        assert_eq!(parse_byte_size(" 2 M "), Ok(2 << 20));
        assert_eq!(parse_byte_size("0"), Ok(0));
    }

    #[test]
    fn rejects() {
        assert!(parse_byte_size("").is_err());
        assert!(parse_byte_size("MiB").is_err());
        assert!(parse_byte_size("-1").is_err());
        assert!(parse_byte_size("1.5MiB").is_err());
        assert!(parse_byte_size("3 parsecs").unwrap_err().contains("unknown size unit"));
        assert!(parse_byte_size("99999999999999999999").is_err());
    }
}
