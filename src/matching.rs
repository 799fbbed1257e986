//! Matching rules: which PipeWire streams belong to an app.
//!
//! An app has a list of rules; a stream belongs to the app when any rule matches. A rule
//! maps property names to patterns and matches when every pattern does. Patterns:
//! - `"text"`: equal, ignoring ASCII case;
//! - `"*fire*"`, `"spot?fy"`: a glob (`*` any run, `?` one character), ignoring case;
//! - `"!pattern"`: the property is absent or does not match `pattern`;
//! - `null`: the property is absent.
//!
//! Globs rather than regexes: they cover names like `.firefox-wrapped` and page titles,
//! read naturally in a Nix file, and need no regex engine in the daemon.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

/// One property pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pattern {
    /// The property must be absent.
    Absent,
    /// The property must be present and match (or, negated, be absent or not match).
    Glob { glob: String, negate: bool },
}

impl Pattern {
    /// Parses the JSON string form.
    pub fn parse(s: &str) -> Pattern {
        match s.strip_prefix('!') {
            Some(rest) => Pattern::Glob {
                glob: rest.to_owned(),
                negate: true,
            },
            None => Pattern::Glob {
                glob: s.to_owned(),
                negate: false,
            },
        }
    }

    /// Whether a property value (None = absent) satisfies the pattern.
    pub fn matches(&self, value: Option<&str>) -> bool {
        match (self, value) {
            (Pattern::Absent, v) => v.is_none(),
            (Pattern::Glob { negate, .. }, None) => *negate,
            (Pattern::Glob { glob, negate }, Some(v)) => glob_match(glob, v) != *negate,
        }
    }
}

impl fmt::Display for Pattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pattern::Absent => f.write_str("null"),
            Pattern::Glob { glob, negate } => {
                write!(f, "{}{glob}", if *negate { "!" } else { "" })
            }
        }
    }
}

impl<'de> Deserialize<'de> for Pattern {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(Pattern::Absent),
            Some(s) if s.is_empty() || s == "!" => Err(de::Error::custom(
                "a pattern must not be empty (use null for an absent property)",
            )),
            Some(s) => Ok(Pattern::parse(&s)),
        }
    }
}

impl Serialize for Pattern {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Pattern::Absent => s.serialize_none(),
            p => s.serialize_str(&p.to_string()),
        }
    }
}

/// All of its property patterns must match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Rule(pub BTreeMap<String, Pattern>);

impl<'de> Deserialize<'de> for Rule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, Pattern>::deserialize(d)?;
        if map.is_empty() {
            return Err(de::Error::custom(
                "a rule needs at least one property (an empty rule would match every stream)",
            ));
        }
        Ok(Rule(map))
    }
}

impl Rule {
    /// Builds a rule from `(property, pattern)` pairs; used for the built-in apps.
    pub fn of(pairs: &[(&str, &str)]) -> Rule {
        Rule(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), Pattern::parse(v)))
                .collect(),
        )
    }

    /// Whether the rule names this property (so implicit defaults do not apply).
    pub fn mentions(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// Matches against a property lookup (node first, then its client: the caller decides).
    pub fn matches<'a>(&self, lookup: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.0.iter().all(|(k, p)| p.matches(lookup(k)))
    }
}

/// Glob match ignoring ASCII case; `*` matches any run (also empty), `?` one character.
pub fn glob_match(glob: &str, text: &str) -> bool {
    let p: Vec<char> = glob.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let eq = |a: char, b: char| a == '?' || a.eq_ignore_ascii_case(&b);
    // Classic linear backtracking over the last star: O(len(p) * len(t)) worst case,
    // with no recursion that a long page title could blow up.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && eq(p[pi], t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn exact_is_case_insensitive() {
        assert!(glob_match("vesktop", "Vesktop"));
        assert!(!glob_match("vesktop", "vesktop2"));
        assert!(!glob_match("vesktop", "vesk"));
    }

    #[test]
    fn globs() {
        assert!(glob_match("*firefox*", ".firefox-wrapped"));
        assert!(glob_match("*youtube", "Never Gonna Give You Up - YouTube"));
        assert!(glob_match("*youtube*", "x - YouTube — Mozilla Firefox"));
        assert!(glob_match("spot?fy", "Spotify"));
        assert!(glob_match("*", ""));
        assert!(glob_match("a*b*c", "aXXbYYc"));
        assert!(!glob_match("a*b*c", "aXXbYY"));
        assert!(!glob_match("?", ""));
        assert!(glob_match("*é*", "café"));
        // Pathological input stays fast (no exponential backtracking).
        let long = "a".repeat(10_000);
        assert!(!glob_match("*a*a*a*a*a*b", &long));
    }

    #[test]
    fn patterns() {
        let neg = Pattern::parse("!*chrom*");
        assert!(neg.matches(Some("firefox")));
        assert!(!neg.matches(Some("chromium")));
        assert!(neg.matches(None));
        assert!(Pattern::Absent.matches(None));
        assert!(!Pattern::Absent.matches(Some("")));
        assert!(!Pattern::parse("x").matches(None));
    }

    #[test]
    fn rules_need_all_keys() {
        let rule: Rule =
            serde_json::from_str(r#"{"application.name":"vesktop","media.name":"!*notif*"}"#)
                .unwrap();
        let props: HashMap<&str, &str> = [
            ("application.name", "vesktop"),
            ("media.name", "WEBRTC VoiceEngine"),
        ]
        .into();
        assert!(rule.matches(|k| props.get(k).copied()));
        let props: HashMap<&str, &str> = [
            ("application.name", "vesktop"),
            ("media.name", "notification"),
        ]
        .into();
        assert!(!rule.matches(|k| props.get(k).copied()));
        assert!(rule.mentions("media.name"));
        assert!(!rule.mentions("media.class"));
    }

    #[test]
    fn null_and_bad_patterns_in_json() {
        let rule: Rule = serde_json::from_str(r#"{"application.id":null}"#).unwrap();
        assert!(rule.matches(|_| None));
        assert!(serde_json::from_str::<Rule>(r#"{}"#).is_err());
        assert!(serde_json::from_str::<Rule>(r#"{"a":""}"#).is_err());
        assert!(serde_json::from_str::<Rule>(r#"{"a":5}"#).is_err());
        let back = serde_json::to_string(&rule).unwrap();
        assert_eq!(back, r#"{"application.id":null}"#);
    }
}
