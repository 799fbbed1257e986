# Helpers shared by the home-manager module's parts (default.nix, hyprland.nix,
# waybar.nix): which apps the daemon knows, their labels, and the audioctl
# command lines that keys and waybar clicks run.
{ lib, cfg }:
rec {
  # The daemon's built-in apps and their labels. Keep in sync with
  # `builtin_apps()` in src/config.rs.
  builtinLabels = {
    vesktop = "Discord";
    youtube = "YouTube";
    twitch = "Twitch";
    music = "Music";
  };
  # `@sink` / `@source` always resolve to WirePlumber's defaults, `@focused` to
  # the focused window's streams; their labels come from `key_name` in
  # src/state/view.rs.
  targetLabels = {
    "@sink" = "Speakers";
    "@source" = "Microphone";
    # The daemon labels it with the focused window's app; this is its fallback.
    "@focused" = "Focused window";
  };

  builtinsEnabled = cfg.settings.builtin_apps or true;
  configuredApps = cfg.settings.apps or { };
  builtinApps = lib.attrNames builtinLabels;
  knownApps =
    lib.attrNames targetLabels
    ++ lib.optionals builtinsEnabled builtinApps
    ++ lib.attrNames configuredApps;

  # The label the daemon shows for an app: an app in `settings.apps` replaces
  # a built-in one of the same name as a whole, and is labelled by its own
  # `label` or else by its name.
  appLabel =
    app:
    if targetLabels ? ${app} then
      targetLabels.${app}
    else if configuredApps ? ${app} then
      configuredApps.${app}.label or app
    else if builtinsEnabled then
      builtinLabels.${app} or app
    else
      app;

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

  unknownAppMessage = option: what: app: ''
    services.audio-daemon.${option}: ${what} names the app "${app}", which the daemon does not know.
    Known apps: ${lib.concatStringsSep ", " knownApps}.
    Define it in services.audio-daemon.settings.apps."${app}".match${
      lib.optionalString (!builtinsEnabled && lib.elem app builtinApps) ''
        ,
        or remove settings.builtin_apps = false: "${app}" is a built-in app, but built-in apps are disabled''
    }.'';
}
