//! Wildcard patterns and policy variables, shared by the `Action`,
//! `Resource` and `Condition` elements.
//!
//! A pattern is compiled into [`Token`]s so that text substituted for a
//! policy variable (`${aws:username}`) and the escapes `${*}`, `${?}`, `${$}`
//! are always literal, never wildcards. Matching uses the greedy algorithm
//! that only ever backtracks to the most recent `*`: at worst O(pattern ×
//! text), never exponential, whatever an attacker puts in a policy.

use std::collections::BTreeMap;

/// The condition keys of a request, by name.
pub(crate) type Keys = BTreeMap<String, Vec<String>>;

/// One element of a compiled pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Token {
    /// Exactly this character.
    Lit(char),
    /// `?`: any one character.
    One,
    /// `*`: any run of characters, including none.
    Many,
}

/// Compiles `text` with `*` and `?` as wildcards and nothing substituted.
pub(crate) fn compile(text: &str) -> Vec<Token> {
    text.chars()
        .map(|c| match c {
            '*' => Token::Many,
            '?' => Token::One,
            c => Token::Lit(c),
        })
        .collect()
}

/// True when `pattern` matches the whole of `text`.
pub(crate) fn matches(pattern: &[Token], text: &str) -> bool {
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    // Where to resume after the latest `*`: (pattern index past it, text index it covers up to).
    let mut resume: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(Token::Many) => {
                resume = Some((p + 1, t));
                p += 1;
                continue;
            }
            Some(Token::One) => {
                p += 1;
                t += 1;
                continue;
            }
            Some(Token::Lit(c)) if *c == text[t] => {
                p += 1;
                t += 1;
                continue;
            }
            _ => {}
        }
        // Mismatch: let the latest `*` swallow one more character, or fail.
        let Some((after_star, covered)) = resume else {
            return false;
        };
        p = after_star;
        t = covered + 1;
        resume = Some((after_star, covered + 1));
    }
    pattern[p..].iter().all(|tok| *tok == Token::Many)
}

/// The values of condition key `name` in `keys`. Condition key names are
/// case-insensitive in AWS, so an exact hit is tried first, then any case.
pub(crate) fn lookup<'k>(keys: &'k Keys, name: &str) -> Option<&'k [String]> {
    keys.get(name)
        .or_else(|| {
            keys.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })
        .map(Vec::as_slice)
}

/// Compiles `text`, first substituting policy variables from `keys` when
/// `variables` is set (policy version 2012-10-17). `None` when a variable
/// cannot be resolved: the caller treats that entry as matching nothing.
pub(crate) fn expand(text: &str, variables: bool, keys: &Keys) -> Option<Vec<Token>> {
    if !variables {
        return Some(compile(text));
    }
    let mut out = Vec::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let body = &rest[start + 2..];
        let Some(end) = body.find('}') else {
            break; // An unterminated `${` is plain text.
        };
        out.extend(compile(&rest[..start]));
        out.extend(resolve(&body[..end], keys)?.chars().map(Token::Lit));
        rest = &body[end + 1..];
    }
    out.extend(compile(rest));
    Some(out)
}

/// The text a pattern stands for when it is used for an exact comparison:
/// wildcards are ordinary characters there.
pub(crate) fn literal(pattern: &[Token]) -> String {
    pattern
        .iter()
        .map(|tok| match tok {
            Token::Lit(c) => *c,
            Token::One => '?',
            Token::Many => '*',
        })
        .collect()
}

/// The value of one `${...}` body: an escape, a key with exactly one value,
/// or the key's default (`${aws:username, 'nobody'}`).
fn resolve(body: &str, keys: &Keys) -> Option<String> {
    let (name, default) = match body.split_once(',') {
        Some((name, default)) => {
            let default = default.trim();
            let unquoted = default
                .strip_prefix('\'')
                .and_then(|d| d.strip_suffix('\''))?;
            (name.trim(), Some(unquoted))
        }
        None => (body.trim(), None),
    };
    if let "*" | "?" | "$" = name {
        return Some(name.to_string());
    }
    match lookup(keys, name) {
        // A multi-valued key has no single value to substitute.
        Some([value]) => Some(value.clone()),
        _ => default.map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, text: &str) -> bool {
        matches(&compile(pattern), text)
    }

    fn keys(pairs: &[(&str, &str)]) -> Keys {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), vec![v.to_string()]))
            .collect()
    }

    #[test]
    fn wildcards() {
        assert!(m("*", ""));
        assert!(m("*", "anything"));
        assert!(m("ec2:*", "ec2:CreateVpc"));
        assert!(!m("ec2:*", "iam:CreateUser"));
        assert!(m("ec2:Describe*", "ec2:DescribeVpcs"));
        assert!(m("ec2:?reateVpc", "ec2:CreateVpc"));
        assert!(!m("ec2:?reateVpc", "ec2:reateVpc"));
        assert!(m("a*b*c", "aXbYbZc"));
        assert!(!m("a*b*c", "aXbYbZ"));
        assert!(m("*a", "aaa"));
        assert!(m("a**", "a"));
        assert!(!m("", "a"));
        assert!(m("", ""));
        assert!(m("é?", "éü"));
    }

    #[test]
    fn pathological_pattern_is_fast() {
        // Exponential backtracking would never finish on this input.
        let pattern = "a*".repeat(200) + "b";
        let text = "a".repeat(5000);
        assert!(!m(&pattern, &text));
    }

    #[test]
    fn variables_are_substituted_literally() {
        let k = keys(&[("aws:username", "a*b")]);
        let p = expand("arn:aws:iam::1:user/${aws:username}", true, &k).unwrap();
        assert!(matches(&p, "arn:aws:iam::1:user/a*b"));
        assert!(!matches(&p, "arn:aws:iam::1:user/aXb"));
    }

    #[test]
    fn variable_names_are_case_insensitive() {
        let k = keys(&[("aws:username", "bob")]);
        let p = expand("${AWS:UserName}", true, &k).unwrap();
        assert_eq!(literal(&p), "bob");
    }

    #[test]
    fn unknown_variable_is_unresolved() {
        assert_eq!(expand("x/${aws:username}", true, &Keys::new()), None);
    }

    #[test]
    fn multi_valued_variable_is_unresolved() {
        let mut k = Keys::new();
        k.insert("aws:username".into(), vec!["a".into(), "b".into()]);
        assert_eq!(expand("${aws:username}", true, &k), None);
    }

    #[test]
    fn defaults_and_escapes() {
        let p = expand(
            "${aws:username, 'nobody'}/${*}${?}${$}*",
            true,
            &Keys::new(),
        )
        .unwrap();
        assert_eq!(
            p[p.len() - 4..],
            [
                Token::Lit('*'),
                Token::Lit('?'),
                Token::Lit('$'),
                Token::Many
            ]
        );
        assert_eq!(literal(&p), "nobody/*?$*");
        assert_eq!(expand("${aws:username, nobody}", true, &Keys::new()), None);
    }

    #[test]
    fn no_variables_in_2008_or_unterminated() {
        let k = keys(&[("aws:username", "bob")]);
        assert_eq!(
            literal(&expand("${aws:username}", false, &k).unwrap()),
            "${aws:username}"
        );
        assert_eq!(literal(&expand("a${b", true, &k).unwrap()), "a${b");
        assert_eq!(
            literal(&expand("${aws:username}${x", true, &k).unwrap()),
            "bob${x"
        );
    }
}
