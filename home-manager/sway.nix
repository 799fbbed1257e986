# sway key binds (wayland.windowManager.sway.config.keybindings): `exec audioctl …`,
# or `nop audio-daemon …` that sway hands to the daemon over its IPC with no process
# started (mode = "ipc"; see binds.nix).
{
  config,
  lib,
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

  action =
    bind:
    if cfg.sway.mode == "ipc" then
      binds.nopCommand bind
    else
      "exec ${shared.ctlCommand bind.action bind.app bind.amount}";

  ours = lib.listToAttrs (map (bind: lib.nameValuePair (keyComb bind) (action bind)) cfg.sway.binds);
  final = config.wayland.windowManager.sway.config.keybindings;
  lost = lib.filter (k: (final.${k} or null) != ours.${k}) (lib.attrNames ours);
in
{
  options.services.audio-daemon.sway = {
    enable = lib.mkEnableOption "sway volume key binds";

    mode = binds.modeOption "sway" ''
      the bind runs `nop audio-daemon ACTION APP [AMOUNT]`, which sway reports
      to the daemon over its IPC (the daemon follows `$SWAYSOCK`). sway repeats
      the bind while the key is held; repeats coalesce in the daemon.
    '';

    binds = lib.mkOption {
      type = lib.types.listOf binds.bindSubmodule;
      default = binds.defaultBinds;
      defaultText = binds.defaultBindsText;
      example = lib.literalExpression ''
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
    assertions = binds.bindAssertions "sway.binds" cfg.sway.binds ++ [
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
    wayland.windowManager.sway.config.keybindings = lib.mkOptionDefault ours;
  };
}
