# Evaluates the home-manager module (home-manager/) inside the real
# home-manager module set, with `check = true`, and asserts on what it
# generates: Hyprland binds for both config types and for a home-manager
# without `configType`, waybar modules, the systemd unit, the config file and
# the assertions. Evaluation only; nothing is built.
#
# Two callers, one set of assertions:
# - nix/check-hm-eval.sh, offline, with nixpkgs' lib and a stand-in `pkgs`;
# - the flake's `checks.<system>.hm-eval`, with the real `pkgs`.
# Returns the generated values (for printing); a failed expectation throws.
{
  lib,
  hmSrc,
  pkgs,
}:
let
  home = import ./hm-home.nix { inherit lib hmSrc pkgs; };
  inherit (home) evalHome failedAssertions;

  # The README's example, with a label the renderers must escape.
  baseConfig = lib.recursiveUpdate (import ./examples/home.nix) {
    services.audio-daemon.settings.apps.spotify.label = "Spotify <3";
  };

  hyprlang = evalHome [
    baseConfig
    { wayland.windowManager.hyprland.configType = "hyprlang"; }
  ];
  lua = evalHome [
    baseConfig
    { wayland.windowManager.hyprland.configType = "lua"; }
  ];
  # The defaults, and no settings at all.
  minimal = evalHome [
    {
      services.audio-daemon.enable = true;
      services.audio-daemon.package = hyprlang.services.audio-daemon.package;
    }
  ];
  # A home-manager before 26.05: its Hyprland module has no `configType` and
  # writes hyprlang. Stand-in: home-manager's module replaced by one that
  # accepts any Hyprland option but declares no `configType`.
  legacyHyprland = evalHome [
    baseConfig
    {
      disabledModules = [ "services/window-managers/hyprland" ];
      options.wayland.windowManager.hyprland = lib.mkOption {
        type = lib.types.submodule {
          freeformType = with lib.types; lazyAttrsOf anything;
          options.settings = lib.mkOption {
            type = with lib.types; attrsOf anything;
            default = { };
          };
        };
        default = { };
        description = "Stand-in for the Hyprland module of home-manager < 26.05.";
      };
    }
  ];
  otherTarget = evalHome [
    baseConfig
    { wayland.systemd.target = "sway-session.target"; }
  ];
  # Apps whose key ids collide (`my_app`, `my-app` -> `my-app-up`).
  collidingApps = mode: evalHome [
    baseConfig
    {
      services.audio-daemon.settings.apps = {
        my_app.match = [ { "application.name" = "one"; } ];
        my-app.match = [ { "application.name" = "two"; } ];
      };
      services.audio-daemon.hyprland = {
        inherit mode;
        binds = [
          {
            key = "F1";
            app = "my_app";
            action = "up";
          }
          {
            key = "F2";
            app = "my-app";
            action = "up";
          }
        ];
      };
    }
  ];
  customConfigHome = evalHome [
    baseConfig
    { xdg.configHome = "/home/alice/etc"; }
  ];
  noService = evalHome [
    baseConfig
    { services.audio-daemon.systemd.enable = false; }
  ];
  unknownApp = evalHome [
    baseConfig
    {
      services.audio-daemon.hyprland.binds = [
        {
          mods = [ "SUPER" ];
          key = "F9";
          app = "firefox";
          action = "up";
        }
      ];
      services.audio-daemon.waybar.apps = [ "spotify" ];
    }
  ];
  noBuiltins = evalHome [
    baseConfig
    { services.audio-daemon.settings.builtin_apps = false; }
  ];
  muteAmount = evalHome [
    baseConfig
    {
      services.audio-daemon.hyprland.binds = [
        {
          key = "XF86AudioMute";
          app = "@sink";
          action = "mute";
          amount = 5;
        }
      ];
    }
  ];
  # No mkForce: the user's list and this module's attribute set are both
  # defined, as they would be in a real home.
  waybarList = evalHome [
    (removeAttrs baseConfig [ "programs" ])
    {
      programs.waybar = {
        enable = true;
        settings = [ { modules-right = [ "clock" ]; } ];
      };
    }
  ];
  # programs.waybar.settings never set: home-manager's default, an empty list.
  waybarUnset = evalHome [ (removeAttrs baseConfig [ "programs" ]) ];
  waybarNoBar = evalHome [
    baseConfig
    { services.audio-daemon.waybar.bar = "topBar"; }
  ];
  withOsd = evalHome [
    baseConfig
    { services.audio-daemon.osd = "notify"; }
  ];
  misspelt = evalHome [
    baseConfig
    { services.audio-daemon.hyprland.bind = [ ]; }
  ];

  audioctl = "${lib.getBin hyprlang.services.audio-daemon.package}/bin/audioctl";

  hyprSettings = hyprlang.wayland.windowManager.hyprland.settings;
  hyprlangText = hyprlang.xdg.configFile."hypr/hyprland.conf".text;
  luaText = lua.xdg.configFile."hypr/hyprland.lua".text;
  bar = hyprlang.programs.waybar.settings.mainBar;
  unit = hyprlang.systemd.user.services.audio-daemon;
  unitText = home.unitText hyprlang "audio-daemon";

  hasInfix = lib.hasInfix;
  anyMessage = pred: config: lib.any pred (failedAssertions config);

  expect =
    what: cond:
    if cond then true else throw "audio-daemon home-manager check failed: ${what}";

  expectEq =
    what: expected: actual:
    expect (lib.concatStringsSep "\n" [
      what
      "  expected: ${builtins.toJSON expected}"
      "  actual:   ${builtins.toJSON actual}"
    ]) (expected == actual);

  binds = import ./eval-hm-binds.nix {
    inherit
      lib
      evalHome
      failedAssertions
      baseConfig
      audioctl
      expect
      expectEq
      ;
  };

  checks = binds.checks ++ [
    (expectEq "no failed assertions for a valid config" [ ] (
      failedAssertions hyprlang
      ++ failedAssertions lua
      ++ failedAssertions minimal
      ++ failedAssertions legacyHyprland
    ))
    (expect "a misspelt option fails evaluation (check = true)" (
      !(builtins.tryEval (builtins.deepSeq misspelt.services.audio-daemon.enable true)).success
    ))

    # hyprlang
    (expectEq "hyprlang bindel (up/down: repeating, locked)" [
      ", XF86AudioRaiseVolume, exec, ${audioctl} up @sink"
      ", XF86AudioLowerVolume, exec, ${audioctl} down @sink"
      "SUPER, XF86AudioRaiseVolume, exec, ${audioctl} up vesktop"
      "SUPER, XF86AudioLowerVolume, exec, ${audioctl} down vesktop"
      "SUPER SHIFT, XF86AudioRaiseVolume, exec, ${audioctl} up music"
      "SUPER SHIFT, XF86AudioLowerVolume, exec, ${audioctl} down music"
    ] hyprSettings.bindel)
    (expectEq "hyprlang bindl (mute, locked)" [
      ", XF86AudioMute, exec, ${audioctl} mute @sink"
      "SUPER, XF86AudioMute, exec, ${audioctl} mute vesktop"
      "SUPER SHIFT, XF86AudioMute, exec, ${audioctl} mute music"
    ] hyprSettings.bindl)
    (expect "hyprlang settings have no Lua binds" (!(hyprSettings ? bind)))
    (expect "hyprland.conf has the bindel line" (
      hasInfix "bindel=SUPER, XF86AudioRaiseVolume, exec, ${audioctl} up vesktop\n" hyprlangText
    ))
    (expect "hyprland.conf has the bindl line" (
      hasInfix "bindl=, XF86AudioMute, exec, ${audioctl} mute @sink\n" hyprlangText
    ))
    (expectEq "home-manager without configType: hyprlang binds" hyprSettings.bindel
      legacyHyprland.wayland.windowManager.hyprland.settings.bindel
    )

    # Lua
    (expect "Lua settings have no hyprlang binds" (
      !(lua.wayland.windowManager.hyprland.settings ? bindel)
    ))
    (expect "hyprland.lua binds SUPER + volume up, repeating and locked" (
      hasInfix ''
        hl.bind("SUPER + XF86AudioRaiseVolume", (hl.dsp.exec_cmd("${audioctl} up vesktop")), {
          ["locked"] = true,
          ["repeating"] = true
        })
      '' luaText
    ))
    (expect "hyprland.lua binds SUPER + SHIFT + volume down" (
      hasInfix (
        ''hl.bind("SUPER + SHIFT + XF86AudioLowerVolume", ''
        + ''(hl.dsp.exec_cmd("${audioctl} down music")), {''
      ) luaText
    ))
    (expect "hyprland.lua binds mute locked, not repeating" (
      hasInfix ''
        hl.bind("XF86AudioMute", (hl.dsp.exec_cmd("${audioctl} mute @sink")), {
          ["locked"] = true
        })
      '' luaText
    ))

    # waybar
    (expectEq "waybar modules-right keeps the user's modules first" [
      "clock"
      "custom/audio-default-sink"
      "custom/audio-vesktop"
      "custom/audio-spotify"
    ] bar.modules-right)
    (expectEq "waybar custom/audio-vesktop" {
      exec = "${audioctl} waybar vesktop --follow";
      return-type = "json";
      format = "{icon} Discord {text}";
      format-icons = hyprlang.services.audio-daemon.waybar.icons;
      on-click = "${audioctl} mute vesktop";
      on-scroll-up = "${audioctl} up vesktop";
      on-scroll-down = "${audioctl} down vesktop";
    } bar."custom/audio-vesktop")
    (expect "waybar icons by state (alt), and a default by volume" (
      lib.all (state: bar."custom/audio-vesktop".format-icons ? ${state}) [
        "muted"
        "unmuted"
        "inactive"
        "default"
      ]
    ))
    (expectEq "waybar label of @sink" "{icon} Speakers {text}"
      bar."custom/audio-default-sink".format
    )
    (expectEq "waybar label from settings, escaped for Pango markup" "{icon} Spotify &lt;3 {text}"
      bar."custom/audio-spotify".format
    )
    (expectEq "waybar custom/audio-default-sink runs for @sink" "${audioctl} waybar @sink --follow"
      bar."custom/audio-default-sink".exec
    )
    (expect "a list of waybar bars gets an assertion, not a merge error" (
      anyMessage (hasInfix "programs.waybar.settings is a list of bars") waybarList
    ))
    (expect "waybar settings never set: an assertion saying so, not \"a list of bars\"" (
      anyMessage (hasInfix "programs.waybar.settings is not set") waybarUnset
      && !anyMessage (hasInfix "is a list of bars") waybarUnset
    ))
    (expect "a waybar bar that is not defined gets an assertion naming the bars" (
      anyMessage (
        m: hasInfix ''waybar.bar is "topBar"'' m && hasInfix "(its bars: mainBar)" m
      ) waybarNoBar
    ))

    (expect "ipc mode: two apps whose key ids collide get an assertion naming both" (
      anyMessage (
        m: hasInfix "the same key id my-app-up" m && hasInfix "F1 -> my_app" m && hasInfix "F2 -> my-app" m
      ) (collidingApps "ipc")
    ))
    (expect "exec mode uses no key ids: the same apps are fine" (
      !anyMessage (hasInfix "the same key id") (collidingApps "exec")
    ))

    # systemd unit
    (expectEq "ExecStart runs the daemon with the generated config's path in the home" [
      "${lib.getBin hyprlang.services.audio-daemon.package}/bin/audio-daemon --config /home/alice/.config/audio-daemon/config.json"
    ] unit.Service.ExecStart)
    (expectEq "ExecStart follows a non-default xdg.configHome" [
      "${lib.getBin hyprlang.services.audio-daemon.package}/bin/audio-daemon --config /home/alice/etc/audio-daemon/config.json"
    ] customConfigHome.systemd.user.services.audio-daemon.Service.ExecStart)
    (expectEq "ExecStart without settings: no file, no --config" [
      "${lib.getBin minimal.services.audio-daemon.package}/bin/audio-daemon"
    ] minimal.systemd.user.services.audio-daemon.Service.ExecStart)
    (expect "ExecReload sends SIGHUP" (lib.hasSuffix "kill -HUP $MAINPID" unit.Service.ExecReload))
    (expectEq "ordered after and requiring pipewire" true (
      lib.elem "pipewire.service" unit.Unit.After && lib.elem "pipewire.service" unit.Unit.Requires
    ))
    (expectEq "target defaults to wayland.systemd.target: PartOf, After, WantedBy"
      [
        [ "graphical-session.target" ]
        true
        [ "graphical-session.target" ]
      ]
      [
        unit.Unit.PartOf
        (lib.elem "graphical-session.target" unit.Unit.After)
        unit.Install.WantedBy
      ]
    )
    (expectEq "target follows wayland.systemd.target"
      [
        [ "sway-session.target" ]
        [ "sway-session.target" ]
      ]
      [
        otherTarget.systemd.user.services.audio-daemon.Unit.PartOf
        otherTarget.systemd.user.services.audio-daemon.Install.WantedBy
      ]
    )
    (expect "systemd.enable = false: no service, the config file stays" (
      !(noService.systemd.user.services ? audio-daemon)
      && noService.xdg.configFile ? "audio-daemon/config.json"
    ))
    (expectEq "restart policy"
      [
        "on-failure"
        "5s"
      ]
      [
        unit.Service.Restart
        unit.Service.RestartSec
      ]
    )
    (expectEq "the runtime dir stays writable" [ "%t" ] unit.Service.ReadWritePaths)
    (expectEq "the unit creates the state directory (remembered volumes)" "audio-daemon"
      unit.Service.StateDirectory
    )
    (expect "unit text has StateDirectory" (hasInfix "\nStateDirectory=audio-daemon\n" unitText))
    (expect "no private PID namespace or hidden /proc (waybar must be signalled)" (
      !(unit.Service ? PrivatePIDs) && !(unit.Service ? ProtectProc)
    ))
    (expect "starts without user namespaces: no explicit PrivateUsers, no capability drops" (
      lib.all (key: !(unit.Service ? ${key})) [
        "PrivateUsers"
        "ProtectKernelModules"
        "ProtectClock"
        "PrivateDevices"
        "CapabilityBoundingSet"
      ]
    ))
    (expect "a config change reloads, never restarts" (
      lib.length unit.Unit.X-Reload-Triggers == 1 && unit.Unit.X-Restart-Triggers == [ ]
    ))
    (expect "unit text has the reload trigger" (
      hasInfix "\nX-Reload-Triggers=/nix/store/" unitText
    ))

    # config file
    (expect "config.json written for non-empty settings" (
      hyprlang.xdg.configFile ? "audio-daemon/config.json"
    ))
    (expectEq "osd goes into the config, next to the other settings"
      {
        osd = "notify";
        step = 5;
      }
      {
        inherit (withOsd.services.audio-daemon.settings) osd step;
      }
    )
    (expect "no osd key unless osd is set" (!(hyprlang.services.audio-daemon.settings ? osd)))
    (expect "no config.json for empty settings" (
      !(minimal.xdg.configFile ? "audio-daemon/config.json")
    ))
    (expectEq "no reload trigger for empty settings" [ ]
      minimal.systemd.user.services.audio-daemon.Unit.X-Reload-Triggers
    )
    (expect "no Hyprland or waybar settings unless enabled" (
      minimal.wayland.windowManager.hyprland.settings == { }
      && minimal.programs.waybar.settings == [ ]
    ))

    # assertions
    (expect "a bind naming an unknown app fails with a clear message" (
      anyMessage (
        hasInfix ''hyprland.binds: the bind SUPER + F9 -> firefox names the app "firefox"''
      ) unknownApp
    ))
    (expect "a waybar app defined in settings.apps passes" (
      !(anyMessage (hasInfix "waybar.apps") unknownApp)
    ))
    (expect "builtin_apps = false rejects binds to built-in apps, saying why" (
      anyMessage (m: hasInfix "built-in apps are disabled" m && hasInfix ''"vesktop"'' m) noBuiltins
    ))
    (expect "builtin_apps = false keeps @sink" (!(anyMessage (hasInfix ''"@sink"'') noBuiltins)))
    (expect "mute with an amount is rejected" (anyMessage (hasInfix "takes no amount") muteAmount))
  ];
in
assert lib.all lib.id checks;
{
  hyprlang = {
    inherit (hyprSettings) bindel bindl;
  };
  # The `-- settings.bind` section of hyprland.lua (sections are separated
  # by blank lines).
  luaBinds = lib.findFirst (lib.hasPrefix "-- settings.bind\n") "" (lib.splitString "\n\n" luaText);
  waybar = lib.filterAttrs (
    name: _: lib.hasPrefix "custom/audio-" name || lib.hasPrefix "modules-" name
  ) bar;
  systemdUnit = unitText;
  assertionMessages = {
    unknownApp = failedAssertions unknownApp;
    noBuiltins = failedAssertions noBuiltins;
    waybarList = failedAssertions waybarList;
    waybarNoBar = failedAssertions waybarNoBar;
  };
  binds = binds.results;
  checksPassed = lib.length checks;
}
