//! `nubo server`: opens the store, bootstraps the administrator account on
//! first start, and serves the AWS APIs until SIGINT/SIGTERM.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use nubo_api::{metrics::Metrics, Api};
use nubo_ec2::Ec2Service;
use nubo_iam::{IamService, NewAccount, SecretBox};
use nubo_store::Store;

use crate::config::{Config, GlobalArgs};

#[derive(clap::Args, Debug)]
pub struct ServerArgs {
    /// Address to serve the AWS APIs on [default: 127.0.0.1:8773].
    #[arg(long, env = "NUBO_LISTEN")]
    pub listen: Option<String>,
    /// Log format: text or json.
    #[arg(long, env = "NUBO_LOG_FORMAT")]
    pub log_format: Option<String>,
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("NUBO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: a log file gets plain text to grep.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Opens the store and the services every command needs.
pub async fn open(config: &Config) -> anyhow::Result<(Store, IamService)> {
    config.ensure_data_dir()?;
    let store = Store::open(&config.database_url)
        .await
        .with_context(|| "opening the database")?;
    let secrets = SecretBox::load_or_create(&config.master_key_file).with_context(|| {
        format!(
            "loading the master key {}",
            config.master_key_file.display()
        )
    })?;
    Ok((store.clone(), IamService::new(store, secrets)))
}

/// Writes `<data-dir>/credentials` in the AWS CLI's format, mode 0600.
fn write_credentials(path: &Path, account: &NewAccount) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut f = options
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    writeln!(
        f,
        "# Nubo administrator account {} ({})\n[default]\naws_access_key_id = {}\naws_secret_access_key = {}",
        account.account.id, account.account.name, account.access_key_id, account.secret_access_key
    )?;
    Ok(())
}

fn print_welcome(config: &Config, credentials: &Path, created: Option<&NewAccount>) {
    let endpoint = format!("http://{}", config.listen);
    let region = config
        .regions
        .first()
        .map(|r| r.name.as_str())
        .unwrap_or("us-east-1");
    let mut out = String::new();
    out.push_str(&format!("Nubo is serving the AWS APIs at {endpoint}\n"));
    if let Some(a) = created {
        out.push_str(&format!(
            "Created the administrator account {} ({}); its credentials are in {}\n",
            a.account.id,
            a.account.name,
            credentials.display()
        ));
    }
    out.push_str(&format!(
        "\nAWS CLI:\n  export AWS_SHARED_CREDENTIALS_FILE={} AWS_DEFAULT_REGION={region}\n  aws --endpoint-url {endpoint} ec2 describe-availability-zones\n",
        credentials.display()
    ));
    let (key, secret) = match created {
        Some(a) => (a.access_key_id.clone(), a.secret_access_key.clone()),
        None => (
            "<aws_access_key_id from the credentials file>".into(),
            "<aws_secret_access_key>".into(),
        ),
    };
    out.push_str(&format!(
        "\nboto3:\n  import boto3\n  ec2 = boto3.client(\"ec2\", endpoint_url=\"{endpoint}\", region_name=\"{region}\",\n                     aws_access_key_id=\"{key}\", aws_secret_access_key=\"{secret}\")\n  ec2.describe_vpcs()\n"
    ));
    print!("{out}");
    let _ = std::io::stdout().flush();
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutting down: draining in-flight requests");
}

pub async fn run(global: &GlobalArgs, args: ServerArgs) -> anyhow::Result<()> {
    let config = Config::load(global, args.listen, args.log_format)?;
    init_logging(&config.log_format);
    let (store, iam) = open(&config).await?;
    let created = iam
        .bootstrap_admin(&config.admin_name, &config.admin)
        .await
        .map_err(|e| anyhow::anyhow!("creating the administrator account: {e}"))?;
    let credentials = config.data_dir.join("credentials");
    if let Some(account) = &created {
        write_credentials(&credentials, account)?;
    }
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .with_context(|| format!("listening on {}", config.listen))?;
    let ec2 = Ec2Service::new(store.clone(), config.regions.clone(), config.limits.clone())
        .with_default_vpc(config.default_vpc)
        .with_overcommit(crate::host::overcommit());
    // Image content lives under the data directory; the installation's base
    // images are registered (once per name and region) before serving.
    let ec2 = ec2.with_image_library(Arc::new(nubo_ec2::image::DirectoryLibrary::new(
        config.data_dir.join("images"),
    )));
    let base_images = ec2
        .register_base_images(&config.base_images_dir)
        .await
        .context("registering the base images")?;
    tracing::info!(
        dir = %config.base_images_dir.display(),
        registered = base_images.len(),
        "base images"
    );
    let swept = ec2
        .sweep_image_library()
        .await
        .context("sweeping the image library")?;
    if !swept.is_empty() {
        tracing::info!(?swept, "removed image content no image uses");
    }
    crate::host::start_agent(&config, &ec2).await?;
    let api = Arc::new(Api {
        store,
        iam,
        ec2,
        metrics: Metrics::default(),
    });
    tracing::info!(listen = %config.listen, data_dir = %config.data_dir.display(), "nubo server started");
    print_welcome(&config, &credentials, created.as_ref());
    nubo_api::serve(listener, api, shutdown_signal())
        .await
        .context("serving the API")?;
    tracing::info!("nubo server stopped");
    Ok(())
}
