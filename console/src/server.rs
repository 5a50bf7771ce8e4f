//! The console's server: its state, the router (the JSON API under `/api`, the UI elsewhere) with
//! the security headers every answer carries, and the serve loop with graceful shutdown.

use crate::broker::ConsoleBroker;
use ariza_shared::config::Settings;
use ariza_shared::topology::Topology;
use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use sqlx::PgPool;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub pool: PgPool,
    pub topology: Arc<Topology>,
    pub broker: ConsoleBroker,
    /// Queue rates from the workers' metrics, when the management API is not enabled.
    pub rates: Arc<crate::data::worker_rates::RateSampler>,
    /// Failed logins per name, to slow down guessing.
    pub logins: Arc<crate::throttle::LoginThrottle>,
}

impl AppState {
    pub fn new(settings: Settings, pool: PgPool) -> Self {
        let settings = Arc::new(settings);
        Self {
            topology: Arc::new(settings.topology()),
            broker: ConsoleBroker::new(settings.clone()),
            rates: Arc::new(crate::data::worker_rates::RateSampler::new(&settings)),
            logins: Arc::default(),
            settings,
            pool,
        }
    }
}

/// Pages and answers are per operator and may hold personal data: never cached, never framed,
/// scripts and styles only from the console itself.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on form posts,
    // and the same-origin check of cookie-authenticated changes needs the real origin.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    );
    response
}

/// The whole console: API and UI.
pub fn router(state: AppState) -> Router {
    Router::new()
        .nest("/api", crate::api::routes())
        .merge(crate::ui::routes())
        .layer(axum::middleware::map_response(security_headers))
        .with_state(state)
}

/// Serves until `shutdown` fires, then lets requests in flight finish.
pub async fn serve(listener: TcpListener, state: AppState, shutdown: CancellationToken) -> anyhow::Result<()> {
    let broker = state.broker.clone();
    let app = router(state);
    tracing::info!(address = %listener.local_addr()?, "operator console listening");
    axum::serve(listener, app).with_graceful_shutdown(async move { shutdown.cancelled().await }).await?;
    broker.close().await;
    Ok(())
}
