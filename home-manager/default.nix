# home-manager module for audio-daemon: the user service and its JSON config
# (this file), Hyprland volume keys in hyprlang or Lua (hyprland.nix), sway
# volume keys (sway.nix), both as exec or IPC binds (binds.nix), and waybar
# modules (waybar.nix).
#
# Usable on its own (`imports = [ ./home-manager ]`) or through the flake's
# `homeModules.audio-daemon` (also `homeManagerModules.audio-daemon`).
{
  config,
  lib,
  options,
  pkgs,
  ...
}:
let
  cfg = config.services.audio-daemon;

  jsonFormat = pkgs.formats.json { };
  configFile = jsonFormat.generate "audio-daemon-config.json" cfg.settings;

  # `wayland.systemd.target` is missing from old home-manager releases.
  hasWaylandTarget = lib.hasAttrByPath [
    "wayland"
    "systemd"
    "target"
  ] options;
in
{
  imports = [
    ./hyprland.nix
    ./sway.nix
    ./waybar.nix
  ];

  # home-manager checks maintainers against `lib.maintainers` (nixpkgs' list
  # plus `lib.hm.maintainers`); this project's maintainers are in neither
  # yet, so none can be named here without failing that check.
  meta.maintainers = [ ];

  options.services.audio-daemon = {
    enable = lib.mkEnableOption "audio-daemon, per-application volume control for PipeWire";

    package = lib.mkOption {
      type = lib.types.package;
      default = pkgs.audio-daemon or (pkgs.callPackage ../nix/package.nix { });
      defaultText = lib.literalMD ''
        `pkgs.audio-daemon` when the flake's `overlays.default` is applied,
        otherwise the flake's source built with your `pkgs`
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
        A change reloads the running daemon (SIGHUP) instead of restarting it.
      '';
    };

    osd = lib.mkOption {
      type = lib.types.nullOr (
        lib.types.enum [
          "notify"
          "swayosd"
        ]
      );
      default = null;
      example = "notify";
      description = ''
        On-screen feedback for volume changes the daemon makes: `"notify"`
        sends a freedesktop notification with a volume bar (mako, dunst,
        swaync), `"swayosd"` shows SwayOSD's progress bar. `null` shows
        nothing. Written as `osd` into {option}`settings`.
      '';
    };

    systemd = {
      enable = lib.mkOption {
        type = lib.types.bool;
        default = true;
        example = false;
        description = ''
          Whether to run the daemon as a systemd user service. Turn it off
          to start {command}`audio-daemon` some other way, e.g. from the
          compositor's autostart.
        '';
      };

      target = lib.mkOption {
        type = lib.types.str;
        default =
          if hasWaylandTarget then config.wayland.systemd.target else "graphical-session.target";
        defaultText = lib.literalExpression "config.wayland.systemd.target";
        example = "default.target";
        description = ''
          The systemd user target that starts the daemon (after it is
          reached) and stops it with the session. Use `default.target` for
          a session without a graphical target.
        '';
      };
    };
  };

  config = lib.mkIf cfg.enable {
    assertions = [
      (lib.hm.assertions.assertPlatform "services.audio-daemon" pkgs lib.platforms.linux)
    ];

    home.packages = [ cfg.package ];

    services.audio-daemon.settings = lib.mkIf (cfg.osd != null) { inherit (cfg) osd; };

    xdg.configFile."audio-daemon/config.json" = lib.mkIf (cfg.settings != { }) {
      source = configFile;
    };

    systemd.user.services.audio-daemon = lib.mkIf cfg.systemd.enable {
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
          cfg.systemd.target
        ];
        PartOf = [ cfg.systemd.target ];
        # Restart=on-failure below brings a crashed daemon back after 5 s; a
        # daemon that fails at every start (say, a config it cannot read)
        # gives up after 5 starts within a minute instead of restarting
        # forever (systemd's default burst, 5 in 10 s, is never reached
        # with a 5 s pause). `systemctl --user reset-failed` starts over.
        StartLimitIntervalSec = 60;
        StartLimitBurst = 5;
        # A new config reloads (ExecReload: SIGHUP) instead of restarting,
        # which would drop every `audioctl waybar --follow` for a moment.
        X-Reload-Triggers = lib.mkIf (cfg.settings != { }) [ "${configFile}" ];
      };

      Install.WantedBy = [ cfg.systemd.target ];

      Service = {
        # The generated file by its path in the home, not in the store: a non-default
        # xdg.configHome is honoured, and the unit's text stays the same when only the
        # settings change, so a switch reloads the daemon (X-Reload-Triggers) instead
        # of restarting it. Without settings no file is written: the daemon's
        # built-in defaults.
        ExecStart = lib.escapeShellArgs (
          [ (lib.getExe cfg.package) ]
          ++ lib.optionals (cfg.settings != { }) [
            "--config"
            "${config.xdg.configHome}/audio-daemon/config.json"
          ]
        );
        ExecReload = "${lib.getExe' pkgs.coreutils "kill"} -HUP $MAINPID";
        Restart = "on-failure";
        RestartSec = "5s";
        UMask = "0077";
        # Remembered app volumes: systemd creates ~/.local/state/audio-daemon,
        # keeps it writable under ProtectHome=read-only, and passes it as
        # $STATE_DIRECTORY, which the daemon prefers.
        StateDirectory = "audio-daemon";

        # Sandboxing. The daemon needs: its config (read), the PipeWire
        # socket and its own socket in $XDG_RUNTIME_DIR (%t, writable), and
        # signalling the user's waybar processes (so no private PID
        # namespace, /proc stays visible).
        #
        # In a user manager, systemd can only set up the file-system options
        # (ProtectSystem, ProtectHome, PrivateTmp, ReadWritePaths,
        # ProtectKernelTunables, ProtectControlGroups) inside a user
        # namespace, so with any of them it turns PrivateUsers= on by itself
        # (only the user's own uid stays mapped, which is all the daemon
        # needs: peer-uid checks and /proc owners still read as the user).
        # Where unprivileged user namespaces are off, systemd logs that and
        # starts the daemon without those file-system restrictions. So:
        # - PrivateUsers= is not set: set explicitly, a missing user
        #   namespace fails the start (224/USER) instead.
        # - Nothing that drops capabilities (ProtectKernelModules,
        #   ProtectClock, PrivateDevices, CapabilityBoundingSet): changing
        #   the bounding set needs the namespace too and fails the start
        #   (218/CAPABILITIES) without it, and an unprivileged daemon holds
        #   none of those capabilities anyway.
        # - The prctl/seccomp options below need no namespace and hold
        #   everywhere.
        ProtectSystem = "strict";
        ProtectHome = "read-only";
        ReadWritePaths = [ "%t" ];
        PrivateTmp = true;
        ProtectKernelTunables = true;
        ProtectControlGroups = true;

        NoNewPrivileges = true;
        LockPersonality = true;
        MemoryDenyWriteExecute = true;
        RestrictAddressFamilies = [ "AF_UNIX" ];
        RestrictNamespaces = true;
        RestrictSUIDSGID = true;
        SystemCallArchitectures = "native";
        SystemCallFilter = [ "@system-service" ];
      };
    };
  };
}
