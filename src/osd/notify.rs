//! freedesktop notifications: the arguments of one `Notify` call, built without I/O.
//!
//! `org.freedesktop.Notifications.Notify(s app_name, u replaces_id, s app_icon,
//! s summary, s body, as actions, a{sv} hints, i expire_timeout) -> u id`.
//! Notification daemons draw a volume bar from the int32 `value` hint and replace a
//! notification in place when a new one carries the same stack tag: dunst reads
//! `synchronous`, `x-canonical-private-synchronous` and `x-dunst-stack-tag`, mako the
//! last two (together with the same app name). Hint *types* matter: mako rejects the whole
//! call when `value` is not an int32, and reads the tags only as strings.

use super::Shown;
use std::collections::HashMap;
use zbus::zvariant::Value;

pub const DESTINATION: &str = "org.freedesktop.Notifications";
pub const PATH: &str = "/org/freedesktop/Notifications";
pub const INTERFACE: &str = "org.freedesktop.Notifications";
/// One app name for every notification: mako replaces by tag *and* app name.
pub const APP_NAME: &str = "audio-daemon";

/// The status icon for a level (freedesktop icon naming spec).
pub fn icon(volume: f64, muted: bool) -> &'static str {
    if muted || volume <= 0.0 {
        "audio-volume-muted"
    } else if volume < 34.0 {
        "audio-volume-low"
    } else if volume < 67.0 {
        "audio-volume-medium"
    } else {
        "audio-volume-high"
    }
}

/// The stack tag of an app: one per app, so each app has one notification.
pub fn tag(app: &str) -> String {
    format!("audio-daemon-{app}")
}

/// Whether a server's capabilities include one of the stack-tag hints we send (then it
/// replaces a notification by tag: mako, dunst, swaync).
pub fn stacks_by_tag(capabilities: &[String]) -> bool {
    capabilities.iter().any(|c| {
        matches!(
            c.as_str(),
            "synchronous" | "x-canonical-private-synchronous" | "x-dunst-stack-tag"
        )
    })
}

/// One `Notify` call.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    /// The id the server gave this app's previous notification (0: none yet).
    pub replaces_id: u32,
    pub icon: &'static str,
    pub summary: String,
    pub body: String,
    /// 0..=100 for the bar; a level above 100 % shows a full bar (the body says more).
    pub value: i32,
    pub tag: String,
    pub timeout_ms: i32,
}

impl Notification {
    pub fn new(s: &Shown, replaces_id: u32, timeout_ms: u32) -> Notification {
        let pct = s.volume.round().max(0.0);
        let body = if s.muted {
            format!("muted ({pct:.0}%)")
        } else {
            format!("{pct:.0}%")
        };
        Notification {
            replaces_id,
            icon: icon(s.volume, s.muted),
            summary: s.label.clone(),
            body,
            value: if s.muted { 0 } else { pct.min(100.0) as i32 },
            tag: tag(&s.app),
            timeout_ms: i32::try_from(timeout_ms).unwrap_or(i32::MAX),
        }
    }

    /// The `a{sv}` hints.
    pub fn hints(&self) -> HashMap<&'static str, Value<'_>> {
        HashMap::from([
            ("value", Value::I32(self.value)),
            ("synchronous", Value::from(self.tag.as_str())),
            (
                "x-canonical-private-synchronous",
                Value::from(self.tag.as_str()),
            ),
            ("x-dunst-stack-tag", Value::from(self.tag.as_str())),
        ])
    }

    /// The call's body, in the order of the method's signature.
    #[allow(clippy::type_complexity)]
    pub fn args(
        &self,
    ) -> (
        &'static str,
        u32,
        &'static str,
        &str,
        &str,
        Vec<&'static str>,
        HashMap<&'static str, Value<'_>>,
        i32,
    ) {
        (
            APP_NAME,
            self.replaces_id,
            self.icon,
            &self.summary,
            &self.body,
            Vec::new(),
            self.hints(),
            self.timeout_ms,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zbus::zvariant::{DynamicType, Signature};

    #[test]
    fn tag_capabilities() {
        let caps = |c: &[&str]| c.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // mako 1.7.1's answer.
        assert!(stacks_by_tag(&caps(&[
            "body",
            "body-markup",
            "actions",
            "icon-static",
            "x-canonical-private-synchronous",
            "x-dunst-stack-tag"
        ])));
        assert!(!stacks_by_tag(&caps(&["body", "actions", "persistence"])));
    }

    #[test]
    fn icons_by_state() {
        assert_eq!(icon(0.0, false), "audio-volume-muted");
        assert_eq!(icon(80.0, true), "audio-volume-muted");
        assert_eq!(icon(20.0, false), "audio-volume-low");
        assert_eq!(icon(50.0, false), "audio-volume-medium");
        assert_eq!(icon(67.0, false), "audio-volume-high");
        assert_eq!(icon(150.0, false), "audio-volume-high");
    }

    #[test]
    fn label_percent_and_bar() {
        let n = Notification::new(&Shown::sample(45.4, false), 7, 1500);
        assert_eq!((n.summary.as_str(), n.body.as_str()), ("Discord", "45%"));
        assert_eq!((n.value, n.replaces_id, n.timeout_ms), (45, 7, 1500));
        assert_eq!(n.tag, "audio-daemon-vesktop");
        let loud = Notification::new(&Shown::sample(140.0, false), 0, 1500);
        assert_eq!((loud.value, loud.body.as_str()), (100, "140%"));
        let muted = Notification::new(&Shown::sample(45.0, true), 0, 1500);
        assert_eq!((muted.value, muted.body.as_str()), (0, "muted (45%)"));
    }

    #[test]
    fn hints_have_the_types_servers_read() {
        let n = Notification::new(&Shown::sample(45.0, false), 0, 1500);
        let h = n.hints();
        assert_eq!(h["value"], Value::I32(45));
        for key in [
            "synchronous",
            "x-canonical-private-synchronous",
            "x-dunst-stack-tag",
        ] {
            assert_eq!(h[key], Value::from("audio-daemon-vesktop"), "{key}");
        }
        assert_eq!(h.len(), 4);
        // The whole call has Notify's signature.
        let sig = n.args().signature();
        assert_eq!(sig, Signature::try_from("(susssasa{sv}i)").unwrap());
    }
}
