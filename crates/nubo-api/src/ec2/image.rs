//! Image actions: `DescribeImages`, `RegisterImage`, `DeregisterImage`,
//! `CopyImage`, `ModifyImageAttribute`, `DescribeImageAttribute`,
//! `ResetImageAttribute`. Decode parameters, call the EC2 service, render
//! botocore's `Image` and `ImageAttribute` shapes.
//!
//! Deviation from AWS: `RegisterImage`'s `ImageLocation` is the absolute
//! path of a rootfs tarball (`.tar`, `.tar.gz`, `.tar.xz`) on the server
//! host, not an S3 manifest.

use nubo_core::filter::Page;
use nubo_core::{AccountId, Error, Tag};
use nubo_ec2::image::access::{ExecutableSel, OwnerSel};
use nubo_ec2::image::block_device::{EbsRequest, MappingRequest};
use nubo_ec2::image::ops::{
    CopyImage, DescribeImages, ImageAttributeChange, PermissionItem, RegisterImage,
};
use nubo_ec2::image::{parse_image_id, BlockDeviceMapping, Image};
use nubo_protocol::query::Params;
use nubo_protocol::xml::XmlWriter;

use super::render;
use crate::call::Call;
use crate::server::Api;

fn tag_specs(call: &Call) -> Result<Vec<(String, Vec<Tag>)>, Error> {
    Ok(call
        .params
        .tag_specifications()?
        .into_iter()
        .map(|s| (s.resource_type, s.tags))
        .collect())
}

/// Image ARNs carry no account: `arn:aws:ec2:<region>::image/<id>`.
pub fn image_arn(region: &str, id: &str) -> String {
    format!("arn:aws:ec2:{region}::image/{id}")
}

/// The `BlockDeviceMapping` shape's members.
fn block_device_mapping(w: &mut XmlWriter, m: &BlockDeviceMapping) {
    w.leaf("deviceName", &m.device_name);
    if let Some(ebs) = &m.ebs {
        w.node("ebs", |w| {
            w.leaf("deleteOnTermination", ebs.delete_on_termination)
                .leaf_opt("iops", ebs.iops)
                .leaf("volumeSize", ebs.volume_size)
                .leaf("volumeType", &ebs.volume_type)
                .leaf("encrypted", ebs.encrypted);
        });
    }
    w.leaf_opt("virtualName", m.virtual_name.as_ref());
    if m.no_device {
        w.leaf("noDevice", "");
    }
}

/// The `Image` shape's members.
fn image(w: &mut XmlWriter, i: &Image) {
    w.leaf("imageId", &i.id)
        .leaf("imageLocation", &i.image_location)
        .leaf("imageState", i.state.as_str())
        .leaf("imageOwnerId", &i.owner_id)
        .leaf("creationDate", &i.creation_date)
        .leaf("isPublic", i.is_public())
        .leaf("architecture", &i.architecture)
        .leaf("imageType", Image::IMAGE_TYPE)
        .leaf("platformDetails", Image::PLATFORM_DETAILS)
        .leaf("usageOperation", Image::USAGE_OPERATION)
        .items(
            "blockDeviceMapping",
            &i.block_device_mappings,
            block_device_mapping,
        )
        .leaf_opt("description", i.description.as_ref())
        .leaf("enaSupport", true)
        .leaf("hypervisor", Image::HYPERVISOR)
        .leaf_opt("imageOwnerAlias", i.owner_alias.as_ref())
        .leaf("name", &i.name)
        .leaf("rootDeviceName", &i.root_device_name)
        .leaf("rootDeviceType", Image::ROOT_DEVICE_TYPE);
    if let Some(reason) = &i.state_reason {
        w.node("stateReason", |w| {
            w.leaf("code", &reason.code)
                .leaf("message", &reason.message);
        });
    }
    render::tag_set(w, &i.tags);
    w.leaf("virtualizationType", Image::VIRTUALIZATION_TYPE)
        .leaf_opt("sourceInstanceId", i.source_instance_id.as_ref())
        .leaf_opt("sourceImageId", i.source_image_id.as_ref())
        .leaf_opt("sourceImageRegion", i.source_image_region.as_ref());
}

pub async fn describe_images(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let query = DescribeImages {
        image_ids: p
            .list("ImageId")?
            .iter()
            .map(|id| parse_image_id(id))
            .collect::<Result<_, _>>()?,
        owners: p
            .list("Owner")?
            .iter()
            .map(|o| OwnerSel::parse(o))
            .collect::<Result<_, _>>()?,
        executable_by: p
            .list("ExecutableBy")?
            .iter()
            .map(|e| ExecutableSel::parse(e))
            .collect::<Result<_, _>>()?,
        filters: p.filters()?,
    };
    // No image is deprecated or disabled here, so both flags change nothing.
    p.bool("IncludeDeprecated")?;
    p.bool("IncludeDisabled")?;
    let page = Page::new(p.int("MaxResults")?, p.get("NextToken"), 1, 1000)?;
    let (images, next) = api.ec2.describe_images(&call.scope, &query, &page).await?;
    let mut w = call.response("DescribeImages");
    w.items("imagesSet", &images, image);
    w.leaf_opt("nextToken", next);
    Ok(call.finish(w))
}

fn ebs_request(p: &Params) -> Result<EbsRequest, Error> {
    Ok(EbsRequest {
        delete_on_termination: p.bool("DeleteOnTermination")?,
        volume_size: p.int("VolumeSize")?,
        volume_type: p.get("VolumeType").map(str::to_string),
        encrypted: p.bool("Encrypted")?,
        snapshot_id: p.get("SnapshotId").map(str::to_string),
        iops: p.int("Iops")?,
    })
}

fn mapping_requests(p: &Params) -> Result<Vec<MappingRequest>, Error> {
    p.structs("BlockDeviceMapping")?
        .iter()
        .map(|m| {
            let ebs = Params::from_pairs(
                m.iter()
                    .filter_map(|(k, v)| k.strip_prefix("Ebs.").map(|k| (k, v))),
            );
            let ebs = (!ebs.is_empty()).then_some(ebs);
            Ok(MappingRequest {
                device_name: m.get("DeviceName").map(str::to_string),
                virtual_name: m.get("VirtualName").map(str::to_string),
                no_device: m.contains("NoDevice"),
                ebs: ebs.as_ref().map(ebs_request).transpose()?,
            })
        })
        .collect()
}

/// The parameters of `RegisterImage` AWS has but this installation does not offer.
const UNOFFERED_REGISTER: [&str; 7] = [
    "KernelId",
    "RamdiskId",
    "BillingProduct.1",
    "BootMode",
    "TpmSupport",
    "UefiData",
    "SriovNetSupport",
];

pub async fn register_image(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    if let Some(name) = UNOFFERED_REGISTER.iter().find(|n| p.contains(n)) {
        return Err(Error::invalid(format!(
            "The parameter {} is not supported by this installation.",
            name.trim_end_matches(".1")
        )));
    }
    let input = RegisterImage {
        name: p.required("Name")?.to_string(),
        description: p.get("Description").map(str::to_string),
        architecture: p.get("Architecture").map(str::to_string),
        image_location: p.get("ImageLocation").map(str::to_string),
        root_device_name: p.get("RootDeviceName").map(str::to_string),
        virtualization_type: p.get("VirtualizationType").map(str::to_string),
        block_device_mappings: mapping_requests(p)?,
        tag_specifications: tag_specs(call)?,
    };
    let created = api.ec2.register_image(&call.scope, input).await?;
    call.touched.push(created.id.to_string());
    let mut w = call.response("RegisterImage");
    w.leaf("imageId", &created.id);
    Ok(call.finish(w))
}

pub async fn deregister_image(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let id = parse_image_id(p.required("ImageId")?)?;
    p.bool("DeleteAssociatedSnapshots")?;
    api.ec2.deregister_image(&call.scope, &id).await?;
    call.touched.push(id.to_string());
    let mut w = call.response("DeregisterImage");
    // Images here have no snapshots, so there are no snapshot results.
    w.leaf("return", true)
        .node("deleteSnapshotResultSet", |_| {});
    Ok(call.finish(w))
}

pub async fn copy_image(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    for unoffered in ["KmsKeyId", "DestinationOutpostArn"] {
        if p.contains(unoffered) {
            return Err(Error::invalid(format!(
                "The parameter {unoffered} is not supported by this installation."
            )));
        }
    }
    let input = CopyImage {
        source_region: p.required("SourceRegion")?.to_string(),
        source_image_id: parse_image_id(p.required("SourceImageId")?)?,
        name: p.required("Name")?.to_string(),
        description: p.get("Description").map(str::to_string),
        client_token: p.get("ClientToken").map(str::to_string),
        copy_image_tags: p.bool("CopyImageTags")?.unwrap_or(false),
        encrypted: p.bool("Encrypted")?.unwrap_or(false),
        tag_specifications: tag_specs(call)?,
    };
    let copy = api.ec2.copy_image(&call.scope, input).await?;
    call.touched.push(copy.id.to_string());
    let mut w = call.response("CopyImage");
    w.leaf("imageId", &copy.id);
    Ok(call.finish(w))
}

fn permission_item(p: &Params) -> Result<PermissionItem, Error> {
    match (p.get("Group"), p.get("UserId")) {
        (Some("all"), None) => Ok(PermissionItem::All),
        (Some(group), None) => Err(Error::invalid(format!(
            "Value ({group}) for parameter group is invalid. Valid values: all"
        ))),
        (None, Some(user)) => user_item(user),
        (Some(_), Some(_)) => Err(Error::InvalidParameterCombination(
            "A launch permission names either a group or a user ID, not both.".into(),
        )),
        (None, None) => Err(Error::MissingParameter("LaunchPermission.UserId".into())),
    }
}

fn user_item(user: &str) -> Result<PermissionItem, Error> {
    AccountId::parse(user)
        .map(PermissionItem::Account)
        .map_err(|_| {
            Error::client(
                "InvalidAMIAttributeItemValue",
                format!("Invalid attribute item value \"{user}\" for userId item type."),
            )
        })
}

/// The change `ModifyImageAttribute` asks for, from either of AWS's forms:
/// `LaunchPermission.Add|Remove.N.*` / `Description.Value`, or the flat
/// `Attribute` + `OperationType` + `UserId.N` / `UserGroup.N` / `Value`.
pub fn attribute_change(p: &Params) -> Result<ImageAttributeChange, Error> {
    if p.contains("ProductCode.1")
        || p.contains("OrganizationArn.1")
        || p.contains("OrganizationalUnitArn.1")
        || p.keys().any(|k| k.starts_with("ImdsSupport"))
    {
        return Err(Error::invalid(
            "Only the launchPermission and description attributes can be modified here.",
        ));
    }
    if let Some(value) = p.get("Description.Value") {
        return Ok(ImageAttributeChange::Description(value.to_string()));
    }
    let add = p.structs("LaunchPermission.Add")?;
    let remove = p.structs("LaunchPermission.Remove")?;
    if !add.is_empty() || !remove.is_empty() {
        return Ok(ImageAttributeChange::LaunchPermission {
            add: add.iter().map(permission_item).collect::<Result<_, _>>()?,
            remove: remove
                .iter()
                .map(permission_item)
                .collect::<Result<_, _>>()?,
        });
    }
    match p.get("Attribute") {
        Some("description") => Ok(ImageAttributeChange::Description(
            p.required("Value")?.to_string(),
        )),
        Some("launchPermission") => {
            let mut items: Vec<PermissionItem> = p
                .list("UserId")?
                .iter()
                .map(|u| user_item(u))
                .collect::<Result<_, _>>()?;
            for group in p.list("UserGroup")? {
                if group != "all" {
                    return Err(Error::invalid(format!(
                        "Value ({group}) for parameter userGroup is invalid. Valid values: all"
                    )));
                }
                items.push(PermissionItem::All);
            }
            match p.get("OperationType") {
                Some("add") => Ok(ImageAttributeChange::LaunchPermission {
                    add: items,
                    remove: vec![],
                }),
                Some("remove") => Ok(ImageAttributeChange::LaunchPermission {
                    add: vec![],
                    remove: items,
                }),
                Some(other) => Err(Error::invalid(format!(
                    "Value ({other}) for parameter operationType is invalid. Valid values: add, remove"
                ))),
                None => Err(Error::MissingParameter("OperationType".into())),
            }
        }
        Some(other) => Err(Error::invalid(format!(
            "Value ({other}) for parameter attribute is invalid. Only launchPermission and description can be modified."
        ))),
        None => Err(Error::MissingParameter("Attribute".into())),
    }
}

pub async fn modify_image_attribute(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let id = parse_image_id(p.required("ImageId")?)?;
    let change = attribute_change(p)?;
    api.ec2
        .modify_image_attribute(&call.scope, &id, &change)
        .await?;
    call.touched.push(id.to_string());
    let w = call.response("ModifyImageAttribute");
    Ok(call.finish(w))
}

pub async fn describe_image_attribute(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let attribute = p.required("Attribute")?.to_string();
    let id = parse_image_id(p.required("ImageId")?)?;
    let img = api
        .ec2
        .describe_image_attribute(&call.scope, &id, &attribute)
        .await?;
    let mut w = call.response("DescribeImageAttribute");
    w.leaf("imageId", &img.id);
    match attribute.as_str() {
        "launchPermission" => {
            let perms = &img.launch_permissions;
            let mut items: Vec<(&str, String)> = Vec::new();
            if perms.public {
                items.push(("group", "all".into()));
            }
            items.extend(perms.accounts.iter().map(|a| ("userId", a.to_string())));
            w.items("launchPermission", &items, |w, (name, value)| {
                w.leaf(name, value);
            });
        }
        "description" => {
            w.node("description", |w| {
                w.leaf_opt("value", img.description.as_ref());
            });
        }
        "blockDeviceMapping" => {
            w.items(
                "blockDeviceMapping",
                &img.block_device_mappings,
                block_device_mapping,
            );
        }
        "productCodes" => {
            w.node("productCodes", |_| {});
        }
        // Kernel, ramdisk, boot mode and the rest have no value for these images.
        _ => {}
    }
    Ok(call.finish(w))
}

pub async fn reset_image_attribute(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let attribute = p.required("Attribute")?.to_string();
    let id = parse_image_id(p.required("ImageId")?)?;
    api.ec2
        .reset_image_attribute(&call.scope, &id, &attribute)
        .await?;
    call.touched.push(id.to_string());
    let mut w = call.response("ResetImageAttribute");
    w.leaf("return", true);
    Ok(call.finish(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().copied())
    }

    fn account(id: &str) -> PermissionItem {
        PermissionItem::Account(AccountId::parse(id).unwrap())
    }

    #[test]
    fn both_forms_of_a_launch_permission_change() {
        let structured = params(&[
            ("LaunchPermission.Add.1.UserId", "111111111111"),
            ("LaunchPermission.Add.2.Group", "all"),
            ("LaunchPermission.Remove.1.UserId", "222222222222"),
        ]);
        assert_eq!(
            attribute_change(&structured).unwrap(),
            ImageAttributeChange::LaunchPermission {
                add: vec![account("111111111111"), PermissionItem::All],
                remove: vec![account("222222222222")],
            }
        );
        let flat = params(&[
            ("Attribute", "launchPermission"),
            ("OperationType", "remove"),
            ("UserId.1", "111111111111"),
            ("UserGroup.1", "all"),
        ]);
        assert_eq!(
            attribute_change(&flat).unwrap(),
            ImageAttributeChange::LaunchPermission {
                add: vec![],
                remove: vec![account("111111111111"), PermissionItem::All],
            }
        );
        let description = params(&[("Description.Value", "hello")]);
        assert_eq!(
            attribute_change(&description).unwrap(),
            ImageAttributeChange::Description("hello".into())
        );
        let flat_description = params(&[("Attribute", "description"), ("Value", "hi")]);
        assert_eq!(
            attribute_change(&flat_description).unwrap(),
            ImageAttributeChange::Description("hi".into())
        );
    }

    #[test]
    fn bad_launch_permission_changes() {
        let code = |pairs: &[(&str, &str)]| match attribute_change(&params(pairs)) {
            Err(Error::Client { code, .. }) => code.to_string(),
            Err(Error::InvalidParameterValue(_)) => "InvalidParameterValue".into(),
            Err(Error::MissingParameter(_)) => "MissingParameter".into(),
            Err(Error::InvalidParameterCombination(_)) => "InvalidParameterCombination".into(),
            other => format!("{other:?}"),
        };
        assert_eq!(
            code(&[("LaunchPermission.Add.1.UserId", "12345")]),
            "InvalidAMIAttributeItemValue"
        );
        assert_eq!(
            code(&[("LaunchPermission.Add.1.Group", "everyone")]),
            "InvalidParameterValue"
        );
        assert_eq!(
            code(&[
                ("LaunchPermission.Add.1.Group", "all"),
                ("LaunchPermission.Add.1.UserId", "111111111111")
            ]),
            "InvalidParameterCombination"
        );
        assert_eq!(
            code(&[
                ("Attribute", "launchPermission"),
                ("UserId.1", "111111111111")
            ]),
            "MissingParameter"
        );
        assert_eq!(
            code(&[("Attribute", "kernel"), ("Value", "aki-1")]),
            "InvalidParameterValue"
        );
        assert_eq!(code(&[]), "MissingParameter");
        assert_eq!(code(&[("ProductCode.1", "abc")]), "InvalidParameterValue");
    }
}
