# Hyprland key binds that run `audioctl`, for both of home-manager's Hyprland
# config languages (hyprlang and Lua).
{
  config,
  lib,
  options,
  ...
}:
let
  cfg = config.services.audio-daemon;
  shared = import ./lib.nix { inherit lib cfg; };

  # `configType` exists from home-manager 26.05 on; before that the Hyprland
  # module only writes hyprlang, so that is what the binds must be.
  hasConfigType = lib.hasAttrByPath [
    "wayland"
    "windowManager"
    "hyprland"
    "configType"
  ] options;
  configType =
    if hasConfigType then config.wayland.windowManager.hyprland.configType else "hyprlang";

  bindCommand = bind: shared.ctlCommand bind.action bind.app bind.amount;
  isStep = bind: bind.action != "mute";

  # hyprlang: `bindel = SUPER SHIFT, XF86AudioRaiseVolume, exec, CMD`.
  # `e` repeats while held, `l` also works on the lock screen.
  hyprlangBind =
    bind: "${lib.concatStringsSep " " bind.mods}, ${bind.key}, exec, ${bindCommand bind}";

  # Lua: `hl.bind("SUPER + SHIFT + KEY", hl.dsp.exec_cmd("CMD"),
  # { locked = true, repeating = true })`, rendered by home-manager's hyprland
  # module from an `_args` list.
  toLua = lib.generators.toLua { };
  luaBind = bind: {
    _args = [
      (lib.concatStringsSep " + " (bind.mods ++ [ bind.key ]))
      (lib.generators.mkLuaInline "hl.dsp.exec_cmd(${toLua (bindCommand bind)})")
      ({ locked = true; } // lib.optionalAttrs (isStep bind) { repeating = true; })
    ];
  };

  stepBinds = lib.filter isStep cfg.hyprland.binds;
  muteBinds = lib.filter (bind: !isStep bind) cfg.hyprland.binds;

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
        description = "Modifier keys held with {option}`key`; empty for none.";
      };
      key = lib.mkOption {
        type = lib.types.str;
        example = "XF86AudioRaiseVolume";
        description = "The key, as Hyprland names it (an XKB keysym).";
      };
      app = lib.mkOption {
        type = lib.types.str;
        example = "vesktop";
        description = ''
          The app whose volume the key changes: a built-in app, a name from
          {option}`services.audio-daemon.settings.apps`, or `@sink` / `@source`
          for WirePlumber's default sink / source.
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
          `up` and `down` step the volume and repeat while the key is held;
          `mute` toggles mute.
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
in
{
  options.services.audio-daemon.hyprland = {
    enable = lib.mkEnableOption "Hyprland key binds that run {command}`audioctl`";

    binds = lib.mkOption {
      type = lib.types.listOf bindSubmodule;
      default =
        mkVolumeBinds [ ] "@sink"
        ++ mkVolumeBinds [ "SUPER" ] "vesktop"
        ++ mkVolumeBinds [
          "SUPER"
          "SHIFT"
        ] "music";
      defaultText = lib.literalMD ''
        The volume keys (`XF86AudioRaiseVolume`, `XF86AudioLowerVolume`,
        `XF86AudioMute`) alone for `@sink`, with `SUPER` for `vesktop`, and
        with `SUPER SHIFT` for `music`.
      '';
      example = lib.literalExpression ''
        [
          { mods = [ "SUPER" ]; key = "XF86AudioRaiseVolume"; app = "vesktop"; action = "up"; amount = 2; }
          { mods = [ "SUPER" ]; key = "XF86AudioLowerVolume"; app = "vesktop"; action = "down"; amount = 2; }
          { mods = [ "SUPER" ]; key = "XF86AudioMute"; app = "vesktop"; action = "mute"; }
        ]
      '';
      description = ''
        Keys that change an app's volume. For
        {option}`wayland.windowManager.hyprland.configType` `"hyprlang"`
        (and with a home-manager older than 26.05, which has no
        `configType`) they become `bindel` (up / down: repeating, also when
        locked) and `bindl` (mute) entries; for `"lua"`, `hl.bind` calls
        with `repeating` and `locked` set the same way.
      '';
    };
  };

  config = lib.mkIf (cfg.enable && cfg.hyprland.enable) (
    lib.mkMerge [
      {
        assertions =
          map (bind: {
            assertion = lib.elem bind.app shared.knownApps;
            message =
              shared.unknownAppMessage "hyprland.binds" "the bind ${describeBind bind}" bind.app;
          }) cfg.hyprland.binds
          ++ map (bind: {
            assertion = bind.action != "mute" || bind.amount == null;
            message =
              "services.audio-daemon.hyprland.binds: the bind ${describeBind bind} mutes, "
              + "so it takes no amount (got ${toString bind.amount}).";
          }) cfg.hyprland.binds;
      }
      (lib.mkIf (configType == "hyprlang") {
        wayland.windowManager.hyprland.settings = {
          bindel = map hyprlangBind stepBinds;
          bindl = map hyprlangBind muteBinds;
        };
      })
      (lib.mkIf (configType == "lua") {
        wayland.windowManager.hyprland.settings.bind = map luaBind cfg.hyprland.binds;
      })
    ]
  );
}
