//! SwayOSD's D-Bus API: custom progress with a text, built without I/O.
//!
//! `org.erikreider.swayosd-server`, object `/org/erikreider/swayosd`, interface
//! `org.erikreider.swayosd`, one method `HandleAction` in two incompatible versions:
//! - v0.3.2 and later: `HandleAction(s action, s data, a(ss) options) -> b`, options
//!   travelling with the action;
//! - v0.2.1 to v0.3.1: `HandleAction(s action, s data) -> b`, each option a call of its
//!   own sent before the action.
//!
//! Which one a server speaks is read from its introspection data ([`detect`]).

use super::notify::icon;
use super::Shown;

pub const DESTINATION: &str = "org.erikreider.swayosd-server";
pub const PATH: &str = "/org/erikreider/swayosd";
pub const INTERFACE: &str = "org.erikreider.swayosd";
pub const METHOD: &str = "HandleAction";

/// Which `HandleAction` a server has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `(s, s, a(ss))`, v0.3.2 on.
    WithOptions,
    /// `(s, s)`, up to v0.3.1.
    Separate,
}

/// One `HandleAction` call.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    WithOptions(String, String, Vec<(String, String)>),
    Separate(String, String),
}

/// Reads the API version from `org.freedesktop.DBus.Introspectable.Introspect`'s XML:
/// the number of `in` arguments of `HandleAction`. None when it has no such method.
pub fn detect(xml: &str) -> Option<Api> {
    let start = xml.find(&format!("<method name=\"{METHOD}\""))?;
    let rest = &xml[start..];
    let end = rest.find("</method>").unwrap_or(rest.len());
    let ins = rest[..end].matches("direction=\"in\"").count();
    match ins {
        3 => Some(Api::WithOptions),
        2 => Some(Api::Separate),
        _ => None,
    }
}

/// The calls that show `s`: a progress bar (0..1; a muted app shows empty) with the
/// app's label and percent as text, and the status icon.
pub fn calls(api: Api, s: &Shown) -> Vec<Call> {
    let pct = s.volume.round().max(0.0);
    let text = if s.muted {
        format!("{} muted", s.label)
    } else {
        format!("{} {pct:.0}%", s.label)
    };
    let progress = if s.muted { 0.0 } else { (pct / 100.0).min(1.0) };
    let progress = format!("{progress:.2}");
    let icon = icon(s.volume, s.muted).to_owned();
    let options = [
        ("CUSTOM-PROGRESS-TEXT".to_owned(), text),
        ("CUSTOM-ICON".to_owned(), icon),
    ];
    match api {
        Api::WithOptions => vec![Call::WithOptions(
            "CUSTOM-PROGRESS".into(),
            progress,
            options.into(),
        )],
        Api::Separate => options
            .into_iter()
            .map(|(k, v)| Call::Separate(k, v))
            .chain([Call::Separate("CUSTOM-PROGRESS".into(), progress)])
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V032: &str = r#"<node>
  <interface name="org.erikreider.swayosd">
    <method name="HandleAction">
      <arg name="arg_type" type="s" direction="in"/>
      <arg name="data" type="s" direction="in"/>
      <arg name="flags" type="a(ss)" direction="in"/>
      <arg type="b" direction="out"/>
    </method>
  </interface>
</node>"#;

    #[test]
    fn detects_both_versions() {
        assert_eq!(detect(V032), Some(Api::WithOptions));
        let old = V032.replace(
            "      <arg name=\"flags\" type=\"a(ss)\" direction=\"in\"/>\n",
            "",
        );
        assert_eq!(detect(&old), Some(Api::Separate));
        assert_eq!(detect("<node/>"), None);
    }

    #[test]
    fn new_api_is_one_call_with_options() {
        assert_eq!(
            calls(Api::WithOptions, &Shown::sample(45.0, false)),
            [Call::WithOptions(
                "CUSTOM-PROGRESS".into(),
                "0.45".into(),
                vec![
                    ("CUSTOM-PROGRESS-TEXT".into(), "Discord 45%".into()),
                    ("CUSTOM-ICON".into(), "audio-volume-medium".into()),
                ]
            )]
        );
    }

    #[test]
    fn old_api_sends_options_first() {
        assert_eq!(
            calls(Api::Separate, &Shown::sample(140.0, true)),
            [
                Call::Separate("CUSTOM-PROGRESS-TEXT".into(), "Discord muted".into()),
                Call::Separate("CUSTOM-ICON".into(), "audio-volume-muted".into()),
                Call::Separate("CUSTOM-PROGRESS".into(), "0.00".into()),
            ]
        );
        // Above 100 % the bar is full.
        let Call::Separate(_, p) = &calls(Api::Separate, &Shown::sample(140.0, false))[2] else {
            panic!()
        };
        assert_eq!(p, "1.00");
    }
}
