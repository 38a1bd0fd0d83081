//! `GET /v1/files?path=` (read, base64), `PUT /v1/files?path=` (write the body atomically) and
//! `GET /v1/files/list?path=` (directory entries).

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use crate::account;
use crate::error::ApiError;
use crate::files::{self, FileContent, FilesError, Listing, Written};
use crate::server::AppState;
use crate::workspace::PathError;

#[derive(Debug, Deserialize)]
pub struct PathQuery {
    #[serde(default)]
    pub path: String,
}

impl From<FilesError> for ApiError {
    fn from(e: FilesError) -> Self {
        let msg = e.to_string();
        match e {
            FilesError::NotFound(_) => ApiError::not_found(msg),
            FilesError::TooLarge { .. } => {
                ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", msg)
            }
            FilesError::Path(PathError::Escapes(_)) => {
                ApiError::new(StatusCode::FORBIDDEN, "path_escape", msg)
            }
            FilesError::Path(PathError::Workspace(_) | PathError::Io(..)) | FilesError::Io(..) => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "io_error", msg)
            }
            _ => ApiError::bad_request(msg),
        }
    }
}

fn blocking_err(e: tokio::task::JoinError) -> ApiError {
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
}

pub async fn read(
    State(state): State<AppState>,
    Query(q): Query<PathQuery>,
) -> Result<Json<FileContent>, ApiError> {
    let cfg = state.config.clone();
    let out = tokio::task::spawn_blocking(move || {
        files::read(&cfg.workspace, &q.path, cfg.files_max_read)
    })
    .await
    .map_err(blocking_err)??;
    Ok(Json(out))
}

pub async fn write(
    State(state): State<AppState>,
    Query(q): Query<PathQuery>,
    body: Bytes,
) -> Result<Json<Written>, ApiError> {
    let cfg = state.config.clone();
    let owner = account::workspace_account(cfg.workspace_user.as_deref())?;
    let out = tokio::task::spawn_blocking(move || {
        files::write(&cfg.workspace, &q.path, &body, owner.as_ref())
    })
    .await
    .map_err(blocking_err)??;
    Ok(Json(out))
}

pub async fn list(
    State(state): State<AppState>,
    Query(q): Query<PathQuery>,
) -> Result<Json<Listing>, ApiError> {
    let cfg = state.config.clone();
    let out = tokio::task::spawn_blocking(move || files::list(&cfg.workspace, &q.path))
        .await
        .map_err(blocking_err)??;
    Ok(Json(out))
}
