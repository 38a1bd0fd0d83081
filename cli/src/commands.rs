//! Runs a parsed command: calls the library modules, prints the report and returns the exit
//! code (0 success; 1 when a wait timed out or a check failed; errors are returned).

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use blueprint_sdk::alloy::primitives::Address;
use serde::Serialize;
use serde_json::json;
use ves::Ed25519PublicKey;

use crate::access::{self, AccessFile, AccessReport, OperatorAccess};
use crate::args::*;
use crate::chain::Chain;
use crate::job_args::check_env_entry;
use crate::keys::CustomerKey;
use crate::output::{Output, Render};
use crate::receipt::{self, EvidenceDoc, TrustSource};
use crate::service::{self, ServiceRequest};
use crate::sidecar::{ExecBody, Sidecar};
use crate::stream::{self, Channel, Target};
use crate::submit::{self, Submitted};
use crate::wait::{self, WaitOptions, WaitReport};
use crate::{verify, Error, Result};

/// `keygen`'s report.
#[derive(Debug, Serialize)]
pub struct KeygenReport {
    /// The key file.
    pub file: String,
    /// The public key (pass the file to `submit provision --customer-key`).
    pub public_key: String,
}

impl Render for KeygenReport {
    fn human(&self) -> String {
        format!(
            "customer key written to {} (mode 0600)\npublic key {}",
            self.file, self.public_key
        )
    }
}

/// `submit`'s report: the submission and, with `--wait`, the results.
#[derive(Debug, Serialize)]
pub struct SubmitReport {
    /// The submission.
    pub submitted: Submitted,
    /// The results, with `--wait`.
    pub results: Option<WaitReport>,
}

impl Render for SubmitReport {
    fn human(&self) -> String {
        match &self.results {
            Some(r) => format!("{}\n\n{}", self.submitted.human(), r.human()),
            None => self.submitted.human(),
        }
    }
}

fn wait_options(o: &WaitOpts, default_from: u64) -> WaitOptions {
    WaitOptions {
        timeout: Duration::from_secs(o.timeout),
        poll: Duration::from_millis(o.poll_ms.max(100)),
        from_block: o.from_block.unwrap_or(default_from),
    }
}

fn exit_of(ok: bool) -> u8 {
    u8::from(!ok)
}

/// Runs `cli`; returns the process exit code.
pub async fn run(cli: Cli) -> Result<u8> {
    let out = Output::new(cli.json);
    match cli.command {
        Command::Keygen(a) => {
            let key = CustomerKey::generate();
            key.write(&a.out, a.force)?;
            out.emit(&KeygenReport {
                file: a.out.display().to_string(),
                public_key: format!("0x{}", hex::encode(key.public())),
            })?;
            Ok(0)
        }
        Command::RequestService(a) => {
            let chain = Chain::connect(&a.chain)?;
            let spinner = out.spinner("requesting the service");
            let req = ServiceRequest {
                blueprint_id: a.blueprint_id,
                operators: a.operators,
                ttl: a.ttl,
                permitted_callers: a.permitted_caller,
                payment_wei: a.payment_wei,
            };
            let done = service::request_service(&chain, &req).await;
            spinner.finish();
            out.emit(&done?)?;
            Ok(0)
        }
        Command::Submit(a) => submit_cmd(a, &out).await,
        Command::Wait(a) => {
            let chain = Chain::connect(&a.chain)?;
            let opts = wait_options(&a.wait_opts, 0);
            let spinner = out.spinner(format!("waiting for call {}", a.call_id));
            let report =
                wait::wait_for_results(&chain, a.service_id, a.call_id, opts, &spinner).await;
            spinner.finish();
            let report = report?;
            out.emit(&report)?;
            Ok(exit_of(report.completed))
        }
        Command::Endpoints(a) => {
            let chain = Chain::connect(&a.chain)?;
            out.emit(&service::endpoints(&chain, a.service_id).await?)?;
            Ok(0)
        }
        Command::Results(a) => {
            let chain = Chain::connect(&a.chain)?;
            out.emit(&crate::results::fetch(&chain, a.service_id, a.call_id).await?)?;
            Ok(0)
        }
        Command::OpenAccess(a) => open_access_cmd(a, &out).await,
        Command::Stream(StreamCommand::Exec(a)) => stream_exec_cmd(a, &out).await,
        Command::Verify(VerifyCommand::Log(a)) => verify_log_cmd(a, &out).await,
        Command::Verify(VerifyCommand::Receipt(a)) => verify_receipt_cmd(a, &out).await,
        Command::Discover(a) => {
            let mut query = serde_json::Map::new();
            let fields = [
                ("category", &a.category),
                ("q", &a.q),
                ("tool_id", &a.tool_id),
            ];
            for (k, v) in fields {
                if let Some(v) = v {
                    query.insert(k.into(), serde_json::Value::from(v.clone()));
                }
            }
            if let Some(l) = a.limit {
                query.insert("limit".into(), l.into());
            }
            let result =
                crate::discover::call(&a.index_url, "discover_query", serde_json::json!([query]))
                    .await?;
            out.emit(&crate::discover::Discovered(result))?;
            Ok(0)
        }
        Command::Resolve(a) => {
            let result = crate::discover::call(
                &a.index_url,
                "discover_resolve",
                serde_json::json!([a.agent_id]),
            )
            .await?;
            out.emit(&crate::discover::Resolved(result))?;
            Ok(0)
        }
    }
}

async fn submit_cmd(a: SubmitArgs, out: &Output) -> Result<u8> {
    let service_id = a
        .service_id
        .ok_or_else(|| Error::input("--service-id is required"))?;
    let input = a.job.to_input()?;
    let chain = Chain::connect(&a.chain)?;
    let spinner = out.spinner(format!("submitting {}", input.job()));
    let submitted = submit::submit_job(&chain, service_id, &input, a.value).await;
    let submitted = match submitted {
        Ok(s) => s,
        Err(e) => {
            spinner.finish();
            return Err(e);
        }
    };
    if !a.wait {
        spinner.finish();
        out.emit(&SubmitReport {
            submitted,
            results: None,
        })?;
        return Ok(0);
    }
    let opts = wait_options(&a.wait_opts, submitted.block);
    let report =
        wait::wait_for_results(&chain, service_id, submitted.call_id, opts, &spinner).await;
    spinner.finish();
    let report = report?;
    let code = exit_of(report.completed);
    out.emit(&SubmitReport {
        submitted,
        results: Some(report),
    })?;
    Ok(code)
}

async fn open_access_cmd(a: OpenAccessArgs, out: &Output) -> Result<u8> {
    let key = CustomerKey::read(&a.key)?;
    let chain = Chain::connect(&a.chain)?;
    let spinner = out.spinner("reading PROVISION results");
    let records = access::provision_results(&chain, a.service_id, a.call_id, a.from_block).await;
    spinner.finish();
    let records = records?;
    if records.is_empty() {
        return Err(Error::input(format!(
            "no PROVISION result found for service {} (from block {})",
            a.service_id, a.from_block
        )));
    }
    let opened = access::open_tokens(&key, a.service_id, &records)?;
    let file = match (&a.out, a.show_tokens) {
        (Some(path), _) => Some(path.clone()),
        (None, false) => Some(format!("access-{}.json", a.service_id).into()),
        (None, true) => None,
    };
    if let Some(path) = &file {
        AccessFile::new(a.service_id, opened.clone()).write(path, a.force)?;
    }
    let report = AccessReport::new(
        a.service_id,
        file.map(|p| p.display().to_string()),
        &opened,
        a.show_tokens,
    );
    out.emit(&report)?;
    Ok(0)
}

/// The opened tokens by operator, from an access file or opened from the chain now.
async fn tokens(chain: &Chain, service_id: u64, src: &TokenSource) -> Result<Vec<OperatorAccess>> {
    match (&src.access, &src.key) {
        (Some(path), _) => {
            let file = AccessFile::read(path)?;
            if file.service_id != service_id {
                return Err(Error::input(format!(
                    "{} is for service {}, not {service_id}",
                    path.display(),
                    file.service_id
                )));
            }
            Ok(file.operators)
        }
        (None, Some(key_path)) => {
            let key = CustomerKey::read(key_path)?;
            let records = access::provision_results(chain, service_id, None, 0).await?;
            access::open_tokens(&key, service_id, &records)
        }
        (None, None) => Err(Error::input(
            "give --access FILE (from open-access) or --key FILE",
        )),
    }
}

async fn stream_exec_cmd(a: StreamExecArgs, out: &Output) -> Result<u8> {
    for entry in &a.env {
        check_env_entry(entry)?;
    }
    let chain = Chain::connect(&a.chain)?;
    let report = service::endpoints(&chain, a.service_id).await?;
    let opened: HashMap<Address, String> = tokens(&chain, a.service_id, &a.tokens)
        .await?
        .into_iter()
        .map(|o| (o.operator, o.token))
        .collect();
    let mut targets = Vec::new();
    for (i, ep) in report
        .endpoints
        .iter()
        .filter(|e| e.provisioned)
        .enumerate()
    {
        let token = opened.get(&ep.operator).ok_or_else(|| {
            Error::input(format!(
                "no access token for operator {}; run open-access again",
                ep.operator
            ))
        })?;
        targets.push(Target {
            label: format!("op{i}"),
            operator: Some(ep.operator),
            sidecar: Sidecar::new(&ep.sidecar_url, token)?,
        });
    }
    if targets.is_empty() {
        return Err(Error::input(format!(
            "no provisioned operator in service {}",
            a.service_id
        )));
    }
    let body = ExecBody {
        command: a.command.clone(),
        cwd: a.cwd.clone(),
        env: a.env.clone(),
        timeout_ms: a.timeout_ms,
    };
    let live = !out.is_json();
    let print_line = move |t: &Target, ch: Channel, line: &str| {
        if live {
            let mark = if ch == Channel::Stderr { "!" } else { " " };
            println!("{}{mark} {line}", t.prefix());
        }
    };
    let report = stream::exec_everywhere(&targets, &body, &print_line).await;
    out.emit(&report)?;
    Ok(exit_of(report.all_succeeded))
}

/// The sidecar to talk to: explicit URL and token, or the operator's entry of an access file.
fn sidecar_for(t: &SidecarTarget, operator: Option<Address>) -> Result<Sidecar> {
    if let (Some(url), Some(token)) = (&t.sidecar_url, &t.token) {
        return Sidecar::new(url, token);
    }
    let path = t.access.as_ref().ok_or_else(|| {
        Error::input("give --sidecar-url and --token, or --access FILE with --operator")
    })?;
    let file = AccessFile::read(path)?;
    let entry = match operator {
        Some(op) => file.operators.iter().find(|o| o.operator == op),
        None if file.operators.len() == 1 => file.operators.first(),
        None => None,
    }
    .ok_or_else(|| {
        Error::input(format!(
            "{}: name the operator with --operator",
            path.display()
        ))
    })?;
    let url = t.sidecar_url.as_deref().unwrap_or(&entry.sidecar_url);
    let token = t.token.as_deref().unwrap_or(&entry.token);
    Sidecar::new(url, token)
}

async fn verify_log_cmd(a: VerifyLogArgs, out: &Output) -> Result<u8> {
    let sidecar = sidecar_for(&a.target, a.operator)?;
    let chain = match a.service_id {
        Some(_) => Some(Chain::connect(&a.chain)?),
        None => None,
    };
    let anchor = match (&chain, a.service_id, a.operator) {
        (Some(c), Some(sid), Some(op)) => Some((c, sid, op)),
        _ => None,
    };
    let spinner = out.spinner("verifying the event log");
    let report = verify::verify_log(&sidecar, anchor, a.commit, &spinner).await;
    spinner.finish();
    let report = report?;
    out.emit(&report)?;
    Ok(exit_of(report.ok))
}

fn read_json(path: &Path) -> Result<serde_json::Value> {
    let text = if path.as_os_str() == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Error::io(path, e))?;
        s
    } else {
        std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?
    };
    serde_json::from_str(&text)
        .map_err(|e| Error::input(format!("{}: not JSON: {e}", path.display())))
}

async fn verify_receipt_cmd(a: VerifyReceiptArgs, out: &Output) -> Result<u8> {
    let value = match (&a.file, a.run_id) {
        (Some(path), _) => read_json(path)?,
        (None, Some(run_id)) => {
            let sidecar = sidecar_for(&a.target, a.operator)?;
            match sidecar.evidence(run_id).await {
                Ok(v) => v,
                // Evidence can be unavailable (e.g. the run spans commitments): basic only.
                Err(Error::SidecarApi { status: 409, .. }) => json!(sidecar.receipt(run_id).await?),
                Err(e) => return Err(e),
            }
        }
        (None, None) => return Err(Error::input("give a FILE or --run-id")),
    };
    let doc = EvidenceDoc::parse(value)?;
    let (trusted_key, trust) = match (&a.trusted_key, a.service_id, a.operator) {
        (Some(hex), _, _) => (
            Ed25519PublicKey::from_hex(hex)
                .map_err(|e| Error::input(format!("--trusted-key: {e}")))?,
            TrustSource::Given,
        ),
        (None, Some(sid), Some(op)) => {
            let chain = Chain::connect(&a.chain)?;
            let ep = service::endpoint(&chain, sid, op).await?;
            let key =
                Ed25519PublicKey::from_bytes(ep.sidecar_public_key.as_slice()).map_err(|e| {
                    Error::Inconsistent(format!("the sidecar key on chain is invalid: {e}"))
                })?;
            (
                key,
                TrustSource::Chain {
                    service_id: sid,
                    operator: op.to_string(),
                },
            )
        }
        _ => (doc.receipt.signer, TrustSource::ReceiptSigner),
    };
    let levels = receipt::default_levels(&doc, a.level);
    let report = receipt::check_receipt(&doc, trusted_key, trust, &levels);
    out.emit(&report)?;
    Ok(exit_of(report.ok))
}
