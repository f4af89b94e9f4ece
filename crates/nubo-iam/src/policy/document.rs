//! Parsing and validation of identity-policy JSON into a [`PolicyDocument`].
//!
//! Validation happens once, here, with the messages AWS returns in
//! `MalformedPolicyDocument`; everything downstream may assume a well-formed
//! document. Element names are case-sensitive and unknown elements are
//! refused rather than ignored, so a typo can never silently widen or narrow
//! a policy.

use std::collections::BTreeSet;

use nubo_core::Error;
use serde_json::{Map, Value};

use super::condition::{parse_block, Condition};
use super::matcher::{compile, Token};

/// The largest policy document accepted, in characters.
pub const MAX_POLICY_SIZE: usize = 6144;

pub(crate) const SYNTAX: &str = "Syntax errors in policy.";
pub(crate) const PRINCIPAL: &str = "Policy document should not specify a principal.";
pub(crate) const LEGACY: &str = "The policy failed legacy parsing";
pub(crate) const NO_ACTIONS: &str = "Policy statement must contain actions.";
pub(crate) const NO_RESOURCES: &str = "Policy statement must contain resources.";
pub(crate) const VENDOR: &str =
    "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.";
const SID_CHARS: &str = "Statement IDs (SID) must be alpha-numeric. \
     Check that your input satisfies the regular expression [0-9A-Za-z]*";
const SID_UNIQUE: &str = "Statement IDs (SID) in a single policy must be unique.";

pub(crate) fn malformed(message: impl Into<String>) -> Error {
    Error::MalformedPolicyDocument(message.into())
}

/// The policy language version, which decides whether policy variables are
/// substituted (only in 2012-10-17).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    /// `2008-10-17`, also assumed when `Version` is absent.
    V2008_10_17,
    /// `2012-10-17`, the current version.
    V2012_10_17,
}

/// A parsed and validated identity policy.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyDocument {
    version: Version,
    statements: Vec<Statement>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effect {
    Allow,
    Deny,
}

/// `Action`/`NotAction` or `Resource`/`NotResource`: patterns, and whether
/// the statement applies to everything *except* what they match.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Targets<T> {
    pub(crate) negated: bool,
    pub(crate) patterns: Vec<T>,
}

/// One statement of a policy.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Statement {
    pub(crate) effect: Effect,
    /// Compiled and lowercased: action names are case-insensitive.
    pub(crate) actions: Targets<Vec<Token>>,
    /// Raw text: variables are substituted per request.
    pub(crate) resources: Targets<String>,
    pub(crate) conditions: Vec<Condition>,
}

const DOCUMENT_KEYS: &[&str] = &["Version", "Id", "Statement"];
const STATEMENT_KEYS: &[&str] = &[
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
    "Principal",
    "NotPrincipal",
];

impl PolicyDocument {
    /// Parses and validates an identity policy.
    pub fn parse(json: &str) -> Result<PolicyDocument, Error> {
        if json.chars().count() > MAX_POLICY_SIZE {
            return Err(malformed(format!(
                "Cannot exceed quota for PolicySize: {MAX_POLICY_SIZE}"
            )));
        }
        let root: Value = serde_json::from_str(json).map_err(|_| malformed(SYNTAX))?;
        let root = root.as_object().ok_or_else(|| malformed(SYNTAX))?;
        check_keys(root, DOCUMENT_KEYS)?;
        let version = match root.get("Version") {
            None => Version::V2008_10_17,
            Some(Value::String(v)) if v == "2012-10-17" => Version::V2012_10_17,
            Some(Value::String(v)) if v == "2008-10-17" => Version::V2008_10_17,
            Some(_) => return Err(malformed(LEGACY)),
        };
        if root.get("Id").is_some_and(|id| !id.is_string()) {
            return Err(malformed(SYNTAX));
        }
        let raw_statements = match root.get("Statement") {
            Some(Value::Array(items)) if !items.is_empty() => items.iter().collect(),
            Some(single @ Value::Object(_)) => vec![single],
            _ => return Err(malformed(SYNTAX)),
        };
        let mut sids = BTreeSet::new();
        let statements = raw_statements
            .into_iter()
            .map(|raw| parse_statement(raw, &mut sids))
            .collect::<Result<_, _>>()?;
        Ok(PolicyDocument {
            version,
            statements,
        })
    }

    /// The policy language version.
    pub fn version(&self) -> Version {
        self.version
    }

    pub(crate) fn statements(&self) -> &[Statement] {
        &self.statements
    }
}

fn check_keys(object: &Map<String, Value>, allowed: &[&str]) -> Result<(), Error> {
    match object.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(_) => Err(malformed(SYNTAX)),
        None => Ok(()),
    }
}

fn parse_statement(raw: &Value, sids: &mut BTreeSet<String>) -> Result<Statement, Error> {
    let object = raw.as_object().ok_or_else(|| malformed(SYNTAX))?;
    check_keys(object, STATEMENT_KEYS)?;
    if object.contains_key("Principal") || object.contains_key("NotPrincipal") {
        return Err(malformed(PRINCIPAL));
    }
    match object.get("Sid") {
        None => {}
        Some(Value::String(sid)) => {
            if !sid.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(malformed(SID_CHARS));
            }
            if !sid.is_empty() && !sids.insert(sid.clone()) {
                return Err(malformed(SID_UNIQUE));
            }
        }
        Some(_) => return Err(malformed(SYNTAX)),
    }
    let effect = match object.get("Effect").and_then(Value::as_str) {
        Some("Allow") => Effect::Allow,
        Some("Deny") => Effect::Deny,
        _ => return Err(malformed(SYNTAX)),
    };
    let actions = pair(object, "Action", "NotAction", NO_ACTIONS)?;
    let actions = Targets {
        negated: actions.negated,
        patterns: actions
            .patterns
            .iter()
            .map(|a| parse_action(a))
            .collect::<Result<_, _>>()?,
    };
    let resources = pair(object, "Resource", "NotResource", NO_RESOURCES)?;
    for resource in &resources.patterns {
        check_resource(resource)?;
    }
    let conditions = match object.get("Condition") {
        Some(block) => parse_block(block)?,
        None => Vec::new(),
    };
    Ok(Statement {
        effect,
        actions,
        resources,
        conditions,
    })
}

/// Reads exactly one of `positive`/`negative`, a string or non-empty array of strings.
fn pair(
    object: &Map<String, Value>,
    positive: &str,
    negative: &str,
    missing: &str,
) -> Result<Targets<String>, Error> {
    let (negated, raw) = match (object.get(positive), object.get(negative)) {
        (Some(raw), None) => (false, raw),
        (None, Some(raw)) => (true, raw),
        (Some(_), Some(_)) => return Err(malformed(SYNTAX)),
        (None, None) => return Err(malformed(missing)),
    };
    let patterns = match raw {
        Value::String(s) => vec![s.clone()],
        Value::Array(items) if items.is_empty() => return Err(malformed(missing)),
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_string))
            .collect::<Option<_>>()
            .ok_or_else(|| malformed(SYNTAX))?,
        _ => return Err(malformed(SYNTAX)),
    };
    Ok(Targets { negated, patterns })
}

/// `*`, or `vendor:Action` where the action part may use wildcards.
fn parse_action(action: &str) -> Result<Vec<Token>, Error> {
    if action == "*" {
        return Ok(compile(action));
    }
    let valid = action.split_once(':').is_some_and(|(vendor, name)| {
        !vendor.is_empty()
            && vendor
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"*?-_".contains(&b))
    });
    if valid {
        Ok(compile(&action.to_ascii_lowercase()))
    } else {
        Err(malformed(VENDOR))
    }
}

/// `*`, or an ARN pattern.
fn check_resource(resource: &str) -> Result<(), Error> {
    if resource == "*" || resource.starts_with("arn:") {
        Ok(())
    } else {
        Err(malformed(format!(
            "Resource {resource} must be in ARN format or \"*\"."
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(json: &str) -> String {
        match PolicyDocument::parse(json) {
            Err(Error::MalformedPolicyDocument(m)) => m,
            other => panic!("expected MalformedPolicyDocument, got {other:?}"),
        }
    }

    fn statement(body: &str) -> String {
        format!(r#"{{"Version":"2012-10-17","Statement":{body}}}"#)
    }

    #[test]
    fn accepts_the_usual_shapes() {
        let single = statement(r#"{"Effect":"Allow","Action":"ec2:*","Resource":"*"}"#);
        let doc = PolicyDocument::parse(&single).unwrap();
        assert_eq!(doc.version(), Version::V2012_10_17);
        assert_eq!(doc.statements().len(), 1);
        let many = r#"{"Id":"x","Statement":[
            {"Sid":"A1","Effect":"Deny","NotAction":["iam:*","sts:Get*"],"NotResource":"arn:aws:iam::1:user/x"},
            {"Sid":"A2","Effect":"Allow","Action":"*","Resource":["*"],"Condition":{}}]}"#;
        let doc = PolicyDocument::parse(many).unwrap();
        assert_eq!(doc.version(), Version::V2008_10_17);
        assert!(doc.statements()[0].actions.negated && doc.statements()[0].resources.negated);
    }

    #[test]
    fn syntax_errors() {
        for bad in [
            "",
            "not json",
            "[]",
            r#"{"Version":"2012-10-17"}"#,
            r#"{"Statement":[]}"#,
            r#"{"Statement":"x"}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"},"Extra":1}"#,
            r#"{"Id":5,"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
            &statement(r#"{"Effect":"Allow","Action":"*","Resource":"*","effect":"Deny"}"#),
            &statement(r#"{"Effect":"allow","Action":"*","Resource":"*"}"#),
            &statement(r#"{"Action":"*","Resource":"*"}"#),
            &statement(r#"{"Effect":"Allow","Action":"*","NotAction":"*","Resource":"*"}"#),
            &statement(r#"{"Effect":"Allow","Action":"*","Resource":"*","NotResource":"*"}"#),
            &statement(r#"{"Effect":"Allow","Action":[1],"Resource":"*"}"#),
            &statement(r#"{"Effect":"Allow","Action":"*","Resource":{"a":"b"}}"#),
            &statement(r#"{"Sid":1,"Effect":"Allow","Action":"*","Resource":"*"}"#),
            &statement(r#"[{"Effect":"Allow","Action":"*","Resource":"*"}, 3]"#),
        ] {
            assert_eq!(error_of(bad), SYNTAX, "{bad}");
        }
    }

    #[test]
    fn specific_messages() {
        let principal =
            statement(r#"{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}"#);
        assert_eq!(error_of(&principal), PRINCIPAL);
        let not_principal = statement(
            r#"{"Effect":"Allow","NotPrincipal":{"AWS":"*"},"Action":"*","Resource":"*"}"#,
        );
        assert_eq!(error_of(&not_principal), PRINCIPAL);
        let version = r#"{"Version":"2012-10-18","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;
        assert_eq!(error_of(version), LEGACY);
        assert_eq!(
            error_of(&statement(r#"{"Effect":"Allow","Resource":"*"}"#)),
            NO_ACTIONS
        );
        assert_eq!(
            error_of(&statement(
                r#"{"Effect":"Allow","Action":[],"Resource":"*"}"#
            )),
            NO_ACTIONS
        );
        assert_eq!(
            error_of(&statement(r#"{"Effect":"Allow","Action":"*"}"#)),
            NO_RESOURCES
        );
        for action in [
            "CreateVpc",
            "ec2",
            ":CreateVpc",
            "ec2:",
            "ec2 :x",
            "ec2:Create Vpc",
        ] {
            let doc = statement(&format!(
                r#"{{"Effect":"Allow","Action":"{action}","Resource":"*"}}"#
            ));
            assert_eq!(error_of(&doc), VENDOR, "{action}");
        }
        assert_eq!(
            error_of(&statement(
                r#"{"Effect":"Allow","Action":"*","Resource":"vpc-1"}"#
            )),
            "Resource vpc-1 must be in ARN format or \"*\"."
        );
    }

    #[test]
    fn statement_ids() {
        let dup = statement(
            r#"[{"Sid":"S","Effect":"Allow","Action":"*","Resource":"*"},
                {"Sid":"S","Effect":"Deny","Action":"*","Resource":"*"}]"#,
        );
        assert_eq!(error_of(&dup), SID_UNIQUE);
        let bad = statement(r#"{"Sid":"my sid","Effect":"Allow","Action":"*","Resource":"*"}"#);
        assert_eq!(error_of(&bad), SID_CHARS);
    }

    #[test]
    fn size_limit() {
        let body = r#"{"Effect":"Allow","Action":"*","Resource":"*"}"#;
        let padded = |n: usize| format!("{}{}", statement(body), " ".repeat(n));
        let base = statement(body).len();
        assert!(PolicyDocument::parse(&padded(MAX_POLICY_SIZE - base)).is_ok());
        assert_eq!(
            error_of(&padded(MAX_POLICY_SIZE - base + 1)),
            "Cannot exceed quota for PolicySize: 6144"
        );
    }
}
