//! One telemetry setup for every binary: `tracing` to stderr, human-readable or JSON, filtered by
//! `RUST_LOG` or the configured filter. Stage handlers open a span carrying the correlation id, so
//! every line of one message's processing names it. Phone numbers reach logs only masked (see
//! [`crate::domain::PhoneNumber`]); use [`mask_phone`] for raw strings.

use crate::config::{LogFormat, LogSettings};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::FmtSpan;

pub use crate::domain::phone_mask as mask_phone;

/// Installs the global subscriber. Calling it twice is harmless (the second call does nothing),
/// which tests rely on.
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.filter));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let result = match settings.format {
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).try_init(),
        LogFormat::Pretty => builder.with_span_events(FmtSpan::NONE).try_init(),
    };
    drop(result);
}
