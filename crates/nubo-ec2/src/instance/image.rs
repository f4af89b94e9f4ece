//! `CreateImage`: an image of an instance's root filesystem. The call
//! registers a `pending` image; the host agent of the instance's host copies
//! the instance's filesystem (the image it was launched from plus its own
//! changes) into the image library and reports the image `available` (or
//! `failed`). The copy is taken live: `NoReboot=false` does not reboot the
//! instance (a container's files can be read consistently enough without),
//! which the docs state.

use nubo_core::{AccountId, Error, ResourceId, ResourceKind, Tag};

use super::{incorrect_state, Instance, InstanceState};
use crate::image::ops::PendingImage;
use crate::image::{Image, ImageState, StateReason};
use crate::resource::{self, decode, store_err, tags_for, Ec2Service, RequestScope, Versioned};

/// Input of `CreateImage`.
#[derive(Debug, Clone, Default)]
pub struct CreateImage {
    pub instance_id: Option<ResourceId>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub no_reboot: bool,
    pub tag_specifications: Vec<(String, Vec<Tag>)>,
}

/// A pending image the agent of `host_id` must produce.
#[derive(Debug, Clone)]
pub struct ImageJob {
    pub account: AccountId,
    pub region: String,
    pub image_id: ResourceId,
    pub instance_id: ResourceId,
}

impl Ec2Service {
    /// `CreateImage`.
    pub async fn create_image(
        &self,
        scope: &RequestScope,
        input: &CreateImage,
    ) -> Result<Image, Error> {
        let instance_id = input
            .instance_id
            .clone()
            .ok_or_else(|| Error::MissingParameter("InstanceId".into()))?;
        let name = input
            .name
            .clone()
            .ok_or_else(|| Error::MissingParameter("Name".into()))?;
        let mut image_tags = Vec::new();
        for (kind, tags) in &input.tag_specifications {
            match kind.as_str() {
                "image" => image_tags.push((kind.clone(), tags.clone())),
                // Nubo images have no snapshots to tag.
                "snapshot" => {}
                other => {
                    return Err(Error::invalid(format!(
                        "'{other}' is not a valid taggable resource type for this operation."
                    )))
                }
            }
        }
        let tags = tags_for(ResourceKind::Image, &image_tags)?;
        let instance: Instance = resource::get(&self.store, scope, &instance_id).await?.value;
        if !matches!(
            instance.state,
            InstanceState::Running | InstanceState::Stopped
        ) {
            return Err(incorrect_state(&instance_id, instance.state, "imaged"));
        }
        if scope.dry_run {
            return Err(Error::DryRunOperation);
        }
        let image = self
            .insert_pending_image(
                scope,
                PendingImage {
                    name,
                    description: input.description.clone(),
                    architecture: "x86_64".into(),
                    source_instance_id: Some(instance_id.to_string()),
                    root_volume_gib: 8,
                    tags,
                },
            )
            .await?;
        self.wake_agents();
        Ok(image)
    }

    /// The pending images of instances on `host_id`.
    pub async fn image_jobs(&self, host_id: &str) -> Result<Vec<ImageJob>, Error> {
        let rows = self
            .store
            .list_kind_everywhere(ResourceKind::Image.prefix())
            .await
            .map_err(store_err)?;
        let mut jobs = Vec::new();
        for row in &rows {
            let image: Versioned<Image> = decode(row)?;
            let Some(source) = image.value.source_instance_id.as_deref() else {
                continue;
            };
            if image.value.state != ImageState::Pending {
                continue;
            }
            let Some(instance_row) = self
                .store
                .get_resource(&row.account_id, source)
                .await
                .map_err(store_err)?
            else {
                continue;
            };
            let instance: Versioned<Instance> = decode(&instance_row)?;
            if instance.value.host_id != host_id {
                continue;
            }
            jobs.push(ImageJob {
                account: AccountId::parse(&row.account_id)?,
                region: row.region.clone(),
                image_id: image.value.id.clone(),
                instance_id: instance.value.id.clone(),
            });
        }
        Ok(jobs)
    }

    /// The agent's answer to an image job.
    pub async fn finish_image_job(
        &self,
        job: &ImageJob,
        outcome: Result<(), String>,
    ) -> Result<(), Error> {
        let scope = RequestScope::new(job.account.clone(), job.region.clone());
        let outcome = outcome.map_err(|message| StateReason {
            code: "Server.InternalError".into(),
            message,
        });
        self.finish_image(&scope, &job.image_id, outcome)
            .await
            .map(drop)
    }
}
