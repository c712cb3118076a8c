//! The notAfter of an X.509 certificate (RFC 5280 §4.1.2.5), for the
//! `hnsfleet_frontend_tls_cert_expiry_seconds` gauge: a walk of the few DER elements in front
//! of it, and the UTCTime/GeneralizedTime it holds as Unix seconds.
//!
//! Hand-written rather than a dependency: x509-parser (the usual choice) brings nom, asn1-rs,
//! der-parser and oid-registry for what is six tag-length-value steps. Nothing here trusts a
//! length: every step is bounds-checked and any surprise is `None` (the gauge then reads 0).

/// DER tags met on the way.
const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const VERSION: u8 = 0xa0;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;

/// The certificate's notAfter in seconds since the Unix epoch, or `None` if `der` is not a
/// certificate whose validity reads as RFC 5280 says it must be encoded.
pub fn not_after(der: &[u8]) -> Option<i64> {
    let (certificate, _) = element(der, SEQUENCE)?;
    let (mut tbs, _) = element(certificate, SEQUENCE)?;
    if tbs.first() == Some(&VERSION) {
        tbs = element(tbs, VERSION)?.1;
    }
    let (_serial, rest) = element(tbs, INTEGER)?;
    let (_signature, rest) = element(rest, SEQUENCE)?;
    let (_issuer, rest) = element(rest, SEQUENCE)?;
    let (validity, _) = element(rest, SEQUENCE)?;
    let (&before_tag, _) = validity.split_first()?;
    let (_not_before, rest) = element(validity, before_tag)?;
    let (&tag, _) = rest.split_first()?;
    let (time, _) = element(rest, tag)?;
    match tag {
        UTC_TIME => utc_time(time),
        GENERALIZED_TIME => generalized_time(time),
        _ => None,
    }
}

/// One DER element tagged `tag` at the start of `input`: its contents and what follows it.
fn element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&first, rest) = input.split_first()?;
    if first != tag {
        return None;
    }
    let (&len, mut rest) = rest.split_first()?;
    let len = match len {
        0..=0x7f => usize::from(len),
        // Long form: 1 to 4 length octets (a certificate is far below 4 GiB).
        0x81..=0x84 => {
            let count = usize::from(len & 0x7f);
            let octets = rest.get(..count)?;
            rest = &rest[count..];
            octets
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
        }
        _ => return None,
    };
    (len <= rest.len()).then(|| rest.split_at(len))
}

/// UTCTime as RFC 5280 §4.1.2.5.1 requires it: `YYMMDDHHMMSSZ`, YY below 50 in the 2000s.
fn utc_time(text: &[u8]) -> Option<i64> {
    if text.len() != 13 {
        return None;
    }
    let yy = digits(&text[..2])?;
    let year = if yy < 50 { 2000 + yy } else { 1900 + yy };
    time_of_day(year, &text[2..])
}

/// GeneralizedTime as RFC 5280 §4.1.2.5.2 requires it: `YYYYMMDDHHMMSSZ`.
fn generalized_time(text: &[u8]) -> Option<i64> {
    if text.len() != 15 {
        return None;
    }
    time_of_day(digits(&text[..4])?, &text[4..])
}

/// `MMDDHHMMSSZ` of `year` as Unix seconds.
fn time_of_day(year: i64, text: &[u8]) -> Option<i64> {
    if text.len() != 11 || text[10] != b'Z' {
        return None;
    }
    let [month, day, hour, minute, second] = [0, 2, 4, 6, 8].map(|at| digits(&text[at..at + 2]));
    let (month, day) = (month?, day?);
    let (hour, minute, second) = (hour?, minute?, second?);
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return None;
    }
    Some(days_from_civil(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// ASCII decimal digits as a number.
fn digits(text: &[u8]) -> Option<i64> {
    text.iter().try_fold(0i64, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + i64::from(b - b'0'))
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to `year-month-day` in the proleptic Gregorian calendar (the
/// era-based day count: 400-year eras of 146 097 days, years starting in March).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let shifted_month = (month + 9) % 12;
    let day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use proptest::prelude::*;

    use super::*;

    /// A self-signed certificate valid until `year-month-day` (DER).
    fn certificate_until(year: i32, month: u8, day: u8) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        params.not_after = rcgen::date_time_ymd(year, month, day);
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(utc_time(b"491231235959Z"), Some(2_524_607_999));
        assert_eq!(utc_time(b"500101000000Z"), Some(-631_152_000));
        assert_eq!(generalized_time(b"20500101000000Z"), Some(2_524_608_000));
        assert_eq!(utc_time(b"240229120000Z"), Some(1_709_208_000));
        for bad in [
            &b"230229120000Z"[..],
            b"241301000000Z",
            b"240101240000Z",
            b"24010100000Z",
            b"240101000000+",
            b"2401010000a0Z",
        ] {
            assert_eq!(utc_time(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn every_cut_and_flip_of_a_real_certificate_is_read_or_refused_without_a_panic() {
        let der = certificate_until(2031, 7, 15);
        let expected = days_from_civil(2031, 7, 15) * 86_400;
        assert_eq!(not_after(&der), Some(expected));
        for len in 0..der.len() {
            // A cut certificate's outer length runs past its end.
            assert_eq!(not_after(&der[..len]), None);
        }
        for at in 0..der.len() {
            let mut flipped = der.clone();
            flipped[at] ^= 0xff;
            let _ = not_after(&flipped);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// rcgen writes UTCTime before 2050 and GeneralizedTime from 2050 on: both read back
        /// as the date it was given.
        #[test]
        fn reads_back_what_rcgen_wrote(year in 1951i32..2300, month in 1u8..=12, day in 1u8..=28) {
            let der = certificate_until(year, month, day);
            let expected = days_from_civil(i64::from(year), i64::from(month), i64::from(day));
            prop_assert_eq!(not_after(&der), Some(expected * 86_400));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = not_after(&bytes);
        }
    }
}
