//! Uzbek phone numbers, stored as `+998XXXXXXXXX`.
//!
//! People type numbers in many ways: `+998 90 123-45-67`, `998901234567`, `90 123 45 67`,
//! `8 (90) 123-45-67` (the old domestic prefix), `00998 90 1234567`. All of them parse to the same
//! value. Logs only ever see the masked form: `Debug` and `Display` mask, `as_str` does not.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a phone number was refused; each has a message key in `locales/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("the phone number is empty")]
    Empty,
    #[error("the phone number has characters other than digits, spaces, dashes, dots and brackets")]
    BadCharacters,
    #[error("the phone number is not an Uzbek number of the form +998XXXXXXXXX")]
    WrongShape,
}

impl PhoneError {
    /// The message key of this error in `locales/`.
    pub const fn message_key(self) -> &'static str {
        match self {
            PhoneError::Empty => "error-phone-empty",
            PhoneError::BadCharacters | PhoneError::WrongShape => "error-phone-invalid",
        }
    }
}

/// A phone number in the canonical `+998XXXXXXXXX` form.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

impl PhoneNumber {
    /// Parses a number the way a person would type it.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        let mut digits = String::with_capacity(16);
        for (i, c) in trimmed.chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if i == 0 => {}
                ' ' | '-' | '(' | ')' | '.' | '\u{a0}' => {}
                _ => return Err(PhoneError::BadCharacters),
            }
        }
        let national = if let Some(rest) = digits.strip_prefix("00998") {
            rest
        } else if let Some(rest) = digits.strip_prefix("998").filter(|r| r.len() == 9) {
            rest
        } else if digits.len() == 10 && digits.starts_with('8') {
            &digits[1..]
        } else {
            &digits
        };
        if national.len() != 9 || national.starts_with('0') {
            return Err(PhoneError::WrongShape);
        }
        Ok(PhoneNumber(format!("+998{national}")))
    }

    /// The full number. Only for storage and for people allowed to see it, never for logs.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with its middle hidden, `+99890*****67`: what logs and read-only views show.
    pub fn masked(&self) -> String {
        mask_phone(&self.0)
    }
}

/// Masks any phone-like string: keeps the first six and the last two characters.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() <= 8 {
        return "*".repeat(chars.len());
    }
    let mut out: String = chars[..6].iter().collect();
    out.extend(std::iter::repeat_n('*', chars.len() - 8));
    out.extend(&chars[chars.len() - 2..]);
    out
}

impl fmt::Debug for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PhoneNumber({})", self.masked())
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.masked())
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = PhoneError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        PhoneNumber::parse(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usual_ways_of_typing_a_number_agree() {
        for typed in [
            "+998901234567",
            "+998 90 123 45 67",
            "+998 (90) 123-45-67",
            "998901234567",
            "90 123 45 67",
            "901234567",
            "8 (90) 123-45-67",
            "00998 90 1234567",
            " +998.90.123.45.67 ",
        ] {
            assert_eq!(
                PhoneNumber::parse(typed).map(|p| p.as_str().to_owned()),
                Ok("+998901234567".to_owned()),
                "{typed}"
            );
        }
    }

    #[test]
    fn malformed_numbers_are_refused_with_a_reason() {
        assert_eq!(PhoneNumber::parse("  "), Err(PhoneError::Empty));
        assert_eq!(PhoneNumber::parse("+998 90 12a 45 67"), Err(PhoneError::BadCharacters));
        assert_eq!(PhoneNumber::parse("99+8901234567"), Err(PhoneError::BadCharacters));
        assert_eq!(PhoneNumber::parse("12345"), Err(PhoneError::WrongShape));
        assert_eq!(PhoneNumber::parse("+7 912 345 67 89"), Err(PhoneError::WrongShape));
        assert_eq!(PhoneNumber::parse("+998 01 234 56 78"), Err(PhoneError::WrongShape));
        assert_eq!(PhoneNumber::parse("+9989012345678"), Err(PhoneError::WrongShape));
    }

    #[test]
    fn logs_see_only_the_masked_number() {
        let phone = PhoneNumber::parse("+998901234567").expect("valid");
        assert_eq!(format!("{phone}"), "+99890*****67");
        assert_eq!(format!("{phone:?}"), "PhoneNumber(+99890*****67)");
        assert!(!format!("{phone:?}").contains("1234"));
    }

    #[test]
    fn json_round_trip_validates() {
        let phone: PhoneNumber = serde_json::from_str("\"90 123 45 67\"").expect("valid");
        assert_eq!(serde_json::to_string(&phone).expect("ser"), "\"+998901234567\"");
        assert!(serde_json::from_str::<PhoneNumber>("\"hello\"").is_err());
    }
}
