# The key binds' modes (services.audio-daemon.{hyprland,sway}.mode): `ipc` binds
# for Hyprland (global shortcuts + the daemon's `keys`) in hyprlang and Lua, and
# sway binds in both modes. Part of nix/eval-hm.nix (which passes its helpers in).
{
  lib,
  evalHome,
  failedAssertions,
  baseConfig,
  audioctl,
  expect,
  expectEq,
}:
let
  hasInfix = lib.hasInfix;

  ipcBinds = [
    {
      mods = [ "SUPER" ];
      key = "XF86AudioRaiseVolume";
      app = "vesktop";
      action = "up";
      amount = 2;
    }
    {
      key = "XF86AudioLowerVolume";
      app = "@focused";
      action = "down";
    }
    {
      mods = [
        "SUPER"
        "SHIFT"
      ];
      key = "XF86AudioMute";
      app = "@sink";
      action = "mute";
    }
  ];

  hyprIpc =
    configType:
    evalHome [
      baseConfig
      {
        wayland.windowManager.hyprland.configType = configType;
        services.audio-daemon.hyprland = {
          mode = "ipc";
          binds = ipcBinds;
        };
      }
    ];
  hyprlangIpc = hyprIpc "hyprlang";
  luaIpc = hyprIpc "lua";
  luaIpcText = luaIpc.xdg.configFile."hypr/hyprland.lua".text;

  sway =
    mode:
    evalHome [
      (removeAttrs baseConfig [ "wayland" ])
      {
        # A waybar user's sway: no swaybar (whose default also needs i3status).
        wayland.windowManager.sway = {
          enable = true;
          config.bars = [ ];
        };
        services.audio-daemon.hyprland.enable = lib.mkForce false;
        services.audio-daemon.sway = {
          enable = true;
          inherit mode;
        };
      }
    ];
  swayExec = sway "exec";
  # The user sets the whole keybindings attrset: sway's defaults and ours are gone.
  swayReplaced = evalHome [
    (removeAttrs baseConfig [ "wayland" ])
    {
      wayland.windowManager.sway = {
        enable = true;
        config.bars = [ ];
        config.keybindings."Mod4+Return" = "exec foot";
      };
      services.audio-daemon.hyprland.enable = lib.mkForce false;
      services.audio-daemon.sway.enable = true;
    }
  ];
  swayIpc = sway "ipc";
  # A sway config written in `extraConfig` alone (`config = null`, which home-manager
  # allows): the binds are appended to it as bindsym lines.
  swayNull = evalHome [
    (removeAttrs baseConfig [ "wayland" ])
    {
      wayland.windowManager.sway = {
        enable = true;
        config = null;
        extraConfig = "output * bg #000000 solid_color";
      };
      services.audio-daemon.hyprland.enable = lib.mkForce false;
      services.audio-daemon.sway = {
        enable = true;
        mode = "ipc";
      };
    }
  ];
  # No home-manager compositor module (hand-written hyprland.conf and sway config):
  # the binds as files to source, and a warning until the user says they are sourced.
  handWritten =
    extra:
    evalHome [
      (removeAttrs baseConfig [ "wayland" ])
      { services.audio-daemon.sway.enable = true; }
      extra
    ];
  noModules = handWritten { };
  noModulesSourced = handWritten {
    services.audio-daemon.hyprland.sourced = true;
    services.audio-daemon.sway.sourced = true;
  };
  ourWarnings = config: lib.filter (hasInfix "services.audio-daemon") config.warnings;
  configText = config: file: config.xdg.configFile.${file}.text;
  swayKeys = config: config.wayland.windowManager.sway.config.keybindings;
  # home-manager writes sway's config through a checked text file (`source`); the
  # stand-in `pkgs.writeTextFile` keeps its text, the real one is read from the store.
  swayConfigText =
    config:
    let
      f = config.xdg.configFile."sway/config";
    in
    if f.text != null then f.text else f.source.standInText or (builtins.readFile f.source);

  expectedKeys = {
    vesktop-up-2 = {
      app = "vesktop";
      action = "up";
      amount = 2;
    };
    focused-down = {
      app = "@focused";
      action = "down";
    };
    sink-mute = {
      app = "@sink";
      action = "mute";
    };
  };

  checks = [
    (expectEq "no failed assertions in ipc mode and for sway" [ ] (
      failedAssertions hyprlangIpc
      ++ failedAssertions luaIpc
      ++ failedAssertions swayExec
      ++ failedAssertions swayIpc
    ))
    (expectEq "hyprlang ipc: bindl global binds, no bindel" [
      "SUPER, XF86AudioRaiseVolume, global, audio-daemon:vesktop-up-2"
      ", XF86AudioLowerVolume, global, audio-daemon:focused-down"
      "SUPER SHIFT, XF86AudioMute, global, audio-daemon:sink-mute"
    ] hyprlangIpc.wayland.windowManager.hyprland.settings.bindl)
    (expect "hyprlang ipc: no repeating binds (the daemon ramps)" (
      !(hyprlangIpc.wayland.windowManager.hyprland.settings ? bindel)
    ))
    (expectEq "ipc: the daemon's keys register exactly the bound ids" expectedKeys
      hyprlangIpc.services.audio-daemon.settings.keys
    )
    (expect "ipc: the written config.json has the keys" (
      hyprlangIpc.xdg.configFile."audio-daemon/config.json".source.standInValue.keys or null
      == expectedKeys
    ))
    (expect "Lua ipc: hl.dsp.global, locked, not repeating" (
      hasInfix ''
        hl.bind("SUPER + XF86AudioRaiseVolume", (hl.dsp.global("audio-daemon:vesktop-up-2")), {
          ["locked"] = true
        })
      '' luaIpcText
    ))
    (expect "exec mode writes no keys" (!(baseConfig.services.audio-daemon.settings ? keys)))
    (expectEq "sway exec: --locked binds running audioctl" "exec ${audioctl} up vesktop"
      (swayKeys swayExec)."--locked Mod4+XF86AudioRaiseVolume"
    )
    (expectEq "sway exec: SUPER SHIFT is Mod4+Shift" "exec ${audioctl} mute music"
      (swayKeys swayExec)."--locked Mod4+Shift+XF86AudioMute"
    )
    (expectEq "sway ipc: an up/down key's press is a nop press of its key id"
      "nop audio-daemon press sink-down"
      (swayKeys swayIpc)."--locked XF86AudioLowerVolume"
    )
    (expectEq "sway ipc: and its release a --release bind" "nop audio-daemon release sink-down"
      (swayKeys swayIpc)."--release --locked XF86AudioLowerVolume"
    )
    (expectEq "sway ipc: mute is one nop command" "nop audio-daemon mute @sink"
      (swayKeys swayIpc)."--locked XF86AudioMute"
    )
    (expectEq "sway ipc: the daemon's config has the up/down keys (not mute)"
      {
        sink-down = {
          app = "@sink";
          action = "down";
        };
        has-mute = false;
      }
      {
        inherit (swayIpc.services.audio-daemon.settings.keys) sink-down;
        has-mute = swayIpc.services.audio-daemon.settings.keys ? sink-mute;
      }
    )
    (expect "sway: the default keybindings stay (ours merge at option-default priority)" (
      swayKeys swayIpc ? "${swayIpc.wayland.windowManager.sway.config.modifier}+Return"
    ))
    (expect "sway: keybindings set as a whole get an assertion naming the lost binds" (
      lib.any (
        m: hasInfix "is set\nas a whole" m && hasInfix "--locked XF86AudioMute" m
      ) (failedAssertions swayReplaced)
    ))
    (expectEq "no failed assertions for sway with config = null and without compositor modules" [ ] (
      failedAssertions swayNull ++ failedAssertions noModules
    ))
    (expect "sway config = null: the user's extraConfig, then the nop bindsym lines" (
      let
        text = swayConfigText swayNull;
      in
      hasInfix "output * bg #000000 solid_color\n" text
      && hasInfix "bindsym --locked Mod4+XF86AudioRaiseVolume nop audio-daemon press vesktop-up\n" text
      && hasInfix "bindsym --release --locked Mod4+XF86AudioRaiseVolume nop audio-daemon release vesktop-up\n" text
    ))
    (expect "no compositor module: hyprland-binds.conf holds the hyprlang binds" (
      hasInfix "bindel=SUPER, XF86AudioRaiseVolume, exec, ${audioctl} up vesktop\n" (
        configText noModules "audio-daemon/hyprland-binds.conf"
      )
    ))
    (expect "no compositor module: hyprland-binds.lua holds the Lua binds" (
      hasInfix ''hl.bind("SUPER + XF86AudioRaiseVolume", (hl.dsp.exec_cmd("${audioctl} up vesktop")), { ["locked"] = true, ["repeating"] = true })''
        (configText noModules "audio-daemon/hyprland-binds.lua")
    ))
    (expect "no compositor module: sway-binds.conf holds the bindsym lines" (
      hasInfix "bindsym --locked Mod4+XF86AudioRaiseVolume exec ${audioctl} up vesktop\n" (
        configText noModules "audio-daemon/sway-binds.conf"
      )
    ))
    (expect "no compositor module: home-manager writes no hyprland.conf or sway config" (
      !(noModules.xdg.configFile ? "hypr/hyprland.conf") && !(noModules.xdg.configFile ? "sway/config")
    ))
    (expect "no compositor module: a warning per compositor naming the line to add" (
      let
        w = ourWarnings noModules;
      in
      lib.length w == 2
      && lib.any (hasInfix "source = /home/alice/.config/audio-daemon/hyprland-binds.conf") w
      && lib.any (hasInfix ''dofile("/home/alice/.config/audio-daemon/hyprland-binds.lua")'') w
      && lib.any (hasInfix "include /home/alice/.config/audio-daemon/sway-binds.conf") w
    ))
    (expectEq "sourced = true silences the warnings" [ ] (ourWarnings noModulesSourced))
    (expectEq "with the compositor modules: no binds files, no warnings" [ [ ] [ ] ] [
      (lib.filter (lib.hasInfix "-binds.") (
        lib.attrNames swayIpc.xdg.configFile ++ lib.attrNames hyprlangIpc.xdg.configFile
      ))
      (ourWarnings swayIpc ++ ourWarnings hyprlangIpc)
    ])
    (expect "sway config has the nop press and release bindsym lines" (
      lib.all (line: hasInfix line (swayConfigText swayIpc)) [
        "bindsym --locked Mod4+XF86AudioRaiseVolume nop audio-daemon press vesktop-up\n"
        "bindsym --release --locked Mod4+XF86AudioRaiseVolume nop audio-daemon release vesktop-up\n"
      ]
    ))
  ];
in
{
  inherit checks;
  results = {
    hyprlangIpc = hyprlangIpc.wayland.windowManager.hyprland.settings.bindl;
    daemonKeys = hyprlangIpc.services.audio-daemon.settings.keys;
    swayExec = lib.filterAttrs (k: _: lib.hasPrefix "--locked" k) (swayKeys swayExec);
    swayIpc = lib.filterAttrs (
      k: _: lib.hasPrefix "--locked" k || lib.hasPrefix "--release" k
    ) (swayKeys swayIpc);
    swayIpcText = swayConfigText swayIpc;
  };
}
