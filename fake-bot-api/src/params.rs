//! Decoding of Bot API request parameters and typed access to them.
//!
//! Telegram accepts parameters in the query string, as a JSON body or as a
//! form-urlencoded body; all of them are merged into one JSON object here.
//! Multipart bodies (file uploads) are not decoded: only their query string
//! parameters are kept.

use axum::http::{HeaderMap, header::CONTENT_TYPE};
use serde_json::{Map, Value};

/// Merges query-string parameters and the request body into a JSON object.
///
/// Returns a Bot API style error description when the body is not valid.
pub(crate) fn parse(
    headers: &HeaderMap,
    query: Option<&str>,
    body: &[u8],
) -> Result<Value, String> {
    let mut params = query
        .map(|q| decode_urlencoded(q.as_bytes()))
        .unwrap_or_default();
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let body = body.trim_ascii();

    if body.is_empty() || content_type.starts_with("multipart/") {
        // Nothing (decodable) in the body.
    } else if content_type.contains("json") || body.starts_with(b"{") {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(map)) if params.is_empty() => params = map,
            Ok(Value::Object(map)) => params.extend(map),
            Ok(_) => return Err("Bad Request: parameters must be a JSON object".to_owned()),
            Err(e) => return Err(format!("Bad Request: can't parse JSON body: {e}")),
        }
    } else {
        params.extend(decode_urlencoded(body));
    }
    Ok(Value::Object(params))
}

/// An integer parameter, given either as a JSON number or a decimal string.
pub(crate) fn int(params: &Value, key: &str) -> Option<i64> {
    match params.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A string parameter (numbers are accepted and formatted).
pub(crate) fn string(params: &Value, key: &str) -> Option<String> {
    match params.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// A JSON-serialised parameter such as `reply_markup`: objects are taken as
/// they are, strings are decoded as JSON.
pub(crate) fn json(params: &Value, key: &str) -> Option<Value> {
    match params.get(key)? {
        Value::Null => None,
        Value::String(s) => serde_json::from_str(s).ok(),
        other => Some(other.clone()),
    }
}

fn decode_urlencoded(input: &[u8]) -> Map<String, Value> {
    input
        .split(|&b| b == b'&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (key, value) = match pair.iter().position(|&b| b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            (percent_decode(key), Value::String(percent_decode(value)))
        })
        .collect()
}

fn percent_decode(input: &[u8]) -> String {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = input.get(i + 1).and_then(|&b| hex_value(b));
                let lo = input.get(i + 2).and_then(|&b| hex_value(b));
                if let (Some(hi), Some(lo)) = (hi, lo) {
                    out.push(hi << 4 | lo);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex_value(b: u8) -> Option<u8> {
    char::from(b)
        .to_digit(16)
        .and_then(|d| u8::try_from(d).ok())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use serde_json::json;

    use super::*;

    fn headers(content_type: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(
            CONTENT_TYPE,
            HeaderValue::from_str(content_type).expect("valid header"),
        );
        h
    }

    #[test]
    fn json_body_and_query_are_merged() {
        let p = parse(
            &headers("application/json"),
            Some("a=1"),
            br#"{"chat_id":5}"#,
        );
        assert_eq!(p, Ok(json!({ "a": "1", "chat_id": 5 })));
    }

    #[test]
    fn form_body_is_percent_decoded() {
        let body = b"chat_id=-42&text=hello+w%C3%B6rld%21&reply_markup=%7B%7D&bad=%zz";
        let p =
            parse(&headers("application/x-www-form-urlencoded"), None, body).expect("form parses");
        assert_eq!(p["text"], "hello wörld!");
        assert_eq!(p["bad"], "%zz");
        assert_eq!(int(&p, "chat_id"), Some(-42));
        assert_eq!(json(&p, "reply_markup"), Some(json!({})));
    }

    #[test]
    fn empty_and_invalid_bodies() {
        assert_eq!(parse(&HeaderMap::new(), None, b"  "), Ok(json!({})));
        assert!(parse(&headers("application/json"), None, b"{nope").is_err());
        assert!(parse(&headers("application/json"), None, b"[1]").is_err());
    }

    #[test]
    fn typed_getters() {
        let p = json!({ "n": "12", "m": 7, "s": 3, "o": { "k": 1 } });
        assert_eq!(int(&p, "n"), Some(12));
        assert_eq!(int(&p, "o"), None);
        assert_eq!(string(&p, "s").as_deref(), Some("3"));
        assert_eq!(json(&p, "o"), Some(json!({ "k": 1 })));
        assert_eq!(json(&p, "missing"), None);
    }
}
