//! JSON text exactly as Python's `json.dumps` writes it with its defaults, for request bodies encoded natively.

use std::fmt::Write as _;

/// A string as `json.dumps` writes it by default (`ensure_ascii=True`): everything outside printable ASCII
/// escaped, lower-case hex, characters beyond the BMP as surrogate pairs.
pub fn json_string(text: &str, out: &mut String) {
    out.push('"');
    if text
        .bytes()
        .all(|byte| matches!(byte, b' '..=b'~') && byte != b'"' && byte != b'\\')
    {
        // nothing to escape (the usual key or payload): one copy instead of a push per character
        out.push_str(text);
        out.push('"');
        return;
    }
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
        }
    }
    out.push('"');
}

/// `repr(float)`, which `json.dumps` uses: the shortest digits that read back the same, positional from 1e-4 up to
/// 1e16, else with an exponent of at least two digits and a sign (`1e+16`, `1.5e-07`); NaN and the infinities as
/// `json.dumps` spells them.
pub fn json_float(value: f64, out: &mut String) {
    if value.is_nan() {
        out.push_str("NaN");
        return;
    }
    if value.is_infinite() {
        out.push_str(if value > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    // ryu's digits are Python's: the shortest that read back the same, ties to even (Rust's own `{:e}` breaks
    // ties the other way: 2080947015342349.25 is …349.3 there, …349.2 in Python)
    let mut buffer = ryu::Buffer::new();
    let text = buffer.format_finite(value);
    if !text.contains(['e', 'E']) && (value == 0.0 || value.abs() >= 1e-4) {
        // ryu's positional form is repr's from 1e-4 up to 1e16 (it stays positional down to 1e-5, where repr has
        // an exponent): the usual float (a timestamp, a price) is written as ryu wrote it, without the rebuild below
        out.push_str(text);
        return;
    }
    let (sign, text) = text.strip_prefix('-').map_or(("", text), |rest| ("-", rest));
    let (mantissa, exponent) = text.split_once(['e', 'E']).unwrap_or((text, "0"));
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all: String = whole.chars().chain(fraction.chars()).collect();
    let leading = all.len() - all.trim_start_matches('0').len();
    let digits = all.trim_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    // the value is 0.DIGITS × 10^(whole.len() - leading + exponent): in scientific form one less
    let exponent: i32 = exponent.parse::<i32>().unwrap_or(0) + i32::try_from(whole.len()).unwrap_or(0)
        - i32::try_from(leading).unwrap_or(0)
        - 1;
    let exponent = if all.trim_matches('0').is_empty() { 0 } else { exponent };
    out.push_str(sign);
    if (-4..16).contains(&exponent) {
        if exponent < 0 {
            out.push_str("0.");
            for _ in 0..(-exponent - 1) {
                out.push('0');
            }
            out.push_str(digits);
        } else {
            let point = usize::try_from(exponent).unwrap_or(0) + 1;
            if digits.len() > point {
                out.push_str(&digits[..point]);
                out.push('.');
                out.push_str(&digits[point..]);
            } else {
                out.push_str(digits);
                for _ in digits.len()..point {
                    out.push('0');
                }
                out.push_str(".0");
            }
        }
    } else {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exponent < 0 { '-' } else { '+' }, exponent.abs());
    }
}

#[cfg(test)]
mod tests {
    use super::{json_float, json_string};

    fn repr(value: f64) -> String {
        let mut out = String::new();
        json_float(value, &mut out);
        out
    }

    #[test]
    fn floats_as_python_writes_them() {
        // each pair checked against CPython's repr()
        for (value, python) in [
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (1.0, "1.0"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-0.0001, "-0.0001"),
            (0.000_099_999, "9.9999e-05"),
            (0.000_012_34, "1.234e-05"),
            (9_999_999_999_999_998.0, "9999999999999998.0"),
            (1.5e-7, "1.5e-07"),
            (123_456.789, "123456.789"),
            (1_764_204_000.123_456, "1764204000.123456"),
            (1e15, "1000000000000000.0"),
            (1_234_567_890_123_456.0, "1234567890123456.0"),
            (1e16, "1e+16"),
            (1.2345e22, "1.2345e+22"),
            (-2.5e-300, "-2.5e-300"),
            (2_080_947_015_342_349.2, "2080947015342349.2"),
            (f64::MAX, "1.7976931348623157e+308"),
            (5e-324, "5e-324"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ] {
            assert_eq!(repr(value), python, "{value:e}");
        }
    }

    #[test]
    fn strings_as_python_writes_them() {
        let mut out = String::new();
        json_string("a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{7f} é€😀~", &mut out);
        // json.dumps('a"b\\c\n\r\t\b\f\x01\x7f é€😀~')
        assert_eq!(out, r#""a\"b\\c\n\r\t\b\f\u0001\u007f \u00e9\u20ac\ud83d\ude00~""#);
        out.clear();
        json_string("plain ~ text {}", &mut out);
        assert_eq!(out, r#""plain ~ text {}""#);
    }
}
