//! Tags: key/value pairs on every taggable resource, validated as AWS does.

use serde::{Deserialize, Serialize};

use crate::Error;

/// At most this many tags per resource (AWS's limit).
pub const MAX_TAGS_PER_RESOURCE: usize = 50;

/// One tag.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

impl Tag {
    /// Validates a tag a client asks to set.
    pub fn validate(&self) -> Result<(), Error> {
        if self.key.is_empty() || self.key.chars().count() > 128 {
            return Err(Error::invalid(format!(
                "Tag key '{}' is invalid: a tag key must be 1 to 128 characters long",
                self.key
            )));
        }
        if self.value.chars().count() > 256 {
            return Err(Error::invalid(format!(
                "Tag value for key '{}' is invalid: a tag value must be at most 256 characters long",
                self.key
            )));
        }
        if self.key.to_ascii_lowercase().starts_with("aws:") {
            return Err(Error::invalid(format!(
                "Tag key '{}' is invalid: tag keys starting with 'aws:' are reserved for internal use",
                self.key
            )));
        }
        Ok(())
    }
}

/// The tags of one resource, kept sorted by key, keys unique.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TagSet(Vec<Tag>);

impl TagSet {
    pub fn new() -> Self {
        TagSet(Vec::new())
    }

    pub fn iter(&self) -> impl Iterator<Item = &Tag> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|t| t.key == key)
            .map(|t| t.value.as_str())
    }

    /// Sets or overwrites one tag.
    pub fn set(&mut self, tag: Tag) {
        match self.0.binary_search_by(|t| t.key.as_str().cmp(&tag.key)) {
            Ok(i) => self.0[i] = tag,
            Err(i) => self.0.insert(i, tag),
        }
    }

    /// Removes a tag; when `value` is given, only if the value matches (as `DeleteTags` does).
    pub fn remove(&mut self, key: &str, value: Option<&str>) {
        self.0
            .retain(|t| !(t.key == key && value.is_none_or(|v| v == t.value)));
    }
}

impl FromIterator<Tag> for TagSet {
    fn from_iter<I: IntoIterator<Item = Tag>>(iter: I) -> Self {
        let mut set = TagSet::new();
        for tag in iter {
            set.set(tag);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: k.into(),
            value: v.into(),
        }
    }

    #[test]
    fn set_overwrites_and_sorts() {
        let mut s: TagSet = [tag("b", "1"), tag("a", "2"), tag("b", "3")]
            .into_iter()
            .collect();
        assert_eq!(
            s.iter().map(|t| t.key.as_str()).collect::<Vec<_>>(),
            ["a", "b"]
        );
        assert_eq!(s.get("b"), Some("3"));
        s.remove("b", Some("wrong"));
        assert_eq!(s.len(), 2);
        s.remove("b", None);
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn validation_matches_aws_limits() {
        assert!(tag("Name", "x").validate().is_ok());
        assert!(tag("", "x").validate().is_err());
        assert!(tag(&"k".repeat(129), "x").validate().is_err());
        assert!(tag("k", &"v".repeat(257)).validate().is_err());
        assert!(tag("aws:foo", "x").validate().is_err());
    }
}
