//! `POST /v1/ssh/keys` (add) and `DELETE /v1/ssh/keys` (revoke), both taking
//! `{username?, public_key}` and answering `{username, fingerprint, changed}`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use crate::error::ApiError;
use crate::server::AppState;
use crate::ssh::{self, KeyChange, KeyRequest, SshError, SshSettings};
use crate::ves::Recorded;

impl From<SshError> for ApiError {
    fn from(e: SshError) -> Self {
        let msg = e.to_string();
        match e {
            SshError::Key(_) => ApiError::new(StatusCode::BAD_REQUEST, "invalid_key", msg),
            SshError::BadUsername(_) | SshError::NoUser => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_username", msg)
            }
            SshError::NoSuchUser(_) => ApiError::new(StatusCode::NOT_FOUND, "no_such_user", msg),
            SshError::SystemUser(_) => ApiError::new(StatusCode::FORBIDDEN, "system_user", msg),
            SshError::Account(_) | SshError::Symlink(_) | SshError::Io(..) => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "io_error", msg)
            }
        }
    }
}

async fn change(
    state: AppState,
    req: KeyRequest,
    add: bool,
) -> Result<Json<Recorded<KeyChange>>, ApiError> {
    let settings = SshSettings {
        workspace_user: state.config.workspace_user.clone(),
        home_root: state.config.ssh_home_root.clone(),
    };
    let out = tokio::task::spawn_blocking(move || ssh::apply(&settings, &req, add))
        .await
        .map_err(|e| {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
        })??;
    // Recorded even when nothing changed (the request itself is part of the history).
    let event_type = if add {
        "ssh.key_added"
    } else {
        "ssh.key_revoked"
    };
    let head = state
        .recorder
        .record(
            "ssh_key",
            &out.fingerprint,
            event_type,
            serde_json::json!({
                "username": out.username,
                "fingerprint": out.fingerprint,
                "changed": out.changed,
            }),
        )
        .await?;
    Ok(Json(Recorded::new(out, head)))
}

pub async fn add(
    State(state): State<AppState>,
    Json(req): Json<KeyRequest>,
) -> Result<Json<Recorded<KeyChange>>, ApiError> {
    change(state, req, true).await
}

pub async fn revoke(
    State(state): State<AppState>,
    Json(req): Json<KeyRequest>,
) -> Result<Json<Recorded<KeyChange>>, ApiError> {
    change(state, req, false).await
}
