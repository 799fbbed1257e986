# sway key binds (wayland.windowManager.sway.config.keybindings): `exec audioctl …`,
# or `nop audio-daemon …` that sway hands to the daemon over its IPC with no process
# started (mode = "ipc"; see binds.nix). In ipc mode an up/down key ramps while held, as
# with Hyprland's global shortcuts: sway has no held-key events, so the key gets a press
# bind and a `--release` bind, `nop audio-daemon press ID` / `release ID` of a key this
# module adds to the daemon's config.
{
  config,
  lib,
  extendModules,
  ...
}:
let
  cfg = config.services.audio-daemon;
  shared = import ./lib.nix { inherit lib cfg; };
  binds = import ./binds.nix { inherit lib shared; };

  # Hyprland's modifier names (the bind type's) in sway's spelling.
  swayMods = {
    SUPER = "Mod4";
    SHIFT = "Shift";
    CTRL = "Control";
    CONTROL = "Control";
    ALT = "Mod1";
  };
  swayMod = m: swayMods.${lib.toUpper m} or m;

  # `--locked`: the keys work on the lock screen too, as Hyprland's `l` binds.
  keyComb =
    bind: "--locked " + lib.concatStringsSep "+" (map swayMod bind.mods ++ [ bind.key ]);

  ipc = cfg.sway.mode == "ipc";
  ramps = bind: ipc && binds.isStep bind;

  # keybindings entries (name: flags and keys, value: the command) for one bind.
  entries =
    bind:
    let
      id = binds.keyId bind;
      keys = keyComb bind;
    in
    if ramps bind then
      [
        (lib.nameValuePair keys "nop audio-daemon press ${id}")
        (lib.nameValuePair "--release ${keys}" "nop audio-daemon release ${id}")
      ]
    else if ipc then
      [ (lib.nameValuePair keys (binds.nopCommand bind)) ]
    else
      [ (lib.nameValuePair keys "exec ${shared.ctlCommand bind.action bind.app bind.amount}") ];

  ours = lib.listToAttrs (lib.concatMap entries cfg.sway.binds);

  # Where the binds go: home-manager's `config.keybindings`; with `config = null`
  # (a config written in `extraConfig` alone) its extraConfig, as `bindsym` lines;
  # without home-manager's sway module, a file the user's config `include`s.
  sway = config.wayland.windowManager.sway;
  hmSway = sway.enable or false;
  # Read from a second evaluation in which this part adds nothing: whether `config` is
  # null decides whether this part defines it, and deciding a definition of an option
  # from that option's own value is an infinite recursion (as for waybar's bars).
  hmConfig =
    hmSway
    &&
      (extendModules {
        modules = [ { services.audio-daemon.sway.enable = lib.mkForce false; } ];
      }).config.wayland.windowManager.sway.config != null;
  bindsFile = "audio-daemon/sway-binds.conf";
  bindsymLines = lib.concatStrings (lib.mapAttrsToList (keys: cmd: "bindsym ${keys} ${cmd}\n") ours);

  final = sway.config.keybindings;
  lost = lib.optionals hmConfig (
    lib.filter (k: (final.${k} or null) != ours.${k}) (lib.attrNames ours)
  );
in
{
  options.services.audio-daemon.sway = {
    enable = lib.mkEnableOption "sway volume key binds";

    mode = binds.modeOption "sway" ''
      sway reports the bind's `nop audio-daemon …` command to the daemon over
      its IPC (the daemon follows `$SWAYSOCK`). Up/down keys get a press and a
      `--release` bind (`nop audio-daemon press ID` / `release ID`, with the
      keys added to the daemon's config), so holding one ramps the volume
      smoothly (`settings.ramp`) until it is released; mute is
      `nop audio-daemon mute APP`.
    '';

    sourced = binds.sourcedOption {
      compositor = "sway";
      files = "{file}`$XDG_CONFIG_HOME/${bindsFile}` (`include ...`)";
    };

    binds = binds.bindsOption {
      example = ''
        [
          { mods = [ "SUPER" ]; key = "XF86AudioRaiseVolume"; app = "@focused"; action = "up"; amount = 2; }
          { mods = [ "SUPER" ]; key = "XF86AudioLowerVolume"; app = "@focused"; action = "down"; amount = 2; }
        ]
      '';
      description = ''
        Keys that change an app's volume, added to
        {option}`wayland.windowManager.sway.config.keybindings` as
        `--locked MODS+KEY` entries (sway's default keybindings stay).
      '';
    };
  };

  config = lib.mkIf (cfg.enable && cfg.sway.enable) {
    assertions =
      binds.bindAssertions "sway.binds" cfg.sway.binds
      ++ lib.optionals ipc (binds.collidingIds "sway.binds" cfg.sway.binds)
      ++ [
      {
        assertion = lost == [ ];
        message = ''
          services.audio-daemon.sway: wayland.windowManager.sway.config.keybindings is set
          as a whole, which replaces sway's default keybindings and these binds
          (${lib.concatStringsSep ", " lost}). Extend it instead, as home-manager
          recommends: keybindings = lib.mkOptionDefault { ... };'';
      }
    ];
    # At option-default priority, as home-manager's own default keybindings: the two
    # merge, and a user's `lib.mkOptionDefault { ... }` merges with both.
    wayland.windowManager.sway.config = lib.mkIf hmConfig { keybindings = lib.mkOptionDefault ours; };
    wayland.windowManager.sway.extraConfig = lib.mkIf (hmSway && !hmConfig) (lib.mkAfter bindsymLines);
    xdg.configFile.${bindsFile} = lib.mkIf (!hmSway) {
      text = "# audio-daemon's key binds, written by home-manager (services.audio-daemon.sway).\n" + bindsymLines;
    };
    warnings = lib.optional (!hmSway && !cfg.sway.sourced) (
      binds.unsourcedWarning {
        option = "sway";
        module = "wayland.windowManager.sway";
        lines = [ "include ${config.xdg.configHome}/${bindsFile}" ];
      }
    );
    services.audio-daemon.settings.keys = lib.mkIf ipc (
      binds.daemonKeys (lib.filter ramps cfg.sway.binds)
    );
  };
}
