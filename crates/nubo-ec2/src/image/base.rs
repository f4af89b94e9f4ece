//! The installation's base images: at server start, each
//! `<base_dir>/<name>/image.json` (written by `scripts/build-base-image.sh`
//! next to its `rootfs/`) is registered, once per name and region, as a
//! public image owned by [`super::SYSTEM_ACCOUNT`] with owner alias `amazon`.
//! The rootfs is used in place and never deleted by Nubo.

use std::path::{Path, PathBuf};

use nubo_core::{AccountId, Error, ResourceId, ResourceKind};
use serde::Deserialize;

use super::ops::{insert_in_tx, NAME_KIND};
use super::{block_device, Image, ImageContent, ImageState, LaunchPermissions};
use super::{AMAZON_ALIAS, ROOT_DEVICE, SYSTEM_ACCOUNT};
use crate::resource::{self, store_err, Ec2Service, RequestScope};
use crate::retry::with_retry;

/// `image.json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct BaseImageManifest {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default = "x86_64")]
    pub architecture: String,
    #[serde(default)]
    pub version: serde_json::Value,
}

fn x86_64() -> String {
    "x86_64".into()
}

/// A base image found on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseImage {
    pub manifest: BaseImageManifest,
    pub rootfs: PathBuf,
}

/// The base images under `dir` (in name order): every subdirectory with an
/// `image.json` and a `rootfs/`. A missing `dir` holds none; an unreadable
/// or invalid manifest is logged and skipped.
pub fn scan(dir: &Path) -> Vec<BaseImage> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        tracing::info!(dir = %dir.display(), "no base image directory: no base images");
        return vec![];
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        // Hidden entries are builds in progress and retired versions.
        if entry.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let manifest = path.join("image.json");
        let rootfs = path.join("rootfs");
        if !manifest.is_file() || !rootfs.is_dir() {
            continue;
        }
        let parsed = std::fs::read_to_string(&manifest)
            .map_err(|e| e.to_string())
            .and_then(|text| {
                serde_json::from_str::<BaseImageManifest>(&text).map_err(|e| e.to_string())
            })
            .and_then(|m| {
                super::check_image_name(&m.name)
                    .and_then(|_| super::check_architecture(&m.architecture))
                    .map(|_| m)
                    .map_err(|e| e.to_string())
            });
        match parsed {
            Ok(manifest) => found.push(BaseImage { manifest, rootfs }),
            Err(e) => {
                tracing::warn!(manifest = %manifest.display(), error = %e, "skipping base image")
            }
        }
    }
    found.sort_by(|a, b| a.manifest.name.cmp(&b.manifest.name));
    found
}

impl Ec2Service {
    /// Registers the base images under `dir` in every region (idempotently,
    /// by name); returns the images registered now.
    pub async fn register_base_images(&self, dir: &Path) -> Result<Vec<Image>, Error> {
        let mut registered = Vec::new();
        for base in scan(dir) {
            for region in self.regions.clone() {
                let scope = RequestScope::new(AccountId::parse(SYSTEM_ACCOUNT)?, region.name);
                if let Some(image) = with_retry(|| self.register_base_once(&scope, &base)).await? {
                    tracing::info!(image = %image.id, name = %image.name, region = %scope.region, "registered base image");
                    registered.push(image);
                }
            }
        }
        Ok(registered)
    }

    async fn register_base_once(
        &self,
        scope: &RequestScope,
        base: &BaseImage,
    ) -> Result<Option<Image>, Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let marker = format!(
            "{NAME_KIND}:{}:{}:{}",
            scope.account, scope.region, base.manifest.name
        );
        if tx
            .get_resource(scope.account.as_str(), &marker)
            .await
            .map_err(store_err)?
            .is_some()
        {
            tx.rollback().await.map_err(store_err)?;
            return Ok(None);
        }
        let image = Image {
            id: ResourceId::generate(ResourceKind::Image),
            owner_id: scope.account.clone(),
            owner_alias: Some(AMAZON_ALIAS.into()),
            name: base.manifest.name.clone(),
            description: base.manifest.description.clone(),
            architecture: base.manifest.architecture.clone(),
            state: ImageState::Available,
            state_reason: None,
            image_location: format!("{AMAZON_ALIAS}/{}", base.manifest.name),
            creation_date: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            launch_permissions: LaunchPermissions {
                public: true,
                accounts: Default::default(),
            },
            root_device_name: ROOT_DEVICE.into(),
            block_device_mappings: vec![block_device::root_mapping(
                ROOT_DEVICE,
                block_device::DEFAULT_ROOT_GIB,
            )],
            content: ImageContent::HostPath {
                path: base.rootfs.clone(),
            },
            source_image_id: None,
            source_image_region: None,
            source_instance_id: None,
            client_token: None,
            tags: Default::default(),
        };
        insert_in_tx(&mut tx, scope, &image).await?;
        resource::commit(tx, scope, &[image.id.as_str()]).await?;
        Ok(Some(image))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scan_finds_complete_base_images_only() {
        let dir = std::env::temp_dir().join(format!("nubo-base-scan-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for (name, manifest, rootfs) in [
            (
                "good",
                Some(
                    r#"{"name": "debian-12-nubo-20261123", "architecture": "x86_64", "version": 1}"#,
                ),
                true,
            ),
            ("no-rootfs", Some(r#"{"name": "other-image"}"#), false),
            ("bad-json", Some("{"), true),
            ("bad-name", Some(r#"{"name": "x"}"#), true),
            ("no-manifest", None, true),
            (
                ".retired-debian-12-1",
                Some(r#"{"name": "debian-12-nubo-20261101", "architecture": "x86_64"}"#),
                true,
            ),
        ] {
            let d = dir.join(name);
            std::fs::create_dir_all(&d).unwrap();
            if let Some(m) = manifest {
                std::fs::write(d.join("image.json"), m).unwrap();
            }
            if rootfs {
                std::fs::create_dir_all(d.join("rootfs")).unwrap();
            }
        }
        let found = scan(&dir);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].manifest.name, "debian-12-nubo-20261123");
        assert_eq!(found[0].rootfs, dir.join("good/rootfs"));
        assert!(scan(&dir.join("absent")).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
