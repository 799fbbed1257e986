# The README's example home: audio-daemon with Hyprland binds and waybar modules for
# @sink, vesktop and a configured spotify app. A plain attribute set, so that users of it
# can take parts away (`removeAttrs`) or add to it. nix/golden/render.nix renders it into
# the golden files; nix/eval-hm.nix checks it (with a label that needs escaping).
{
  services.audio-daemon = {
    enable = true;
    settings = {
      step = 5;
      apps.spotify = {
        match = [ { "application.name" = "spotify*"; } ];
        label = "Spotify";
      };
    };
    hyprland.enable = true;
    waybar = {
      enable = true;
      apps = [
        "@sink"
        "vesktop"
        "spotify"
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
}
