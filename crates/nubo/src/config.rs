//! Configuration from a TOML file, environment variables and flags, in
//! increasing order of precedence, with Nubo's defaults underneath.
//!
//! The external network (`[network]`): `public_pool` / `NUBO_PUBLIC_POOL`
//! (comma-separated CIDRs; default `198.51.100.0/24`), where public IPs and
//! Elastic IPs come from; `external_cidr` / `NUBO_EXTERNAL_CIDR` (default
//! `203.0.113.0/24`), the host bridge's own network, the host taking its
//! first usable address; `external_forward` / `NUBO_EXTERNAL_FORWARD`
//! (default false), whether the host forwards and masquerades public
//! traffic to its real uplink. The pool and the external network must not
//! overlap.

use std::path::{Path, PathBuf};

use anyhow::Context;
use nubo_core::Ipv4Cidr;
use nubo_ec2::{Limits, RegionConfig};
use nubo_iam::accounts::FixedIdentity;
use nubo_net::model::ExternalNet;
use serde::Deserialize;

/// Flags shared by every subcommand.
#[derive(clap::Args, Debug, Clone)]
pub struct GlobalArgs {
    /// TOML configuration file [default: /etc/nubo/nubo.toml when it exists].
    #[arg(long, env = "NUBO_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Data directory [default: /var/lib/nubo].
    #[arg(long, env = "NUBO_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// Database URL: postgres://… [default: SQLite in the data directory].
    #[arg(long, env = "NUBO_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Async runtime worker threads [default: one per CPU]. With SQLite on a
    /// small host, fewer workers mean fewer cross-thread wake-ups per request
    /// (see docs/PERFORMANCE.md).
    #[arg(long, env = "NUBO_WORKER_THREADS", global = true)]
    pub worker_threads: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    listen: Option<String>,
    database_url: Option<String>,
    master_key_file: Option<PathBuf>,
    log_format: Option<String>,
    regions: Option<Vec<RegionConfig>>,
    admin: Option<AdminConfig>,
    limits: Option<LimitsConfig>,
    network: Option<NetworkConfig>,
    ec2: Option<Ec2Config>,
    images: Option<ImagesConfig>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImagesConfig {
    /// Where `scripts/build-base-image.sh` put the base images.
    base_dir: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Ec2Config {
    /// Whether every account gets a default VPC per region (default: true).
    default_vpc: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct AdminConfig {
    name: Option<String>,
    account_id: Option<String>,
    access_key_id: Option<String>,
    secret_access_key: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsConfig {
    vpcs_per_region: Option<usize>,
    elastic_ips_per_region: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NetworkConfig {
    /// The public IPv4 ranges Elastic IPs come from, shared by all accounts.
    public_pool: Option<Vec<String>>,
    /// The host bridge's network (the "internet" public addresses live on).
    external_cidr: Option<String>,
    /// Whether public traffic may leave by the host's real uplink.
    external_forward: Option<bool>,
}

/// The default external network: TEST-NET-3 (RFC 5737), never routed.
pub const DEFAULT_EXTERNAL_CIDR: &str = "203.0.113.0/24";

/// The resolved configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: String,
    pub database_url: String,
    pub master_key_file: PathBuf,
    pub log_format: String,
    pub regions: Vec<RegionConfig>,
    pub admin_name: String,
    pub admin: FixedIdentity,
    pub limits: Limits,
    /// `[ec2] default_vpc` / `NUBO_DEFAULT_VPC`: accounts get a default VPC
    /// per region, as on AWS.
    pub default_vpc: bool,
    /// `[images] base_dir` / `NUBO_BASE_IMAGES`: the base images registered
    /// at start (default `/var/lib/nubo/base-images`; missing = none).
    pub base_images_dir: PathBuf,
    /// The host's external network (see the module docs); its pools are
    /// `limits.public_pool`.
    pub external: ExternalNet,
}

impl Config {
    /// Resolves flags (`listen` and `log_format` are the server's own) over
    /// environment, file and defaults.
    pub fn load(
        global: &GlobalArgs,
        listen: Option<String>,
        log_format: Option<String>,
    ) -> anyhow::Result<Config> {
        let path = global.config.clone().or_else(|| {
            let default = PathBuf::from("/etc/nubo/nubo.toml");
            default.exists().then_some(default)
        });
        let file: FileConfig = match &path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading {}", p.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", p.display()))?
            }
            None => FileConfig::default(),
        };
        let data_dir = global
            .data_dir
            .clone()
            .or(file.data_dir)
            .unwrap_or_else(|| PathBuf::from("/var/lib/nubo"));
        let data_dir = absolute(&data_dir)?;
        let database_url = global
            .database_url
            .clone()
            .or(file.database_url)
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("nubo.db").display()));
        let regions = file.regions.unwrap_or_else(RegionConfig::default_regions);
        RegionConfig::validate(&regions)
            .map_err(|e| anyhow::anyhow!("invalid regions in configuration: {e}"))?;
        let admin_file = file.admin.unwrap_or_default();
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let admin = FixedIdentity {
            account_id: env("NUBO_ADMIN_ACCOUNT_ID").or(admin_file.account_id),
            access_key_id: env("NUBO_ADMIN_ACCESS_KEY_ID").or(admin_file.access_key_id),
            secret_access_key: env("NUBO_ADMIN_SECRET_ACCESS_KEY").or(admin_file.secret_access_key),
        };
        if admin.access_key_id.is_some() != admin.secret_access_key.is_some() {
            anyhow::bail!("the administrator's access key ID and secret access key must be configured together");
        }
        let mut limits = Limits::default();
        let limits_file = file.limits.unwrap_or_default();
        if let Some(n) = limits_file.vpcs_per_region {
            limits.vpcs_per_region = n;
        }
        if let Some(n) = limits_file.elastic_ips_per_region {
            limits.elastic_ips_per_region = n;
        }
        let network = file.network.unwrap_or_default();
        let pool = env("NUBO_PUBLIC_POOL")
            .map(|v| v.split(',').map(|c| c.trim().to_string()).collect())
            .or(network.public_pool);
        if let Some(pool) = pool {
            limits.public_pool = parse_public_pool(&pool)?;
        }
        let external_forward = match env("NUBO_EXTERNAL_FORWARD") {
            Some(v) => parse_bool("NUBO_EXTERNAL_FORWARD", &v)?,
            None => network.external_forward.unwrap_or(false),
        };
        let external_cidr = env("NUBO_EXTERNAL_CIDR")
            .or(network.external_cidr)
            .unwrap_or_else(|| DEFAULT_EXTERNAL_CIDR.into());
        let external = external_net(&external_cidr, &limits.public_pool, external_forward)?;
        let default_vpc = match env("NUBO_DEFAULT_VPC") {
            Some(v) => parse_bool("NUBO_DEFAULT_VPC", &v)?,
            None => file.ec2.and_then(|e| e.default_vpc).unwrap_or(true),
        };
        let base_images_dir = env("NUBO_BASE_IMAGES")
            .map(PathBuf::from)
            .or(file.images.and_then(|i| i.base_dir))
            .unwrap_or_else(|| PathBuf::from("/var/lib/nubo/base-images"));
        Ok(Config {
            external,
            default_vpc,
            base_images_dir,
            master_key_file: file
                .master_key_file
                .unwrap_or_else(|| data_dir.join("master.key")),
            listen: listen
                .or(file.listen)
                .unwrap_or_else(|| "127.0.0.1:8773".into()),
            log_format: log_format
                .or(file.log_format)
                .unwrap_or_else(|| "text".into()),
            admin_name: admin_file.name.unwrap_or_else(|| "admin".into()),
            data_dir,
            database_url,
            regions,
            admin,
            limits,
        })
    }

    /// Creates the data directory (mode 0700) if needed.
    pub fn ensure_data_dir(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("creating {}", self.data_dir.display()))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&self.data_dir, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("securing {}", self.data_dir.display()))?;
        }
        Ok(())
    }
}

/// Parses a boolean setting from the environment (`true`/`false`, `1`/`0`).
fn parse_bool(name: &str, value: &str) -> anyhow::Result<bool> {
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => anyhow::bail!("{name} must be true or false, not '{value}'"),
    }
}

/// Parses `[network] public_pool`: IPv4 CIDR blocks, at least one, none overlapping.
fn parse_public_pool(blocks: &[String]) -> anyhow::Result<Vec<Ipv4Cidr>> {
    let mut pool: Vec<Ipv4Cidr> = Vec::with_capacity(blocks.len());
    for text in blocks {
        let cidr: Ipv4Cidr = text
            .parse()
            .map_err(|e| anyhow::anyhow!("invalid [network] public_pool entry: {e}"))?;
        if let Some(other) = pool.iter().find(|p| p.overlaps(&cidr)) {
            anyhow::bail!("[network] public_pool entries {other} and {cidr} overlap");
        }
        pool.push(cidr);
    }
    if pool.is_empty() {
        anyhow::bail!("[network] public_pool must name at least one CIDR block");
    }
    Ok(pool)
}

/// The external network from its CIDR text and the public pool: the host
/// has the first usable address; the pool must lie outside it (the host
/// routes the pool onto the bridge, the bridge network is on-link).
fn external_net(cidr: &str, pool: &[Ipv4Cidr], forward: bool) -> anyhow::Result<ExternalNet> {
    let net: Ipv4Cidr = cidr.parse().map_err(|e| {
        anyhow::anyhow!(
            "invalid external network (NUBO_EXTERNAL_CIDR / [network] external_cidr) {cidr}: {e}"
        )
    })?;
    if net.prefix() > 29 {
        anyhow::bail!(
            "the external network {net} is too small: it needs the host and the machines attached to it (/29 or larger)"
        );
    }
    if let Some(p) = pool.iter().find(|p| p.overlaps(&net)) {
        anyhow::bail!(
            "the public pool {p} overlaps the external network {net}: they must be disjoint"
        );
    }
    Ok(ExternalNet {
        cidr: net,
        host_address: std::net::Ipv4Addr::from(u32::from(net.network()) + 1),
        public_pools: pool.to_vec(),
        forward_to_uplink: forward,
    })
}

fn absolute(p: &Path) -> anyhow::Result<PathBuf> {
    if p.is_absolute() {
        Ok(p.to_path_buf())
    } else {
        Ok(std::env::current_dir()?.join(p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_pool_entries_are_cidrs_that_do_not_overlap() {
        let ok = parse_public_pool(&["198.51.100.0/24".into(), "203.0.113.0/25".into()]);
        assert_eq!(ok.map(|p| p.len()).ok(), Some(2));
        assert!(parse_public_pool(&[]).is_err());
        assert!(
            parse_public_pool(&["198.51.100.0/24".into(), "198.51.100.128/25".into()]).is_err()
        );
        assert!(parse_public_pool(&["banana".into()]).is_err());
        let file: FileConfig =
            toml::from_str("[network]\npublic_pool = [\"198.51.100.0/24\"]\n").unwrap();
        assert!(file.network.is_some());
        assert!(toml::from_str::<FileConfig>("[network]\npool = []\n").is_err());
    }

    #[test]
    fn external_network_is_checked_against_the_pool() {
        let pool = parse_public_pool(&["198.51.100.0/24".into()]).unwrap();
        let ext = external_net(DEFAULT_EXTERNAL_CIDR, &pool, false).unwrap();
        assert_eq!(
            ext.host_address,
            "203.0.113.1".parse::<std::net::Ipv4Addr>().unwrap()
        );
        assert_eq!(ext.cidr.to_string(), "203.0.113.0/24");
        assert_eq!(ext.public_pools, pool);
        assert!(!ext.forward_to_uplink);
        let overlap = external_net("198.51.100.128/25", &pool, false).unwrap_err();
        assert!(overlap.to_string().contains("overlaps"), "{overlap}");
        assert!(external_net("203.0.113.0/30", &pool, false).is_err());
        assert!(external_net("banana", &pool, false).is_err());
        assert!(
            external_net("198.18.7.0/24", &pool, true)
                .unwrap()
                .forward_to_uplink
        );
        let file: FileConfig = toml::from_str(
            "[network]\nexternal_cidr = \"198.18.0.0/24\"\nexternal_forward = true\n",
        )
        .unwrap();
        let network = file.network.unwrap();
        assert_eq!(network.external_cidr.as_deref(), Some("198.18.0.0/24"));
        assert_eq!(network.external_forward, Some(true));
    }

    #[test]
    fn default_vpc_setting_parses() {
        let file: FileConfig = toml::from_str("[ec2]\ndefault_vpc = false\n").unwrap();
        assert_eq!(file.ec2.and_then(|e| e.default_vpc), Some(false));
        assert!(toml::from_str::<FileConfig>("[ec2]\ndefault = 1\n").is_err());
        assert!(parse_bool("X", "TRUE").unwrap());
        assert!(!parse_bool("X", "0").unwrap());
        assert!(parse_bool("X", "maybe").is_err());
    }

    #[test]
    fn images_setting_parses() {
        let file: FileConfig = toml::from_str("[images]\nbase_dir = \"/srv/base\"\n").unwrap();
        assert_eq!(
            file.images.and_then(|i| i.base_dir),
            Some(PathBuf::from("/srv/base"))
        );
        assert!(toml::from_str::<FileConfig>("[images]\ndir = \"/x\"\n").is_err());
    }
}
