# waybar modules that follow app volumes through `audioctl waybar --follow`,
# added to one bar of `programs.waybar.settings`.
{
  config,
  extendModules,
  lib,
  ...
}:
let
  cfg = config.services.audio-daemon;
  shared = import ./lib.nix { inherit lib cfg; };
  inherit (shared) ctlCommand;

  # `@sink` would make a CSS id `#custom-audio-@sink`; spell targets out.
  moduleName =
    app:
    "custom/audio-"
    + (if lib.hasPrefix "@" app then "default-${lib.removePrefix "@" app}" else app);

  # waybar renders `format` as Pango markup through fmt: the label must be
  # neither markup nor a `{field}`.
  formatLiteral =
    s:
    lib.replaceStrings
      [
        "{"
        "}"
      ]
      [
        "{{"
        "}}"
      ]
      (lib.escapeXML s);

  # `{text}` is the volume (`45%`, `45% muted`, or `-` with no streams). Not
  # `{}`: waybar refuses to mix it with named fields like `{icon}`.
  waybarModule = app: {
    exec = "${shared.audioctl} waybar ${lib.escapeShellArg app} --follow";
    return-type = "json";
    format = lib.mkDefault "{icon} ${formatLiteral (shared.appLabel app)} {text}";
    format-icons = lib.mkDefault cfg.waybar.icons;
    on-click = ctlCommand "mute" app null;
    on-scroll-up = ctlCommand "up" app null;
    on-scroll-down = ctlCommand "down" app null;
  };

  # programs.waybar.settings as the rest of the configuration defines it,
  # without this module's bar entries. It decides whether those entries are
  # defined at all: a list of bars cannot be merged with them (a merge error
  # that home-manager's own waybar assertion would hit before ours), so for a
  # list only the assertion below is left. Read from a second evaluation in
  # which this module adds nothing, because deciding a definition of an
  # option from that same option's value is an infinite recursion.
  userSettings =
    (extendModules {
      modules = [ { services.audio-daemon.waybar.enable = lib.mkForce false; } ];
    }).config.programs.waybar.settings;
  settingsAreAList = lib.isList userSettings;
  definedBars = if settingsAreAList then [ ] else lib.attrNames userSettings;
in
{
  options.services.audio-daemon.waybar = {
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
        through {command}`audioctl waybar <app> --follow` and shows an icon
        from {option}`services.audio-daemon.waybar.icons`, the app's label
        and its volume; the CSS class is `unmuted`, `muted` or `inactive`
        (no streams). Click toggles mute, scrolling steps the volume.
      '';
    };

    bar = lib.mkOption {
      type = lib.types.str;
      default = "mainBar";
      example = "topBar";
      description = ''
        The bar, a name in {option}`programs.waybar.settings`, which must
        be an attribute set of bars (not a list) that defines this bar.
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

    icons = lib.mkOption {
      type = with lib.types; attrsOf (either str (listOf str));
      default = {
        unmuted = [
          "🔈"
          "🔉"
          "🔊"
        ];
        muted = "🔇";
        inactive = "🔈";
        default = [
          "🔈"
          "🔉"
          "🔊"
        ];
      };
      description = ''
        The modules' `format-icons`. waybar picks the entry named by the
        state (`unmuted`, `muted`, `inactive`) when the daemon reports one
        (the line's `alt`), otherwise `default`; a list is indexed by the
        volume in percent (low to high).
      '';
    };
  };

  config = lib.mkIf (cfg.enable && cfg.waybar.enable) {
    assertions = [
      {
        assertion = !settingsAreAList;
        # `[ ]` is home-manager's default: most likely never set, not a list on purpose.
        message =
          if userSettings == [ ] then
            ''
              services.audio-daemon.waybar: programs.waybar.settings is not set, so home-manager
              writes no waybar config for the modules to go in. Define the bar they go in, e.g.
              programs.waybar.settings.${cfg.waybar.bar} = { ... }, or set services.audio-daemon.waybar.enable = false.''
          else
            ''
              services.audio-daemon.waybar: programs.waybar.settings is a list of bars, but the
              modules are added to a bar by name. Define it as an attribute set of bars, e.g.
              programs.waybar.settings.${cfg.waybar.bar} = { ... }, or set services.audio-daemon.waybar.enable = false.'';
      }
      {
        assertion = settingsAreAList || lib.elem cfg.waybar.bar definedBars;
        message = ''
          services.audio-daemon.waybar.bar is "${cfg.waybar.bar}", but programs.waybar.settings defines no bar of that name${
            if definedBars == [ ] then
              " (it defines no bars)"
            else
              " (its bars: ${lib.concatStringsSep ", " definedBars})"
          }.
          Set services.audio-daemon.waybar.bar to one of its bars, or define programs.waybar.settings.${cfg.waybar.bar}.'';
      }
    ]
    ++ map (app: {
      assertion = lib.elem app shared.knownApps;
      message = shared.unknownAppMessage "waybar.apps" "an entry" app;
    }) cfg.waybar.apps;

    programs.waybar.settings = lib.mkIf (!settingsAreAList) {
      ${cfg.waybar.bar} = lib.mkMerge (
        [
          {
            "modules-${cfg.waybar.position}" = lib.mkAfter (map moduleName cfg.waybar.apps);
          }
        ]
        ++ map (app: { ${moduleName app} = waybarModule app; }) cfg.waybar.apps
      );
    };
  };
}
