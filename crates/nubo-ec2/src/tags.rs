//! `CreateTags`, `DeleteTags` and `DescribeTags` for every taggable resource.
//! Tags live inside each resource's stored body (field `tags`), so these
//! operations work on any kind without knowing its type.

use nubo_core::filter::{self, Filter, Filterable, Page};
use nubo_core::tag::MAX_TAGS_PER_RESOURCE;
use nubo_core::{Error, ResourceKind, Tag, TagSet};
use nubo_store::ResourceRow;
use serde::Deserialize;

use crate::resource::{not_found, store_err, Ec2Service, RequestScope};

/// One row of `DescribeTags`' answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagDescription {
    pub resource_id: String,
    pub resource_type: &'static str,
    pub key: String,
    pub value: String,
    /// All tags of the resource, for `tag:<key>` filters.
    resource_tags: TagSet,
    sort_key: String,
}

impl Filterable for TagDescription {
    const FILTERS: &'static [&'static str] = &["key", "value", "resource-id", "resource-type"];

    fn filter_values(&self, name: &str) -> Vec<String> {
        match name {
            "key" => vec![self.key.clone()],
            "value" => vec![self.value.clone()],
            "resource-id" => vec![self.resource_id.clone()],
            _ => vec![self.resource_type.to_string()],
        }
    }

    fn tags(&self) -> &TagSet {
        &self.resource_tags
    }
}

/// A tag to delete: by key, or by key and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagKey {
    pub key: String,
    pub value: Option<String>,
}

#[derive(Deserialize)]
struct TagsOnly {
    #[serde(default)]
    tags: TagSet,
}

fn tags_of(row: &ResourceRow) -> Result<TagSet, Error> {
    serde_json::from_str::<TagsOnly>(&row.body)
        .map(|t| t.tags)
        .map_err(Error::internal)
}

fn with_tags(row: &ResourceRow, tags: &TagSet) -> Result<String, Error> {
    let mut body: serde_json::Value = serde_json::from_str(&row.body).map_err(Error::internal)?;
    let obj = body
        .as_object_mut()
        .ok_or_else(|| Error::internal(format!("resource {} body is not an object", row.id)))?;
    obj.insert(
        "tags".into(),
        serde_json::to_value(tags).map_err(Error::internal)?,
    );
    serde_json::to_string(&body).map_err(Error::internal)
}

impl Ec2Service {
    /// Applies `change` to the tags of every resource in `ids`, all or nothing.
    pub(crate) async fn retag_once(
        &self,
        scope: &RequestScope,
        ids: &[String],
        change: &(dyn Fn(&mut TagSet) + Sync),
    ) -> Result<(), Error> {
        if ids.is_empty() {
            return Err(Error::MissingParameter("ResourceId".into()));
        }
        let mut tx = self.store.begin().await.map_err(store_err)?;
        for id in ids {
            let kind = ResourceKind::of_id(id)
                .ok_or_else(|| Error::client("InvalidID", format!("The ID '{id}' is not valid")))?;
            if kind == ResourceKind::SecurityGroupRule {
                // A rule lives, with its tags, inside its group's row.
                crate::security_group::rule_ops::retag_rule_in_tx(&mut tx, scope, id, change)
                    .await?;
                continue;
            }
            let row = match tx
                .get_resource(scope.account.as_str(), id)
                .await
                .map_err(store_err)?
            {
                Some(row) if row.region == scope.region => row,
                _ => return Err(not_found(kind, id)),
            };
            let mut tags = tags_of(&row)?;
            change(&mut tags);
            if tags.len() > MAX_TAGS_PER_RESOURCE {
                return Err(Error::client(
                    "TagLimitExceeded",
                    format!("The maximum number of tags for resource '{id}' ({MAX_TAGS_PER_RESOURCE}) has been reached."),
                ));
            }
            tx.update_resource(
                scope.account.as_str(),
                id,
                row.generation,
                &with_tags(&row, &tags)?,
            )
            .await
            .map_err(store_err)?;
        }
        let touched: Vec<&str> = ids.iter().map(String::as_str).collect();
        crate::resource::commit(tx, scope, &touched).await
    }

    pub async fn create_tags(
        &self,
        scope: &RequestScope,
        ids: &[String],
        tags: &[Tag],
    ) -> Result<(), Error> {
        if tags.is_empty() {
            return Err(Error::MissingParameter("Tag".into()));
        }
        for tag in tags {
            tag.validate()?;
        }
        self.retag(scope, ids, |set| {
            for tag in tags {
                set.set(tag.clone());
            }
        })
        .await
    }

    /// Deletes the given tags; with no tags given, every tag of the resources (as AWS does).
    pub async fn delete_tags(
        &self,
        scope: &RequestScope,
        ids: &[String],
        keys: &[TagKey],
    ) -> Result<(), Error> {
        for k in keys {
            if k.key.to_ascii_lowercase().starts_with("aws:") {
                return Err(Error::invalid(format!(
                    "Tag key '{}' is reserved and cannot be deleted",
                    k.key
                )));
            }
        }
        self.retag(scope, ids, |set| {
            if keys.is_empty() {
                *set = TagSet::new();
            }
            for k in keys {
                set.remove(&k.key, k.value.as_deref());
            }
        })
        .await
    }

    pub async fn describe_tags(
        &self,
        scope: &RequestScope,
        filters: &[Filter],
        page: &Page,
    ) -> Result<(Vec<TagDescription>, Option<String>), Error> {
        filter::validate::<TagDescription>(filters)?;
        let rows = self
            .store
            .list_all_resources(scope.account.as_str(), &scope.region)
            .await
            .map_err(store_err)?;
        let mut out = Vec::new();
        for row in &rows {
            let Some(kind) = ResourceKind::of_id(&row.id) else {
                continue;
            };
            let mut tagged = vec![(row.id.clone(), kind, tags_of(row)?)];
            if kind == ResourceKind::SecurityGroup {
                // Security group rules live, with their tags, inside their group's row.
                tagged.extend(crate::security_group::ops::rule_tags(row)?);
            }
            for (id, kind, tags) in tagged {
                for tag in tags.iter() {
                    out.push(TagDescription {
                        resource_id: id.clone(),
                        resource_type: kind.type_name(),
                        key: tag.key.clone(),
                        value: tag.value.clone(),
                        sort_key: format!("{id}\u{0}{}", tag.key),
                        resource_tags: tags.clone(),
                    });
                }
            }
        }
        out.retain(|t| filter::matches(t, filters));
        out.sort_by(|a, b| a.sort_key.cmp(&b.sort_key));
        Ok(page.apply(out, |t| t.sort_key.as_str()))
    }
}
