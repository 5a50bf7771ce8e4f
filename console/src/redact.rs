//! Phone numbers for people who may not see them: a viewer gets every phone masked
//! (`+99890*****67`) in pages, API answers and CSV exports alike; an administrator sees them whole.
//! Masking covers the phone columns, and any phone-like text inside free text, payloads and
//! headers (a dead letter's body holds the number as it was typed).

use ariza_shared::domain::phone_mask;
use once_cell::sync::Lazy;
use regex::Regex;
use serde_json::Value;

/// Uzbek numbers as people type them: `+998 90 123-45-67`, `998901234567`, `90 123 45 67`.
static PHONE_LIKE: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"(?:\+|\b)(?:998[\s\-.()]*)?\(?\d{2}\)?[\s\-.]*\d{3}[\s\-.]*\d{2}[\s\-.]*\d{2}\b").unwrap_or_else(|_| unreachable!())
});

/// Keys whose whole value is a phone number.
fn is_phone_key(key: &str) -> bool {
    key.to_ascii_lowercase().contains("phone")
}

/// What the current operator may see of phone numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Redactor {
    full_phones: bool,
}

impl Redactor {
    pub fn new(full_phones: bool) -> Self {
        Self { full_phones }
    }

    /// A phone column.
    pub fn phone(&self, phone: &str) -> String {
        if self.full_phones { phone.to_owned() } else { phone_mask(phone) }
    }

    /// Free text, with every phone-like run masked.
    pub fn text(&self, text: &str) -> String {
        if self.full_phones {
            return text.to_owned();
        }
        PHONE_LIKE.replace_all(text, |c: &regex::Captures<'_>| phone_mask(&c[0])).into_owned()
    }

    /// JSON, with phone keys and phone-like strings masked.
    pub fn json(&self, value: Value) -> Value {
        if self.full_phones {
            return value;
        }
        match value {
            Value::String(s) => Value::String(self.text(&s)),
            Value::Array(items) => Value::Array(items.into_iter().map(|v| self.json(v)).collect()),
            Value::Object(map) => Value::Object(
                map.into_iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Value::String(s) if is_phone_key(&k) => Value::String(phone_mask(&s)),
                            other => self.json(other),
                        };
                        (k, v)
                    })
                    .collect(),
            ),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_viewer_sees_no_whole_phone_anywhere() {
        let r = Redactor::new(false);
        assert_eq!(r.phone("+998901234567"), "+99890*****67");
        let text = r.text("Mijoz: Aziza, +998901234567, yana 90 123 45 67 va 998935556677");
        assert!(!text.contains("1234567") && !text.contains("123 45 67") && !text.contains("5556677"), "{text}");
        assert!(text.contains("Mijoz: Aziza"), "{text}");
        let payload = r.json(json!({"client": {"phone": "93-555-66-77", "name": "Aziza"}, "note": "tel +998 90 123 45 67"}));
        let shown = payload.to_string();
        assert!(!shown.contains("555-66") && !shown.contains("123 45 67"), "{shown}");
        assert_eq!(payload["client"]["name"], "Aziza");
    }

    #[test]
    fn an_administrator_sees_phones_whole_and_ids_are_left_alone() {
        assert_eq!(Redactor::new(true).phone("+998901234567"), "+998901234567");
        let r = Redactor::new(false);
        let id = "6f1c1f5e-0a4b-4c3e-9d1e-2b7a8c9d0e1f";
        assert_eq!(r.text(id), id, "a uuid is not a phone");
        assert_eq!(r.text("attempt 3 of 6"), "attempt 3 of 6");
        assert_eq!(r.text("telegram id 1001234567"), "telegram id 1001234567", "ten digits are not a phone");
    }
}
