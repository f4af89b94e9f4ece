//! `nubo account create|list|delete`: operator management of accounts,
//! straight against the database (works while the server runs).

use clap::Subcommand;
use nubo_iam::accounts::FixedIdentity;

use crate::config::{Config, GlobalArgs};
use crate::Output;

#[derive(Subcommand, Debug)]
pub enum AccountCommand {
    /// Create an account and print its root credentials (shown only once).
    Create {
        name: String,
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
    },
    /// List accounts.
    List {
        #[arg(long, value_enum, default_value_t = Output::Table)]
        output: Output,
    },
    /// Delete an account and everything it owns.
    Delete { account_id: String },
}

pub async fn run(global: &GlobalArgs, command: AccountCommand) -> anyhow::Result<()> {
    let config = Config::load(global, None, None)?;
    let (_, iam) = crate::server::open(&config).await?;
    match command {
        AccountCommand::Create { name, output } => {
            let a = iam
                .create_account(&name, &FixedIdentity::default())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            match output {
                Output::Json => println!(
                    "{}",
                    serde_json::json!({
                        "AccountId": a.account.id,
                        "Name": a.account.name,
                        "AccessKeyId": a.access_key_id,
                        "SecretAccessKey": a.secret_access_key,
                    })
                ),
                Output::Table => println!(
                    "Created account {} ({}).\n\n[{}]\naws_access_key_id = {}\naws_secret_access_key = {}",
                    a.account.id, a.account.name, a.account.name, a.access_key_id, a.secret_access_key
                ),
            }
        }
        AccountCommand::List { output } => {
            let accounts = iam
                .list_accounts()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            match output {
                Output::Json => {
                    let rows: Vec<_> = accounts
                        .iter()
                        .map(|a| serde_json::json!({"AccountId": a.id, "Name": a.name, "CreatedAt": a.created_at.to_rfc3339()}))
                        .collect();
                    println!("{}", serde_json::Value::Array(rows));
                }
                Output::Table => {
                    println!("{:<14} {:<24} CREATED", "ACCOUNT ID", "NAME");
                    for a in accounts {
                        println!(
                            "{:<14} {:<24} {}",
                            a.id,
                            a.name,
                            a.created_at.format("%Y-%m-%d %H:%M:%S")
                        );
                    }
                }
            }
        }
        AccountCommand::Delete { account_id } => {
            iam.delete_account(&account_id)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("Deleted account {account_id} and everything it owned.");
        }
    }
    Ok(())
}
