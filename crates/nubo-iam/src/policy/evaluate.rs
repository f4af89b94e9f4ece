//! The decision: whether a caller's identity policies allow a request.
//!
//! AWS's identity-policy logic: a request is denied if any applicable
//! statement denies it; otherwise allowed if some applicable statement allows
//! it; otherwise implicitly denied. With several target resources, each is
//! decided on its own and the request is allowed only if all of them are.
//! Evaluation cannot fail: [`super::PolicyDocument::parse`] already refused
//! anything it could not decide.

use std::collections::BTreeMap;

use super::document::{Effect, PolicyDocument, Statement, Version};
use super::matcher::{expand, matches};

/// What is being asked for.
#[derive(Debug, Clone, Copy)]
pub struct RequestContext<'a> {
    /// The action, `service:Operation`, e.g. `ec2:CreateVpc`.
    pub action: &'a str,
    /// The ARNs the action targets; a single `*` when the action has no
    /// resource-level target. An empty slice is treated as `["*"]`.
    pub resources: &'a [String],
    /// Condition keys and their values, e.g. `aws:username`, `aws:SourceIp`.
    pub keys: &'a BTreeMap<String, Vec<String>>,
}

/// The outcome of [`evaluate`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Some statement allows every targeted resource and none denies.
    Allow,
    /// A `Deny` statement applies.
    ExplicitDeny,
    /// No statement allows (every targeted resource of) the request.
    ImplicitDeny,
}

/// Decides `ctx` against all of a caller's identity policies.
pub fn evaluate(policies: &[PolicyDocument], ctx: &RequestContext) -> Decision {
    let star = ["*".to_string()];
    let resources = if ctx.resources.is_empty() {
        &star[..]
    } else {
        ctx.resources
    };
    let action = ctx.action.to_ascii_lowercase();
    let mut allowed = vec![false; resources.len()];
    for policy in policies {
        let variables = policy.version() == Version::V2012_10_17;
        for statement in policy.statements() {
            if !action_applies(statement, &action)
                || !statement
                    .conditions
                    .iter()
                    .all(|c| c.holds(ctx.keys, variables))
            {
                continue;
            }
            for (resource, allowed) in resources.iter().zip(allowed.iter_mut()) {
                if !resource_applies(statement, resource, ctx, variables) {
                    continue;
                }
                match statement.effect {
                    Effect::Deny => return Decision::ExplicitDeny,
                    Effect::Allow => *allowed = true,
                }
            }
        }
    }
    if allowed.iter().all(|a| *a) {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}

/// `action` is already lowercased, like the statement's patterns.
fn action_applies(statement: &Statement, action: &str) -> bool {
    let listed = statement
        .actions
        .patterns
        .iter()
        .any(|p| matches(p, action));
    listed != statement.actions.negated
}

fn resource_applies(
    statement: &Statement,
    resource: &str,
    ctx: &RequestContext,
    variables: bool,
) -> bool {
    let mut unresolved = false;
    let listed =
        statement
            .resources
            .patterns
            .iter()
            .any(|raw| match expand(raw, variables, ctx.keys) {
                Some(pattern) => matches(&pattern, resource),
                None => {
                    unresolved = true;
                    false
                }
            });
    if !statement.resources.negated {
        return listed;
    }
    if listed {
        return false;
    }
    // An Allow whose exclusion list cannot be fully resolved could grant the
    // very resource it meant to exclude: fail closed and let it not apply.
    // (A Deny in the same position applies, which is also the safe side.)
    !(unresolved && statement.effect == Effect::Allow)
}
