//! The image operations on [`Ec2Service`], and the name marker rows that keep
//! image names unique per owner and region.
//!
//! A marker row (kind [`NAME_KIND`], ID `ami-name:<account>:<region>:<name>`,
//! body the image's ID) is written with its image and deleted with it, so two
//! registrations racing for one name collide on its primary key: the loser
//! re-runs and answers `InvalidAMIName.Duplicate`.
//!
//! Writes are the owner's: another account that can see the image (public or
//! shared) is answered `AuthFailure`, one that cannot `InvalidAMIID.NotFound`.
//! `CopyImage` writes the source image's row back (in its owner's account),
//! so a copy racing `DeregisterImage` of its source conflicts and re-runs; the
//! content is removed only after the last image using it is gone.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use nubo_core::filter::{self, Filter, Page};
use nubo_core::{AccountId, Error, ResourceId, ResourceKind, Tag, TagSet};
use nubo_store::Tx;

use super::access::{self, ExecutableSel, Holder, OwnerSel};
use super::block_device::{self, MappingRequest};
use super::library::ImageLibrary;
use super::{
    check_architecture, check_description, check_image_name, image_not_found, Image, ImageContent,
    ImageState, StateReason, ROOT_DEVICE,
};
use crate::idempotency::{self, TokenUse};
use crate::resource::bookkeeping_row;
use crate::resource::{
    self, decode, get_in_tx, new_row, store_err, tags_for, update_in_tx, Ec2Service, RequestScope,
    Versioned,
};
use crate::retry::with_retry;

/// The store kind of image-name marker rows.
pub const NAME_KIND: &str = "ami-name";

const COPY_ACTION: &str = "CopyImage";

pub use super::attributes::{ImageAttributeChange, PermissionItem, IMAGE_ATTRIBUTES};

fn marker_id(scope: &RequestScope, name: &str) -> String {
    format!("{NAME_KIND}:{}:{}:{name}", scope.account, scope.region)
}

/// `DescribeImages`' selection.
#[derive(Debug, Clone, Default)]
pub struct DescribeImages {
    pub image_ids: Vec<ResourceId>,
    pub owners: Vec<OwnerSel>,
    pub executable_by: Vec<ExecutableSel>,
    pub filters: Vec<Filter>,
}

/// `RegisterImage`'s input.
#[derive(Debug, Clone, Default)]
pub struct RegisterImage {
    pub name: String,
    pub description: Option<String>,
    pub architecture: Option<String>,
    /// A rootfs tarball on the server host (AWS: an S3 manifest).
    pub image_location: Option<String>,
    pub root_device_name: Option<String>,
    pub virtualization_type: Option<String>,
    pub block_device_mappings: Vec<MappingRequest>,
    pub tag_specifications: Vec<(String, Vec<Tag>)>,
}

/// `CopyImage`'s input.
#[derive(Debug, Clone)]
pub struct CopyImage {
    pub source_region: String,
    pub source_image_id: ResourceId,
    pub name: String,
    pub description: Option<String>,
    pub client_token: Option<String>,
    pub copy_image_tags: bool,
    pub encrypted: bool,
    pub tag_specifications: Vec<(String, Vec<Tag>)>,
}

/// A pending image whose content another component produces (`CreateImage`).
#[derive(Debug, Clone)]
pub struct PendingImage {
    pub name: String,
    pub description: Option<String>,
    pub architecture: String,
    pub source_instance_id: Option<String>,
    pub root_volume_gib: u32,
    pub tags: TagSet,
}

pub(super) fn not_authorized(id: &ResourceId) -> Error {
    Error::AuthFailure(format!("Not authorized for image:{id}"))
}

fn duplicate_name(name: &str, holder: &str) -> Error {
    Error::AlreadyExists {
        code: "InvalidAMIName.Duplicate",
        message: format!("AMI name {name} is already in use by AMI {holder}"),
    }
}

fn now_timestamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn holder(image: &Image) -> Holder<'_> {
    Holder {
        owner: &image.owner_id,
        owner_alias: image.owner_alias.as_deref(),
        permissions: &image.launch_permissions,
    }
}

/// Inserts `image` and its name marker under `scope`; the name must be free.
pub(crate) async fn insert_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
    image: &Image,
) -> Result<(), Error> {
    let marker = marker_id(scope, &image.name);
    if let Some(row) = tx
        .get_resource(scope.account.as_str(), &marker)
        .await
        .map_err(store_err)?
    {
        let holder: String = serde_json::from_str(&row.body).unwrap_or_default();
        return Err(duplicate_name(&image.name, &holder));
    }
    tx.insert_resource(&new_row(scope, image)?)
        .await
        .map_err(store_err)?;
    let row = bookkeeping_row(
        scope.account.as_str(),
        &scope.region,
        NAME_KIND,
        marker,
        None,
        image.id.as_str(),
    )?;
    tx.insert_resource(&row).await.map_err(store_err)
}

/// Deletes `image` (read at its generation) with its name and token markers.
async fn delete_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
    image: &Versioned<Image>,
) -> Result<(), Error> {
    let account = scope.account.as_str();
    tx.delete_resource(account, image.value.id.as_str(), image.generation)
        .await
        .map_err(store_err)?;
    let marker = marker_id(scope, &image.value.name);
    if let Some(row) = tx.get_resource(account, &marker).await.map_err(store_err)? {
        tx.delete_resource(account, &marker, row.generation)
            .await
            .map_err(store_err)?;
    }
    if let Some(token) = &image.value.client_token {
        idempotency::forget_use(tx, scope, COPY_ACTION, token).await?;
    }
    Ok(())
}

impl Ec2Service {
    /// Attaches the store of image content (the server: a
    /// [`super::DirectoryLibrary`] under its data directory).
    pub fn with_image_library(mut self, library: Arc<dyn ImageLibrary>) -> Self {
        self.images = library;
        self
    }

    /// The store of image content, for whoever starts instances from images.
    pub fn image_library(&self) -> Arc<dyn ImageLibrary> {
        self.images.clone()
    }

    /// Every image of `region`, in every account, with its generation, by ID.
    async fn images_in_region(&self, region: &str) -> Result<Vec<Versioned<Image>>, Error> {
        let rows = self
            .store
            .list_kind_everywhere(ResourceKind::Image.prefix())
            .await
            .map_err(store_err)?;
        rows.iter()
            .filter(|r| r.region == region)
            .map(decode::<Image>)
            .collect()
    }

    /// The image `id` of `region` if the caller may launch it.
    pub(super) async fn visible_in(
        &self,
        caller: &AccountId,
        region: &str,
        id: &ResourceId,
    ) -> Result<Option<Versioned<Image>>, Error> {
        Ok(self
            .images_in_region(region)
            .await?
            .into_iter()
            .find(|i| &i.value.id == id && access::can_launch(holder(&i.value), caller)))
    }

    /// The caller's own image `id` in `tx`, or the error a non-owner gets.
    pub(super) async fn owned_in_tx(
        &self,
        tx: Tx,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<(Tx, Versioned<Image>), Error> {
        let mut tx = tx;
        match get_in_tx::<Image>(&mut tx, scope, id).await {
            Ok(image) => Ok((tx, image)),
            Err(Error::NotFound { .. }) => {
                tx.rollback().await.map_err(store_err)?;
                match self.visible_in(&scope.account, &scope.region, id).await? {
                    Some(_) => Err(not_authorized(id)),
                    None => Err(image_not_found(id.as_str())),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// `DescribeImages`: the launchable images of the region, narrowed by
    /// owners, explicit launch permissions, IDs and filters, one page.
    pub async fn describe_images(
        &self,
        scope: &RequestScope,
        query: &DescribeImages,
        page: &Page,
    ) -> Result<(Vec<Image>, Option<String>), Error> {
        filter::validate::<Image>(&query.filters)?;
        let caller = &scope.account;
        let mut images: Vec<Image> = self
            .images_in_region(&scope.region)
            .await?
            .into_iter()
            .map(|v| v.value)
            .filter(|i| access::can_launch(holder(i), caller))
            .collect();
        if !query.image_ids.is_empty() {
            let wanted: BTreeSet<&ResourceId> = query.image_ids.iter().collect();
            let missing: Vec<&str> = wanted
                .iter()
                .filter(|id| !images.iter().any(|i| &&i.id == *id))
                .map(|id| id.as_str())
                .collect();
            if !missing.is_empty() {
                return Err(image_not_found(&missing.join(", ")));
            }
            images.retain(|i| wanted.contains(&i.id));
        }
        images.retain(|i| {
            access::selects(holder(i), caller, &query.owners, &query.executable_by)
                && filter::matches(i, &query.filters)
        });
        Ok(page.apply(images, |i| i.id.as_str()))
    }

    /// `RegisterImage`: imports the rootfs tarball at `ImageLocation` into the
    /// image library and registers an available, private image of it.
    pub async fn register_image(
        &self,
        scope: &RequestScope,
        input: RegisterImage,
    ) -> Result<Image, Error> {
        check_image_name(&input.name)?;
        if let Some(d) = &input.description {
            check_description(d)?;
        }
        let architecture = input.architecture.unwrap_or_else(|| "x86_64".into());
        check_architecture(&architecture)?;
        match input.virtualization_type.as_deref() {
            None | Some("hvm") => {}
            Some(other) => {
                return Err(Error::invalid(format!(
                    "Value ({other}) for parameter virtualizationType is invalid. Only hvm images are offered."
                )))
            }
        }
        let root = input.root_device_name.unwrap_or_else(|| ROOT_DEVICE.into());
        let mappings = block_device::plan(&root, &input.block_device_mappings)?;
        let tags = tags_for(ResourceKind::Image, &input.tag_specifications)?;
        let Some(location) = input.image_location.filter(|l| !l.is_empty()) else {
            return Err(Error::MissingParameter("ImageLocation".into()));
        };
        super::library::check_tarball_name(std::path::Path::new(&location))?;
        let id = ResourceId::generate(ResourceKind::Image);
        let image = Image {
            id: id.clone(),
            owner_id: scope.account.clone(),
            owner_alias: None,
            name: input.name,
            description: input.description,
            architecture,
            state: ImageState::Available,
            state_reason: None,
            image_location: location.clone(),
            creation_date: now_timestamp(),
            launch_permissions: Default::default(),
            root_device_name: root,
            block_device_mappings: mappings,
            content: ImageContent::Library {
                key: id.to_string(),
            },
            source_image_id: None,
            source_image_region: None,
            source_instance_id: None,
            client_token: None,
            tags,
        };
        // Refuse a taken name (and answer a dry run) before unpacking anything.
        self.check_name_free(scope, &image.name).await?;
        if scope.dry_run {
            return with_retry(|| self.insert_image_once(scope, &image))
                .await
                .map(|_| image);
        }
        let library = self.images.clone();
        let key = id.to_string();
        let path = PathBuf::from(&location);
        tokio::task::spawn_blocking(move || library.import_tarball(&key, &path))
            .await
            .map_err(Error::internal)??;
        if let Err(e) = with_retry(|| self.insert_image_once(scope, &image)).await {
            self.remove_content(id.as_str()).await;
            return Err(e);
        }
        Ok(image)
    }

    async fn check_name_free(&self, scope: &RequestScope, name: &str) -> Result<(), Error> {
        match self
            .store
            .get_resource(scope.account.as_str(), &marker_id(scope, name))
            .await
            .map_err(store_err)?
        {
            Some(row) => Err(duplicate_name(
                name,
                &serde_json::from_str::<String>(&row.body).unwrap_or_default(),
            )),
            None => Ok(()),
        }
    }

    async fn insert_image_once(&self, scope: &RequestScope, image: &Image) -> Result<(), Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        insert_in_tx(&mut tx, scope, image).await?;
        resource::commit(tx, scope, &[image.id.as_str()]).await
    }

    /// Removes the library content no image uses (what a crash between an
    /// import and its image's insert, or between a deregistration and its
    /// content's removal, left); run at start, before serving. Returns the
    /// keys removed.
    pub async fn sweep_image_library(&self) -> Result<Vec<String>, Error> {
        let library = self.images.clone();
        let stored = tokio::task::spawn_blocking(move || library.stored_keys())
            .await
            .map_err(Error::internal)??;
        let mut removed = Vec::new();
        for key in stored {
            // The same check a deregistration makes: no image (and nothing
            // launched from one) may still use it.
            self.remove_content(&key).await;
            if !self.images.contains(&key) {
                removed.push(key);
            }
        }
        Ok(removed)
    }

    /// Removes library content `key` unless an image still uses it.
    pub(crate) async fn remove_content(&self, key: &str) {
        let in_use = match self
            .store
            .list_kind_everywhere(ResourceKind::Image.prefix())
            .await
        {
            Ok(rows) => rows.iter().any(|r| {
                decode::<Image>(r).is_ok_and(
                    |i| matches!(&i.value.content, ImageContent::Library { key: k } if k == key),
                )
            }),
            // Unsure: keep the content rather than remove something in use.
            Err(_) => true,
        };
        // An instance launched from it keeps it as its lower layer until it
        // is terminated (which calls here again).
        let in_use = in_use
            || match self.all_instances().await {
                Ok(instances) => instances.iter().any(|(_, i)| {
                    i.state != crate::instance::InstanceState::Terminated
                        && i.image_content_key.as_deref() == Some(key)
                }),
                Err(_) => true,
            };
        if in_use {
            return;
        }
        let library = self.images.clone();
        let key = key.to_string();
        let removed = tokio::task::spawn_blocking(move || library.remove(&key)).await;
        if let Ok(Err(e)) | Err(e) = removed.map_err(Error::internal) {
            tracing::warn!(error = %e, "could not remove image content");
        }
    }

    /// `DeregisterImage`: the owner's image row goes away (with its name);
    /// its content goes when no other image (a copy) uses it.
    pub async fn deregister_image(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<Image, Error> {
        let mut image = with_retry(|| self.deregister_image_once(scope, id)).await?;
        if let ImageContent::Library { key } = &image.content {
            self.remove_content(key).await;
        }
        image.state = image.state.transition(ImageState::Deregistered)?;
        Ok(image)
    }

    async fn deregister_image_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<Image, Error> {
        let tx = self.store.begin().await.map_err(store_err)?;
        let (mut tx, image) = self.owned_in_tx(tx, scope, id).await?;
        image.value.state.transition(ImageState::Deregistered)?;
        delete_in_tx(&mut tx, scope, &image).await?;
        resource::commit(tx, scope, &[id.as_str()]).await?;
        Ok(image.value)
    }

    /// `CopyImage`: a new image of the caller, in the caller's region, of a
    /// source image the caller may launch; the copy shares its content.
    pub async fn copy_image(&self, scope: &RequestScope, input: CopyImage) -> Result<Image, Error> {
        check_image_name(&input.name)?;
        if let Some(d) = &input.description {
            check_description(d)?;
        }
        if !self.has_region(&input.source_region) {
            return Err(Error::invalid(format!(
                "Value ({}) for parameter sourceRegion is invalid: no such region here.",
                input.source_region
            )));
        }
        if input.encrypted {
            return Err(Error::invalid(
                "Encrypted image copies are not offered by this installation yet.",
            ));
        }
        let tags = tags_for(ResourceKind::Image, &input.tag_specifications)?;
        let id = ResourceId::generate(ResourceKind::Image);
        with_retry(|| self.copy_image_once(scope, &input, &tags, &id)).await
    }

    async fn copy_image_once(
        &self,
        scope: &RequestScope,
        input: &CopyImage,
        tags: &TagSet,
        new_id: &ResourceId,
    ) -> Result<Image, Error> {
        let fingerprint = format!(
            "{}/{}/{}",
            input.source_region, input.source_image_id, input.name
        );
        let source = self
            .visible_in(&scope.account, &input.source_region, &input.source_image_id)
            .await?
            .ok_or_else(|| image_not_found(input.source_image_id.as_str()))?;
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut replacing = None;
        if let Some(token) = &input.client_token {
            if let Some((used, generation)) =
                idempotency::earlier_use(&mut tx, scope, COPY_ACTION, token).await?
            {
                if used.fingerprint != fingerprint {
                    return Err(idempotency::mismatch(token));
                }
                match get_in_tx::<Image>(&mut tx, scope, &used.resource_id).await {
                    Ok(earlier) => {
                        resource::commit(tx, scope, &[]).await?;
                        return Ok(earlier.value);
                    }
                    Err(Error::NotFound { .. }) => replacing = Some(generation),
                    Err(e) => return Err(e),
                }
            }
        }
        // Read the source again in this transaction (it was found outside
        // it, to learn its owner): deleted or unshared since means NotFound.
        let source = match tx
            .get_resource(source.value.owner_id.as_str(), source.value.id.as_str())
            .await
            .map_err(store_err)?
        {
            Some(row) if row.region == input.source_region => decode::<Image>(&row)?,
            _ => return Err(image_not_found(input.source_image_id.as_str())),
        };
        if !access::can_launch(holder(&source.value), &scope.account) {
            return Err(image_not_found(input.source_image_id.as_str()));
        }
        let source_value = &source.value;
        if source_value.state != ImageState::Available {
            return Err(Error::client(
                "IncorrectState",
                format!(
                    "The image '{}' is {}, not available, and cannot be copied.",
                    source_value.id,
                    source_value.state.as_str()
                ),
            ));
        }
        // Write the source back (in its owner's account), so a racing
        // deregistration of it conflicts with this copy.
        let owner_scope = RequestScope::new(source_value.owner_id.clone(), &input.source_region);
        update_in_tx(&mut tx, &owner_scope, &source).await?;
        let mut copy_tags = TagSet::new();
        if input.copy_image_tags && source_value.owner_id == scope.account {
            for tag in source_value.tags.iter() {
                copy_tags.set(tag.clone());
            }
        }
        for tag in tags.iter() {
            copy_tags.set(tag.clone());
        }
        let image = Image {
            id: new_id.clone(),
            owner_id: scope.account.clone(),
            owner_alias: None,
            name: input.name.clone(),
            description: input.description.clone(),
            architecture: source_value.architecture.clone(),
            state: ImageState::Available,
            state_reason: None,
            image_location: format!("{}/{}", scope.account, input.name),
            creation_date: now_timestamp(),
            launch_permissions: Default::default(),
            root_device_name: source_value.root_device_name.clone(),
            block_device_mappings: source_value.block_device_mappings.clone(),
            content: source_value.content.clone(),
            source_image_id: Some(source_value.id.to_string()),
            source_image_region: Some(input.source_region.clone()),
            source_instance_id: None,
            client_token: input.client_token.clone(),
            tags: copy_tags,
        };
        insert_in_tx(&mut tx, scope, &image).await?;
        if let Some(token) = &input.client_token {
            let used = TokenUse {
                resource_id: image.id.clone(),
                fingerprint,
            };
            idempotency::record_use(&mut tx, scope, COPY_ACTION, token, &used, replacing).await?;
        }
        resource::commit(tx, scope, &[image.id.as_str(), source_value.id.as_str()]).await?;
        Ok(image)
    }

    /// For `RunInstances`: the image `id` of the caller's region, which must
    /// exist, be launchable by the caller and be `available`.
    pub async fn launchable_image(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
    ) -> Result<Image, Error> {
        let image = self
            .visible_in(&scope.account, &scope.region, id)
            .await?
            .ok_or_else(|| image_not_found(id.as_str()))?
            .value;
        if image.state != ImageState::Available {
            return Err(Error::client(
                "InvalidAMIID.Unavailable",
                format!(
                    "The image id '[{id}]' is not available (state {}).",
                    image.state.as_str()
                ),
            ));
        }
        Ok(image)
    }

    /// For `CreateImage`: registers a `pending` image of the caller whose
    /// content (library key = its ID) another component produces, then
    /// reports with [`Ec2Service::finish_image`].
    pub async fn insert_pending_image(
        &self,
        scope: &RequestScope,
        pending: PendingImage,
    ) -> Result<Image, Error> {
        check_image_name(&pending.name)?;
        if let Some(d) = &pending.description {
            check_description(d)?;
        }
        let id = ResourceId::generate(ResourceKind::Image);
        let image = Image {
            id: id.clone(),
            owner_id: scope.account.clone(),
            owner_alias: None,
            image_location: format!("{}/{}", scope.account, pending.name),
            name: pending.name,
            description: pending.description,
            architecture: pending.architecture,
            state: ImageState::Pending,
            state_reason: None,
            creation_date: now_timestamp(),
            launch_permissions: Default::default(),
            root_device_name: ROOT_DEVICE.into(),
            block_device_mappings: vec![block_device::root_mapping(
                ROOT_DEVICE,
                pending.root_volume_gib,
            )],
            content: ImageContent::Library {
                key: id.to_string(),
            },
            source_image_id: None,
            source_image_region: None,
            source_instance_id: pending.source_instance_id,
            client_token: None,
            tags: pending.tags,
        };
        with_retry(|| self.insert_image_once(scope, &image)).await?;
        Ok(image)
    }

    /// Ends a pending image: `available` when its content was produced,
    /// `failed` with the reason otherwise.
    pub async fn finish_image(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        outcome: Result<(), StateReason>,
    ) -> Result<Image, Error> {
        with_retry(|| self.finish_image_once(scope, id, &outcome)).await
    }

    async fn finish_image_once(
        &self,
        scope: &RequestScope,
        id: &ResourceId,
        outcome: &Result<(), StateReason>,
    ) -> Result<Image, Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let mut image: Versioned<Image> = get_in_tx(&mut tx, scope, id).await?;
        let (to, reason) = match outcome {
            Ok(()) => (ImageState::Available, None),
            Err(reason) => (ImageState::Failed, Some(reason.clone())),
        };
        image.value.state = image.value.state.transition(to)?;
        image.value.state_reason = reason;
        update_in_tx(&mut tx, scope, &image).await?;
        resource::commit(tx, scope, &[id.as_str()]).await?;
        Ok(image.value)
    }
}
