//! Value parsers: booleans, numbers, and a small compiled strftime for dates and times that accepts fields
//! without leading zeros (`7/4/2017`) and refuses anything it cannot read whole (`05/082025`).

use crate::values::SHORT;
use chrono::{NaiveDate, NaiveTime};

/// Why a value could not be read.
pub(crate) type ParseResult<T> = Result<T, String>;

/// Parses an integer: `38`, `-2`, `+7`, and `38.0` (sources that store integers as floats).
pub(crate) fn parse_int(s: &str) -> ParseResult<i64> {
    let b = s.as_bytes();
    let (neg, digits) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        Some(b'+') => (false, &b[1..]),
        _ => (false, b),
    };
    let (int_part, frac) = match digits.iter().position(|&c| c == b'.') {
        Some(i) => (&digits[..i], &digits[i + 1..]),
        None => (digits, &digits[digits.len()..]),
    };
    if int_part.is_empty() || !int_part.iter().all(u8::is_ascii_digit) || !frac.iter().all(|&c| c == b'0') {
        return Err("not a whole number".into());
    }
    let mut v: i64 = 0;
    for &c in int_part {
        v = v.checked_mul(10).and_then(|v| v.checked_add(i64::from(c - b'0'))).ok_or("number too large")?;
    }
    Ok(if neg { -v } else { v })
}

/// Parses a finite decimal number.
pub(crate) fn parse_float(s: &str) -> ParseResult<f64> {
    if let Some(v) = short_decimal(s) {
        return Ok(v);
    }
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err("not a number".into()),
    }
}

/// `[-+]digits[.digits]` with at most 15 digits, read exactly (Clinger's fast path: the digits as an
/// integer below 2^53 and a power of ten up to 10^22 are both exact doubles, and one IEEE division rounds
/// correctly); None for anything else, which the standard parser then reads.
fn short_decimal(s: &str) -> Option<f64> {
    const POW10: [f64; 16] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];
    let b = s.as_bytes();
    let (neg, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    let (mut mant, mut n, mut frac, mut dot) = (0u64, 0usize, 0usize, false);
    for &c in digits {
        match c {
            b'0'..=b'9' => {
                mant = mant * 10 + u64::from(c - b'0');
                n += 1;
                frac += usize::from(dot);
                if n > 15 {
                    return None;
                }
            }
            b'.' if !dot => dot = true,
            _ => return None,
        }
    }
    if n == 0 {
        return None;
    }
    let v = mant as f64 / POW10[frac];
    Some(if neg { -v } else { v })
}

/// The spellings of true and false a field accepts (compared case-insensitively).
#[derive(Debug, Clone)]
pub(crate) struct BoolWords {
    truthy: Vec<String>,
    falsy: Vec<String>,
    /// Every ASCII spelling of up to `SHORT` bytes, in lower case and zero-padded, with its length and meaning.
    short: Vec<(u128, usize, bool)>,
    /// Values met, exactly as spelled, with their meaning.
    seen: crate::values::ShortMemo<bool>,
}

/// An ASCII value of up to `SHORT` bytes in lower case, zero-padded, as a number.
fn folded(s: &str) -> u128 {
    let mut buf = crate::values::packed(s).to_le_bytes();
    buf.make_ascii_lowercase();
    u128::from_le_bytes(buf)
}

impl Default for BoolWords {
    fn default() -> Self {
        Self::new(None, None)
    }
}

impl BoolWords {
    /// The spellings a profile gives, or the defaults (true t yes y 1 / false f no n 0).
    pub(crate) fn new(truthy: Option<Vec<String>>, falsy: Option<Vec<String>>) -> Self {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect();
        let truthy = truthy.unwrap_or_else(|| v(&["true", "t", "yes", "y", "1"]));
        let falsy = falsy.unwrap_or_else(|| v(&["false", "f", "no", "n", "0"]));
        let short = truthy
            .iter()
            .map(|w| (w, true))
            .chain(falsy.iter().map(|w| (w, false)))
            .filter(|(w, _)| w.is_ascii() && w.len() <= SHORT)
            .map(|(w, b)| (folded(w), w.len(), b))
            .collect();
        Self { truthy, falsy, short, seen: crate::values::ShortMemo::default() }
    }

    /// [`BoolWords::parse`], remembering the first few short spellings met (a column uses two or three).
    pub(crate) fn parse_cached(&mut self, s: &str) -> ParseResult<bool> {
        if let Some(&b) = self.seen.get(s) {
            return Ok(b);
        }
        let b = self.parse(s)?;
        self.seen.keep(s, b);
        Ok(b)
    }

    pub(crate) fn parse(&self, s: &str) -> ParseResult<bool> {
        if s.len() <= SHORT && s.is_ascii() {
            // The first spelling that matches, true before false, as in the general comparison below.
            let (v, n) = (folded(s), s.len());
            if let Some((_, _, b)) = self.short.iter().find(|w| w.0 == v && w.1 == n) {
                return Ok(*b);
            }
        }
        if self.truthy.iter().any(|w| w.eq_ignore_ascii_case(s)) {
            Ok(true)
        } else if self.falsy.iter().any(|w| w.eq_ignore_ascii_case(s)) {
            Ok(false)
        } else {
            Err(format!("not a boolean (expected one of {} / {})", self.truthy.join(", "), self.falsy.join(", ")))
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Year4,
    Year2,
    Month,
    MonthName,
    Day,
    Hour24,
    Hour12,
    AmPm,
    Minute,
    Second,
    /// Optional `.digits`.
    OptFraction,
    /// Required digits (after a literal `.`).
    Fraction,
    Offset,
    Space,
    Lit(char),
}

/// A compiled date/time format (a subset of strftime): `%Y %y %m %d %e %b %B %H %I %p %M %S %f %.f %z %F %T
/// %D %%`. Numeric fields take one digit or two (four for `%Y`); a space matches any run of blanks.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DateFormat {
    toks: Vec<Tok>,
    /// Per token: it stands beside another number with no separator, so it must have all its digits.
    exact: Vec<bool>,
    /// Per token: it starts such a run of numbers, which needs this many digits in all.
    run_width: Vec<Option<usize>>,
    pub(crate) source: String,
    /// The format is `%Y-%m-%d` or `%H:%M:%S`: values with every digit present take a short path.
    fixed: Option<Fixed>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fixed {
    IsoDate,
    IsoTime,
}

/// What a format read from a value.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct DateTimeParts {
    pub(crate) date: Option<NaiveDate>,
    pub(crate) time: Option<NaiveTime>,
    /// UTC offset in seconds, where the value carried one (`Z`, `+02:00`).
    pub(crate) offset: Option<i32>,
}

impl DateFormat {
    pub(crate) fn compile(fmt: &str) -> Result<Self, String> {
        let mut toks = Vec::new();
        let mut it = fmt.chars().peekable();
        while let Some(c) = it.next() {
            if c != '%' {
                toks.push(if c == ' ' { Tok::Space } else { Tok::Lit(c) });
                continue;
            }
            let spec = it.next().ok_or_else(|| format!("format {fmt:?} ends with a lone %"))?;
            match spec {
                'Y' => toks.push(Tok::Year4),
                'y' => toks.push(Tok::Year2),
                'm' => toks.push(Tok::Month),
                'b' | 'h' | 'B' => toks.push(Tok::MonthName),
                'd' | 'e' => toks.push(Tok::Day),
                'H' | 'k' => toks.push(Tok::Hour24),
                'I' | 'l' => toks.push(Tok::Hour12),
                'p' | 'P' => toks.push(Tok::AmPm),
                'M' => toks.push(Tok::Minute),
                'S' => toks.push(Tok::Second),
                'f' => toks.push(Tok::Fraction),
                '.' => {
                    if it.next() != Some('f') {
                        return Err(format!("format {fmt:?}: %. must be followed by f"));
                    }
                    toks.push(Tok::OptFraction);
                }
                'z' | 'Z' => toks.push(Tok::Offset),
                'F' => toks.extend([Tok::Year4, Tok::Lit('-'), Tok::Month, Tok::Lit('-'), Tok::Day]),
                'T' => toks.extend([Tok::Hour24, Tok::Lit(':'), Tok::Minute, Tok::Lit(':'), Tok::Second]),
                'R' => toks.extend([Tok::Hour24, Tok::Lit(':'), Tok::Minute]),
                'D' => toks.extend([Tok::Month, Tok::Lit('/'), Tok::Day, Tok::Lit('/'), Tok::Year2]),
                '%' => toks.push(Tok::Lit('%')),
                other => return Err(format!("format {fmt:?}: %{other} is not supported")),
            }
        }
        if toks.is_empty() {
            return Err("empty date format".into());
        }
        // Numbers written side by side with no separator (`%H%M`, `%m%d%Y`) can only be told apart when
        // each has all its digits: `100` as `%H%M` is 01:00 or 10:00.
        let width = |t: &Tok| match t {
            Tok::Year4 => Some(4),
            Tok::Year2 | Tok::Month | Tok::Day | Tok::Hour24 | Tok::Hour12 | Tok::Minute | Tok::Second => Some(2),
            _ => None,
        };
        let mut exact = vec![false; toks.len()];
        let mut run_width = vec![None; toks.len()];
        let mut k = 0;
        while k < toks.len() {
            let mut end = k;
            while end < toks.len() && width(&toks[end]).is_some() {
                end += 1;
            }
            if end - k >= 2 {
                run_width[k] = Some(toks[k..end].iter().filter_map(width).sum());
                exact[k..end].iter_mut().for_each(|e| *e = true);
            }
            k = end.max(k + 1);
        }
        let fixed = if toks == [Tok::Year4, Tok::Lit('-'), Tok::Month, Tok::Lit('-'), Tok::Day] {
            Some(Fixed::IsoDate)
        } else if toks == [Tok::Hour24, Tok::Lit(':'), Tok::Minute, Tok::Lit(':'), Tok::Second] {
            Some(Fixed::IsoTime)
        } else {
            None
        };
        Ok(Self { toks, exact, run_width, source: fmt.to_owned(), fixed })
    }

    /// Whether the format reads a date / a time of day.
    pub(crate) fn has_date(&self) -> bool {
        self.toks.iter().any(|t| matches!(t, Tok::Day))
    }
    pub(crate) fn has_time(&self) -> bool {
        self.toks.iter().any(|t| matches!(t, Tok::Hour24 | Tok::Hour12))
    }

    pub(crate) fn parse(&self, s: &str) -> ParseResult<DateTimeParts> {
        if let Some(p) = self.parse_fixed(s) {
            return Ok(p);
        }
        let b = s.as_bytes();
        let mut i = 0usize;
        let (mut year, mut month, mut day) = (None::<i32>, None::<u32>, None::<u32>);
        let (mut hour, mut minute, mut second, mut nanos) = (None::<u32>, 0u32, 0u32, 0u32);
        let mut pm: Option<bool> = None;
        let mut offset = None;
        let what = if self.has_date() { "date" } else { "time" };
        let bad = || format!("does not match the {what} format {:?}", self.source);
        for (k, tok) in self.toks.iter().enumerate() {
            if let Some(width) = self.run_width[k] {
                let digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                if digits < width {
                    return Err(format!(
                        "ambiguous {what}: {what} format {:?} writes {width} digits side by side here and the value has \
                         {digits}, so it can be read more than one way (\"100\" as %H%M is 01:00 or 10:00); if the \
                         source drops leading zeros, declare pad = {{ width = {}, with = \"0\" }}",
                        self.source,
                        b.len() + width - digits
                    ));
                }
            }
            let lo = if self.exact[k] { 2 } else { 1 };
            match tok {
                Tok::Year4 => year = Some(num(b, &mut i, 4, 4).ok_or_else(bad)? as i32),
                Tok::Year2 => {
                    let y = num(b, &mut i, 2, 2).ok_or_else(bad)? as i32;
                    year = Some(if y >= 69 { 1900 + y } else { 2000 + y });
                }
                Tok::Month => month = Some(num(b, &mut i, lo, 2).ok_or_else(bad)?),
                Tok::MonthName => month = Some(month_name(b, &mut i).ok_or_else(bad)?),
                Tok::Day => day = Some(num(b, &mut i, lo, 2).ok_or_else(bad)?),
                Tok::Hour24 | Tok::Hour12 => hour = Some(num(b, &mut i, lo, 2).ok_or_else(bad)?),
                Tok::Minute => minute = num(b, &mut i, lo, 2).ok_or_else(bad)?,
                Tok::Second => second = num(b, &mut i, lo, 2).ok_or_else(bad)?,
                Tok::AmPm => {
                    let rest = b.get(i..i + 2).ok_or_else(bad)?;
                    pm = Some(match rest.to_ascii_uppercase().as_slice() {
                        b"AM" => false,
                        b"PM" => true,
                        _ => return Err(bad()),
                    });
                    i += 2;
                }
                Tok::OptFraction => {
                    if b.get(i) == Some(&b'.') {
                        i += 1;
                        nanos = fraction(b, &mut i).ok_or_else(bad)?;
                    }
                }
                Tok::Fraction => nanos = fraction(b, &mut i).ok_or_else(bad)?,
                Tok::Offset => offset = Some(parse_offset(b, &mut i).ok_or_else(bad)?),
                Tok::Space => {
                    let start = i;
                    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
                        i += 1;
                    }
                    if i == start {
                        return Err(bad());
                    }
                }
                Tok::Lit(c) => {
                    let mut buf = [0u8; 4];
                    let lit = c.encode_utf8(&mut buf).as_bytes();
                    if b.get(i..i + lit.len()) != Some(lit) {
                        return Err(bad());
                    }
                    i += lit.len();
                }
            }
        }
        if i != b.len() {
            return Err(bad());
        }
        let date = match (year, month, day) {
            (Some(y), Some(m), Some(d)) => Some(
                NaiveDate::from_ymd_opt(y, m, d)
                    .ok_or_else(|| format!("{y:04}-{m:02}-{d:02} is not a calendar date"))?,
            ),
            (None, None, None) => None,
            _ => return Err(format!("date format {:?} needs a year, a month and a day", self.source)),
        };
        let time = match hour {
            Some(mut h) => {
                if let Some(pm) = pm {
                    if !(1..=12).contains(&h) {
                        return Err(format!("hour {h} is not a 12-hour clock hour"));
                    }
                    h = match (h, pm) {
                        (12, false) => 0,
                        (12, true) => 12,
                        (h, true) => h + 12,
                        (h, false) => h,
                    };
                }
                Some(
                    NaiveTime::from_hms_nano_opt(h, minute, second, nanos)
                        .ok_or_else(|| format!("{h:02}:{minute:02}:{second:02} is not a time of day"))?,
                )
            }
            None => None,
        };
        Ok(DateTimeParts { date, time, offset })
    }
}

impl DateFormat {
    /// `2017-07-04` and `06:05:00` (every digit present) without the general token loop; None for anything
    /// else, including invalid dates and times, which the general path then reports.
    fn parse_fixed(&self, s: &str) -> Option<DateTimeParts> {
        let b = s.as_bytes();
        let two = |i: usize| -> Option<u32> {
            let (x, y) = (b[i].wrapping_sub(b'0'), b[i + 1].wrapping_sub(b'0'));
            (x < 10 && y < 10).then(|| u32::from(x) * 10 + u32::from(y))
        };
        match self.fixed? {
            Fixed::IsoDate if b.len() == 10 && b[4] == b'-' && b[7] == b'-' => {
                let year = two(0)? * 100 + two(2)?;
                let date = NaiveDate::from_ymd_opt(year as i32, two(5)?, two(8)?)?;
                Some(DateTimeParts { date: Some(date), ..Default::default() })
            }
            Fixed::IsoTime if b.len() == 8 && b[2] == b':' && b[5] == b':' => {
                let time = NaiveTime::from_hms_opt(two(0)?, two(3)?, two(6)?)?;
                Some(DateTimeParts { time: Some(time), ..Default::default() })
            }
            _ => None,
        }
    }
}

fn num(b: &[u8], i: &mut usize, min: usize, max: usize) -> Option<u32> {
    let start = *i;
    let mut v = 0u32;
    while *i < b.len() && *i - start < max && b[*i].is_ascii_digit() {
        v = v * 10 + u32::from(b[*i] - b'0');
        *i += 1;
    }
    (*i - start >= min).then_some(v)
}

fn fraction(b: &[u8], i: &mut usize) -> Option<u32> {
    let start = *i;
    let mut v = 0u64;
    while *i < b.len() && b[*i].is_ascii_digit() {
        if *i - start < 9 {
            v = v * 10 + u64::from(b[*i] - b'0');
        }
        *i += 1;
    }
    let n = *i - start;
    if n == 0 {
        return None;
    }
    let scale = 10u64.pow(9u32.saturating_sub(n.min(9) as u32));
    Some((v * scale) as u32)
}

fn month_name(b: &[u8], i: &mut usize) -> Option<u32> {
    const NAMES: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let rest = &b[*i..];
    for (k, name) in NAMES.iter().enumerate() {
        let full = name.as_bytes();
        if rest.len() >= full.len() && rest[..full.len()].eq_ignore_ascii_case(full) {
            *i += full.len();
            return Some(k as u32 + 1);
        }
    }
    for (k, name) in NAMES.iter().enumerate() {
        let abbr = &name.as_bytes()[..3];
        if rest.len() >= 3 && rest[..3].eq_ignore_ascii_case(abbr) {
            *i += 3;
            return Some(k as u32 + 1);
        }
    }
    None
}

fn parse_offset(b: &[u8], i: &mut usize) -> Option<i32> {
    match b.get(*i)? {
        b'Z' | b'z' => {
            *i += 1;
            Some(0)
        }
        sign @ (b'+' | b'-') => {
            let neg = *sign == b'-';
            *i += 1;
            let h = num(b, i, 2, 2)? as i32;
            if b.get(*i) == Some(&b':') {
                *i += 1;
            }
            let m = num(b, i, 2, 2).unwrap_or(0) as i32;
            let secs = h * 3600 + m * 60;
            Some(if neg { -secs } else { secs })
        }
        _ => None,
    }
}

/// Reads the ISO forms a typed source (Parquet) produces: `2017-01-31`, `2017-01-31 06:00:42[.123]`,
/// `2017-01-31T06:00:42Z`, `06:00:42`.
pub(crate) fn parse_iso(s: &str) -> ParseResult<DateTimeParts> {
    thread_local! {
        static FORMATS: Vec<DateFormat> = [
            "%Y-%m-%d", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f%z",
            "%Y-%m-%dT%H:%M:%S%.f%z", "%H:%M:%S%.f", "%H:%M",
        ]
        .iter()
        .map(|f| DateFormat::compile(f).expect("built-in format"))
        .collect();
    }
    FORMATS.with(|fs| fs.iter().find_map(|f| f.parse(s).ok()).ok_or_else(|| "not an ISO date or time".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn time(fmt: &str, s: &str) -> Result<NaiveTime, String> {
        DateFormat::compile(fmt).unwrap().parse(s).map(|p| p.time.unwrap())
    }

    #[test]
    fn compact_times_are_read_only_when_every_digit_is_there() {
        // Never a wrong time: a value shorter than %H%M's four digits has several readings.
        for short in ["5", "45", "100", "238"] {
            let e = time("%H%M", short).unwrap_err();
            assert!(e.starts_with("ambiguous time"), "{short}: {e}");
            assert!(e.contains("pad = { width = 4"), "{short}: {e}");
        }
        assert_eq!(time("%H%M", "2359").unwrap(), NaiveTime::from_hms_opt(23, 59, 0).unwrap());
        assert_eq!(time("%H%M", "0100").unwrap(), NaiveTime::from_hms_opt(1, 0, 0).unwrap());
        assert!(time("%H%M", "12345").unwrap_err().contains("does not match the time format"));
        assert!(time("%H%M", "2360").unwrap_err().contains("is not a time of day"));
        // With separators, missing zeros are no ambiguity.
        assert_eq!(time("%H:%M", "1:05").unwrap(), NaiveTime::from_hms_opt(1, 5, 0).unwrap());
        assert_eq!(time("%H%M%S", "010203").unwrap(), NaiveTime::from_hms_opt(1, 2, 3).unwrap());
        assert!(time("%H%M%S", "10203").unwrap_err().starts_with("ambiguous"));
    }

    #[test]
    fn compact_dates_without_the_months_zero_are_ambiguous() {
        let f = DateFormat::compile("%m%d%Y").unwrap();
        let date = |s: &str| f.parse(s).map(|p| p.date.unwrap());
        assert_eq!(date("12312014").unwrap(), d("2014-12-31"));
        assert_eq!(date("01012014").unwrap(), d("2014-01-01"));
        let e = date("1012014").unwrap_err();
        assert!(e.starts_with("ambiguous date") && e.contains("width = 8"), "{e}");
        let f = DateFormat::compile("%Y%m%d").unwrap();
        assert_eq!(f.parse("20140704").unwrap().date.unwrap(), d("2014-07-04"));
        assert!(f.parse("2014074").unwrap_err().starts_with("ambiguous"));
        // Separated fields keep reading without leading zeros.
        let f = DateFormat::compile("%m/%d/%Y").unwrap();
        assert_eq!(f.parse("7/4/2017").unwrap().date.unwrap(), d("2017-07-04"));
    }

    #[test]
    fn integers_accept_float_spellings_with_zero_fractions_only() {
        assert_eq!(parse_int("38").unwrap(), 38);
        assert_eq!(parse_int("1949.0").unwrap(), 1949);
        assert_eq!(parse_int("-3").unwrap(), -3);
        assert!(parse_int("38.5").is_err());
        assert!(parse_int("abc").is_err());
        assert!(parse_int("").is_err());
        assert!(parse_int("99999999999999999999").is_err());
    }

    #[test]
    fn short_decimals_read_bit_for_bit_as_the_standard_parser_does() {
        use rand_chacha::ChaCha8Rng;
        use rand_chacha::rand_core::{Rng, SeedableRng};
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut cases: Vec<String> =
            ["0", "-0", "+7", "1.", ".5", "-.25", "41.7976000", "-72.6150000", "999999999999999", "0.1", "1e5", "."]
                .iter()
                .map(|s| s.to_string())
                .collect();
        for _ in 0..200_000 {
            let int = rng.next_u64() % 10u64.pow(1 + rng.next_u32() % 9);
            let fr = rng.next_u64() % 10u64.pow(rng.next_u32() % 9);
            let sign = ["", "-", "+"][(rng.next_u32() % 3) as usize];
            cases.push(format!("{sign}{int}.{fr:0width$}", width = (rng.next_u32() % 9) as usize));
        }
        for c in &cases {
            let want = c.parse::<f64>().ok().filter(|v| v.is_finite());
            assert_eq!(parse_float(c).ok().map(f64::to_bits), want.map(f64::to_bits), "{c}");
            if let Some(v) = short_decimal(c) {
                assert_eq!(Some(v.to_bits()), want.map(f64::to_bits), "{c}");
            }
        }
    }

    #[test]
    fn floats_refuse_nan_and_infinity() {
        assert_eq!(parse_float("41.7321894").unwrap(), 41.7321894);
        assert!(parse_float("NaN").is_err());
        assert!(parse_float("inf").is_err());
    }

    #[test]
    fn booleans_use_the_default_or_given_spellings() {
        let w = BoolWords::default();
        assert!(w.parse("TRUE").unwrap());
        assert!(!w.parse("No").unwrap());
        assert!(w.parse("maybe").unwrap_err().contains("not a boolean"));
        assert!(w.parse("y").unwrap() && !w.parse("0").unwrap() && w.parse("True").unwrap());
        assert!(w.parse("a much longer value than any word").is_err());
        let w = BoolWords::new(Some(vec!["Sí".into(), "X".into()]), Some(vec!["No".into(), "".into()]));
        assert!(w.parse("SÍ").is_err() && w.parse("Sí").unwrap() && w.parse("x").unwrap());
        assert!(!w.parse("NO").unwrap() && !w.parse("").unwrap());
        let mut w = BoolWords::default();
        for _ in 0..3 {
            assert!(w.parse_cached("TRUE").unwrap() && !w.parse_cached("False").unwrap());
            assert!(w.parse_cached("maybe").is_err());
        }
    }

    #[test]
    fn dates_without_leading_zeros_parse_and_run_together_fields_do_not() {
        let f = DateFormat::compile("%m/%d/%Y").unwrap();
        assert_eq!(f.parse("7/4/2017").unwrap().date, Some(d("2017-07-04")));
        assert_eq!(f.parse("07/04/2017").unwrap().date, Some(d("2017-07-04")));
        assert!(f.parse("05/082025").is_err());
        assert!(f.parse("7/72025").is_err());
        assert!(f.parse("02/30/2017").unwrap_err().contains("not a calendar date"));
        assert!(f.parse("7/4/2017 x").is_err());
    }

    #[test]
    fn times_read_12_and_24_hour_clocks_fractions_and_offsets() {
        let f = DateFormat::compile("%H:%M:%S").unwrap();
        assert_eq!(f.parse("3:57:00").unwrap().time, NaiveTime::from_hms_opt(3, 57, 0));
        let f = DateFormat::compile("%m/%d/%Y %I:%M %p").unwrap();
        let p = f.parse("1/2/2018  12:05 am").unwrap();
        assert_eq!(p.time, NaiveTime::from_hms_opt(0, 5, 0));
        let f = DateFormat::compile("%Y-%m-%dT%H:%M:%S%.f%z").unwrap();
        let p = f.parse("2017-01-01T06:00:42Z").unwrap();
        assert_eq!((p.date, p.time, p.offset), (Some(d("2017-01-01")), NaiveTime::from_hms_opt(6, 0, 42), Some(0)));
        let p = f.parse("2017-01-01T06:00:42.5-05:00").unwrap();
        assert_eq!(p.offset, Some(-5 * 3600));
        assert_eq!(p.time, NaiveTime::from_hms_milli_opt(6, 0, 42, 500));
    }

    #[test]
    fn iso_dates_and_times_with_every_digit_take_the_short_path_and_agree_with_the_general_one() {
        let f = DateFormat::compile("%Y-%m-%d").unwrap();
        assert_eq!(f.parse_fixed("2017-07-04").unwrap().date, Some(d("2017-07-04")));
        assert_eq!(f.parse("2017-07-04").unwrap().date, Some(d("2017-07-04")));
        // Not every digit, or not a date: the general path decides.
        assert!(f.parse_fixed("2017-7-04").is_none());
        assert_eq!(f.parse("2017-7-4").unwrap().date, Some(d("2017-07-04")));
        assert!(f.parse_fixed("2017-02-30").is_none());
        assert!(f.parse("2017-02-30").unwrap_err().contains("not a calendar date"));
        assert!(f.parse("2017-0a-01").is_err());
        assert!(f.parse("2017/07/04").is_err());
        let t = DateFormat::compile("%H:%M:%S").unwrap();
        assert_eq!(t.parse_fixed("06:05:09").unwrap().time, NaiveTime::from_hms_opt(6, 5, 9));
        assert!(t.parse_fixed("24:00:00").is_none());
        assert!(t.parse("24:00:00").unwrap_err().contains("not a time of day"));
        assert!(t.parse("6:5:09x").is_err());
        assert!(DateFormat::compile("%d-%m-%Y").unwrap().parse_fixed("04-07-2017").is_none());
    }

    #[test]
    fn month_names_and_two_digit_years_parse() {
        let f = DateFormat::compile("%d-%b-%y").unwrap();
        assert_eq!(f.parse("05-MAR-17").unwrap().date, Some(d("2017-03-05")));
        assert_eq!(f.parse("05-mar-99").unwrap().date, Some(d("1999-03-05")));
        let f = DateFormat::compile("%B %d, %Y").unwrap();
        assert_eq!(f.parse("September 9, 2017").unwrap().date, Some(d("2017-09-09")));
    }

    #[test]
    fn bad_formats_are_refused_with_the_reason() {
        assert!(DateFormat::compile("%Q").unwrap_err().contains("%Q is not supported"));
        assert!(DateFormat::compile("%Y-%").is_err());
    }

    #[test]
    fn iso_values_from_typed_sources_parse() {
        assert_eq!(parse_iso("2017-01-31").unwrap().date, Some(d("2017-01-31")));
        assert_eq!(parse_iso("2017-01-31 06:00:42.123").unwrap().time, NaiveTime::from_hms_milli_opt(6, 0, 42, 123));
        assert_eq!(parse_iso("06:00:42").unwrap().time, NaiveTime::from_hms_opt(6, 0, 42));
    }
}
