//! `ModifyImageAttribute`, `DescribeImageAttribute` and
//! `ResetImageAttribute`: the owner changes an image's launch permission
//! (accounts, or group `all`) and description; others that can see the image
//! may read its description and mappings, not its launch permission.

use nubo_core::{AccountId, Error, ResourceId};

use super::ops::not_authorized;
use super::{check_description, image_not_found, Image};
use crate::resource::{self, store_err, update_in_tx, Ec2Service, RequestScope};
use crate::retry::with_retry;

/// An item of a launch permission change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PermissionItem {
    /// Group `all` (public).
    All,
    Account(AccountId),
}

/// What `ModifyImageAttribute` changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageAttributeChange {
    LaunchPermission {
        add: Vec<PermissionItem>,
        remove: Vec<PermissionItem>,
    },
    Description(String),
}

/// The `Attribute` values of `DescribeImageAttribute` (AWS's `ImageAttributeName`).
pub const IMAGE_ATTRIBUTES: [&str; 13] = [
    "description",
    "kernel",
    "ramdisk",
    "launchPermission",
    "productCodes",
    "blockDeviceMapping",
    "sriovNetSupport",
    "bootMode",
    "tpmSupport",
    "uefiData",
    "lastLaunchedTime",
    "imdsSupport",
    "deregistrationProtection",
];

impl Ec2Service {
    /// `ModifyImageAttribute` (owner only): launch permissions or description.
    pub async fn modify_image_attribute(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        change: &ImageAttributeChange,
    ) -> Result<(), Error> {
        match change {
            ImageAttributeChange::LaunchPermission { add, remove } => {
                if add.is_empty() && remove.is_empty() {
                    return Err(Error::MissingParameter("LaunchPermission".into()));
                }
                for item in add.iter().chain(remove) {
                    if let PermissionItem::Account(account) = item {
                        self.check_account_exists(account).await?;
                    }
                }
            }
            ImageAttributeChange::Description(d) => check_description(d)?,
        }
        with_retry(|| self.modify_image_once(scope, id, change)).await
    }

    async fn check_account_exists(&self, account: &AccountId) -> Result<(), Error> {
        let known = self
            .store
            .get_account(account.as_str())
            .await
            .map_err(store_err)?
            .is_some();
        if known {
            Ok(())
        } else {
            Err(Error::client(
                "InvalidAMIAttributeItemValue",
                format!("Invalid attribute item value \"{account}\" for userId item type."),
            ))
        }
    }

    async fn modify_image_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        change: &ImageAttributeChange,
    ) -> Result<(), Error> {
        let tx = self.store.begin().await.map_err(store_err)?;
        let (mut tx, mut image) = self.owned_in_tx(tx, scope, id).await?;
        match change {
            ImageAttributeChange::LaunchPermission { add, remove } => {
                let perms = &mut image.value.launch_permissions;
                for item in add {
                    match item {
                        PermissionItem::All => perms.public = true,
                        PermissionItem::Account(a) if *a != scope.account => {
                            perms.accounts.insert(a.clone());
                        }
                        PermissionItem::Account(_) => {}
                    }
                }
                for item in remove {
                    match item {
                        PermissionItem::All => perms.public = false,
                        PermissionItem::Account(a) => {
                            perms.accounts.remove(a);
                        }
                    }
                }
            }
            ImageAttributeChange::Description(d) => {
                image.value.description = Some(d.clone()).filter(|d| !d.is_empty());
            }
        }
        update_in_tx(&mut tx, scope, &image).await?;
        resource::commit(tx, scope, &[id.as_str()]).await
    }

    /// `DescribeImageAttribute`: the image, for the edge to render the asked
    /// attribute. Launch permissions are the owner's to read.
    pub async fn describe_image_attribute(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        attribute: &str,
    ) -> Result<Image, Error> {
        if !IMAGE_ATTRIBUTES.contains(&attribute) {
            return Err(Error::invalid(format!(
                "Value ({attribute}) for parameter attribute is invalid. Valid values: {}",
                IMAGE_ATTRIBUTES.join(", ")
            )));
        }
        let image = self
            .visible_in(&scope.account, &scope.region, id)
            .await?
            .ok_or_else(|| image_not_found(id.as_str()))?
            .value;
        if attribute == "launchPermission" && image.owner_id != scope.account {
            return Err(not_authorized(id));
        }
        Ok(image)
    }

    /// `ResetImageAttribute` (owner only): `launchPermission` back to owner-only.
    pub async fn reset_image_attribute(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        attribute: &str,
    ) -> Result<(), Error> {
        if attribute != "launchPermission" {
            return Err(Error::invalid(format!(
                "Value ({attribute}) for parameter attribute is invalid. Valid values: launchPermission"
            )));
        }
        with_retry(|| self.reset_image_once(scope, id)).await
    }

    async fn reset_image_once(&self, scope: &RequestScope, id: &ResourceId) -> Result<(), Error> {
        let tx = self.store.begin().await.map_err(store_err)?;
        let (mut tx, mut image) = self.owned_in_tx(tx, scope, id).await?;
        image.value.launch_permissions = Default::default();
        update_in_tx(&mut tx, scope, &image).await?;
        resource::commit(tx, scope, &[id.as_str()]).await
    }
}
