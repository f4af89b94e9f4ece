//! Key pair actions: `CreateKeyPair`, `ImportKeyPair`, `DescribeKeyPairs`,
//! `DeleteKeyPair`. Decode parameters, call the EC2 service, render
//! botocore's `KeyPair` / `ImportKeyPairResult` / `KeyPairInfo` shapes.

use nubo_core::Error;
use nubo_ec2::key_pair::material::decode_public_key_material;
use nubo_ec2::key_pair::{parse_key_pair_id, KeyFormat, KeyPair, KeyPairRef, KeyType};

use super::render;
use crate::call::Call;
use crate::server::Api;

fn tag_specs(call: &Call) -> Result<Vec<(String, Vec<nubo_core::Tag>)>, Error> {
    Ok(call
        .params
        .tag_specifications()?
        .into_iter()
        .map(|s| (s.resource_type, s.tags))
        .collect())
}

pub async fn create_key_pair(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let name = p.required("KeyName")?.to_string();
    let key_type = KeyType::parse(p.get("KeyType").unwrap_or("rsa"))?;
    let format = KeyFormat::parse(p.get("KeyFormat").unwrap_or("pem"))?;
    let specs = tag_specs(call)?;
    let created = api
        .ec2
        .create_key_pair(&call.scope, &name, key_type, format, &specs)
        .await?;
    let pair = &created.key_pair;
    call.touched.push(pair.id.to_string());
    let mut w = call.response("CreateKeyPair");
    w.leaf("keyPairId", &pair.id)
        .leaf("keyName", &pair.name)
        .leaf("keyFingerprint", &pair.fingerprint)
        .leaf("keyMaterial", &created.key_material);
    render::tag_set(&mut w, &pair.tags);
    Ok(call.finish(w))
}

pub async fn import_key_pair(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let name = p.required("KeyName")?.to_string();
    let material = decode_public_key_material(p.required("PublicKeyMaterial")?)?;
    let specs = tag_specs(call)?;
    let pair = api
        .ec2
        .import_key_pair(&call.scope, &name, &material, &specs)
        .await?;
    call.touched.push(pair.id.to_string());
    let mut w = call.response("ImportKeyPair");
    w.leaf("keyFingerprint", &pair.fingerprint)
        .leaf("keyName", &pair.name)
        .leaf("keyPairId", &pair.id);
    render::tag_set(&mut w, &pair.tags);
    Ok(call.finish(w))
}

pub async fn describe_key_pairs(api: &Api, call: &mut Call) -> Result<String, Error> {
    let p = &call.params;
    let names = p.list("KeyName")?;
    let ids = p
        .list("KeyPairId")?
        .iter()
        .map(|id| parse_key_pair_id(id))
        .collect::<Result<Vec<_>, _>>()?;
    let include_public_key = p.bool("IncludePublicKey")?.unwrap_or(false);
    let filters = p.filters()?;
    let pairs = api
        .ec2
        .describe_key_pairs(&call.scope, &names, &ids, &filters)
        .await?;
    let mut w = call.response("DescribeKeyPairs");
    w.items("keySet", &pairs, |w, k: &KeyPair| {
        w.leaf("keyPairId", &k.id)
            .leaf("keyType", k.key_type.as_str())
            .leaf("keyName", &k.name)
            .leaf("keyFingerprint", &k.fingerprint)
            .leaf("createTime", &k.create_time);
        if include_public_key {
            w.leaf("publicKey", &k.public_key);
        }
        render::tag_set(w, &k.tags);
    });
    Ok(call.finish(w))
}

/// The pair `DeleteKeyPair` names: `KeyPairId` if given, else `KeyName`.
pub fn delete_target(call: &Call) -> Result<KeyPairRef, Error> {
    let p = &call.params;
    match (p.get("KeyPairId"), p.get("KeyName")) {
        (Some(id), _) => Ok(KeyPairRef::Id(parse_key_pair_id(id)?)),
        (None, Some(name)) => Ok(KeyPairRef::Name(name.to_string())),
        (None, None) => Err(Error::MissingParameter("KeyName".into())),
    }
}

pub async fn delete_key_pair(api: &Api, call: &mut Call) -> Result<String, Error> {
    let key = delete_target(call)?;
    let deleted = api.ec2.delete_key_pair(&call.scope, &key).await?;
    if let Some(id) = &deleted {
        call.touched.push(id.to_string());
    }
    let mut w = call.response("DeleteKeyPair");
    w.leaf("return", true)
        .leaf_opt("keyPairId", deleted.as_ref());
    Ok(call.finish(w))
}
