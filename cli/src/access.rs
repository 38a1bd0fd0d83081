//! Opening the sidecar access tokens: each operator's PROVISION result (read from the chain's
//! `JobResultSubmitted` events) carries the token sealed to the customer's X25519 key and
//! bound to the service id and the operator's address.

use std::collections::BTreeMap;
use std::path::Path;

use agent_types::sealing::open_access;
use agent_types::AgentJobs::ProvisionResult;
use agent_types::Job;
use blueprint_sdk::alloy::primitives::{Address, B256};
use serde::{Deserialize, Serialize};

use crate::chain::{describe, Chain};
use crate::jobs::JobOutput;
use crate::keys::{write_private, CustomerKey};
use crate::output::Render;
use crate::wait::result_events;
use crate::{Error, Result};

/// The `kind` tag of an access file.
pub const ACCESS_FILE_KIND: &str = "agent-instance/sidecar-access/v1";

/// One operator's PROVISION result as found on chain.
#[derive(Clone)]
pub struct ProvisionRecord {
    /// The operator.
    pub operator: Address,
    /// The PROVISION call.
    pub call_id: u64,
    /// Block of the result.
    pub block: Option<u64>,
    /// The decoded result.
    pub result: ProvisionResult,
}

impl std::fmt::Debug for ProvisionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProvisionRecord")
            .field("operator", &self.operator)
            .field("call_id", &self.call_id)
            .field("block", &self.block)
            .field("sidecar_url", &self.result.sidecarUrl)
            .finish_non_exhaustive()
    }
}

/// The latest PROVISION result of every operator of `service_id` (or those of `call_id`).
pub async fn provision_results(
    chain: &Chain,
    service_id: u64,
    call_id: Option<u64>,
    from_block: u64,
) -> Result<Vec<ProvisionRecord>> {
    let events = result_events(chain, service_id, call_id, from_block).await?;
    let tangle = chain.tangle();
    let mut job_of: BTreeMap<u64, u8> = BTreeMap::new();
    let mut latest: BTreeMap<Address, ProvisionRecord> = BTreeMap::new();
    for ev in events {
        let job_index = match job_of.get(&ev.call_id) {
            Some(j) => *j,
            None => {
                let call = tangle
                    .getJobCall(service_id, ev.call_id)
                    .call()
                    .await
                    .map_err(|e| {
                        Error::chain(
                            &format!("getJobCall({service_id}, {})", ev.call_id),
                            describe(&e),
                        )
                    })?;
                job_of.insert(ev.call_id, call.jobIndex);
                call.jobIndex
            }
        };
        if job_index != Job::Provision.id() {
            continue;
        }
        let result = match JobOutput::decode(Job::Provision, &ev.result) {
            Ok(JobOutput::Provision(r)) => r,
            // An undecodable PROVISION result is no endpoint; the BSM rejects it too.
            _ => continue,
        };
        // Events come in chain order: a later PROVISION replaces an earlier one.
        latest.insert(
            ev.operator,
            ProvisionRecord {
                operator: ev.operator,
                call_id: ev.call_id,
                block: ev.block,
                result,
            },
        );
    }
    Ok(latest.into_values().collect())
}

/// One operator's opened access.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperatorAccess {
    /// The operator.
    pub operator: Address,
    /// The PROVISION call the token came from.
    pub call_id: u64,
    /// Sandbox id.
    pub sandbox_id: String,
    /// Sidecar base URL.
    pub sidecar_url: String,
    /// SSH port.
    pub ssh_port: u16,
    /// The sidecar's Ed25519 public key.
    pub sidecar_public_key: B256,
    /// The bearer token of the sidecar.
    pub token: String,
}

/// Opens every record's sealed token with `key`.
pub fn open_tokens(
    key: &CustomerKey,
    service_id: u64,
    records: &[ProvisionRecord],
) -> Result<Vec<OperatorAccess>> {
    records
        .iter()
        .map(|r| {
            let operator: [u8; 20] = r.operator.into_array();
            let opened = open_access(key.secret(), service_id, &operator, &r.result.sealedAccess)
                .map_err(|source| Error::Seal {
                operator: r.operator.to_string(),
                source,
            })?;
            let token = String::from_utf8(opened).map_err(|_| {
                Error::Inconsistent(format!(
                    "operator {}: the opened token is not text",
                    r.operator
                ))
            })?;
            Ok(OperatorAccess {
                operator: r.operator,
                call_id: r.call_id,
                sandbox_id: r.result.sandboxId.clone(),
                sidecar_url: r.result.sidecarUrl.clone(),
                ssh_port: r.result.sshPort,
                sidecar_public_key: r.result.sidecarPublicKey,
                token,
            })
        })
        .collect()
}

/// The file `open-access` writes (mode 0600) and `stream exec` / `verify log` read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessFile {
    /// [`ACCESS_FILE_KIND`].
    pub kind: String,
    /// The service.
    pub service_id: u64,
    /// Per operator.
    pub operators: Vec<OperatorAccess>,
}

impl AccessFile {
    /// A file for `service_id`.
    pub fn new(service_id: u64, operators: Vec<OperatorAccess>) -> Self {
        Self {
            kind: ACCESS_FILE_KIND.into(),
            service_id,
            operators,
        }
    }

    /// Writes the file with mode 0600.
    pub fn write(&self, path: &Path, force: bool) -> Result<()> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Inconsistent(format!("access file does not serialise: {e}")))?;
        write_private(path, text.as_bytes(), force)
    }

    /// Reads a file written by [`AccessFile::write`].
    pub fn read(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let file: Self = serde_json::from_str(&text)
            .map_err(|e| Error::input(format!("{}: not an access file: {e}", path.display())))?;
        if file.kind != ACCESS_FILE_KIND {
            return Err(Error::input(format!(
                "{}: unknown kind {:?}",
                path.display(),
                file.kind
            )));
        }
        Ok(file)
    }

    /// The token of `operator`.
    pub fn token(&self, operator: Address) -> Option<&str> {
        self.operators
            .iter()
            .find(|o| o.operator == operator)
            .map(|o| o.token.as_str())
    }
}

/// `open-access`: what was opened, and where the tokens went.
#[derive(Debug, Clone, Serialize)]
pub struct AccessReport {
    /// The service.
    pub service_id: u64,
    /// The file the tokens were written to (absent with `--show-tokens` and no `--out`).
    pub file: Option<String>,
    /// Per operator; `token` is present only with `--show-tokens`.
    pub operators: Vec<AccessView>,
}

/// One operator in an [`AccessReport`].
#[derive(Debug, Clone, Serialize)]
pub struct AccessView {
    /// The operator.
    pub operator: Address,
    /// The PROVISION call.
    pub call_id: u64,
    /// Sidecar URL.
    pub sidecar_url: String,
    /// SSH port.
    pub ssh_port: u16,
    /// Sandbox id.
    pub sandbox_id: String,
    /// The token, only when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl AccessReport {
    /// The report for `opened`; tokens included only when `show_tokens`.
    pub fn new(
        service_id: u64,
        file: Option<String>,
        opened: &[OperatorAccess],
        show_tokens: bool,
    ) -> Self {
        Self {
            service_id,
            file,
            operators: opened
                .iter()
                .map(|o| AccessView {
                    operator: o.operator,
                    call_id: o.call_id,
                    sidecar_url: o.sidecar_url.clone(),
                    ssh_port: o.ssh_port,
                    sandbox_id: o.sandbox_id.clone(),
                    token: show_tokens.then(|| o.token.clone()),
                })
                .collect(),
        }
    }
}

impl Render for AccessReport {
    fn human(&self) -> String {
        let mut out = format!(
            "opened {} sidecar token(s) of service {}",
            self.operators.len(),
            self.service_id
        );
        for o in &self.operators {
            out.push_str(&format!(
                "\n  {}  {}  (PROVISION call {}, ssh port {})",
                o.operator, o.sidecar_url, o.call_id, o.ssh_port
            ));
            if let Some(t) = &o.token {
                out.push_str(&format!("\n    token {t}"));
            }
        }
        if let Some(f) = &self.file {
            out.push_str(&format!("\ntokens written to {f} (mode 0600)"));
        }
        out
    }
}
