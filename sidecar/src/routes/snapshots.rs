//! `POST /v1/snapshots` (create; local or uploaded), `GET /v1/snapshots` (list local) and
//! `POST /v1/snapshots/restore` (restore the workspace from a local snapshot).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Serialize;

use crate::account;
use crate::error::ApiError;
use crate::server::AppState;
use crate::snapshot::{
    self, ArchiveError, CreateRequest, RestoreRequest, Restored, SnapshotError, SnapshotInfo,
};
use crate::ves::Recorded;

impl From<SnapshotError> for ApiError {
    fn from(e: SnapshotError) -> Self {
        let msg = e.to_string();
        match e {
            SnapshotError::Destination(_) => {
                ApiError::new(StatusCode::BAD_REQUEST, "forbidden_destination", msg)
            }
            SnapshotError::BadId(_) => ApiError::bad_request(msg),
            SnapshotError::NotFound(_) => ApiError::not_found(msg),
            SnapshotError::Archive(ArchiveError::UnsafeEntry(..)) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "unsafe_archive", msg)
            }
            SnapshotError::Upload(_) => {
                ApiError::new(StatusCode::BAD_GATEWAY, "upload_failed", msg)
            }
            SnapshotError::Archive(_) | SnapshotError::Io(_) => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "io_error", msg)
            }
        }
    }
}

fn join_err(e: tokio::task::JoinError) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
}

pub async fn create(
    State(state): State<AppState>,
    Json(req): Json<CreateRequest>,
) -> Result<Json<Recorded<SnapshotInfo>>, ApiError> {
    let cfg = state.config.clone();
    // Check the destination before doing any work (and before any connection is made).
    let destination = match &req.destination_url {
        Some(url) => Some(
            snapshot::check_destination(url, cfg.snapshot_allow_private)
                .await
                .map_err(SnapshotError::from)?,
        ),
        None => None,
    };
    let include_state = req.include_state;
    let c = cfg.clone();
    let (mut info, path) = tokio::task::spawn_blocking(move || {
        snapshot::create_local(&c.workspace, &c.data_dir, include_state)
    })
    .await
    .map_err(join_err)??;
    if let Some((url, addrs)) = destination {
        let uploaded = snapshot::upload(&path, url, &addrs, info.size_bytes).await;
        snapshot::remove_local(&cfg.data_dir, &info.snapshot_id);
        info.location = uploaded?;
    }
    let head = state
        .recorder
        .record(
            "snapshot",
            &info.snapshot_id,
            "snapshot.created",
            serde_json::json!({
                "snapshot_id": info.snapshot_id,
                "sha256": info.sha256,
                "size_bytes": info.size_bytes,
                "location": info.location,
                "include_state": info.include_state,
            }),
        )
        .await?;
    Ok(Json(Recorded::new(info, head)))
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct SnapshotList {
    pub snapshots: Vec<SnapshotInfo>,
}

pub async fn list(State(state): State<AppState>) -> Result<Json<SnapshotList>, ApiError> {
    let cfg = state.config.clone();
    let snapshots = tokio::task::spawn_blocking(move || snapshot::list(&cfg.data_dir))
        .await
        .map_err(join_err)??;
    Ok(Json(SnapshotList { snapshots }))
}

pub async fn restore(
    State(state): State<AppState>,
    Json(req): Json<RestoreRequest>,
) -> Result<Json<Recorded<Restored>>, ApiError> {
    let cfg = state.config.clone();
    let owner = account::workspace_account(cfg.workspace_user.as_deref())?;
    let out = tokio::task::spawn_blocking(move || {
        snapshot::restore(
            &cfg.workspace,
            &cfg.data_dir,
            &req.snapshot_id,
            owner.as_ref(),
        )
    })
    .await
    .map_err(join_err)??;
    let head = state
        .recorder
        .record(
            "snapshot",
            &out.snapshot_id,
            "snapshot.restored",
            serde_json::json!({
                "snapshot_id": out.snapshot_id,
                "entries": out.entries,
            }),
        )
        .await?;
    Ok(Json(Recorded::new(out, head)))
}
