//! Free text from people: names, addresses, comments. Control characters are stripped, white
//! space is folded, and each kind of text has a length limit.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a text was refused; each has a message key in `locales/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("the text is empty")]
    Empty,
    #[error("the text is longer than {max} characters")]
    TooLong { max: usize },
}

impl TextError {
    /// The message key of this error in `locales/`.
    pub const fn message_key(self) -> &'static str {
        match self {
            TextError::Empty => "error-text-empty",
            TextError::TooLong { .. } => "error-text-too-long",
        }
    }
}

/// Strips control characters (keeping line breaks where `multiline`), folds runs of spaces and
/// trims. What is left is what a person meant to type.
pub fn clean_text(input: &str, multiline: bool) -> String {
    let mut out = String::with_capacity(input.len());
    let mut pending_space = false;
    for c in input.chars() {
        if c == '\n' && multiline {
            while out.ends_with(' ') {
                out.pop();
            }
            if !out.is_empty() && !out.ends_with("\n\n") {
                out.push('\n');
            }
            pending_space = false;
        } else if c.is_whitespace() {
            pending_space = !out.is_empty() && !out.ends_with('\n');
        } else if c.is_control() || is_invisible_format(c) {
            continue;
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out.trim_end().to_owned()
}

/// Bidirectional and zero-width format characters that are invisible in Telegram but break
/// searches and comparisons.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

macro_rules! bounded_text {
    ($(#[$meta:meta])* $name:ident, max = $max:expr, multiline = $multi:expr, allow_empty = $empty:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// The longest text accepted, in characters.
            pub const MAX_CHARS: usize = $max;

            /// Cleans and checks a text typed by a person.
            pub fn parse(input: &str) -> Result<Self, TextError> {
                let cleaned = clean_text(input, $multi);
                if cleaned.is_empty() && !$empty {
                    return Err(TextError::Empty);
                }
                if cleaned.chars().count() > Self::MAX_CHARS {
                    return Err(TextError::TooLong { max: Self::MAX_CHARS });
                }
                Ok(Self(cleaned))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl TryFrom<String> for $name {
            type Error = TextError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }
    };
}

bounded_text!(
    /// A person's full name.
    PersonName, max = 120, multiline = false, allow_empty = false
);
bounded_text!(
    /// A postal address where the provider works: never empty.
    Address, max = 300, multiline = false, allow_empty = false
);
bounded_text!(
    /// A short label such as a tariff name.
    ShortText, max = 100, multiline = false, allow_empty = false
);
bounded_text!(
    /// A comment or a problem description; may span lines.
    Comment, max = 2000, multiline = true, allow_empty = false
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_stripped_and_spaces_folded() {
        let address = Address::parse("  Toshkent,\t Chilonzor\u{0007} 9-kvartal \u{200b} 12 ").expect("valid");
        assert_eq!(address.as_str(), "Toshkent, Chilonzor 9-kvartal 12");
    }

    #[test]
    fn an_empty_or_blank_address_is_refused() {
        assert_eq!(Address::parse(""), Err(TextError::Empty));
        assert_eq!(Address::parse(" \u{0000}\t \n"), Err(TextError::Empty));
    }

    #[test]
    fn texts_over_their_limit_are_refused() {
        let long = "a".repeat(PersonName::MAX_CHARS + 1);
        assert_eq!(PersonName::parse(&long), Err(TextError::TooLong { max: PersonName::MAX_CHARS }));
        let exact = "я".repeat(PersonName::MAX_CHARS);
        assert!(PersonName::parse(&exact).is_ok(), "the limit counts characters, not bytes");
    }

    #[test]
    fn comments_keep_their_line_breaks() {
        let comment = Comment::parse("Internet yo'q\n\n\n  modem qizil \n yonadi").expect("valid");
        assert_eq!(comment.as_str(), "Internet yo'q\n\nmodem qizil\nyonadi");
    }

    #[test]
    fn deserialising_validates() {
        assert!(serde_json::from_str::<Address>("\"   \"").is_err());
        let name: PersonName = serde_json::from_str("\" Alisher   Navoiy \"").expect("valid");
        assert_eq!(name.as_str(), "Alisher Navoiy");
    }
}
