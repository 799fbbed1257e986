# home-manager module for audio-daemon: the user service, its JSON config,
# Hyprland volume keys (hyprlang or Lua) and waybar modules.
#
# Usable on its own (`imports = [ ./home-manager ]`) or through the flake's
# `homeManagerModules.audio-daemon`. The package defaults to `pkgs.audio-daemon`
# when the flake's overlay is applied, and otherwise to this source tree built
# with the user's nixpkgs.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.services.audio-daemon;

  jsonFormat = pkgs.formats.json { };
  configFile = jsonFormat.generate "audio-daemon-config.json" cfg.settings;

  # Names the daemon resolves without any configuration. Keep in sync with the
  # daemon's built-in rules (src/) and its `@sink` / `@source` targets.
  builtinApps = [
    "vesktop"
    "youtube"
    "twitch"
    "music"
  ];
  specialTargets = [
    "@sink"
    "@source"
  ];
  builtinsEnabled = cfg.settings.builtin_apps or true;
  configuredApps = lib.attrNames (cfg.settings.apps or { });
  knownApps = specialTargets ++ lib.optionals builtinsEnabled builtinApps ++ configuredApps;

  audioctl = lib.getExe' cfg.package "audioctl";

  # The command a key or a waybar click runs. App names are shell-quoted:
  # Hyprland and waybar hand these strings to `sh -c`.
  ctlCommand =
    action: app: amount:
    lib.concatStringsSep " " (
      [
        audioctl
        action
        (lib.escapeShellArg app)
      ]
      ++ lib.optional (amount != null) (toString amount)
    );

  bindCommand = bind: ctlCommand bind.action bind.app bind.amount;
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

  # `@sink` would make a CSS id `#custom-audio-@sink`; spell targets out.
  waybarModuleName =
    app:
    "custom/audio-"
    + (if lib.hasPrefix "@" app then "default-${lib.removePrefix "@" app}" else app);

  waybarModule = app: {
    exec = "${audioctl} waybar ${lib.escapeShellArg app} --follow";
    return-type = "json";
    format = lib.mkDefault "${app} {}";
    on-click = ctlCommand "mute" app null;
    on-scroll-up = ctlCommand "up" app null;
    on-scroll-down = ctlCommand "down" app null;
  };

  describeBind = bind: "${lib.concatStringsSep " + " (bind.mods ++ [ bind.key ])} -> ${bind.app}";

  unknownAppMessage = option: what: app: ''
    services.audio-daemon.${option}: ${what} names the app "${app}", which the daemon does not know.
    Known apps: ${lib.concatStringsSep ", " knownApps}.
    Define it in services.audio-daemon.settings.apps."${app}".match${
      lib.optionalString (!builtinsEnabled && lib.elem app builtinApps) ''
        ,
        or remove settings.builtin_apps = false: "${app}" is a built-in app, but built-in apps are disabled''
    }.'';

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
  options.services.audio-daemon = {
    enable = lib.mkEnableOption "audio-daemon, per-application volume control for PipeWire";

    package = lib.mkOption {
      type = lib.types.package;
      default = pkgs.audio-daemon or (pkgs.callPackage ../nix/package.nix { });
      defaultText = lib.literalExpression ''
        audio-daemon.packages.''${pkgs.stdenv.hostPlatform.system}.default
      '';
      description = ''
        The audio-daemon package. It provides the daemon and the
        {command}`audioctl` client that key binds and waybar run.
      '';
    };

    settings = lib.mkOption {
      inherit (jsonFormat) type;
      default = { };
      example = lib.literalExpression ''
        {
          step = 5;
          max_volume = 100;
          waybar_signal = 8;
          apps = {
            vesktop.max_volume = 150;
            spotify = {
              match = [ { "application.name" = "spotify*"; } ];
              label = "Spotify";
            };
          };
        }
      '';
      description = ''
        Configuration written to {file}`$XDG_CONFIG_HOME/audio-daemon/config.json`.
        Every key is optional; see the project README for the reference.
        Nothing is written when this is empty: the daemon's defaults apply.
      '';
    };

    systemd.target = lib.mkOption {
      type = lib.types.str;
      default = "graphical-session.target";
      example = "default.target";
      description = ''
        The systemd user target that starts the daemon and stops it with the
        session. Use `default.target` for a session without a graphical target.
      '';
    };

    hyprland = {
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
          they become `bindel` (up / down: repeating, also when locked) and
          `bindl` (mute) entries; for `"lua"`, `hl.bind` calls with
          `repeating` and `locked` set the same way.
        '';
      };
    };

    waybar = {
      enable = lib.mkEnableOption "waybar modules showing app volumes";

      apps = lib.mkOption {
        type = lib.types.listOf lib.types.str;
        default = [ "vesktop" ];
        example = [
          "@sink"
          "vesktop"
          "music"
        ];
        description = ''
          Apps that get a module `custom/audio-<app>` (`@sink` becomes
          `custom/audio-default-sink`). Each module follows the app's volume
          through {command}`audioctl waybar <app> --follow`; click toggles
          mute, scrolling steps the volume.
        '';
      };

      bar = lib.mkOption {
        type = lib.types.str;
        default = "mainBar";
        example = "topBar";
        description = ''
          The bar, a name in {option}`programs.waybar.settings` (which must
          then be an attribute set of bars, not a list).
        '';
      };

      position = lib.mkOption {
        type = lib.types.enum [
          "left"
          "center"
          "right"
        ];
        default = "right";
        description = "Where the modules are appended: the bar's `modules-<position>` list.";
      };
    };
  };

  config = lib.mkIf cfg.enable (
    lib.mkMerge [
      {
        assertions = [
          (lib.hm.assertions.assertPlatform "services.audio-daemon" pkgs lib.platforms.linux)
        ]
        ++ lib.optionals cfg.hyprland.enable (
          map (bind: {
            assertion = lib.elem bind.app knownApps;
            message = unknownAppMessage "hyprland.binds" "the bind ${describeBind bind}" bind.app;
          }) cfg.hyprland.binds
          ++ map (bind: {
            assertion = bind.action != "mute" || bind.amount == null;
            message =
              "services.audio-daemon.hyprland.binds: the bind ${describeBind bind} mutes, "
              + "so it takes no amount (got ${toString bind.amount}).";
          }) cfg.hyprland.binds
        )
        ++ lib.optionals cfg.waybar.enable (
          map (app: {
            assertion = lib.elem app knownApps;
            message = unknownAppMessage "waybar.apps" "an entry" app;
          }) cfg.waybar.apps
        );

        home.packages = [ cfg.package ];

        xdg.configFile."audio-daemon/config.json" = lib.mkIf (cfg.settings != { }) {
          source = configFile;
        };

        systemd.user.services.audio-daemon = {
          Unit = {
            Description = "Per-application volume control for PipeWire";
            # Requires (not BindsTo): an explicit stop or restart of PipeWire
            # stops or restarts the daemon too, while a PipeWire crash leaves it
            # running to reconnect. Not Requisite: pipewire.service is socket
            # activated and often not yet active when the session starts.
            Requires = [ "pipewire.service" ];
            Wants = [ "wireplumber.service" ];
            After = [
              "pipewire.service"
              "wireplumber.service"
            ];
            PartOf = [ cfg.systemd.target ];
            X-Restart-Triggers = lib.mkIf (cfg.settings != { }) [ "${configFile}" ];
          };

          Install.WantedBy = [ cfg.systemd.target ];

          Service = {
            ExecStart = lib.getExe cfg.package;
            ExecReload = "${lib.getExe' pkgs.coreutils "kill"} -HUP $MAINPID";
            Restart = "on-failure";
            RestartSec = "5s";
            UMask = "0077";

            # Sandboxing. The daemon needs: its config (read), the PipeWire
            # socket and its own socket in $XDG_RUNTIME_DIR (%t, writable),
            # and signalling the user's waybar processes (so no private PID
            # namespace and /proc stays visible).
            NoNewPrivileges = true;
            LockPersonality = true;
            MemoryDenyWriteExecute = true;
            ProtectSystem = "strict";
            ProtectHome = "read-only";
            ReadWritePaths = [ "%t" ];
            PrivateTmp = true;
            ProtectKernelTunables = true;
            ProtectKernelModules = true;
            ProtectControlGroups = true;
            RestrictAddressFamilies = [ "AF_UNIX" ];
            RestrictNamespaces = true;
            RestrictSUIDSGID = true;
            SystemCallArchitectures = "native";
            SystemCallFilter = [ "@system-service" ];
          };
        };
      }

      (lib.mkIf cfg.hyprland.enable (
        lib.mkMerge [
          (lib.mkIf (config.wayland.windowManager.hyprland.configType == "hyprlang") {
            wayland.windowManager.hyprland.settings = {
              bindel = map hyprlangBind stepBinds;
              bindl = map hyprlangBind muteBinds;
            };
          })
          (lib.mkIf (config.wayland.windowManager.hyprland.configType == "lua") {
            wayland.windowManager.hyprland.settings.bind = map luaBind cfg.hyprland.binds;
          })
        ]
      ))

      (lib.mkIf cfg.waybar.enable {
        programs.waybar.settings.${cfg.waybar.bar} = lib.mkMerge (
          [
            {
              "modules-${cfg.waybar.position}" = lib.mkAfter (map waybarModuleName cfg.waybar.apps);
            }
          ]
          ++ map (app: { ${waybarModuleName app} = waybarModule app; }) cfg.waybar.apps
        );
      })
    ]
  );
}
