//! `GET /v1/info`: what this sidecar serves (authenticated).

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::server::AppState;

#[derive(Serialize)]
pub struct Info {
    pub version: &'static str,
    pub workspace: String,
    pub llm_configured: bool,
}

pub async fn info(State(state): State<AppState>) -> Json<Info> {
    Json(Info {
        version: env!("CARGO_PKG_VERSION"),
        workspace: state.config.workspace.display().to_string(),
        llm_configured: state.config.llm.base_url.is_some(),
    })
}
