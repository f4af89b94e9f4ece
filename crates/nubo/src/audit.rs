//! `nubo audit`: reads the audit log of mutating API calls (who, what, when,
//! result), newest first.

use crate::config::{Config, GlobalArgs};
use crate::Output;

#[derive(clap::Args, Debug)]
pub struct AuditArgs {
    /// Only this account's records.
    #[arg(long)]
    pub account: Option<String>,
    /// At most this many records.
    #[arg(long, default_value_t = 50)]
    pub limit: i64,
    #[arg(long, value_enum, default_value_t = Output::Table)]
    pub output: Output,
}

pub async fn run(global: &GlobalArgs, args: AuditArgs) -> anyhow::Result<()> {
    let config = Config::load(global, None, None)?;
    let (store, _) = crate::server::open(&config).await?;
    let records = store
        .list_audit(args.account.as_deref(), args.limit)
        .await?;
    match args.output {
        Output::Json => {
            let rows: Vec<_> = records
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "At": r.at.to_rfc3339(),
                        "RequestId": r.request_id,
                        "AccountId": r.account_id,
                        "Principal": r.principal_arn,
                        "AccessKeyId": r.access_key_id,
                        "Service": r.service,
                        "Action": r.action,
                        "Resources": r.resource_ids,
                        "Result": r.result,
                        "HttpStatus": r.http_status,
                        "SourceIp": r.source_ip,
                    })
                })
                .collect();
            println!("{}", serde_json::Value::Array(rows));
        }
        Output::Table => {
            println!(
                "{:<24} {:<14} {:<28} {:<22} PRINCIPAL",
                "TIME", "ACCOUNT", "ACTION", "RESULT"
            );
            for r in records {
                println!(
                    "{:<24} {:<14} {:<28} {:<22} {}",
                    r.at.format("%Y-%m-%d %H:%M:%S%.3f"),
                    r.account_id.as_deref().unwrap_or("-"),
                    format!("{}:{}", r.service, r.action),
                    r.result,
                    r.principal_arn.as_deref().unwrap_or("-")
                );
            }
        }
    }
    Ok(())
}
