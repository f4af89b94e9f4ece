//! Machine images (AMIs): `DescribeImages`, `RegisterImage`,
//! `DeregisterImage`, `CopyImage` and the image attributes, plus the seams
//! `RunInstances` and `CreateImage` use ([`ops`]).
//!
//! An image is a top-level row in its owner's account and region. Others see
//! it when it is public or shared with them (its launch permission); reading
//! those goes through the store's cross-account kind listing, and the pure
//! rules of who may see and launch what are [`access`]. The row holds where
//! the image's root filesystem lives ([`ImageContent`]): a directory of the
//! installation's [`library::ImageLibrary`] (shared by an image and its
//! copies, removed with the last of them) or, for the base images the
//! installation ships ([`base`]), a directory on the host that Nubo never
//! deletes. Names are unique per owner and region through a marker row, as
//! key names are.

pub mod access;
pub mod attributes;
pub mod base;
pub mod block_device;
pub mod library;
pub mod ops;
pub mod state;

use std::path::PathBuf;

use nubo_core::filter::Filterable;
use nubo_core::{AccountId, Error, ResourceId, ResourceKind, TagSet};
use serde::{Deserialize, Serialize};

use crate::resource::Resource;
pub use access::LaunchPermissions;
pub use block_device::BlockDeviceMapping;
pub use library::{DirectoryLibrary, FakeLibrary, ImageLibrary};
pub use state::ImageState;

/// The account that owns the installation's base images. No account row
/// exists for it (so no credentials), `AccountId::generate` never yields an
/// ID starting with 0, and account creation refuses it.
pub const SYSTEM_ACCOUNT: &str = nubo_core::SYSTEM_ACCOUNT_ID;

/// The owner alias of the installation's own images, as AWS shows for its own.
pub const AMAZON_ALIAS: &str = "amazon";

/// The device every image boots from.
pub const ROOT_DEVICE: &str = "/dev/xvda";

/// Where an image's root filesystem lives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ImageContent {
    /// A directory of the image library, named by `key` (the ID of the image
    /// that first produced it; copies share it).
    Library { key: String },
    /// A directory on the host, used in place and never deleted by Nubo
    /// (the installation's base images).
    HostPath { path: PathBuf },
}

/// Why an image is `failed` (`stateReason`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateReason {
    pub code: String,
    pub message: String,
}

/// An image as stored and described.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    pub id: ResourceId,
    pub owner_id: AccountId,
    /// `amazon` for the installation's base images, else none.
    #[serde(default)]
    pub owner_alias: Option<String>,
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub architecture: String,
    pub state: ImageState,
    #[serde(default)]
    pub state_reason: Option<StateReason>,
    /// What the image was registered from (`imageLocation`): the tarball's
    /// path, `<owner>/<name>` for copies and images of instances.
    pub image_location: String,
    /// ISO 8601 with milliseconds.
    pub creation_date: String,
    #[serde(default)]
    pub launch_permissions: LaunchPermissions,
    pub root_device_name: String,
    pub block_device_mappings: Vec<BlockDeviceMapping>,
    pub content: ImageContent,
    #[serde(default)]
    pub source_image_id: Option<String>,
    #[serde(default)]
    pub source_image_region: Option<String>,
    #[serde(default)]
    pub source_instance_id: Option<String>,
    /// The `ClientToken` of the `CopyImage` that made this image.
    #[serde(default)]
    pub client_token: Option<String>,
    #[serde(default)]
    pub tags: TagSet,
}

impl Image {
    /// AWS's fixed values for the images Nubo makes.
    pub const IMAGE_TYPE: &'static str = "machine";
    pub const ROOT_DEVICE_TYPE: &'static str = "ebs";
    pub const VIRTUALIZATION_TYPE: &'static str = "hvm";
    pub const HYPERVISOR: &'static str = "xen";
    pub const PLATFORM_DETAILS: &'static str = "Linux/UNIX";
    pub const USAGE_OPERATION: &'static str = "RunInstances";

    pub fn is_public(&self) -> bool {
        self.launch_permissions.public
    }

    /// The directory holding the image's root filesystem on this host.
    pub fn rootfs_dir(&self, library: &dyn ImageLibrary) -> PathBuf {
        match &self.content {
            ImageContent::Library { key } => library.rootfs_dir(key),
            ImageContent::HostPath { path } => path.clone(),
        }
    }
}

impl Resource for Image {
    const KIND: ResourceKind = ResourceKind::Image;

    fn id(&self) -> &ResourceId {
        &self.id
    }

    fn tags_mut(&mut self) -> &mut TagSet {
        &mut self.tags
    }
}

impl Filterable for Image {
    const FILTERS: &'static [&'static str] = &[
        "architecture",
        "block-device-mapping.delete-on-termination",
        "block-device-mapping.device-name",
        "block-device-mapping.snapshot-id",
        "block-device-mapping.volume-size",
        "block-device-mapping.volume-type",
        "block-device-mapping.encrypted",
        "creation-date",
        "description",
        "ena-support",
        "free-tier-eligible",
        "hypervisor",
        "image-allowed",
        "image-id",
        "image-type",
        "is-public",
        "kernel-id",
        "manifest-location",
        "name",
        "owner-alias",
        "owner-id",
        "platform",
        "platform-details",
        "product-code",
        "product-code.type",
        "ramdisk-id",
        "root-device-name",
        "root-device-type",
        "source-image-id",
        "source-image-region",
        "source-instance-id",
        "state",
        "state-reason-code",
        "state-reason-message",
        "sriov-net-support",
        "usage-operation",
        "virtualization-type",
    ];

    fn filter_values(&self, name: &str) -> Vec<String> {
        let ebs = |f: &dyn Fn(&block_device::Ebs) -> String| -> Vec<String> {
            self.block_device_mappings
                .iter()
                .filter_map(|m| m.ebs.as_ref().map(f))
                .collect()
        };
        let one = |v: &str| vec![v.to_string()];
        match name {
            "architecture" => one(&self.architecture),
            "block-device-mapping.delete-on-termination" => {
                ebs(&|e| e.delete_on_termination.to_string())
            }
            "block-device-mapping.device-name" => self
                .block_device_mappings
                .iter()
                .map(|m| m.device_name.clone())
                .collect(),
            "block-device-mapping.snapshot-id" => vec![],
            "block-device-mapping.volume-size" => ebs(&|e| e.volume_size.to_string()),
            "block-device-mapping.volume-type" => ebs(&|e| e.volume_type.clone()),
            "block-device-mapping.encrypted" => ebs(&|e| e.encrypted.to_string()),
            "creation-date" => one(&self.creation_date),
            "description" => self.description.iter().cloned().collect(),
            "ena-support" => one("true"),
            "free-tier-eligible" => one("false"),
            "hypervisor" => one(Self::HYPERVISOR),
            "image-allowed" => one("true"),
            "image-id" => one(self.id.as_str()),
            "image-type" => one(Self::IMAGE_TYPE),
            "is-public" => one(&self.is_public().to_string()),
            "manifest-location" => one(&self.image_location),
            "name" => one(&self.name),
            "owner-alias" => self.owner_alias.iter().cloned().collect(),
            "owner-id" => one(self.owner_id.as_str()),
            "platform-details" => one(Self::PLATFORM_DETAILS),
            "root-device-name" => one(&self.root_device_name),
            "root-device-type" => one(Self::ROOT_DEVICE_TYPE),
            "source-image-id" => self.source_image_id.iter().cloned().collect(),
            "source-image-region" => self.source_image_region.iter().cloned().collect(),
            "source-instance-id" => self.source_instance_id.iter().cloned().collect(),
            "state" => one(self.state.as_str()),
            "state-reason-code" => self.state_reason.iter().map(|r| r.code.clone()).collect(),
            "state-reason-message" => self
                .state_reason
                .iter()
                .map(|r| r.message.clone())
                .collect(),
            "usage-operation" => one(Self::USAGE_OPERATION),
            "virtualization-type" => one(Self::VIRTUALIZATION_TYPE),
            // Linux images have no platform, kernel, ramdisk or product codes.
            _ => vec![],
        }
    }

    fn tags(&self) -> &TagSet {
        &self.tags
    }
}

/// Parses an image ID parameter.
pub fn parse_image_id(text: &str) -> Result<ResourceId, Error> {
    ResourceId::parse(text, ResourceKind::Image, "InvalidAMIID.Malformed")
}

/// AWS's rule for image names: 3–128 characters of letters, digits and
/// `( ) [ ] space . / - ' @ _`.
pub fn check_image_name(name: &str) -> Result<(), Error> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "()[] ./-'@_".contains(c);
    if (3..=128).contains(&name.chars().count()) && name.chars().all(allowed) {
        return Ok(());
    }
    Err(Error::client(
        "InvalidAMIName.Malformed",
        format!(
            "AMI name '{name}' is invalid: AMI names must be between 3 and 128 characters long, \
             and may contain letters, numbers, '(', ')', '[', ']', ' ', '.', '/', '-', ''', '@' and '_'"
        ),
    ))
}

/// AWS's rule for image descriptions: at most 255 characters.
pub fn check_description(description: &str) -> Result<(), Error> {
    if description.chars().count() <= 255 {
        Ok(())
    } else {
        Err(Error::invalid(
            "Value for parameter description is invalid. Descriptions may be at most 255 characters long.",
        ))
    }
}

/// AWS's `ArchitectureValues`.
pub fn check_architecture(arch: &str) -> Result<(), Error> {
    const VALUES: [&str; 5] = ["i386", "x86_64", "arm64", "x86_64_mac", "arm64_mac"];
    if VALUES.contains(&arch) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "Value ({arch}) for parameter architecture is invalid. Valid values: {}",
            VALUES.join(", ")
        )))
    }
}

/// The error for an image the caller cannot see (or that does not exist).
pub fn image_not_found(id: &str) -> Error {
    Error::not_found(
        "InvalidAMIID.NotFound",
        format!("The image id '[{id}]' does not exist"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_aws_rules() {
        for ok in [
            "abc",
            "my image (v1) [x86_64] @2024/11_23 'final'",
            &"n".repeat(128),
        ] {
            assert!(check_image_name(ok).is_ok(), "{ok}");
        }
        for bad in ["ab", "", &"n".repeat(129), "a;b;c", "naïve", "tab\there"] {
            match check_image_name(bad) {
                Err(Error::Client { code, .. }) => assert_eq!(code, "InvalidAMIName.Malformed"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }

    #[test]
    fn descriptions_and_architectures() {
        assert!(check_description(&"d".repeat(255)).is_ok());
        assert!(check_description(&"d".repeat(256)).is_err());
        assert!(check_architecture("x86_64").is_ok());
        assert!(check_architecture("arm64").is_ok());
        assert!(check_architecture("amd64").is_err());
    }

    #[test]
    fn image_ids_parse() {
        assert!(parse_image_id("ami-0123456789abcdef0").is_ok());
        assert!(parse_image_id("ami-12345678").is_ok());
        for bad in ["ami-xyz", "vpc-0123456789abcdef0", "ami-"] {
            match parse_image_id(bad) {
                Err(Error::Client { code, .. }) => assert_eq!(code, "InvalidAMIID.Malformed"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
