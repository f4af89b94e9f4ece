//! The instance identity document (`/latest/dynamic/instance-identity/document`),
//! with AWS's fields, order and layout (two-space indent, `" : "`). Nubo does
//! not sign it: `pkcs7`/`signature` are not served, since no client could verify
//! them against AWS's public certificates anyway.

use serde_json::Value;

use super::InstanceMetadata;

/// Renders the document.
pub fn identity_document(md: &InstanceMetadata) -> String {
    let s = |v: &str| Value::String(v.to_string());
    let fields: Vec<(&str, Value)> = vec![
        ("accountId", s(&md.account_id)),
        ("architecture", s(&md.architecture)),
        ("availabilityZone", s(&md.availability_zone)),
        ("billingProducts", Value::Null),
        ("devpayProductCodes", Value::Null),
        ("marketplaceProductCodes", Value::Null),
        ("imageId", s(&md.image_id)),
        ("instanceId", s(&md.instance_id)),
        ("instanceType", s(&md.instance_type)),
        ("kernelId", Value::Null),
        ("pendingTime", s(&md.launch_time_iso)),
        ("privateIp", s(&md.local_ipv4.to_string())),
        ("ramdiskId", Value::Null),
        ("region", s(&md.region)),
        ("version", s("2017-09-30")),
    ];
    let body: Vec<String> = fields
        .into_iter()
        .map(|(k, v)| format!("  \"{k}\" : {v}"))
        .collect();
    format!("{{\n{}\n}}", body.join(",\n"))
}

#[cfg(test)]
mod tests {
    use super::super::handler::tests::sample;
    use super::*;

    #[test]
    fn document_has_aws_fields_and_parses() {
        let md = sample();
        let doc = identity_document(&md);
        assert!(doc.starts_with("{\n  \"accountId\" : \"111122223333\",\n"));
        let v: serde_json::Value = serde_json::from_str(&doc).unwrap();
        assert_eq!(v["instanceId"], "i-0123456789abcdef0");
        assert_eq!(v["imageId"], "ami-0aaaabbbbccccdddd");
        assert_eq!(v["privateIp"], "10.0.1.5");
        assert_eq!(v["availabilityZone"], "us-east-1a");
        assert_eq!(v["region"], "us-east-1");
        assert_eq!(v["instanceType"], "t3.micro");
        assert_eq!(v["architecture"], "x86_64");
        assert_eq!(v["pendingTime"], "2026-11-23T18:00:00Z");
        assert_eq!(v["version"], "2017-09-30");
        assert!(v["kernelId"].is_null() && v["billingProducts"].is_null());
        assert_eq!(v.as_object().unwrap().len(), 15);
    }

    #[test]
    fn values_are_json_escaped() {
        let mut md = sample();
        md.region = "x\"y".into();
        let v: serde_json::Value = serde_json::from_str(&identity_document(&md)).unwrap();
        assert_eq!(v["region"], "x\"y");
    }
}
