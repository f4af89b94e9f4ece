//! The shared machinery behind every `Describe*`: filters (`Filter.N.Name` /
//! `Filter.N.Value.M`, AND across filters, OR across values, `*`/`?`
//! wildcards, the generic `tag:<key>`, `tag-key` and `tag-value` filters) and
//! `MaxResults`/`NextToken` pagination over a stable order.
//!
//! A resource type opts in by implementing [`Filterable`]; an unknown filter
//! name is an error, never a silent empty result.

use crate::{Error, TagSet};

/// One `Filter.N` of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub name: String,
    pub values: Vec<String>,
}

/// A resource that `Describe*` filters can examine.
pub trait Filterable {
    /// The filter names this resource supports, besides the tag filters.
    const FILTERS: &'static [&'static str];

    /// The resource's values for the filter `name` (one of [`Self::FILTERS`]).
    fn filter_values(&self, name: &str) -> Vec<String>;

    /// The resource's tags.
    fn tags(&self) -> &TagSet;
}

/// Rejects filter names that `T` does not support, and filters without values.
pub fn validate<T: Filterable>(filters: &[Filter]) -> Result<(), Error> {
    for f in filters {
        let known = T::FILTERS.contains(&f.name.as_str())
            || f.name == "tag-key"
            || f.name == "tag-value"
            || f.name.strip_prefix("tag:").is_some_and(|k| !k.is_empty());
        if !known {
            return Err(Error::invalid(format!(
                "The filter '{}' is invalid",
                f.name
            )));
        }
        if f.values.is_empty() {
            return Err(Error::invalid(format!(
                "The filter '{}' must have at least one value",
                f.name
            )));
        }
    }
    Ok(())
}

/// True when `item` satisfies every filter (call [`validate`] first).
pub fn matches<T: Filterable>(item: &T, filters: &[Filter]) -> bool {
    filters.iter().all(|f| {
        let any = |candidates: &mut dyn Iterator<Item = &str>| {
            let mut found = false;
            for c in candidates {
                if f.values.iter().any(|pattern| wildcard_match(pattern, c)) {
                    found = true;
                    break;
                }
            }
            found
        };
        match f.name.as_str() {
            "tag-key" => any(&mut item.tags().iter().map(|t| t.key.as_str())),
            "tag-value" => any(&mut item.tags().iter().map(|t| t.value.as_str())),
            name => match name.strip_prefix("tag:") {
                Some(key) => any(&mut item.tags().get(key).into_iter()),
                None => any(&mut item.filter_values(name).iter().map(String::as_str)),
            },
        }
    })
}

/// AWS filter wildcards: `*` matches any run of characters, `?` exactly one;
/// `\` escapes the next character. Matching is case-sensitive.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Iterative matcher with backtracking to the last `*`: linear in practice,
    // never exponential on hostile patterns.
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                '\\' if pi + 1 < p.len() && p[pi + 1] == t[ti] => {
                    pi += 2;
                    ti += 1;
                    continue;
                }
                c if c != '\\' && c == t[ti] => {
                    pi += 1;
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, st)) => {
                pi = sp + 1;
                ti = st + 1;
                star = Some((sp, st + 1));
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// A validated `MaxResults`/`NextToken` pair.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Page {
    pub max_results: Option<usize>,
    /// The sort key after which this page starts.
    pub after: Option<String>,
}

impl Page {
    /// Validates `MaxResults` against the action's allowed range and decodes `NextToken`.
    pub fn new(
        max_results: Option<i64>,
        next_token: Option<&str>,
        min: i64,
        max: i64,
    ) -> Result<Self, Error> {
        let max_results = match max_results {
            None => None,
            Some(n) if (min..=max).contains(&n) => Some(n as usize),
            Some(n) => {
                return Err(Error::invalid(format!(
                    "Value ( {n} ) for parameter maxResults is invalid. Expecting a value between {min} and {max}."
                )))
            }
        };
        let after = match next_token {
            None | Some("") => None,
            Some(token) => Some(decode_token(token).ok_or_else(|| {
                Error::client(
                    "InvalidPaginationToken",
                    format!("The pagination token \"{token}\" is invalid."),
                )
            })?),
        };
        Ok(Page { max_results, after })
    }

    /// Cuts one page out of `items`, which must be sorted by `key`. Returns the
    /// page and the `NextToken` for the next one, if any items remain.
    pub fn apply<T>(&self, items: Vec<T>, key: impl Fn(&T) -> &str) -> (Vec<T>, Option<String>) {
        let mut rest: Vec<T> = match &self.after {
            Some(after) => items
                .into_iter()
                .filter(|i| key(i) > after.as_str())
                .collect(),
            None => items,
        };
        match self.max_results {
            Some(n) if rest.len() > n => {
                rest.truncate(n);
                let token = rest.last().map(|last| encode_token(key(last)));
                (rest, token)
            }
            _ => (rest, None),
        }
    }
}

const TOKEN_PREFIX: &str = "nubo1.";

fn encode_token(key: &str) -> String {
    let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
    format!("{TOKEN_PREFIX}{hex}")
}

fn decode_token(token: &str) -> Option<String> {
    let hex = token.strip_prefix(TOKEN_PREFIX)?;
    if hex.len() % 2 != 0 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Tag;
    use proptest::prelude::*;

    struct Thing {
        id: String,
        tags: TagSet,
    }

    impl Filterable for Thing {
        const FILTERS: &'static [&'static str] = &["id"];
        fn filter_values(&self, _name: &str) -> Vec<String> {
            vec![self.id.clone()]
        }
        fn tags(&self) -> &TagSet {
            &self.tags
        }
    }

    fn thing(id: &str, tags: &[(&str, &str)]) -> Thing {
        Thing {
            id: id.into(),
            tags: tags
                .iter()
                .map(|(k, v)| Tag {
                    key: k.to_string(),
                    value: v.to_string(),
                })
                .collect(),
        }
    }

    fn filter(name: &str, values: &[&str]) -> Filter {
        Filter {
            name: name.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*c", "abbbc"));
        assert!(wildcard_match("a?c", "abc"));
        assert!(!wildcard_match("a?c", "ac"));
        assert!(wildcard_match("a\\*c", "a*c"));
        assert!(!wildcard_match("a\\*c", "abc"));
        assert!(!wildcard_match("Prod", "prod"));
    }

    #[test]
    fn filters_and_across_names_or_across_values() {
        let t = thing("vpc-1", &[("Name", "web"), ("env", "prod")]);
        assert!(matches(
            &t,
            &[
                filter("id", &["vpc-2", "vpc-1"]),
                filter("tag:env", &["prod"])
            ]
        ));
        assert!(!matches(
            &t,
            &[filter("id", &["vpc-1"]), filter("tag:env", &["dev"])]
        ));
        assert!(matches(&t, &[filter("tag-key", &["Na*"])]));
        assert!(matches(&t, &[filter("tag-value", &["web"])]));
        assert!(!matches(&t, &[filter("tag:missing", &["*"])]));
    }

    #[test]
    fn unknown_filters_are_errors() {
        assert!(validate::<Thing>(&[filter("id", &["x"])]).is_ok());
        assert!(validate::<Thing>(&[filter("tag:k", &["x"])]).is_ok());
        assert!(validate::<Thing>(&[filter("bogus", &["x"])]).is_err());
        assert!(validate::<Thing>(&[filter("tag:", &["x"])]).is_err());
    }

    #[test]
    fn pagination_walks_every_item_once() {
        let items: Vec<String> = (0..23).map(|i| format!("id-{i:03}")).collect();
        let mut seen = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = Page::new(Some(5), token.as_deref(), 5, 1000).unwrap();
            let (got, next) = page.apply(items.clone(), |s| s.as_str());
            seen.extend(got);
            match next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        assert_eq!(seen, items);
        assert!(Page::new(Some(4), None, 5, 1000).is_err());
        assert!(Page::new(None, Some("garbage"), 5, 1000).is_err());
    }

    proptest! {
        #[test]
        fn star_matches_everything(s in "\\PC{0,40}") {
            prop_assert!(wildcard_match("*", &s));
            prop_assert!(wildcard_match("**", &s));
        }

        #[test]
        fn literal_patterns_match_only_themselves(a in "[a-z]{0,10}", b in "[a-z]{0,10}") {
            prop_assert_eq!(wildcard_match(&a, &b), a == b);
        }

        #[test]
        fn tokens_round_trip(key in "\\PC{0,40}") {
            prop_assert_eq!(decode_token(&encode_token(&key)), Some(key));
        }
    }
}
