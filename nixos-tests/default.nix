# NixOS VM test: the home-manager module on a real PipeWire.
#
# One machine; user alice (lingering, so her systemd user manager, PipeWire
# and WirePlumber run without a login) gets audio-daemon through
# home-manager's NixOS module and this flake's homeModules.audio-daemon,
# a null sink, and a Vesktop-like playback stream. The script
# (test_script.py) runs the shared scenario (scenario.sh) and checks the
# socket, an external change, the latency, the generated Hyprland and waybar
# configs, and that a config change reloads the daemon instead of
# restarting it.
#
# Used by the flake as `pkgs.testers.runNixOSTest (import ./nixos-tests { ... })`.
{
  # This flake's homeModules.audio-daemon.
  audioDaemonModule,
  # home-manager's NixOS module.
  homeManagerModule,
  # nix/tools.nix: audio-daemon-streams plays the test stream. Not part of
  # the user's package.
  audioDaemonTools,
}:
{ lib, ... }:
{
  name = "audio-daemon";
  meta.maintainers = [ ];

  nodes.machine =
    { pkgs, ... }:
    {
      imports = [
        homeManagerModule
        ./pipewire-null-sink.nix
      ];

      virtualisation.memorySize = 2048;

      users.users.alice = {
        isNormalUser = true;
        uid = 1000;
        linger = true;
      };

      # What scenario.sh and the test script run, besides audioctl.
      environment.systemPackages = [
        pkgs.gawk
        pkgs.pipewire # pw-dump
        pkgs.python3
        pkgs.socat
        pkgs.wireplumber # wpctl
      ];
      environment.etc."audio-daemon-test/scenario.sh" = {
        source = ./scenario.sh;
        mode = "0755";
      };

      # The same home with another step: switching to it must reload the
      # daemon (SIGHUP), not restart it.
      specialisation.step10.configuration = {
        home-manager.users.alice.services.audio-daemon.settings.step = lib.mkForce 10;
      };

      home-manager.useGlobalPkgs = true;
      home-manager.useUserPackages = true;
      home-manager.users.alice =
        { pkgs, ... }:
        {
          imports = [ audioDaemonModule ];
          home.stateVersion = "26.05";
          # Activation applies unit changes itself (reload on
          # X-Reload-Triggers), as on the users' machines.
          systemd.user.startServices = "sd-switch";

          # No graphical session in the VM: the daemon, and the default
          # target of every Wayland service, follow the user's default.target.
          wayland.systemd.target = "default.target";

          services.audio-daemon = {
            enable = true;
            settings = {
              step = 5;
              waybar_signal = 8;
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

          # Only the generated files are checked; nothing graphical runs.
          wayland.windowManager.hyprland = {
            enable = true;
            package = null;
            portalPackage = null;
            configType = "hyprlang";
          };
          programs.waybar = {
            enable = true;
            settings.mainBar.modules-right = [ "clock" ];
          };

          # A Vesktop-like voice stream, as the user, for the whole session.
          systemd.user.services.fake-vesktop = {
            Unit = {
              Description = "Silent Vesktop-like playback stream for the audio-daemon test";
              Requires = [ "pipewire.service" ];
              After = [
                "pipewire.service"
                "wireplumber.service"
              ];
            };
            # audio-daemon-streams ends at EOF on stdin; keep its stdin open.
            Service.ExecStart = pkgs.writeShellScript "fake-vesktop" ''
              ${lib.getExe' pkgs.coreutils "sleep"} infinity | ${
                lib.escapeShellArgs [
                  (lib.getExe' audioDaemonTools "audio-daemon-streams")
                  "--prop"
                  "application.name=vesktop"
                  "--prop"
                  "media.name=WEBRTC VoiceEngine"
                  "--count"
                  "1"
                ]
              }
            '';
            Install.WantedBy = [ "default.target" ];
          };
        };
    };

  testScript = builtins.readFile ./test_script.py;
}
