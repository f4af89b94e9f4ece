//! The Query protocol's flattened collections: EC2 lists (`VpcId.N`), IAM/STS
//! member lists (`Names.member.N`), indexed structures (`Filter.N.Name`) and
//! the filter, tag and tag-specification shapes built on them.
//!
//! Indexes are positive decimal integers without leading zeros; they order the
//! result numerically and may have gaps. Anything else after the prefix's dot
//! is an `InvalidParameterValue`, so a typo never silently drops an item.

use std::collections::BTreeMap;

use nubo_core::filter::Filter;
use nubo_core::{Error, Tag};

use super::Params;

/// One `TagSpecification.N` of an EC2 create call: tags to put on the
/// resources of one type that the call creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagSpecification {
    pub resource_type: String,
    pub tags: Vec<Tag>,
}

impl Params {
    /// The EC2 list `prefix.1`, `prefix.2`, … ordered by index. Keys with more
    /// dotted parts below an index (`prefix.1.x`) are not list items and are
    /// ignored here.
    pub fn list(&self, prefix: &str) -> Result<Vec<String>, Error> {
        let mut items = BTreeMap::new();
        for (key, rest, value) in self.under(prefix) {
            if !rest.contains('.') {
                items.insert(parse_index(key, rest)?, value.to_string());
            }
        }
        Ok(items.into_values().collect())
    }

    /// The IAM/STS list `prefix.member.1`, `prefix.member.2`, … ordered by index.
    pub fn member_list(&self, prefix: &str) -> Result<Vec<String>, Error> {
        self.list(&format!("{prefix}.member"))
    }

    /// The indexed structures `prefix.N.<field>`, each as its own [`Params`]
    /// keyed by `<field>` (which may itself be dotted), ordered by `N`. Plain
    /// `prefix.N` keys carry no field and are ignored here.
    pub fn structs(&self, prefix: &str) -> Result<Vec<Params>, Error> {
        Ok(self
            .indexed_structs(prefix)?
            .into_iter()
            .map(|(_, p)| p)
            .collect())
    }

    /// The `Filter.N.Name` / `Filter.N.Value.M` filters of a `Describe*` call.
    pub fn filters(&self) -> Result<Vec<Filter>, Error> {
        self.indexed_structs("Filter")?
            .into_iter()
            .map(|(n, p)| {
                Ok(Filter {
                    name: p.required_field("Filter", n, "Name")?.to_string(),
                    values: p.list("Value")?,
                })
            })
            .collect()
    }

    /// The tags `prefix.N.Key` / `prefix.N.Value` (an absent value is `""`),
    /// e.g. `tags("Tag")` for EC2 `CreateTags`.
    pub fn tags(&self, prefix: &str) -> Result<Vec<Tag>, Error> {
        self.indexed_structs(prefix)?
            .into_iter()
            .map(|(n, p)| {
                Ok(Tag {
                    key: p.required_field(prefix, n, "Key")?.to_string(),
                    value: p.get("Value").unwrap_or_default().to_string(),
                })
            })
            .collect()
    }

    /// EC2's `TagSpecification.N.ResourceType` / `TagSpecification.N.Tag.M.*`.
    pub fn tag_specifications(&self) -> Result<Vec<TagSpecification>, Error> {
        self.tag_specifications_named("TagSpecification")
    }

    /// Tag specifications under another list name: a few actions (e.g.
    /// `CreateTransitGatewayVpcAttachment`) have no `locationName` for the
    /// list and so put it on the wire as `TagSpecifications.N`.
    pub fn tag_specifications_named(&self, prefix: &str) -> Result<Vec<TagSpecification>, Error> {
        self.indexed_structs(prefix)?
            .into_iter()
            .map(|(n, p)| {
                Ok(TagSpecification {
                    resource_type: p.required_field(prefix, n, "ResourceType")?.to_string(),
                    tags: p.tags("Tag").map_err(|e| qualify(e, prefix, n))?,
                })
            })
            .collect()
    }

    /// Like [`Params::structs`], keeping each structure's index for messages.
    fn indexed_structs(&self, prefix: &str) -> Result<Vec<(u32, Params)>, Error> {
        let mut items: BTreeMap<u32, Params> = BTreeMap::new();
        for (key, rest, value) in self.under(prefix) {
            if let Some((index, field)) = rest.split_once('.') {
                items
                    .entry(parse_index(key, index)?)
                    .or_default()
                    .map
                    .insert(field.to_string(), value.to_string());
            }
        }
        Ok(items.into_iter().collect())
    }

    /// A required field of structure `prefix.n`, reported by its full name.
    fn required_field(&self, prefix: &str, n: u32, field: &str) -> Result<&str, Error> {
        self.required(field)
            .map_err(|_| Error::MissingParameter(format!("{prefix}.{n}.{field}")))
    }
}

/// Names a nested structure's missing parameter by its full key.
fn qualify(err: Error, prefix: &str, n: u32) -> Error {
    match err {
        Error::MissingParameter(name) => Error::MissingParameter(format!("{prefix}.{n}.{name}")),
        other => other,
    }
}

/// A list index: a positive decimal integer without leading zeros.
fn parse_index(key: &str, index: &str) -> Result<u32, Error> {
    let well_formed =
        !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) && !index.starts_with('0');
    match index.parse::<u32>() {
        Ok(n) if well_formed => Ok(n),
        _ => Err(Error::invalid(format!(
            "Invalid list index '{index}' in parameter {key}: must be a positive integer"
        ))),
    }
}
