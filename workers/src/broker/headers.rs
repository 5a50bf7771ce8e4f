//! Reading and writing AMQP headers without repeating the matching on `AMQPValue` everywhere.

use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use serde_json::{Value, json};

/// Typed access to a header table.
pub trait HeaderExt {
    fn get_str(&self, key: &str) -> Option<String>;
    fn get_u64(&self, key: &str) -> Option<u64>;
    fn set_str(&mut self, key: &str, value: &str);
    fn set_u64(&mut self, key: &str, value: u64);
}

impl HeaderExt for FieldTable {
    fn get_str(&self, key: &str) -> Option<String> {
        match self.inner().get(key)? {
            AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
            AMQPValue::ShortString(s) => Some(s.as_str().to_owned()),
            other => amqp_int(other).map(|i| i.to_string()),
        }
    }

    fn get_u64(&self, key: &str) -> Option<u64> {
        match self.inner().get(key)? {
            AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).trim().parse().ok(),
            other => amqp_int(other).and_then(|i| u64::try_from(i).ok()),
        }
    }

    fn set_str(&mut self, key: &str, value: &str) {
        self.insert(ShortString::from(key), AMQPValue::LongString(LongString::from(value)));
    }

    fn set_u64(&mut self, key: &str, value: u64) {
        self.insert(ShortString::from(key), AMQPValue::LongLongInt(i64::try_from(value).unwrap_or(i64::MAX)));
    }
}

fn amqp_int(value: &AMQPValue) -> Option<i64> {
    Some(match value {
        AMQPValue::ShortShortInt(v) => i64::from(*v),
        AMQPValue::ShortShortUInt(v) => i64::from(*v),
        AMQPValue::ShortInt(v) => i64::from(*v),
        AMQPValue::ShortUInt(v) => i64::from(*v),
        AMQPValue::LongInt(v) => i64::from(*v),
        AMQPValue::LongUInt(v) => i64::from(*v),
        AMQPValue::LongLongInt(v) => *v,
        AMQPValue::Timestamp(v) => i64::try_from(*v).ok()?,
        _ => return None,
    })
}

/// A header value as JSON, for the `dead_letters` table and the console.
pub fn amqp_to_json(value: &AMQPValue) -> Value {
    match value {
        AMQPValue::Boolean(b) => json!(b),
        AMQPValue::Float(f) => json!(f),
        AMQPValue::Double(d) => json!(d),
        AMQPValue::DecimalValue(d) => json!(format!("{d:?}")),
        AMQPValue::ShortString(s) => json!(s.as_str()),
        AMQPValue::LongString(s) => json!(String::from_utf8_lossy(s.as_bytes())),
        AMQPValue::FieldArray(a) => Value::Array(a.as_slice().iter().map(amqp_to_json).collect()),
        AMQPValue::FieldTable(t) => field_table_to_json(t),
        AMQPValue::ByteArray(b) => json!(format!("{b:?}")),
        AMQPValue::Void => Value::Null,
        other => amqp_int(other).map_or(Value::Null, |i| json!(i)),
    }
}

/// A whole header table as a JSON object.
pub fn field_table_to_json(table: &FieldTable) -> Value {
    Value::Object(table.inner().iter().map(|(k, v)| (k.as_str().to_owned(), amqp_to_json(v))).collect())
}

/// The `x-death` entries of a dead-lettered message, oldest reason last as the broker keeps them.
pub fn x_death(table: &FieldTable) -> Vec<&FieldTable> {
    match table.inner().get("x-death") {
        Some(AMQPValue::FieldArray(entries)) => entries
            .as_slice()
            .iter()
            .filter_map(|e| if let AMQPValue::FieldTable(t) = e { Some(t) } else { None })
            .collect(),
        _ => Vec::new(),
    }
}
