//! Labels on instances, and the selectors that pick instances by them, with Kubernetes'
//! rules and syntax, so `toygres-cli list -l team=web` reads like `kubectl get -l`.
//!
//! A key is a name of at most 63 characters (letters, digits, `-`, `_`, `.`, starting and
//! ending with a letter or digit), optionally after a DNS-subdomain prefix and a `/`
//! (`example.com/tier`); a value is empty or follows the name's rules. A selector is a
//! comma-separated list of requirements, all of which must hold: `key=value` (or `==`),
//! `key!=value`, `key in (a,b)`, `key notin (a,b)`, `key` (has it), `!key` (has it not).

use std::collections::BTreeMap;
use std::fmt;

use crate::InvalidValue;

/// The longest label name or value.
const MAX_NAME: usize = 63;
/// The longest key prefix (a DNS subdomain).
const MAX_PREFIX: usize = 253;

/// An instance's labels, key → value, each checked by [`check_label`].
pub type Labels = BTreeMap<String, String>;

/// Checks one label as Kubernetes would.
pub fn check_label(key: &str, value: &str) -> Result<(), InvalidValue> {
    check_key(key)?;
    if !value.is_empty() && !is_name(value) {
        return Err(InvalidValue(format!(
            "label value \"{value}\" of \"{key}\": at most {MAX_NAME} letters, digits, '-', '_' or '.', starting and ending with a letter or digit"
        )));
    }
    Ok(())
}

/// Checks every label of `labels`.
pub fn check_labels(labels: &Labels) -> Result<(), InvalidValue> {
    labels
        .iter()
        .try_for_each(|(key, value)| check_label(key, value))
}

fn check_key(key: &str) -> Result<(), InvalidValue> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= MAX_PREFIX
            && p.split('.').all(|part| {
                !part.is_empty()
                    && part
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !part.starts_with('-')
                    && !part.ends_with('-')
            })
    });
    if !prefix_ok || !is_name(name) {
        return Err(InvalidValue(format!(
            "label key \"{key}\": a name of at most {MAX_NAME} letters, digits, '-', '_' or '.', starting and ending with a letter or digit, optionally after a DNS prefix and '/'"
        )));
    }
    Ok(())
}

fn is_name(name: &str) -> bool {
    let alnum = |c: char| c.is_ascii_alphanumeric();
    !name.is_empty()
        && name.len() <= MAX_NAME
        && name.starts_with(alnum)
        && name.ends_with(alnum)
        && name.chars().all(|c| alnum(c) || "-_.".contains(c))
}

/// One requirement of a selector.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

impl Requirement {
    fn matches(&self, labels: &Labels) -> bool {
        match self {
            Self::Equals(key, value) => labels.get(key) == Some(value),
            Self::NotEquals(key, value) => labels.get(key) != Some(value),
            Self::In(key, values) => labels.get(key).is_some_and(|v| values.contains(v)),
            Self::NotIn(key, values) => labels.get(key).is_none_or(|v| !values.contains(v)),
            Self::Exists(key) => labels.contains_key(key),
            Self::DoesNotExist(key) => !labels.contains_key(key),
        }
    }
}

/// A label selector: instances whose labels meet every requirement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    text: String,
    requirements: Vec<Requirement>,
}

impl Selector {
    pub fn parse(text: &str) -> Result<Self, InvalidValue> {
        let invalid = |why: &str| InvalidValue(format!("label selector \"{text}\": {why}"));
        let requirements = split_requirements(text)
            .ok_or_else(|| invalid("unbalanced parentheses"))?
            .into_iter()
            .map(|part| parse_requirement(part.trim()).map_err(|why| invalid(&why)))
            .collect::<Result<Vec<_>, _>>()?;
        if requirements.is_empty() {
            return Err(invalid("it names no label"));
        }
        Ok(Self {
            text: text.trim().to_string(),
            requirements,
        })
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// `text` cut at the commas outside parentheses; `None` when they do not balance.
fn split_requirements(text: &str) -> Option<Vec<&str>> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0usize, 0);
    for (at, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.checked_sub(1)?,
            ',' if depth == 0 => {
                parts.push(&text[start..at]);
                start = at + 1;
            }
            _ => {}
        }
    }
    (depth == 0).then_some(())?;
    parts.push(&text[start..]);
    Some(parts.into_iter().filter(|p| !p.trim().is_empty()).collect())
}

fn parse_requirement(part: &str) -> Result<Requirement, String> {
    let key = |key: &str| {
        let key = key.trim();
        check_key(key).map(|()| key.to_string()).map_err(|e| e.0)
    };
    let value = |value: &str| {
        let value = value.trim();
        check_label("k", value)
            .map(|()| value.to_string())
            .map_err(|e| e.0)
    };
    if let Some(rest) = part.strip_prefix('!') {
        return Ok(Requirement::DoesNotExist(key(rest)?));
    }
    if let Some((k, v)) = part.split_once("!=") {
        return Ok(Requirement::NotEquals(key(k)?, value(v)?));
    }
    if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
        return Ok(Requirement::Equals(key(k)?, value(v)?));
    }
    for (word, negated) in [(" notin ", true), (" in ", false)] {
        if let Some((k, list)) = part.split_once(word) {
            let list = list.trim();
            let inner = list
                .strip_prefix('(')
                .and_then(|l| l.strip_suffix(')'))
                .ok_or_else(|| format!("\"{part}\": the values go in parentheses"))?;
            let values = inner.split(',').map(value).collect::<Result<Vec<_>, _>>()?;
            let key = key(k)?;
            return Ok(match negated {
                true => Requirement::NotIn(key, values),
                false => Requirement::In(key, values),
            });
        }
    }
    Ok(Requirement::Exists(key(part)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn labels_follow_kubernetes_rules() {
        for (key, value) in [
            ("team", "web"),
            ("example.com/tier", "gold"),
            ("a_b.c-d", ""),
            ("T1", "V.2"),
        ] {
            check_label(key, value).unwrap();
        }
        for (key, value) in [
            ("", "x"),
            ("-team", "x"),
            ("team-", "x"),
            ("Example.com/tier", "x"),
            ("/tier", "x"),
            ("team", "-web"),
            ("team", "a b"),
            (&"k".repeat(64), "x"),
            ("team", &"v".repeat(64)),
        ] {
            assert!(check_label(key, value).is_err(), "{key}={value}");
        }
    }

    #[test]
    fn selectors_read_like_kubectl() {
        let web_gold = labels(&[("team", "web"), ("tier", "gold")]);
        let db = labels(&[("team", "db")]);
        let none = labels(&[]);
        let cases = [
            ("team=web", [true, false, false]),
            ("team==web", [true, false, false]),
            ("team!=web", [false, true, true]),
            ("team in (web, db)", [true, true, false]),
            ("team notin (web)", [false, true, true]),
            ("tier", [true, false, false]),
            ("!tier", [false, true, true]),
            ("team=web,tier=gold", [true, false, false]),
            ("team in (db,web), !tier", [false, true, false]),
        ];
        for (text, expected) in cases {
            let selector = Selector::parse(text).unwrap();
            let got = [&web_gold, &db, &none].map(|l| selector.matches(l));
            assert_eq!(got, expected, "{text}");
        }
    }

    #[test]
    fn bad_selectors_say_what_is_wrong() {
        for text in [
            "",
            ",",
            "team in (web",
            "team in web",
            "te am=x",
            "team=a b",
            "=x",
        ] {
            let error = Selector::parse(text).unwrap_err().0;
            assert!(error.starts_with("label selector"), "{text}: {error}");
        }
    }
}
