//! The `Condition` block of a statement: parsing each `Operator: {key:
//! values}` entry into a [`Condition`] and deciding whether it holds for a
//! request's condition keys.
//!
//! Operators combine as AWS documents: every operator and every key must hold
//! (AND); any one value of a key may match (OR). A negated operator
//! (`StringNotEquals`, `NotIpAddress`, …) holds exactly when its positive form
//! does not, so it holds when the key is missing; `...IfExists` holds when the
//! key is missing; `ForAnyValue:`/`ForAllValues:` compare a multi-valued key
//! value by value (an absent key fails the former and satisfies the latter).

use std::net::IpAddr;

use nubo_core::Error;
use serde_json::{Map, Value};

use super::document::{malformed, SYNTAX, VENDOR};
use super::matcher::{expand, literal, lookup, matches, Keys};
use super::value::{arn_matches, parse_bool, parse_date, parse_number, Cmp, IpBlock};

/// How a multi-valued request key is compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Qualifier {
    /// No prefix: any request value matching any policy value.
    Single,
    ForAnyValue,
    ForAllValues,
}

/// What an operator compares, with its negation stripped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    StringEquals,
    StringEqualsIgnoreCase,
    StringLike,
    Numeric(Cmp),
    Date(Cmp),
    Bool,
    Ip,
    /// `ArnEquals` and `ArnLike` behave the same in AWS.
    Arn,
    Null,
}

/// Every operator name without its `IfExists` suffix: (name, kind, negated).
const OPERATORS: &[(&str, Kind, bool)] = &[
    ("StringEquals", Kind::StringEquals, false),
    ("StringNotEquals", Kind::StringEquals, true),
    (
        "StringEqualsIgnoreCase",
        Kind::StringEqualsIgnoreCase,
        false,
    ),
    (
        "StringNotEqualsIgnoreCase",
        Kind::StringEqualsIgnoreCase,
        true,
    ),
    ("StringLike", Kind::StringLike, false),
    ("StringNotLike", Kind::StringLike, true),
    ("NumericEquals", Kind::Numeric(Cmp::Eq), false),
    ("NumericNotEquals", Kind::Numeric(Cmp::Eq), true),
    ("NumericLessThan", Kind::Numeric(Cmp::Lt), false),
    ("NumericLessThanEquals", Kind::Numeric(Cmp::Le), false),
    ("NumericGreaterThan", Kind::Numeric(Cmp::Gt), false),
    ("NumericGreaterThanEquals", Kind::Numeric(Cmp::Ge), false),
    ("DateEquals", Kind::Date(Cmp::Eq), false),
    ("DateNotEquals", Kind::Date(Cmp::Eq), true),
    ("DateLessThan", Kind::Date(Cmp::Lt), false),
    ("DateLessThanEquals", Kind::Date(Cmp::Le), false),
    ("DateGreaterThan", Kind::Date(Cmp::Gt), false),
    ("DateGreaterThanEquals", Kind::Date(Cmp::Ge), false),
    ("Bool", Kind::Bool, false),
    ("IpAddress", Kind::Ip, false),
    ("NotIpAddress", Kind::Ip, true),
    ("ArnEquals", Kind::Arn, false),
    ("ArnLike", Kind::Arn, false),
    ("ArnNotEquals", Kind::Arn, true),
    ("ArnNotLike", Kind::Arn, true),
    ("Null", Kind::Null, false),
];

/// A condition's policy values, parsed for its operator.
#[derive(Debug, Clone, PartialEq)]
enum Values {
    /// String and ARN operators; may hold policy variables.
    Text(Vec<String>),
    Number(Vec<f64>),
    /// Milliseconds since the epoch.
    Date(Vec<i64>),
    Bool(Vec<bool>),
    Ip(Vec<IpBlock>),
}

/// One operator applied to one condition key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Condition {
    qualifier: Qualifier,
    kind: Kind,
    negated: bool,
    if_exists: bool,
    key: String,
    values: Values,
}

/// Parses a statement's `Condition` element.
pub(crate) fn parse_block(block: &Value) -> Result<Vec<Condition>, Error> {
    let operators = block.as_object().ok_or_else(|| malformed(SYNTAX))?;
    let mut conditions = Vec::new();
    for (operator, entries) in operators {
        let (qualifier, kind, negated, if_exists) = parse_operator(operator)?;
        let entries: &Map<String, Value> = entries.as_object().ok_or_else(|| malformed(SYNTAX))?;
        for (key, raw) in entries {
            check_key(key)?;
            conditions.push(Condition {
                qualifier,
                kind,
                negated,
                if_exists,
                key: key.clone(),
                values: parse_values(kind, operator, raw)?,
            });
        }
    }
    Ok(conditions)
}

fn parse_operator(name: &str) -> Result<(Qualifier, Kind, bool, bool), Error> {
    let invalid = || malformed(format!("Invalid Condition type : {name}"));
    let (qualifier, rest) = if let Some(rest) = name.strip_prefix("ForAnyValue:") {
        (Qualifier::ForAnyValue, rest)
    } else if let Some(rest) = name.strip_prefix("ForAllValues:") {
        (Qualifier::ForAllValues, rest)
    } else {
        (Qualifier::Single, name)
    };
    let (base, if_exists) = match rest.strip_suffix("IfExists") {
        Some(base) => (base, true),
        None => (rest, false),
    };
    let &(_, kind, negated) = OPERATORS
        .iter()
        .find(|(n, _, _)| *n == base)
        .ok_or_else(invalid)?;
    // "Null exists" is a contradiction AWS refuses.
    if kind == Kind::Null && if_exists {
        return Err(invalid());
    }
    Ok((qualifier, kind, negated, if_exists))
}

/// Condition keys are `vendor:name`, like actions.
fn check_key(key: &str) -> Result<(), Error> {
    let valid = key.split_once(':').is_some_and(|(vendor, name)| {
        !vendor.is_empty()
            && vendor
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !name.is_empty()
    });
    if valid {
        Ok(())
    } else {
        Err(malformed(VENDOR))
    }
}

fn parse_values(kind: Kind, operator: &str, raw: &Value) -> Result<Values, Error> {
    let texts = scalar_texts(raw)?;
    fn typed<T>(
        texts: &[String],
        operator: &str,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<Vec<T>, Error> {
        texts
            .iter()
            .map(|t| {
                parse(t).ok_or_else(|| {
                    malformed(format!(
                        "Invalid value for condition operator {operator}: {t}"
                    ))
                })
            })
            .collect()
    }
    Ok(match kind {
        Kind::StringEquals | Kind::StringEqualsIgnoreCase | Kind::StringLike | Kind::Arn => {
            Values::Text(texts)
        }
        Kind::Numeric(_) => Values::Number(typed(&texts, operator, parse_number)?),
        Kind::Date(_) => Values::Date(typed(&texts, operator, parse_date)?),
        Kind::Bool | Kind::Null => Values::Bool(typed(&texts, operator, parse_bool)?),
        Kind::Ip => Values::Ip(typed(&texts, operator, IpBlock::parse)?),
    })
}

/// A condition value is a string, number or boolean, or a non-empty array of them.
fn scalar_texts(raw: &Value) -> Result<Vec<String>, Error> {
    fn scalar(v: &Value) -> Result<String, Error> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            Value::Bool(b) => Ok(b.to_string()),
            _ => Err(malformed(SYNTAX)),
        }
    }
    match raw {
        Value::Array(items) if items.is_empty() => Err(malformed(SYNTAX)),
        Value::Array(items) => items.iter().map(scalar).collect(),
        other => Ok(vec![scalar(other)?]),
    }
}

impl Condition {
    /// Whether this condition holds for the request's keys. `variables` is
    /// set for 2012-10-17 policies, whose string and ARN values may use them.
    pub(crate) fn holds(&self, keys: &Keys, variables: bool) -> bool {
        let present = lookup(keys, &self.key).filter(|v| !v.is_empty());
        if self.kind == Kind::Null {
            let Values::Bool(expected) = &self.values else {
                return false;
            };
            // `Null: true` asks "is the key absent?".
            return expected.iter().any(|absent| *absent != present.is_some());
        }
        let Some(request) = present else {
            return self.if_exists
                || match self.qualifier {
                    Qualifier::Single => self.negated,
                    Qualifier::ForAnyValue => false,
                    Qualifier::ForAllValues => true,
                };
        };
        let matches_one = self.value_matcher(keys, variables);
        match self.qualifier {
            Qualifier::Single => request.iter().any(|v| matches_one(v)) != self.negated,
            Qualifier::ForAnyValue => request.iter().any(|v| matches_one(v) != self.negated),
            Qualifier::ForAllValues => request.iter().all(|v| matches_one(v) != self.negated),
        }
    }

    /// A test of one request value against the (positive) operator and any
    /// of the policy values. Values with unresolvable variables match nothing.
    fn value_matcher<'s>(&'s self, keys: &Keys, variables: bool) -> Box<dyn Fn(&str) -> bool + 's> {
        match (&self.values, self.kind) {
            (Values::Text(texts), kind) => {
                let patterns: Vec<_> = texts
                    .iter()
                    .filter_map(|t| expand(t, variables, keys))
                    .collect();
                match kind {
                    Kind::StringLike => Box::new(move |v| patterns.iter().any(|p| matches(p, v))),
                    Kind::Arn => Box::new(move |v| patterns.iter().any(|p| arn_matches(p, v))),
                    Kind::StringEqualsIgnoreCase => {
                        let wanted: Vec<String> =
                            patterns.iter().map(|p| literal(p).to_lowercase()).collect();
                        Box::new(move |v| wanted.contains(&v.to_lowercase()))
                    }
                    _ => {
                        let wanted: Vec<String> = patterns.iter().map(|p| literal(p)).collect();
                        Box::new(move |v| wanted.iter().any(|w| w == v))
                    }
                }
            }
            (Values::Number(policy), Kind::Numeric(cmp)) => Box::new(move |v| {
                parse_number(v).is_some_and(|n| policy.iter().any(|p| cmp.holds(n, *p)))
            }),
            (Values::Date(policy), Kind::Date(cmp)) => Box::new(move |v| {
                parse_date(v).is_some_and(|d| policy.iter().any(|p| cmp.holds(d, *p)))
            }),
            (Values::Bool(policy), _) => {
                Box::new(move |v| parse_bool(v).is_some_and(|b| policy.contains(&b)))
            }
            (Values::Ip(blocks), _) => Box::new(move |v| {
                v.parse::<IpAddr>()
                    .is_ok_and(|a| blocks.iter().any(|b| b.contains(a)))
            }),
            _ => Box::new(|_| false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(block: Value) -> Result<Vec<Condition>, Error> {
        parse_block(&block)
    }

    #[test]
    fn operator_names() {
        let (q, k, neg, ie) = parse_operator("ForAllValues:StringNotLikeIfExists").unwrap();
        assert_eq!(
            (q, k, neg, ie),
            (Qualifier::ForAllValues, Kind::StringLike, true, true)
        );
        for bad in [
            "StringEqual",
            "stringequals",
            "NullIfExists",
            "ForSomeValues:Bool",
            "",
        ] {
            assert_eq!(
                parse_operator(bad),
                Err(Error::MalformedPolicyDocument(format!(
                    "Invalid Condition type : {bad}"
                )))
            );
        }
    }

    #[test]
    fn keys_need_a_vendor() {
        let err = parse(json!({"StringEquals": {"username": "bob"}})).unwrap_err();
        assert_eq!(err, Error::MalformedPolicyDocument(VENDOR.into()));
    }

    #[test]
    fn values_are_typed() {
        assert!(parse(json!({"NumericLessThan": {"s3:max-keys": [10, "2.5"]}})).is_ok());
        assert!(parse(json!({"Bool": {"aws:SecureTransport": true}})).is_ok());
        for bad in [
            json!({"NumericLessThan": {"s3:max-keys": "ten"}}),
            json!({"DateLessThan": {"aws:CurrentTime": "soon"}}),
            json!({"Bool": {"aws:SecureTransport": "yes"}}),
            json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/40"}}),
            json!({"StringEquals": {"aws:username": []}}),
            json!({"StringEquals": {"aws:username": null}}),
            json!({"StringEquals": {"aws:username": {"a": "b"}}}),
            json!({"StringEquals": "bob"}),
            json!(["StringEquals"]),
        ] {
            assert!(
                matches!(parse(bad.clone()), Err(Error::MalformedPolicyDocument(_))),
                "{bad}"
            );
        }
    }
}
