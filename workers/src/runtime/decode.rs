//! Decoding a delivery into a stage's input. What cannot be decoded is never retried.

use super::Meta;
use crate::broker::HeaderExt as _;
use ariza_shared::domain::SCHEMA_VERSION;
use ariza_shared::envelope::{self, DeadReason};
use lapin::message::Delivery;
use serde::de::DeserializeOwned;

/// Why a body could not become a stage's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub reason: DeadReason,
    pub error: String,
}

/// The envelope's facts about a delivery.
pub fn meta_of(delivery: &Delivery) -> Meta {
    let props = &delivery.properties;
    let headers = props.headers().clone().unwrap_or_default();
    Meta {
        correlation_id: props.correlation_id().as_ref().map(|c| c.as_str().to_owned()).unwrap_or_default(),
        application_id: headers.get_str(envelope::APPLICATION_ID),
        attempt: headers.get_u64(envelope::ATTEMPT).and_then(|a| u32::try_from(a).ok()).unwrap_or(1).max(1),
        redelivered: delivery.redelivered,
        submitted_at_ms: headers.get_u64(envelope::SUBMITTED_AT),
    }
}

/// Decodes JSON into `T`, telling apart "not JSON", "unknown schema" and "not this stage's JSON".
pub fn decode_json<T: DeserializeOwned>(body: &[u8], schema_of: fn(&T) -> u32) -> Result<T, DecodeError> {
    match serde_json::from_slice::<T>(body) {
        Ok(input) => {
            let schema = schema_of(&input);
            if schema == SCHEMA_VERSION {
                Ok(input)
            } else {
                Err(DecodeError { reason: DeadReason::UnknownSchema, error: format!("schema version {schema} is not {SCHEMA_VERSION}") })
            }
        }
        Err(e) => {
            // Tell an unknown schema apart from a malformed body: a newer producer is not a bug here.
            #[derive(serde::Deserialize)]
            struct Probe {
                schema: Option<u32>,
            }
            match serde_json::from_slice::<Probe>(body) {
                Ok(Probe { schema: Some(v) }) if v != SCHEMA_VERSION => Err(DecodeError {
                    reason: DeadReason::UnknownSchema,
                    error: format!("schema version {v} is not {SCHEMA_VERSION}: {e}"),
                }),
                _ => {
                    let what = if e.is_syntax() || e.is_eof() { "not JSON" } else { "not a valid message" };
                    Err(DecodeError { reason: DeadReason::Malformed, error: format!("{what}: {e}") })
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Msg {
        schema: u32,
        #[allow(dead_code)]
        name: String,
    }

    fn schema(m: &Msg) -> u32 {
        m.schema
    }

    #[test]
    fn tells_malformed_bodies_from_unknown_schemas() {
        assert!(decode_json::<Msg>(br#"{"schema":1,"name":"a"}"#, schema).is_ok());
        assert_eq!(decode_json::<Msg>(b"not json at all", schema).map(|_| ()).expect_err("refused").reason, DeadReason::Malformed);
        assert_eq!(decode_json::<Msg>(br#"{"schema":1}"#, schema).map(|_| ()).expect_err("refused").reason, DeadReason::Malformed);
        assert_eq!(decode_json::<Msg>(br#"{"schema":7,"name":"a"}"#, schema).map(|_| ()).expect_err("refused").reason, DeadReason::UnknownSchema);
        assert_eq!(decode_json::<Msg>(br#"{"schema":9,"other":true}"#, schema).map(|_| ()).expect_err("refused").reason, DeadReason::UnknownSchema);
    }
}
