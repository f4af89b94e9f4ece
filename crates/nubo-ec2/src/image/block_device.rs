//! Block device mappings of an image: the root device (always an EBS-style
//! volume at the image's root device name) and any extra volumes
//! `RegisterImage` asks for, validated by one pure function ([`plan`]).

use nubo_core::Error;
use serde::{Deserialize, Serialize};

/// The size of a root volume nobody asked a size for (AWS's usual 8 GiB).
pub const DEFAULT_ROOT_GIB: u32 = 8;

/// An EBS volume of a mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ebs {
    pub delete_on_termination: bool,
    pub volume_size: u32,
    pub volume_type: String,
    pub encrypted: bool,
    #[serde(default)]
    pub iops: Option<u32>,
}

/// One entry of `blockDeviceMapping`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockDeviceMapping {
    pub device_name: String,
    #[serde(default)]
    pub ebs: Option<Ebs>,
    #[serde(default)]
    pub virtual_name: Option<String>,
    #[serde(default)]
    pub no_device: bool,
}

/// An `Ebs` of a `BlockDeviceMapping.N` request parameter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EbsRequest {
    pub delete_on_termination: Option<bool>,
    pub volume_size: Option<i64>,
    pub volume_type: Option<String>,
    pub encrypted: Option<bool>,
    pub snapshot_id: Option<String>,
    pub iops: Option<i64>,
}

/// One `BlockDeviceMapping.N` request parameter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MappingRequest {
    pub device_name: Option<String>,
    pub virtual_name: Option<String>,
    pub no_device: bool,
    pub ebs: Option<EbsRequest>,
}

fn bad_mapping(message: impl Into<String>) -> Error {
    Error::client("InvalidBlockDeviceMapping", message)
}

/// Whether `name` is a Linux device name AWS accepts (`/dev/sda1`,
/// `/dev/xvdb`, `/dev/sdf`, `/dev/xvdba`).
pub fn valid_device_name(name: &str) -> bool {
    let rest = match (name.strip_prefix("/dev/xvd"), name.strip_prefix("/dev/sd")) {
        (Some(rest), _) | (None, Some(rest)) => rest,
        _ => return false,
    };
    let letters = rest.chars().take_while(|c| c.is_ascii_lowercase()).count();
    let digits = &rest[letters..];
    (1..=2).contains(&letters) && digits.len() <= 2 && digits.chars().all(|c| c.is_ascii_digit())
}

const VOLUME_TYPES: [&str; 7] = ["standard", "io1", "io2", "gp2", "gp3", "sc1", "st1"];

fn ebs(device: &str, request: &EbsRequest) -> Result<Ebs, Error> {
    if let Some(snapshot) = &request.snapshot_id {
        return Err(Error::not_found(
            "InvalidSnapshot.NotFound",
            format!("The snapshot '{snapshot}' does not exist."),
        ));
    }
    if request.encrypted == Some(true) {
        return Err(Error::invalid(format!(
            "Encrypted volumes are not offered by this installation yet ({device})."
        )));
    }
    let volume_type = request.volume_type.clone().unwrap_or_else(|| "gp3".into());
    if !VOLUME_TYPES.contains(&volume_type.as_str()) {
        return Err(Error::invalid(format!(
            "Value ({volume_type}) for parameter volumeType is invalid. Valid values: {}",
            VOLUME_TYPES.join(", ")
        )));
    }
    let size = request.volume_size.unwrap_or(i64::from(DEFAULT_ROOT_GIB));
    if !(1..=16384).contains(&size) {
        return Err(Error::invalid(format!(
            "Volume of {size} GiB for {device} is out of range: volumes are 1 to 16384 GiB."
        )));
    }
    let iops = match (request.iops, volume_type.as_str()) {
        (None, _) => None,
        (Some(iops), "io1" | "io2" | "gp3") if (100..=256_000).contains(&iops) => Some(iops as u32),
        (Some(iops), "io1" | "io2" | "gp3") => {
            return Err(Error::invalid(format!(
                "Value ({iops}) for parameter iops is invalid."
            )))
        }
        (Some(_), other) => {
            return Err(Error::invalid(format!(
                "Parameter iops is not supported for {other} volumes."
            )))
        }
    };
    Ok(Ebs {
        delete_on_termination: request.delete_on_termination.unwrap_or(true),
        volume_size: size as u32,
        volume_type,
        encrypted: false,
        iops,
    })
}

/// The mappings of a new image whose root device is `root`: the requested
/// ones, validated, with a default root volume when none maps `root`.
pub fn plan(root: &str, requests: &[MappingRequest]) -> Result<Vec<BlockDeviceMapping>, Error> {
    if !valid_device_name(root) {
        return Err(Error::invalid(format!(
            "Value ({root}) for parameter rootDeviceName is invalid."
        )));
    }
    let mut out: Vec<BlockDeviceMapping> = Vec::with_capacity(requests.len() + 1);
    for request in requests {
        let Some(device) = request.device_name.clone() else {
            return Err(Error::MissingParameter(
                "BlockDeviceMapping.DeviceName".into(),
            ));
        };
        if !valid_device_name(&device) {
            return Err(bad_mapping(format!("Invalid device name {device}")));
        }
        if out.iter().any(|m| m.device_name == device) {
            return Err(bad_mapping(format!(
                "The device {device} is mapped more than once."
            )));
        }
        let kinds = usize::from(request.ebs.is_some())
            + usize::from(request.virtual_name.is_some())
            + usize::from(request.no_device);
        if kinds != 1 {
            return Err(bad_mapping(format!(
                "The mapping of {device} must give exactly one of Ebs, VirtualName or NoDevice."
            )));
        }
        if let Some(name) = &request.virtual_name {
            let n = name
                .strip_prefix("ephemeral")
                .and_then(|n| n.parse::<u8>().ok());
            if !matches!(n, Some(0..=23)) {
                return Err(bad_mapping(format!("Invalid virtual name {name}")));
            }
        }
        if device == root && request.ebs.is_none() {
            return Err(bad_mapping(format!(
                "The root device {root} must be an EBS volume."
            )));
        }
        out.push(BlockDeviceMapping {
            ebs: request.ebs.as_ref().map(|e| ebs(&device, e)).transpose()?,
            device_name: device,
            virtual_name: request.virtual_name.clone(),
            no_device: request.no_device,
        });
    }
    if !out.iter().any(|m| m.device_name == root) {
        out.insert(0, root_mapping(root, DEFAULT_ROOT_GIB));
    }
    Ok(out)
}

/// A root volume of `size` GiB at `device`, deleted with its instance.
pub fn root_mapping(device: &str, size: u32) -> BlockDeviceMapping {
    BlockDeviceMapping {
        device_name: device.to_string(),
        ebs: Some(Ebs {
            delete_on_termination: true,
            volume_size: size,
            volume_type: "gp3".into(),
            encrypted: false,
            iops: None,
        }),
        virtual_name: None,
        no_device: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(e: Error) -> String {
        match e {
            Error::Client { code, .. } | Error::NotFound { code, .. } => code.to_string(),
            Error::InvalidParameterValue(_) => "InvalidParameterValue".into(),
            Error::MissingParameter(_) => "MissingParameter".into(),
            other => format!("{other:?}"),
        }
    }

    fn mapping(device: &str, ebs: Option<EbsRequest>) -> MappingRequest {
        MappingRequest {
            device_name: Some(device.into()),
            ebs,
            ..Default::default()
        }
    }

    #[test]
    fn device_names() {
        for ok in [
            "/dev/xvda",
            "/dev/sda1",
            "/dev/sdf",
            "/dev/xvdba",
            "/dev/xvdb12",
        ] {
            assert!(valid_device_name(ok), "{ok}");
        }
        for bad in [
            "/dev/xvd",
            "/dev/hda",
            "xvda",
            "/dev/sdA",
            "/dev/xvdabc",
            "/dev/sda123",
        ] {
            assert!(!valid_device_name(bad), "{bad}");
        }
    }

    #[test]
    fn a_default_root_volume_is_added() {
        let planned = plan("/dev/xvda", &[]).unwrap();
        assert_eq!(planned, vec![root_mapping("/dev/xvda", DEFAULT_ROOT_GIB)]);
        let sized = EbsRequest {
            volume_size: Some(20),
            ..Default::default()
        };
        let planned = plan(
            "/dev/xvda",
            &[
                mapping("/dev/xvda", Some(sized)),
                mapping("/dev/xvdb", Some(Default::default())),
            ],
        )
        .unwrap();
        assert_eq!(planned.len(), 2);
        assert_eq!(planned[0].ebs.as_ref().unwrap().volume_size, 20);
    }

    #[test]
    fn bad_mappings_are_refused_with_aws_codes() {
        let root = "/dev/xvda";
        let cases: Vec<(Vec<MappingRequest>, &str)> = vec![
            (
                vec![mapping("/dev/hda", Some(Default::default()))],
                "InvalidBlockDeviceMapping",
            ),
            (
                vec![
                    mapping("/dev/xvdb", Some(Default::default())),
                    mapping("/dev/xvdb", Some(Default::default())),
                ],
                "InvalidBlockDeviceMapping",
            ),
            (
                vec![MappingRequest {
                    device_name: Some(root.into()),
                    no_device: true,
                    ..Default::default()
                }],
                "InvalidBlockDeviceMapping",
            ),
            (
                vec![mapping(
                    "/dev/xvdb",
                    Some(EbsRequest {
                        snapshot_id: Some("snap-12345678".into()),
                        ..Default::default()
                    }),
                )],
                "InvalidSnapshot.NotFound",
            ),
            (
                vec![mapping(
                    "/dev/xvdb",
                    Some(EbsRequest {
                        volume_size: Some(0),
                        ..Default::default()
                    }),
                )],
                "InvalidParameterValue",
            ),
            (
                vec![mapping(
                    "/dev/xvdb",
                    Some(EbsRequest {
                        volume_type: Some("fast".into()),
                        ..Default::default()
                    }),
                )],
                "InvalidParameterValue",
            ),
            (
                vec![mapping(
                    "/dev/xvdb",
                    Some(EbsRequest {
                        iops: Some(3000),
                        volume_type: Some("gp2".into()),
                        ..Default::default()
                    }),
                )],
                "InvalidParameterValue",
            ),
            (
                vec![MappingRequest {
                    ebs: Some(Default::default()),
                    ..Default::default()
                }],
                "MissingParameter",
            ),
        ];
        for (requests, want) in cases {
            let got = plan(root, &requests).unwrap_err();
            assert_eq!(code(got), want, "{requests:?}");
        }
        assert_eq!(
            code(plan("/dev/hda", &[]).unwrap_err()),
            "InvalidParameterValue"
        );
    }
}
