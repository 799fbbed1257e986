# Key binds shared by the Hyprland (hyprland.nix) and sway (sway.nix) parts: the
# bind type, the default binds, the checks, and what a bind becomes in each mode:
# - "exec": the compositor runs `audioctl ACTION APP [AMOUNT]` on every press;
# - "ipc": no process per press. sway sends `nop audio-daemon ACTION APP [AMOUNT]`
#   to the daemon over its IPC; Hyprland triggers a global shortcut
#   `audio-daemon:ID` that the daemon registered from its config's `keys` (which
#   this module writes, so ids always match).
{ lib, shared }:
rec {
  isStep = bind: bind.action != "mute";

  describeBind = bind: "${lib.concatStringsSep " + " (bind.mods ++ [ bind.key ])} -> ${bind.app}";

  bindSubmodule = lib.types.submodule {
    options = {
      mods = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        default = [ ];
        example = [
          "SUPER"
          "SHIFT"
        ];
        description = ''
          Modifier keys held with {option}`key`, as Hyprland names them
          (`SUPER`, `SHIFT`, `CTRL`, `ALT`; for sway they become `Mod4`,
          `Shift`, `Control`, `Mod1`); empty for none.
        '';
      };
      key = lib.mkOption {
        type = lib.types.str;
        example = "XF86AudioRaiseVolume";
        description = "The key (an XKB keysym).";
      };
      app = lib.mkOption {
        type = lib.types.str;
        example = "vesktop";
        description = ''
          The app whose volume the key changes: a built-in app, a name from
          {option}`services.audio-daemon.settings.apps`, `@sink` / `@source`
          for WirePlumber's default sink / source, or `@focused` for the app
          of the focused window.
        '';
      };
      action = lib.mkOption {
        type = lib.types.enum [
          "up"
          "down"
          "mute"
        ];
        example = "up";
        description = ''
          `up` and `down` step the volume (repeating, or ramping in Hyprland's
          `ipc` mode, while the key is held); `mute` toggles mute.
        '';
      };
      amount = lib.mkOption {
        type = lib.types.nullOr lib.types.ints.positive;
        default = null;
        example = 2;
        description = ''
          Step in percent points for `up` / `down`; `null` uses the daemon's
          configured step. Not used with `mute`.
        '';
      };
    };
  };

  mkVolumeBinds =
    mods: app:
    map
      (
        { key, action }:
        {
          inherit
            mods
            key
            app
            action
            ;
          amount = null;
        }
      )
      [
        {
          key = "XF86AudioRaiseVolume";
          action = "up";
        }
        {
          key = "XF86AudioLowerVolume";
          action = "down";
        }
        {
          key = "XF86AudioMute";
          action = "mute";
        }
      ];

  defaultBinds =
    mkVolumeBinds [ ] "@sink"
    ++ mkVolumeBinds [ "SUPER" ] "vesktop"
    ++ mkVolumeBinds [
      "SUPER"
      "SHIFT"
    ] "music";

  defaultBindsText = lib.literalMD ''
    The volume keys (`XF86AudioRaiseVolume`, `XF86AudioLowerVolume`,
    `XF86AudioMute`) alone for `@sink`, with `SUPER` for `vesktop`, and
    with `SUPER SHIFT` for `music`.
  '';

  # The `binds` option of a compositor part: the same type and defaults, its own
  # example and description.
  bindsOption =
    { example, description }:
    lib.mkOption {
      type = lib.types.listOf bindSubmodule;
      default = defaultBinds;
      defaultText = defaultBindsText;
      example = lib.literalExpression example;
      inherit description;
    };

  modeOption =
    compositor: how:
    lib.mkOption {
      type = lib.types.enum [
        "exec"
        "ipc"
      ];
      default = "exec";
      example = "ipc";
      description = ''
        How a key reaches the daemon. `exec`: ${compositor} starts
        {command}`audioctl` for every press (and key repeat). `ipc`: no
        process at all; ${how}
      '';
    };

  # The daemon's key id for a bind (config `keys`, Hyprland's `audio-daemon:ID`):
  # a-z, 0-9 and `-`, e.g. `vesktop-up`, `sink-mute`, `focused-down-2`.
  keyId =
    bind:
    let
      app = lib.toLower (
        lib.replaceStrings
          [
            "@"
            "_"
            "."
          ]
          [
            ""
            "-"
            "-"
          ]
          bind.app
      );
    in
    "${app}-${bind.action}" + lib.optionalString (bind.amount != null) "-${toString bind.amount}";

  # The `keys` section of the daemon's config for some binds.
  daemonKeys =
    binds:
    lib.listToAttrs (
      map (
        bind:
        lib.nameValuePair (keyId bind) (
          {
            inherit (bind) app action;
          }
          // lib.optionalAttrs (bind.amount != null) { inherit (bind) amount; }
        )
      ) binds
    );

  # What sway's `nop` carries (the words `audioctl` takes).
  nopCommand =
    bind:
    lib.concatStringsSep " " (
      [
        "nop audio-daemon"
        bind.action
        bind.app
      ]
      ++ lib.optional (bind.amount != null) (toString bind.amount)
    );

  # In ipc mode, two binds that do different things but get one key id (`my_app`
  # and `my-app`) would make one key change the wrong app: an assertion, naming both.
  collidingIds =
    option: binds:
    let
      what = bind: { inherit (bind) app action amount; };
      byId = lib.groupBy keyId binds;
      clashes = lib.filterAttrs (_: bs: lib.length (lib.unique (map what bs)) > 1) byId;
    in
    lib.mapAttrsToList (id: bs: {
      assertion = false;
      message =
        "services.audio-daemon.${option}: the binds "
        + lib.concatMapStringsSep " and " describeBind (lib.unique bs)
        + " get the same key id ${id} (in key ids `@` is dropped, `_` and `.` become `-`"
        + " and case is ignored), so one key would act for both: rename one of the apps.";
    }) clashes;

  # For a compositor config that home-manager's compositor module does not write
  # (a hand-written hyprland.conf or sway config): the binds go into a file under
  # ~/.config/audio-daemon/ that the config sources, and the user says so with this
  # option. Until then, a warning: without it, enabling the binds would change nothing
  # and say nothing.
  sourcedOption =
    { compositor, files }:
    lib.mkOption {
      type = lib.types.bool;
      default = false;
      example = true;
      description = ''
        Whether your own ${compositor} config (written without home-manager's
        ${compositor} module) reads the binds this module writes to
        ${files}. Only used when that module is off; setting it silences
        the warning that says the binds are not in use.
      '';
    };

  unsourcedWarning =
    { option, module, lines }:
    "services.audio-daemon.${option}.enable: ${module}.enable is off, so home-manager writes"
    + " no config for these binds to go in. They are in the file below; add to your config:\n"
    + lib.concatStringsSep "\n" (map (l: "  " + l) lines)
    + "\nthen set services.audio-daemon.${option}.sourced = true to silence this warning.";

  bindAssertions =
    option: binds:
    map (bind: {
      assertion = lib.elem bind.app shared.knownApps;
      message = shared.unknownAppMessage option "the bind ${describeBind bind}" bind.app;
    }) binds
    ++ map (bind: {
      assertion = bind.action != "mute" || bind.amount == null;
      message =
        "services.audio-daemon.${option}: the bind ${describeBind bind} mutes, "
        + "so it takes no amount (got ${toString bind.amount}).";
    }) binds;
}
