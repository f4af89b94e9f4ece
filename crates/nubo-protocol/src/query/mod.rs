//! The AWS Query protocol's request parameters: one flat `key=value` map built
//! from the form-encoded POST body and/or the URL query string (EC2, IAM, STS).
//!
//! The API edge parses each request into a [`Params`] exactly once; handlers
//! then read typed values out of it with AWS's own error messages (`bool`,
//! `int`, the flattened `Name.N` lists, `Filter.N`, `Tag.N`, …, see
//! [`lists`](self)). Parsing never panics on untrusted input and every
//! malformed value is a client error, never a silent default.

mod lists;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::ops::Bound;

use nubo_core::Error;
use percent_encoding::percent_decode;

pub use lists::TagSpecification;

/// The parameters of one Query-protocol request, keyed by their full dotted
/// name (`Filter.1.Value.2`). Keys are unique; iteration is in key order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    map: BTreeMap<String, String>,
}

impl Params {
    /// An empty parameter set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses `application/x-www-form-urlencoded` text (a POST body or a URL
    /// query string without the `?`): `+` is a space, `%XX` a byte. Empty
    /// segments and empty keys are skipped; a key without `=` has the value
    /// `""`; when a key repeats, the last value wins. Decoded text must be
    /// UTF-8.
    pub fn parse(encoded: &str) -> Result<Params, Error> {
        let mut map = BTreeMap::new();
        for pair in encoded.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let key = decode_component(key)?;
            if key.is_empty() {
                continue;
            }
            map.insert(key, decode_component(value)?);
        }
        Ok(Params { map })
    }

    /// Builds a parameter set from key/value pairs (mostly for tests).
    pub fn from_pairs<I, K, V>(pairs: I) -> Params
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Params {
            map: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// Adds `other`'s parameters, replacing ours where keys collide. The edge
    /// parses the query string first and merges the body into it, so the body
    /// wins.
    pub fn merge(&mut self, other: Params) {
        self.map.extend(other.map);
    }

    /// Encodes the parameters as `application/x-www-form-urlencoded`, in key
    /// order. [`Params::parse`] of the result gives back an equal set.
    pub fn encode(&self) -> String {
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.map.iter())
            .finish()
    }

    /// The value of `key`, if present (possibly empty).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }

    /// The value of `key`; absent or empty is `MissingParameter(key)`.
    pub fn required(&self, key: &str) -> Result<&str, Error> {
        match self.get(key) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(Error::MissingParameter(key.to_string())),
        }
    }

    /// True when `key` is present, even with an empty value.
    pub fn contains(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// All keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.map.keys().map(String::as_str)
    }

    /// All key/value pairs, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Number of parameters.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when there are no parameters.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// A boolean parameter: `true`/`false` in any case, `None` when absent.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, Error> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        if v.eq_ignore_ascii_case("true") {
            Ok(Some(true))
        } else if v.eq_ignore_ascii_case("false") {
            Ok(Some(false))
        } else {
            Err(invalid_value(key, v, "a boolean"))
        }
    }

    /// An integer parameter (optional sign, decimal digits), `None` when absent.
    pub fn int(&self, key: &str) -> Result<Option<i64>, Error> {
        let Some(v) = self.get(key) else {
            return Ok(None);
        };
        v.parse::<i64>()
            .map(Some)
            .map_err(|_| invalid_value(key, v, "an integer"))
    }

    /// The parameters whose key starts with `prefix` followed by a dot, as
    /// (full key, rest after the dot, value). A `BTreeMap` keeps them together.
    fn under<'a>(&'a self, prefix: &str) -> impl Iterator<Item = (&'a str, &'a str, &'a str)> {
        let start = format!("{prefix}.");
        let len = start.len();
        self.map
            .range::<str, _>((Bound::Included(start.as_str()), Bound::Unbounded))
            .take_while(move |(k, _)| k.starts_with(start.as_str()))
            .map(move |(k, v)| (k.as_str(), &k[len..], v.as_str()))
    }
}

/// AWS's message for a value of the wrong type.
fn invalid_value(key: &str, value: &str, expected: &str) -> Error {
    Error::invalid(format!(
        "Invalid value '{value}' for parameter {key}: must be {expected}"
    ))
}

/// Decodes one form-encoded component; `+` is replaced before percent-decoding
/// so that `%2B` stays a literal plus.
fn decode_component(raw: &str) -> Result<String, Error> {
    let bytes = raw.as_bytes();
    let decoded: Vec<u8> = if bytes.contains(&b'+') {
        let spaced: Vec<u8> = bytes
            .iter()
            .map(|&b| if b == b'+' { b' ' } else { b })
            .collect();
        percent_decode(&spaced).collect()
    } else {
        percent_decode(bytes).collect()
    };
    String::from_utf8(decoded)
        .map_err(|_| Error::invalid("Request parameters must be valid UTF-8 once URL-decoded"))
}
