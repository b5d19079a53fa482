//! The numbers in Locust's cells, read fast and exactly as `str::parse` reads them: a word at a time for the
//! common shapes, Clinger's fast path for other short decimals, the standard library for the rest.

use super::words::{bytes_equal, low_bytes, word_at};

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20,
    1e21, 1e22,
];

/// A decimal such as `12.500000`, fast: when its digits fit in 2^53 and it has at most 22 decimals, one division of
/// two exact numbers is correctly rounded (Clinger's fast path), so the result is the one `str::parse` gives, which
/// handles every other case. None for an empty or `N/A` cell; Err for anything else that is not a finite number.
#[inline]
pub(super) fn number(field: &[u8]) -> std::result::Result<Option<f64>, ()> {
    if field.is_empty() || field == b"N/A" {
        return Ok(None);
    }
    let (negative, digits) = match field[0] {
        b'-' => (true, &field[1..]),
        _ => (false, field),
    };
    // two tight loops: the integer digits, then the decimals (Locust writes rates with six)
    let mut mantissa: u64 = 0;
    let mut k = 0;
    while k < digits.len() && digits[k].is_ascii_digit() && k < 18 {
        mantissa = mantissa * 10 + u64::from(digits[k] - b'0');
        k += 1;
    }
    let whole = k;
    let mut decimals = 0;
    if k < digits.len() && digits[k] == b'.' {
        k += 1;
        let first = k;
        while k < digits.len() && digits[k].is_ascii_digit() && whole + (k - first) < 18 {
            mantissa = mantissa * 10 + u64::from(digits[k] - b'0');
            k += 1;
        }
        decimals = k - first;
    }
    if k == digits.len() && whole + decimals > 0 && mantissa <= 1 << 53 && decimals < POW10.len() {
        #[allow(clippy::cast_precision_loss)] // exact: mantissa <= 2^53
        let value = mantissa as f64 / POW10[decimals];
        return Ok(Some(if negative { -value } else { value }));
    }
    std::str::from_utf8(field)
        .ok()
        .and_then(|text| text.trim().parse::<f64>().ok())
        .filter(|value| value.is_finite())
        .map(Some)
        .ok_or(())
}

/// Exact powers of ten as integers, for the decimals of a fast-path number.
pub(super) const POW10_INT: [u64; 9] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000];

/// The value of the `n` (1 to 8) ASCII digits at the start of `word` (first byte lowest), eight bytes at once; None
/// when one of them is not a digit.
#[inline(always)]
#[allow(clippy::inline_always)] // the hot path: measured 5% faster than leaving it to the compiler
pub(super) fn digits(word: u64, n: usize) -> Option<u64> {
    let keep = if n >= 8 { u64::MAX } else { (1u64 << (8 * n)) - 1 };
    let word = word & keep;
    let zeros = 0x3030_3030_3030_3030 & keep;
    let nibbles = 0xF0F0_F0F0_F0F0_F0F0 & keep;
    // each kept byte is 0x30..=0x3F, and still is with 6 added (no carry between bytes): '0' to '9'
    if word & nibbles != zeros || (word + 0x0606_0606_0606_0606) & nibbles != zeros {
        return None;
    }
    // leading zeros where the number is shorter than eight digits, then pairs, fours, eights
    let mut d = (word - zeros) << (8 * (8 - n));
    d = d.wrapping_mul(10).wrapping_add(d >> 8);
    d = ((d & 0x0000_00FF_0000_00FF).wrapping_mul(100 + (1_000_000 << 32))
        + ((d >> 16) & 0x0000_00FF_0000_00FF).wrapping_mul(1 + (10_000 << 32)))
        >> 32;
    Some(d)
}

/// Whether the `n` (1 to 8) bytes at the start of `word` are ASCII digits: `digits`' test without the conversion.
#[inline(always)]
#[allow(clippy::inline_always)]
pub(super) fn all_digits(word: u64, n: usize) -> bool {
    let keep = low_bytes(n);
    let nibbles = 0xF0F0_F0F0_F0F0_F0F0 & keep;
    let zeros = 0x3030_3030_3030_3030 & keep;
    word & nibbles == zeros && (word.wrapping_add(0x0606_0606_0606_0606)) & nibbles == zeros
}

/// The commonest numbers in Locust's files — up to sixteen bytes of digits with at most one dot between them — read
/// a word at a time from `buffer[start..end]` (bytes after `end` may be read, not used): the dot is squeezed out, so
/// that the digits on both sides of it are converted at once. None for anything else, which `number` then reads.
#[inline(always)]
#[allow(clippy::inline_always)] // the hot path: measured 5% faster than leaving it to the compiler
pub(super) fn fast_number(buffer: &[u8], start: usize, end: usize) -> Option<f64> {
    let length = end.checked_sub(start)?;
    if length == 0 || length > 16 {
        return None;
    }
    let low = word_at(buffer, start)?;
    if length <= 8 {
        let dots = bytes_equal(low, b'.') & low_bytes(length);
        if dots == 0 {
            return digits(low, length).map(exact);
        }
        let whole = (dots.trailing_zeros() / 8) as usize;
        let decimals = length - whole - 1;
        if whole == 0 || decimals == 0 {
            return None;
        }
        let below = low_bytes(whole);
        let mantissa = digits((low & below) | ((low >> 8) & !below), length - 1)?;
        // at most fifteen digits, so both exact, and one correctly rounded division (as in `number`)
        return Some(exact(mantissa) / POW10[decimals]);
    }
    // the field's last eight bytes, moved down to follow the first eight: no read past the field's end
    let high = word_at(buffer, end - 8)? >> (8 * (16 - length));
    let dots = u128::from(bytes_equal(low, b'.')) | u128::from(bytes_equal(high, b'.') & low_bytes(length - 8)) << 64;
    if dots == 0 {
        #[allow(clippy::cast_precision_loss)] // a longer integer than 2^53 is rounded once, as `parse` does
        return Some((digits(low, 8)? * POW10_INT[length - 8] + digits(high, length - 8)?) as f64);
    }
    let whole = (dots.trailing_zeros() / 8) as usize;
    let decimals = length - whole - 1;
    if whole == 0 || decimals == 0 {
        return None;
    }
    let text = u128::from(low) | u128::from(high) << 64;
    let below = (1u128 << (8 * whole)) - 1;
    let squeezed = (text & below) | ((text >> 8) & !below);
    #[allow(clippy::cast_possible_truncation)] // the two halves
    let (low, high) = (squeezed as u64, (squeezed >> 64) as u64);
    let mantissa = if length == 9 {
        digits(low, 8)?
    } else {
        digits(low, 8)? * POW10_INT[length - 9] + digits(high, length - 9)?
    };
    Some(exact(mantissa) / POW10[decimals])
}

/// A value below 2^53 as a float: exact, and one instruction (from a signed integer) rather than the several an
/// unsigned one takes.
#[inline(always)]
#[allow(clippy::inline_always, clippy::cast_possible_wrap, clippy::cast_precision_loss)]
fn exact(value: u64) -> f64 {
    value as i64 as f64
}

pub(super) fn count(field: &[u8]) -> std::result::Result<Option<u64>, ()> {
    match number(field)? {
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Some(value) if value >= 0.0 && value.fract() == 0.0 && value < 2f64.powi(63) => Ok(Some(value as u64)),
        Some(_) => Err(()),
        None => Ok(None),
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // small decimals parse exactly
mod tests {
    use super::*;
    use crate::analyze::history::fold::value_in;
    use crate::analyze::history::partial::LastCount;
    use crate::analyze::history::xorshift;

    #[test]
    fn numbers_parse_as_the_standard_library_does() {
        for text in [
            "0",
            "12",
            "12.5",
            "0.000000",
            "10.000000",
            "123456.789012",
            "-3.25",
            "1e3",
            "4.9E-3",
            " 7 ",
            "9007199254740993",
            "0.1",
            "99.99",
        ] {
            let expected = text.trim().parse::<f64>().unwrap();
            assert_eq!(number(text.as_bytes()), Ok(Some(expected)), "{text}");
        }
        assert_eq!(number(b"N/A"), Ok(None));
        assert_eq!(number(b""), Ok(None));
        for bad in ["x", "1.2.3", "inf", "NaN", "--1", "."] {
            assert_eq!(number(bad.as_bytes()), Err(()), "{bad}");
        }
        assert_eq!(count(b"42"), Ok(Some(42)));
        assert_eq!(count(b"4.5"), Err(()));
    }

    #[test]
    #[allow(clippy::cast_possible_truncation)] // small random indices
    fn word_at_a_time_numbers_agree_with_the_standard_library() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let alphabet = b"0123456789.0123456789/:-eN";
        for round in 0..200_000 {
            // mostly well-formed decimals and integers of every length, some with a stray byte
            let length = 1 + (xorshift(&mut state) % 18) as usize;
            let mut text: Vec<u8> = (0..length).map(|_| b'0' + (xorshift(&mut state) % 10) as u8).collect();
            if round % 2 == 0 && length > 1 {
                let at = (xorshift(&mut state) % length as u64) as usize;
                text[at] = b'.';
            }
            if round % 7 == 0 {
                let at = (xorshift(&mut state) % length as u64) as usize;
                text[at] = alphabet[(xorshift(&mut state) % alphabet.len() as u64) as usize];
            }
            // the field sits inside a longer buffer, as in a row
            let mut buffer = text.clone();
            buffer.extend_from_slice(b",1,2,3,4,5,6,7,8,9");
            let expected = std::str::from_utf8(&text).unwrap().parse::<f64>().ok();
            if let Some(fast) = fast_number(&buffer, 0, text.len()) {
                assert_eq!(Some(fast), expected, "{:?}", String::from_utf8_lossy(&text));
            }
            // a count: up to sixteen digits exactly (kept as text), anything else as `count` reads it
            let mut last = LastCount::default();
            let seen = last.see(&buffer, &[], &[(0, text.len(), false)][..], Some(0));
            let expected = if length <= 16 && text.iter().all(u8::is_ascii_digit) {
                Ok(std::str::from_utf8(&text).unwrap().parse::<u64>().ok())
            } else {
                count(&text)
            };
            match expected {
                Ok(value) => assert_eq!(
                    (seen, last.value()),
                    (Ok(()), value),
                    "{:?}",
                    String::from_utf8_lossy(&text)
                ),
                Err(()) => assert_eq!(seen, Err(Some(0)), "{:?}", String::from_utf8_lossy(&text)),
            }
            // and `value_in` (fast or not) always gives what `number` gives
            assert_eq!(
                value_in(&buffer, &[], &[(0, text.len(), false)][..], Some(0)).ok(),
                number(&text).ok().map(|v| v.unwrap_or(f64::NAN)),
                "{:?}",
                String::from_utf8_lossy(&text)
            );
        }
        // the common shapes do take the fast path, and at the very end of a buffer fall back to `number`
        assert_eq!(fast_number(b"12.345678,1,2,3", 0, 9), Some(12.345_678));
        assert_eq!(fast_number(b"1795000000,1,2,3,4", 0, 10), Some(1_795_000_000.0));
        let mut last = LastCount::default();
        assert_eq!(
            last.see(b"1234567890123456,", &[], &[(0, 16, false)][..], Some(0)),
            Ok(())
        );
        assert_eq!((last.length, last.value()), (16, Some(1_234_567_890_123_456)));
        assert_eq!(last.see(b"N/A,", &[], &[(0, 3, false)][..], Some(0)), Ok(()), "kept");
        assert_eq!(last.value(), Some(1_234_567_890_123_456));
        assert_eq!(
            last.see(b"4.5,1,2,3,4", &[], &[(0, 3, false)][..], Some(0)),
            Err(Some(0))
        );
        assert_eq!(fast_number(b"12.5", 0, 4), None);
        assert_eq!(value_in(b"12.5", &[], &[(0, 4, false)][..], Some(0)), Ok(12.5));
        assert_eq!(
            value_in(b"N/A,1,2,3,4", &[], &[(0, 3, false)][..], Some(0)).map(f64::is_nan),
            Ok(true)
        );
    }
}
