//! The key pair operations on [`Ec2Service`], and the name marker rows that
//! keep key names unique per account and region.
//!
//! A marker row (kind [`NAME_KIND`], ID `key-name:<account>:<region>:<name>`,
//! body the pair's ID) is written with its key pair and deleted with it, so
//! finding a pair by name is one primary-key read, and two creates racing for
//! one name collide on the marker's primary key: the loser re-runs (see
//! [`with_retry`]) and answers `InvalidKeyPair.Duplicate`.

use nubo_core::filter::{self, Filter};
use nubo_core::{Error, ResourceId, ResourceKind, Tag};
use nubo_store::{ResourceRow, Tx};

use super::material::{self, KeyType};
use super::{check_key_name, name_not_found, CreatedKeyPair, KeyFormat, KeyPair, KeyPairRef};
use crate::resource::bookkeeping_row;
use crate::resource::{
    self, get, get_in_tx, list_or_get, new_row, store_err, tags_for, Ec2Service, RequestScope,
    Versioned,
};
use crate::retry::with_retry;

/// The store kind of key-name marker rows (no resource kind parses their IDs,
/// so no `Describe*` lists them).
pub const NAME_KIND: &str = "key-name";

fn marker_id(scope: &RequestScope, name: &str) -> String {
    format!("{NAME_KIND}:{}:{}:{name}", scope.account, scope.region)
}

fn marker_target(row: &ResourceRow) -> Result<ResourceId, Error> {
    serde_json::from_str::<String>(&row.body)
        .map(ResourceId::from_stored)
        .map_err(|e| Error::internal(format!("corrupt key-name marker {}: {e}", row.id)))
}

/// The marker row of `name`, as `tx` sees it.
async fn marker_in_tx(
    tx: &mut Tx,
    scope: &RequestScope,
    name: &str,
) -> Result<Option<ResourceRow>, Error> {
    tx.get_resource(scope.account.as_str(), &marker_id(scope, name))
        .await
        .map_err(store_err)
}

/// Inserts `pair` and its name marker; the name must be free.
async fn insert_in_tx(tx: &mut Tx, scope: &RequestScope, pair: &KeyPair) -> Result<(), Error> {
    if marker_in_tx(tx, scope, &pair.name).await?.is_some() {
        return Err(Error::AlreadyExists {
            code: "InvalidKeyPair.Duplicate",
            message: format!("The keypair '{}' already exists.", pair.name),
        });
    }
    tx.insert_resource(&new_row(scope, pair)?)
        .await
        .map_err(store_err)?;
    let marker = bookkeeping_row(
        scope.account.as_str(),
        &scope.region,
        NAME_KIND,
        marker_id(scope, &pair.name),
        None,
        pair.id.as_str(),
    )?;
    tx.insert_resource(&marker).await.map_err(store_err)
}

fn now_timestamp() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Ec2Service {
    /// `CreateKeyPair`: generates a pair, stores its public half and returns
    /// the private key once.
    pub async fn create_key_pair(
        &self,
        scope: &RequestScope,
        name: &str,
        key_type: KeyType,
        format: KeyFormat,
        tag_specifications: &[(String, Vec<Tag>)],
    ) -> Result<CreatedKeyPair, Error> {
        check_key_name(name)?;
        if format == KeyFormat::Ppk {
            return Err(Error::invalid(
                "Value (ppk) for parameter keyFormat is not supported by this installation; use pem (PuTTYgen converts a PEM key to PPK).",
            ));
        }
        let tags = tags_for(ResourceKind::KeyPair, tag_specifications)?;
        // Generate once, outside the retried transaction: a retry stores the same key.
        let generated = match key_type {
            KeyType::Rsa => material::generate_rsa()?,
            KeyType::Ed25519 => material::generate_ed25519(),
        };
        let pair = KeyPair {
            id: ResourceId::generate(ResourceKind::KeyPair),
            owner_id: scope.account.clone(),
            name: name.to_string(),
            key_type,
            public_key: generated.public.openssh,
            fingerprint: generated.public.fingerprint,
            create_time: now_timestamp(),
            tags,
        };
        with_retry(|| self.store_key_pair_once(scope, &pair)).await?;
        Ok(CreatedKeyPair {
            key_pair: pair,
            key_material: generated.private_pem,
        })
    }

    /// `ImportKeyPair`: stores the caller's public key (`material` is the
    /// decoded `PublicKeyMaterial`).
    pub async fn import_key_pair(
        &self,
        scope: &RequestScope,
        name: &str,
        material: &[u8],
        tag_specifications: &[(String, Vec<Tag>)],
    ) -> Result<KeyPair, Error> {
        check_key_name(name)?;
        let public = material::import_public_key(material)?;
        let tags = tags_for(ResourceKind::KeyPair, tag_specifications)?;
        let pair = KeyPair {
            id: ResourceId::generate(ResourceKind::KeyPair),
            owner_id: scope.account.clone(),
            name: name.to_string(),
            key_type: public.key_type,
            public_key: public.openssh,
            fingerprint: public.fingerprint,
            create_time: now_timestamp(),
            tags,
        };
        with_retry(|| self.store_key_pair_once(scope, &pair)).await?;
        Ok(pair)
    }

    pub(crate) async fn store_key_pair_once(
        &self,
        scope: &RequestScope,
        pair: &KeyPair,
    ) -> Result<(), Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        insert_in_tx(&mut tx, scope, pair).await?;
        resource::commit(tx, scope, &[pair.id.as_str()]).await
    }

    /// `DescribeKeyPairs`: named pairs (by name or ID) must all exist.
    pub async fn describe_key_pairs(
        &self,
        scope: &RequestScope,
        names: &[String],
        ids: &[ResourceId],
        filters: &[Filter],
    ) -> Result<Vec<KeyPair>, Error> {
        filter::validate::<KeyPair>(filters)?;
        let mut pairs: Vec<KeyPair> = if names.is_empty() {
            list_or_get(&self.store, scope, ids).await?
        } else {
            let mut by_name = Vec::with_capacity(names.len());
            for name in names {
                by_name.push(self.key_pair_by_name(scope, name).await?);
            }
            if !ids.is_empty() {
                // Both lists given: each must exist; the answer is their union.
                by_name.extend(list_or_get::<KeyPair>(&self.store, scope, ids).await?);
            }
            by_name
        };
        pairs.sort_by(|a, b| a.id.cmp(&b.id));
        pairs.dedup_by(|a, b| a.id == b.id);
        pairs.retain(|p| filter::matches(p, filters));
        Ok(pairs)
    }

    /// The OpenSSH public key of the caller's pair `name`, for a launch.
    pub(crate) async fn key_pair_public_key(
        &self,
        scope: &RequestScope,
        name: &str,
    ) -> Result<String, Error> {
        Ok(self.key_pair_by_name(scope, name).await?.public_key)
    }

    async fn key_pair_by_name(&self, scope: &RequestScope, name: &str) -> Result<KeyPair, Error> {
        let marker = self
            .store
            .get_resource(scope.account.as_str(), &marker_id(scope, name))
            .await
            .map_err(store_err)?
            .ok_or_else(|| name_not_found(name))?;
        let id = marker_target(&marker)?;
        get::<KeyPair>(&self.store, scope, &id)
            .await
            .map(|v| v.value)
            .map_err(|_| name_not_found(name))
    }

    /// `DeleteKeyPair`: returns the deleted pair's ID. A missing name is not
    /// an error (AWS answers success); a missing ID is `InvalidKeyPair.NotFound`.
    pub async fn delete_key_pair(
        &self,
        scope: &RequestScope,
        key: &KeyPairRef,
    ) -> Result<Option<ResourceId>, Error> {
        with_retry(|| self.delete_key_pair_once(scope, key)).await
    }

    pub(crate) async fn delete_key_pair_once(
        &self,
        scope: &RequestScope,
        key: &KeyPairRef,
    ) -> Result<Option<ResourceId>, Error> {
        let mut tx = self.store.begin().await.map_err(store_err)?;
        let id = match key {
            KeyPairRef::Id(id) => id.clone(),
            KeyPairRef::Name(name) => match marker_in_tx(&mut tx, scope, name).await? {
                Some(row) => marker_target(&row)?,
                None => {
                    resource::commit(tx, scope, &[]).await?;
                    return Ok(None);
                }
            },
        };
        let pair: Versioned<KeyPair> = get_in_tx(&mut tx, scope, &id).await?;
        tx.delete_resource(scope.account.as_str(), id.as_str(), pair.generation)
            .await
            .map_err(store_err)?;
        if let Some(marker) = marker_in_tx(&mut tx, scope, &pair.value.name).await? {
            tx.delete_resource(scope.account.as_str(), &marker.id, marker.generation)
                .await
                .map_err(store_err)?;
        }
        resource::commit(tx, scope, &[id.as_str()]).await?;
        Ok(Some(id))
    }
}
