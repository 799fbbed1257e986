# Evaluates the home-manager module (home-manager/default.nix) inside the real
# home-manager module set and asserts on what it generates: Hyprland binds for
# both config types, waybar modules, the systemd unit, the config file and the
# assertions. Evaluation only; nothing is built.
#
# Two callers, one set of assertions:
# - nix/check-hm-eval.sh, offline, with nixpkgs' lib and a stand-in `pkgs`;
# - the flake's `checks.<system>.hm-eval`, with the real `pkgs`.
# Returns the generated values (for printing); a failed expectation throws.
{
  # nixpkgs' lib (not yet extended with home-manager's).
  lib,
  # A home-manager source tree.
  hmSrc,
  pkgs,
}:
let
  hmLib = import (hmSrc + "/modules/lib/stdlib-extended.nix") lib;

  hmModules = import (hmSrc + "/modules/modules.nix") {
    inherit pkgs;
    lib = hmLib;
    check = false;
    useNixpkgsModule = false;
  };

  # Fields the daemon's config and the test expectations share.
  user = {
    home = {
      username = "alice";
      homeDirectory = "/home/alice";
      stateVersion = "26.05";
    };
  };

  baseConfig = {
    services.audio-daemon = {
      enable = true;
      settings = {
        step = 5;
        apps.spotify.match = [ { "application.name" = "spotify*"; } ];
      };
      hyprland.enable = true;
      waybar = {
        enable = true;
        apps = [
          "@sink"
          "vesktop"
        ];
      };
    };
    wayland.windowManager.hyprland = {
      enable = true;
      package = null;
      portalPackage = null;
    };
    programs.waybar = {
      enable = true;
      settings.mainBar.modules-right = [ "clock" ];
    };
  };

  evalHome =
    modules:
    (hmLib.evalModules {
      modules = hmModules ++ [
        ../home-manager
        user
      ]
      ++ modules;
      class = "homeManager";
      specialArgs.modulesPath = hmSrc + "/modules";
    }).config;

  failedAssertions = config: map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);

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

  audioctl = "${lib.getBin hyprlang.services.audio-daemon.package}/bin/audioctl";

  hyprSettings = hyprlang.wayland.windowManager.hyprland.settings;
  hyprlangText = hyprlang.xdg.configFile."hypr/hyprland.conf".text;
  luaText = lua.xdg.configFile."hypr/hyprland.lua".text;
  bar = hyprlang.programs.waybar.settings.mainBar;
  unit = hyprlang.systemd.user.services.audio-daemon;

  # The unit as home-manager writes it (same INI rendering as modules/systemd.nix).
  unitText = lib.generators.toINI {
    listsAsDuplicateKeys = true;
    mkKeyValue =
      key: value:
      "${key}=${if lib.isBool value then lib.boolToString value else toString value}";
  } (lib.mapAttrs (_: lib.filterAttrs (_: v: v != null && v != [ ])) unit);

  hasInfix = lib.hasInfix;

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

  checks = [
    (expectEq "no failed assertions for a valid config" [ ] (
      failedAssertions hyprlang ++ failedAssertions lua ++ failedAssertions minimal
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
    ] bar.modules-right)
    (expectEq "waybar custom/audio-vesktop" {
      exec = "${audioctl} waybar vesktop --follow";
      return-type = "json";
      format = "vesktop {}";
      on-click = "${audioctl} mute vesktop";
      on-scroll-up = "${audioctl} up vesktop";
      on-scroll-down = "${audioctl} down vesktop";
    } bar."custom/audio-vesktop")
    (expectEq "waybar custom/audio-default-sink runs for @sink" "${audioctl} waybar @sink --follow"
      bar."custom/audio-default-sink".exec
    )

    # systemd unit
    (expectEq "ExecStart runs the daemon, no arguments" [
      "${lib.getBin hyprlang.services.audio-daemon.package}/bin/audio-daemon"
    ] unit.Service.ExecStart)
    (expect "ExecReload sends SIGHUP" (lib.hasSuffix "kill -HUP $MAINPID" unit.Service.ExecReload))
    (expectEq "ordered after and requiring pipewire" true (
      lib.elem "pipewire.service" unit.Unit.After && lib.elem "pipewire.service" unit.Unit.Requires
    ))
    (expectEq "PartOf / WantedBy the graphical session"
      [
        [ "graphical-session.target" ]
        [ "graphical-session.target" ]
      ]
      [
        unit.Unit.PartOf
        unit.Install.WantedBy
      ]
    )
    (expectEq "restart policy" [ "on-failure" "5s" ] [
      unit.Service.Restart
      unit.Service.RestartSec
    ])
    (expectEq "the runtime dir stays writable" [ "%t" ] unit.Service.ReadWritePaths)
    (expect "no private PID namespace or hidden /proc (waybar must be signalled)" (
      !(unit.Service ? PrivatePIDs)
      && !(unit.Service ? ProtectProc)
      && !(unit.Service ? PrivateUsers)
    ))
    (expectEq "restart trigger on the config file" 1 (lib.length unit.Unit.X-Restart-Triggers))
    (expect "unit text has ExecStart" (hasInfix "ExecStart=" unitText))

    # config file
    (expect "config.json written for non-empty settings" (
      hyprlang.xdg.configFile ? "audio-daemon/config.json"
    ))
    (expect "no config.json for empty settings" (
      !(minimal.xdg.configFile ? "audio-daemon/config.json")
    ))
    (expectEq "no restart trigger for empty settings" [ ]
      minimal.systemd.user.services.audio-daemon.Unit.X-Restart-Triggers
    )
    (expect "no Hyprland or waybar settings unless enabled" (
      minimal.wayland.windowManager.hyprland.settings == { }
      && minimal.programs.waybar.settings == [ ]
    ))

    # assertions
    (expect "a bind naming an unknown app fails with a clear message" (
      lib.any (
        m: hasInfix ''hyprland.binds: the bind SUPER + F9 -> firefox names the app "firefox"'' m
      ) (failedAssertions unknownApp)
    ))
    (expect "a waybar app defined in settings.apps passes" (
      !(lib.any (hasInfix "waybar.apps") (failedAssertions unknownApp))
    ))
    (expect "builtin_apps = false rejects binds to built-in apps, saying why" (
      lib.any (m: hasInfix "built-in apps are disabled" m && hasInfix ''"vesktop"'' m) (
        failedAssertions noBuiltins
      )
    ))
    (expect "builtin_apps = false keeps @sink" (
      !(lib.any (hasInfix ''"@sink"'') (failedAssertions noBuiltins))
    ))
    (expect "mute with an amount is rejected" (
      lib.any (hasInfix "takes no amount") (failedAssertions muteAmount)
    ))
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
  };
  checksPassed = lib.length checks;
}
