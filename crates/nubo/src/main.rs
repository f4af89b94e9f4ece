//! `nubo`: the single binary. Argument parsing and wiring only; every
//! capability lives in the library crates.

mod account;
mod audit;
mod config;
mod host;
mod server;

use clap::{Parser, Subcommand, ValueEnum};

use crate::config::GlobalArgs;

#[derive(Parser)]
#[command(
    name = "nubo",
    version,
    about = "A private cloud in one binary, speaking the AWS APIs"
)]
struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the all-in-one cloud: API server, controllers and the local host.
    Server(server::ServerArgs),
    /// Manage accounts (tenants) directly in the database.
    Account {
        #[command(subcommand)]
        command: account::AccountCommand,
    },
    /// Show the audit log of mutating API calls, newest first.
    Audit(audit::AuditArgs),
    /// Run a command inside a running instance of this host (operators, tests).
    Exec(host::ExecArgs),
}

/// How commands print results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum Output {
    #[default]
    Table,
    Json,
}

fn main() -> std::process::ExitCode {
    // The container launcher's stages (hidden; spawned by the container
    // driver). Handled before anything else: they unshare namespaces, which
    // needs a single-threaded process, so no async runtime may exist yet.
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some(nubo_compute::LAUNCHER_SUBCOMMAND) {
        nubo_compute::launcher_main(&args);
    }
    let cli = Cli::parse();
    if let Command::Exec(args) = cli.command {
        return match host::exec(&cli.global, args) {
            Ok(code) => code,
            Err(e) => {
                eprintln!("nubo: {e:#}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = cli.global.worker_threads.filter(|n| *n > 0) {
        builder.worker_threads(n);
    }
    let runtime = match builder.enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("nubo: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Server(args) => server::run(&cli.global, args).await,
            Command::Account { command } => account::run(&cli.global, command).await,
            Command::Audit(args) => audit::run(&cli.global, args).await,
            Command::Exec(_) => Ok(()),
        }
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nubo: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
