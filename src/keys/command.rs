//! The key vocabulary: what a key bound in the compositor asks of the daemon, below
//! every compositor (as niri's `Action` sits below its input and IPC).
//!
//! sway binds `nop audio-daemon ACTION …` ([`parse`]); the words after `audio-daemon`
//! are `audioctl`'s: `up APP [AMOUNT]`, `down APP [AMOUNT]`, `set APP PERCENT`,
//! `mute APP [on|off|toggle]`, plus `press KEY` and `release KEY` for held keys (ids
//! from the config's `keys`), which is also what a Hyprland global shortcut's pressed
//! and released events become. A request is validated by the same code as a socket
//! request, so a binding can do nothing a client cannot.

use crate::protocol::{self, MuteState, Request, WireRequest};
use std::fmt;

/// Longest command read; a longer one is not ours (app names are at most 64 bytes).
pub const MAX_COMMAND: usize = 256;

/// What a binding asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum KeyCommand {
    Request(Request),
    /// A held key went down: one step, then a ramp (if the key ramps) until release.
    Press(String),
    Release(String),
}

/// Why a command addressed to the daemon cannot be run.
#[derive(Debug, Clone, PartialEq)]
pub enum CommandError {
    /// Longer than [`MAX_COMMAND`].
    TooLong,
    /// Not one of the forms the daemon knows.
    Usage(String),
    /// A number that is not one.
    NotANumber(String),
    /// A request the socket would refuse too, with the socket's error.
    Refused(protocol::Error),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::TooLong => write!(
                f,
                "a bound command over {MAX_COMMAND} bytes is not one of ours"
            ),
            CommandError::Usage(got) => write!(
                f,
                "expected `nop audio-daemon up|down APP [AMOUNT]`, `set APP PERCENT`, \
                 `mute APP [on|off|toggle]` or `press|release KEY`, got {got:?}"
            ),
            CommandError::NotANumber(s) => write!(f, "{s:?} is not a number"),
            CommandError::Refused(e) => write!(f, "{}", e.message),
        }
    }
}

impl std::error::Error for CommandError {}

/// Parses a sway binding's command. `None`: not addressed to the daemon. `Some(Err)`:
/// addressed to it, but wrong.
pub fn parse(command: &str) -> Option<Result<KeyCommand, CommandError>> {
    let mut words = command.split_whitespace();
    if words.next() != Some("nop") || words.next() != Some("audio-daemon") {
        return None;
    }
    if command.len() > MAX_COMMAND {
        return Some(Err(CommandError::TooLong));
    }
    let words: Vec<&str> = words.collect();
    Some(parse_words(&words))
}

fn parse_words(words: &[&str]) -> Result<KeyCommand, CommandError> {
    let number = |s: &str| {
        s.trim_end_matches('%')
            .parse::<f64>()
            .map_err(|_| CommandError::NotANumber(s.to_owned()))
    };
    let wire = |action: &str, app: &str, amount: Option<f64>, state: Option<MuteState>| {
        Request::try_from(WireRequest {
            action: action.to_owned(),
            app: Some(app.to_owned()),
            amount,
            state,
        })
        .map(KeyCommand::Request)
        .map_err(CommandError::Refused)
    };
    match words {
        [a @ ("up" | "down"), app] => wire(a, app, None, None),
        [a @ ("up" | "down" | "set"), app, n] => wire(a, app, Some(number(n)?), None),
        ["mute", app] => wire("mute", app, None, None),
        ["mute", app, s] => {
            let state = match *s {
                "on" => MuteState::On,
                "off" => MuteState::Off,
                "toggle" => MuteState::Toggle,
                _ => return Err(CommandError::Usage(format!("mute {app} {s}"))),
            };
            wire("mute", app, None, Some(state))
        }
        ["press", key] => Ok(KeyCommand::Press((*key).to_owned())),
        ["release", key] => Ok(KeyCommand::Release((*key).to_owned())),
        _ => Err(CommandError::Usage(words.join(" "))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(s: &str) -> Request {
        match parse(s) {
            Some(Ok(KeyCommand::Request(r))) => r,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn our_commands_become_requests() {
        assert_eq!(
            req("nop audio-daemon up vesktop"),
            Request::Up {
                app: "vesktop".into(),
                amount: None
            }
        );
        assert_eq!(
            req("nop  audio-daemon   down @focused 2"),
            Request::Down {
                app: "@focused".into(),
                amount: Some(2.0)
            }
        );
        assert_eq!(
            req("nop audio-daemon set @sink 40%"),
            Request::Set {
                app: "@sink".into(),
                volume: 40.0
            }
        );
        assert_eq!(
            req("nop audio-daemon mute music off"),
            Request::Mute {
                app: "music".into(),
                state: MuteState::Off
            }
        );
        assert_eq!(
            parse("nop audio-daemon press vesktop-up"),
            Some(Ok(KeyCommand::Press("vesktop-up".into())))
        );
    }

    #[test]
    fn other_commands_are_not_ours() {
        for s in [
            "",
            "nop",
            "nop something",
            "exec audioctl up x",
            "nopaudio-daemon up x",
        ] {
            assert_eq!(parse(s), None, "{s}");
        }
    }

    #[test]
    fn bad_commands_are_errors_with_the_socket_wording() {
        for (s, needle) in [
            ("nop audio-daemon up vesktop 0", "amount must be"),
            ("nop audio-daemon up vesktop NaN", "amount must be"),
            ("nop audio-daemon set vesktop", "expected"),
            ("nop audio-daemon up vesktop x", "not a number"),
            ("nop audio-daemon mute x loud", "mute x loud"),
            ("nop audio-daemon get vesktop", "expected"),
            ("nop audio-daemon", "expected"),
        ] {
            let e = parse(s).unwrap().unwrap_err().to_string();
            assert!(e.contains(needle), "{s}: {e}");
        }
        let long = format!("nop audio-daemon up {}", "a".repeat(MAX_COMMAND));
        assert_eq!(parse(&long).unwrap().unwrap_err(), CommandError::TooLong);
    }
}
