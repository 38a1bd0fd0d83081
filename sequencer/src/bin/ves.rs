//! `ves`: the Verifiable Event Sync command line client (see `ves::cli`).

use clap::Parser;

#[tokio::main]
async fn main() {
    let cli = ves::cli::Cli::parse();
    match ves::cli::run(cli).await {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    }
}
