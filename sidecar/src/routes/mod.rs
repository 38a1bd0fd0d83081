//! HTTP handlers, one module per area of the API. Handlers stay thin over the core modules.

pub mod health;
pub mod info;
