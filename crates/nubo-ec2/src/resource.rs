//! The EC2 service handle and the typed bridge between domain resources and
//! the store's generic, generation-guarded resource rows.
//!
//! Every EC2 resource is one row whose body is the resource's JSON, tags
//! included, so a resource and its tags are always written together.

use chrono::Utc;
use nubo_core::{AccountId, Error, Ipv4Cidr, ResourceId, ResourceKind, Tag, TagSet};
use nubo_store::{AuditRecord, ResourceRow, Store, StoreError, Tx};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::RegionConfig;

/// Quotas the operator can tune.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// VPCs per account and region.
    pub vpcs_per_region: usize,
    /// IPv4 CIDR blocks per VPC, the primary included (AWS: 5).
    pub cidr_blocks_per_vpc: usize,
    /// Elastic IP addresses per account and region (AWS: 5).
    pub elastic_ips_per_region: usize,
    /// The public IPv4 ranges Elastic IPs are allocated from, shared by
    /// every account of the installation.
    pub public_pool: Vec<Ipv4Cidr>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            vpcs_per_region: 5000,
            cidr_blocks_per_vpc: 5,
            elastic_ips_per_region: 5,
            public_pool: crate::elastic_ip::DEFAULT_PUBLIC_POOL
                .parse()
                .into_iter()
                .collect(),
        }
    }
}

/// Who is asking, and where: every call is scoped to one account and region.
#[derive(Debug, Clone, PartialEq)]
pub struct RequestScope {
    pub account: AccountId,
    pub region: String,
    /// `DryRun=true`: validate everything, change nothing, answer `DryRunOperation`.
    pub dry_run: bool,
    /// The audit record of this call (filled in by the API edge). A mutating
    /// operation writes it, with the IDs it touched, inside the transaction
    /// that makes its change, so a committed change is never unaudited.
    pub audit: Option<AuditRecord>,
}

impl RequestScope {
    pub fn new(account: AccountId, region: impl Into<String>) -> Self {
        RequestScope {
            account,
            region: region.into(),
            dry_run: false,
            audit: None,
        }
    }
}

/// Ends a write: records the call's audit entry (naming `touched`) and
/// commits, or for a dry run rolls back and reports that the request would have
/// succeeded. Every mutating operation ends here, so a dry run passes through
/// exactly the validation a real call does, and every committed change carries
/// its audit record.
pub(crate) async fn commit(tx: Tx, scope: &RequestScope, touched: &[&str]) -> Result<(), Error> {
    let mut tx = tx;
    if scope.dry_run {
        tx.rollback().await.map_err(store_err)?;
        return Err(Error::DryRunOperation);
    }
    if let Some(template) = &scope.audit {
        let record = AuditRecord {
            resource_ids: touched.iter().map(|s| s.to_string()).collect(),
            ..template.clone()
        };
        tx.record_audit(&record).await.map_err(store_err)?;
    }
    tx.commit().await.map_err(store_err)
}

/// The EC2 application service.
#[derive(Clone)]
pub struct Ec2Service {
    pub(crate) store: Store,
    pub(crate) regions: Vec<RegionConfig>,
    pub(crate) limits: Limits,
    /// Where image content lives (see [`crate::image::library`]).
    pub(crate) images: std::sync::Arc<dyn crate::image::ImageLibrary>,
    /// Whether accounts get a default VPC per region (see [`crate::default_vpc`]).
    pub(crate) default_vpc: bool,
    /// The (account, region) pairs known to be provisioned already.
    pub(crate) provisioned: crate::default_vpc::ProvisionedCache,
    /// The host agent(s), once attached (see [`crate::instance::host::AgentLink`]).
    /// How far hosts' capacity may be promised (see [`crate::placement`]).
    pub(crate) overcommit: crate::placement::Overcommit,
    pub(crate) agent:
        std::sync::Arc<std::sync::OnceLock<std::sync::Arc<dyn crate::instance::host::AgentLink>>>,
}

impl Ec2Service {
    pub fn new(store: Store, regions: Vec<RegionConfig>, limits: Limits) -> Self {
        Ec2Service {
            store,
            regions,
            limits,
            images: std::sync::Arc::new(crate::image::library::NoLibrary),
            default_vpc: false,
            provisioned: Default::default(),
            overcommit: Default::default(),
            agent: Default::default(),
        }
    }

    /// Turns lazy default-VPC provisioning on or off (off unless asked for).
    pub fn with_default_vpc(mut self, enabled: bool) -> Self {
        self.default_vpc = enabled;
        self
    }

    /// Sets the overcommit ratios placement uses.
    pub fn with_overcommit(mut self, ratios: crate::placement::Overcommit) -> Self {
        self.overcommit = ratios;
        self
    }

    pub fn regions(&self) -> &[RegionConfig] {
        &self.regions
    }

    /// True when `region` is served here.
    pub fn has_region(&self, region: &str) -> bool {
        self.regions.iter().any(|r| r.name == region)
    }
}

/// A domain resource stored as one generic row.
pub trait Resource: Serialize + DeserializeOwned {
    const KIND: ResourceKind;
    fn id(&self) -> &ResourceId;
    fn parent(&self) -> Option<&ResourceId> {
        None
    }
    /// The `Describe*` filter whose values name this kind's parent (`vpc-id`
    /// for a VPC's subnets, tables, groups and ACLs), so such a Describe
    /// reads only the named parents' children instead of the whole kind.
    const PARENT_FILTER: Option<&'static str> = None;
    fn tags_mut(&mut self) -> &mut TagSet;
}

/// A resource with the generation it was read at.
#[derive(Debug, Clone)]
pub struct Versioned<T> {
    pub value: T,
    pub generation: i64,
}

pub(crate) fn decode<T: DeserializeOwned>(row: &ResourceRow) -> Result<Versioned<T>, Error> {
    let value = serde_json::from_str(&row.body)
        .map_err(|e| Error::internal(format!("corrupt {} {} in store: {e}", row.kind, row.id)))?;
    Ok(Versioned {
        value,
        generation: row.generation,
    })
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<String, Error> {
    serde_json::to_string(value).map_err(Error::internal)
}

pub(crate) fn new_row<T: Resource>(scope: &RequestScope, value: &T) -> Result<ResourceRow, Error> {
    let now = Utc::now();
    Ok(ResourceRow {
        account_id: scope.account.to_string(),
        region: scope.region.clone(),
        kind: T::KIND.prefix().to_string(),
        id: value.id().to_string(),
        parent_id: value.parent().map(|p| p.to_string()),
        generation: 1,
        body: encode(value)?,
        created_at: now,
        updated_at: now,
    })
}

/// A new bookkeeping row (generation 1): a name or token marker, an address
/// claim, a link or a host — rows of a `kind` no Describe lists, with the
/// JSON of `body`.
pub(crate) fn bookkeeping_row<B: Serialize + ?Sized>(
    account: &str,
    region: &str,
    kind: &str,
    id: String,
    parent_id: Option<String>,
    body: &B,
) -> Result<ResourceRow, Error> {
    let now = Utc::now();
    Ok(ResourceRow {
        account_id: account.to_string(),
        region: region.to_string(),
        kind: kind.to_string(),
        id,
        parent_id,
        generation: 1,
        body: serde_json::to_string(body).map_err(Error::internal)?,
        created_at: now,
        updated_at: now,
    })
}

pub(crate) fn store_err(e: StoreError) -> Error {
    e.into()
}

/// Reads one resource of `T`'s kind in the caller's account and region, or
/// the kind's NotFound error (the same answer whether the ID belongs to
/// another tenant or to nobody).
pub(crate) async fn get_in_tx<T: Resource>(
    tx: &mut Tx,
    scope: &RequestScope,
    id: &ResourceId,
) -> Result<Versioned<T>, Error> {
    match tx
        .get_resource(scope.account.as_str(), id.as_str())
        .await
        .map_err(store_err)?
    {
        Some(row) if row.region == scope.region && row.kind == T::KIND.prefix() => decode(&row),
        _ => Err(not_found(T::KIND, id.as_str())),
    }
}

pub(crate) async fn get<T: Resource>(
    store: &Store,
    scope: &RequestScope,
    id: &ResourceId,
) -> Result<Versioned<T>, Error> {
    match store
        .get_resource(scope.account.as_str(), id.as_str())
        .await
        .map_err(store_err)?
    {
        Some(row) if row.region == scope.region && row.kind == T::KIND.prefix() => decode(&row),
        _ => Err(not_found(T::KIND, id.as_str())),
    }
}

pub(crate) async fn list<T: Resource>(
    store: &Store,
    scope: &RequestScope,
) -> Result<Vec<T>, Error> {
    let rows = store
        .list_resources(scope.account.as_str(), &scope.region, T::KIND.prefix())
        .await
        .map_err(store_err)?;
    rows.iter()
        .map(|r| decode(r).map(|v: Versioned<T>| v.value))
        .collect()
}

/// The resources a `Describe*` starts from: the named ones (each must exist,
/// read by primary key, duplicates collapsed, in ID order), or all of the
/// caller's resources of `T`'s kind when no IDs are given.
pub(crate) async fn list_or_get<T: Resource>(
    store: &Store,
    scope: &RequestScope,
    ids: &[ResourceId],
) -> Result<Vec<T>, Error> {
    if ids.is_empty() {
        return list(store, scope).await;
    }
    let mut wanted: Vec<&ResourceId> = ids.iter().collect();
    wanted.sort();
    wanted.dedup();
    let mut out = Vec::with_capacity(wanted.len());
    for id in wanted {
        out.push(get::<T>(store, scope, id).await?.value);
    }
    Ok(out)
}

/// [`list_or_get`] for a `Describe*` with `filters`: when no IDs are named
/// and a filter on the kind's parent ([`Resource::PARENT_FILTER`]) gives
/// exact values, reads only those parents' children (by the store's parent
/// index) rather than every resource of the kind. The result is a superset of
/// what the filters match, in ID order; callers still apply every filter.
pub(crate) async fn list_for_describe<T: Resource>(
    store: &Store,
    scope: &RequestScope,
    ids: &[ResourceId],
    filters: &[nubo_core::filter::Filter],
) -> Result<Vec<T>, Error> {
    let parents = T::PARENT_FILTER.and_then(|name| {
        let filter = filters.iter().find(|f| f.name == name)?;
        let exact = filter.values.iter().all(|v| !v.contains(['*', '?', '\\']));
        exact.then_some(&filter.values)
    });
    let Some(parents) = parents.filter(|_| ids.is_empty()) else {
        return list_or_get(store, scope, ids).await;
    };
    let mut out: Vec<T> = Vec::new();
    for parent in parents {
        let rows = store
            .list_children(scope.account.as_str(), parent)
            .await
            .map_err(store_err)?;
        for row in rows {
            if row.kind == T::KIND.prefix() && row.region == scope.region {
                out.push(decode::<T>(&row)?.value);
            }
        }
    }
    out.sort_by(|a, b| a.id().cmp(b.id()));
    out.dedup_by(|a, b| a.id() == b.id());
    Ok(out)
}

/// For `DeleteVpc`: deletes, in the VPC's transaction, the children of kind
/// `T` that go away with their VPC (`goes_with_vpc`: the default security
/// group, the main route table, the default network ACL) and returns the
/// children that still block the deletion.
pub(crate) async fn delete_with_vpc<T: Resource>(
    tx: &mut Tx,
    scope: &RequestScope,
    children: Vec<ResourceRow>,
    goes_with_vpc: impl Fn(&T) -> bool,
) -> Result<Vec<ResourceRow>, Error> {
    let mut rest = Vec::with_capacity(children.len());
    for row in children {
        if row.kind == T::KIND.prefix() {
            let child: Versioned<T> = decode(&row)?;
            if goes_with_vpc(&child.value) {
                tx.delete_resource(scope.account.as_str(), &row.id, row.generation)
                    .await
                    .map_err(store_err)?;
                continue;
            }
        }
        rest.push(row);
    }
    Ok(rest)
}

pub(crate) async fn update_in_tx<T: Resource>(
    tx: &mut Tx,
    scope: &RequestScope,
    v: &Versioned<T>,
) -> Result<i64, Error> {
    tx.update_resource(
        scope.account.as_str(),
        v.value.id().as_str(),
        v.generation,
        &encode(&v.value)?,
    )
    .await
    .map_err(store_err)
}

/// The NotFound error AWS gives for an ID of `kind`.
pub fn not_found(kind: ResourceKind, id: &str) -> Error {
    Error::not_found(
        kind.not_found_code(),
        format!("The {} ID '{id}' does not exist", kind.type_name()),
    )
}

/// Picks the tags of `TagSpecification`s meant for `kind`, refusing any
/// specification for another resource type or a repeated one.
pub fn tags_for(kind: ResourceKind, specs: &[(String, Vec<Tag>)]) -> Result<TagSet, Error> {
    let mut seen = false;
    let mut set = TagSet::new();
    for (resource_type, tags) in specs {
        if resource_type != kind.type_name() {
            return Err(Error::invalid(format!(
                "'{resource_type}' is not a valid taggable resource type for this operation."
            )));
        }
        if seen {
            return Err(Error::invalid(format!(
                "The same resource type may not be specified more than once in tag specifications: {resource_type}"
            )));
        }
        seen = true;
        for tag in tags {
            tag.validate()?;
            set.set(tag.clone());
        }
    }
    if set.len() > nubo_core::tag::MAX_TAGS_PER_RESOURCE {
        return Err(Error::client(
            "TagLimitExceeded",
            "The maximum number of tags for a resource (50) has been reached.",
        ));
    }
    Ok(set)
}
