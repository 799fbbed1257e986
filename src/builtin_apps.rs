//! The built-in apps (`vesktop`, `youtube`, `twitch`, `music`), written as a user would
//! write them in the config file.
//!
//! Binary names differ by distribution: nixpkgs wraps most programs, so the process that
//! talks to PipeWire is `.spotify-wrapped`, `.Discord-wrapped`, `.strawberry-wrapped`;
//! Python programs are `python3.12` everywhere; nixpkgs' Vesktop is the shared `electron`
//! binary. PipeWire's `application.process.binary` is the running file's name, so rules
//! on it are globs (`*spotify*`), and every program that names itself is also matched by
//! `application.name`, which no wrapper changes.

use crate::config::{AppConfig, AppName};
use crate::matching::Rule;
use std::collections::BTreeMap;

/// Music players: matched by binary (`*x*` also catches nixpkgs' `.x-wrapped`) or by
/// the application name they give PipeWire (Python players such as Quod Libet and
/// Lollypop run as `python3.x`, so only their name identifies them).
const PLAYERS: &[&str] = &[
    "*spotify*",
    "*ncspot*",
    "*spotube*",
    "*rhythmbox*",
    "*lollypop*",
    "*strawberry*",
    "*clementine*",
    "*audacious*",
    "*amberol*",
    "*elisa*",
    "*quodlibet*",
    "*quod libet*",
    "*cmus*",
    "*tauon*",
    "*deadbeef*",
    "*mpd*",
    "*termusic*",
];

/// The built-in apps.
pub fn builtin_apps() -> BTreeMap<AppName, AppConfig> {
    let app = |rules: Vec<Rule>, label: &str| AppConfig {
        rules,
        max_volume: None,
        step: None,
        label: Some(label.to_owned()),
        remember: None,
        remember_other_mixers: None,
    };
    let name = |s: &str| AppName::try_from(s.to_owned()).expect("built-in names are valid");
    let mut apps = BTreeMap::new();
    // Discord's voice engine calls its client "WEBRTC VoiceEngine" and Vesktop's streams
    // are "Chromium" (Electron's app name does not reach its audio service), so the
    // binary is the key: `Discord` / nixpkgs' `.Discord-wrapped`, `vesktop` (Arch,
    // AppImage), Flatpak app ids. nixpkgs' Vesktop runs as the shared `electron` binary
    // and cannot be told from other Electron apps by its properties (README, Config).
    apps.insert(
        name("vesktop"),
        app(
            vec![
                Rule::of(&[("application.process.binary", "*vesktop*")]),
                Rule::of(&[("application.process.binary", "*discord*")]),
                Rule::of(&[("application.name", "vesktop")]),
                Rule::of(&[("application.name", "*discord*")]),
                Rule::of(&[("pipewire.access.portal.app_id", "*vesktop*")]),
                Rule::of(&[("pipewire.access.portal.app_id", "com.discordapp.*")]),
            ],
            "Discord",
        ),
    );
    // Firefox names its streams after the page title; Chromium-based browsers that do the
    // same are caught by the same rule.
    apps.insert(
        name("youtube"),
        app(vec![Rule::of(&[("media.name", "*youtube*")])], "YouTube"),
    );
    apps.insert(
        name("twitch"),
        app(vec![Rule::of(&[("media.name", "*twitch*")])], "Twitch"),
    );
    // Spotify's node is called `audio-src`; only its client says spotify, which the
    // lookup reaches because properties fall back to the client.
    let mut music = Vec::new();
    for p in PLAYERS {
        music.push(Rule::of(&[("application.process.binary", p)]));
        music.push(Rule::of(&[("application.name", p)]));
    }
    music.push(Rule::of(&[("application.name", "music player daemon")]));
    music.push(Rule::of(&[("application.id", "com.spotify.*")]));
    apps.insert(name("music"), app(music, "Music"));
    apps
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The built-in apps a playback stream falls into, looking its properties up on the
    /// node first and then on its client, as the daemon does.
    fn apps_of<'a>(node: &[(&str, &'a str)], client: &[(&str, &'a str)]) -> Vec<String> {
        fn find<'a>(props: &[(&str, &'a str)], k: &str) -> Option<&'a str> {
            props.iter().find(|(key, _)| *key == k).map(|(_, v)| *v)
        }
        let lookup = |k: &str| find(node, k).or_else(|| find(client, k));
        builtin_apps()
            .into_iter()
            .filter(|(_, a)| a.rules.iter().any(|r| r.matches(lookup)))
            .map(|(n, _)| String::from(n))
            .collect()
    }

    #[test]
    fn discord_and_vesktop_as_each_distribution_runs_them() {
        // nixpkgs' discord: the wrapped binary is `.Discord-wrapped` (capital D).
        let voice = [("media.name", "playStream")];
        let nix_discord = [
            ("application.name", "WEBRTC VoiceEngine"),
            ("application.process.binary", ".Discord-wrapped"),
        ];
        assert_eq!(apps_of(&voice, &nix_discord), ["vesktop"]);
        let debian_discord = [
            ("application.name", "WEBRTC VoiceEngine"),
            ("application.process.binary", "Discord"),
        ];
        assert_eq!(apps_of(&voice, &debian_discord), ["vesktop"]);
        let flatpak_vesktop = [
            ("application.name", "Chromium"),
            ("application.process.binary", "vesktop"),
            ("pipewire.access.portal.app_id", "dev.vencord.Vesktop"),
        ];
        assert_eq!(apps_of(&[], &flatpak_vesktop), ["vesktop"]);
        assert_eq!(
            apps_of(&[], &[("application.process.binary", ".vesktop-wrapped")]),
            ["vesktop"]
        );
        // nixpkgs' Vesktop runs the shared `electron` binary, as Element and Obsidian do;
        // Electron names all their streams "Chromium". A rule on `electron` would take
        // other apps' calls for Discord, so the built-in leaves them alone.
        let nix_electron = [
            ("application.name", "Chromium"),
            ("application.process.binary", "electron"),
        ];
        assert!(apps_of(&[("media.name", "Playback")], &nix_electron).is_empty());
    }

    #[test]
    fn music_players_wrapped_or_run_by_python() {
        // Spotify on nixpkgs: node `audio-src`, everything else on the client.
        let spotify_node = [("node.name", "audio-src"), ("media.name", "Spotify")];
        let nix_spotify = [
            ("application.name", "spotify"),
            ("application.process.binary", ".spotify-wrapped"),
        ];
        assert_eq!(apps_of(&spotify_node, &nix_spotify), ["music"]);
        // The binary alone is enough.
        let bare = [("application.process.binary", ".spotify-wrapped")];
        assert_eq!(apps_of(&spotify_node, &bare), ["music"]);
        for binary in [
            ".strawberry-wrapped",
            ".rhythmbox-wrapped",
            ".amberol-wrapped",
            ".elisa-wrapped",
            ".audacious-wrapped",
            "mpd",
            "ncspot",
        ] {
            let client = [("application.process.binary", binary)];
            assert_eq!(apps_of(&[], &client), ["music"], "{binary}");
        }
        for (name, binary) in [("Quod Libet", "python3.12"), ("Lollypop", "python3.12")] {
            let client = [
                ("application.name", name),
                ("application.process.binary", binary),
            ];
            assert_eq!(apps_of(&[], &client), ["music"], "{name}");
        }
        let mpd = [("application.name", "Music Player Daemon")];
        assert_eq!(apps_of(&[], &mpd), ["music"]);
    }

    #[test]
    fn browsers_by_page_title_whatever_their_binary() {
        let firefox = [
            ("application.name", "Firefox"),
            ("application.process.binary", ".firefox-wrapped"),
        ];
        let video = [("media.name", "Never Gonna Give You Up - YouTube")];
        assert_eq!(apps_of(&video, &firefox), ["youtube"]);
        let stream = [("media.name", "xQc - Twitch")];
        assert_eq!(apps_of(&stream, &firefox), ["twitch"]);
        assert!(apps_of(&[("media.name", "AudioStream")], &firefox).is_empty());
        // Other wrapped programs are nobody's.
        for binary in [".mpv-wrapped", ".pavucontrol-wrapped", "electron"] {
            let client = [("application.process.binary", binary)];
            assert!(apps_of(&[], &client).is_empty(), "{binary}");
        }
    }
}
