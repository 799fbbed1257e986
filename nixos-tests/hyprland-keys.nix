# NixOS VM test: real key presses in Hyprland under alice's session, driving the
# binds the home-manager module generates. Its script is the key scenario shared
# with the Debian VM test (scripts/vm-test.sh): nixos-tests/hyprland_keys.py,
# then nixos-tests/hyprland_keys_test.py. Two machines, as the Debian VM's three
# Hyprland sessions:
# - `machine`: hyprlang, exec binds (the module's defaults);
# - `ipc`: Lua, keys that start no process: the ipc example
#   (nix/examples/hyprland-ipc.nix: global shortcuts, @focused keys, a ramp), and
#   foot for the @focused windows.
# Each mirrors the Debian VM's guest: a null sink, a vesktop and a spotify stream,
# the test-only binds of tests/compositor/vm-extra.conf / .lua (wpctl, marker key,
# Hyprland's log on stdout).
{
  audioDaemonModule,
  homeManagerModule,
  # nix/tools.nix: audio-daemon-streams plays the test streams. Not part of the
  # user's package.
  audioDaemonTools,
}:
{ lib, ... }:
let
  player = lib.getExe' audioDaemonTools "audio-daemon-streams";

  # A machine with Hyprland in alice's session; `home` is added to her home.
  hyprlandMachine =
    home:
    { pkgs, ... }:
    {
      imports = [
        homeManagerModule
        ./pipewire-null-sink.nix
      ];

      # What nixpkgs' own Hyprland test gives its VM ("Might crash with less").
      virtualisation.memorySize = 8192;
      virtualisation.cores = 4;
      # Hyprland needs a DRM device; llvmpipe renders. On aarch64 nixpkgs' VMs
      # already have a virtio-gpu-pci.
      virtualisation.qemu.options = lib.optionals pkgs.stdenv.hostPlatform.isx86_64 [
        "-vga none -device virtio-gpu-pci"
      ];

      users.users.alice = {
        isNormalUser = true;
        uid = 1000;
        # vm-latency.py reads the keyboard's input events.
        extraGroups = [ "input" ];
      };

      programs.hyprland.enable = true;
      services.getty.autologinUser = "alice";
      environment.loginShellInit = ''
        if [ "$(tty)" = /dev/tty1 ]; then
          exec Hyprland >/tmp/hyprland-alice.log 2>&1
        fi
      '';

      environment.systemPackages = [
        pkgs.dbus # dbus-monitor, the notification check's observer
        pkgs.foot # the @focused windows
        pkgs.pipewire # pw-dump
        pkgs.python3
        pkgs.wireplumber # wpctl
      ];
      environment.etc."audio-daemon-test/vm-latency.py".source = ../tests/compositor/vm-latency.py;

      home-manager.useGlobalPkgs = true;
      home-manager.useUserPackages = true;
      home-manager.users.alice =
        { pkgs, ... }:
        let
          stream =
            name: props:
            pkgs.writeShellScript "fake-${name}" ''
              ${lib.getExe' pkgs.coreutils "sleep"} infinity | ${
                lib.escapeShellArgs (
                  [ player ]
                  ++ lib.concatMap (p: [
                    "--prop"
                    p
                  ]) props
                )
              }
            '';
          streamService = name: props: {
            Unit = {
              Description = "Silent ${name}-like playback stream for the audio-daemon test";
              Requires = [ "pipewire.service" ];
              After = [
                "pipewire.service"
                "wireplumber.service"
              ];
            };
            Service.ExecStart = stream name props;
            Install.WantedBy = [ "default.target" ];
          };
        in
        {
          imports = [
            audioDaemonModule
            home
          ];
          home.stateVersion = "26.05";

          services.audio-daemon = {
            enable = true;
            settings.step = 5;
            hyprland.enable = true;
          };

          wayland.windowManager.hyprland = {
            enable = true;
            package = null;
            portalPackage = null;
          };

          systemd.user.services.fake-vesktop = streamService "vesktop" [
            "application.name=vesktop"
            "media.name=WEBRTC VoiceEngine"
          ];
          systemd.user.services.fake-spotify = streamService "spotify" [
            "application.name=spotify"
            "media.name=Spotify"
          ];
        };
    };
in
{
  name = "audio-daemon-hyprland-keys";
  meta.maintainers = [ ];

  # Exec binds: the daemon needs no compositor, so it starts with the user manager.
  nodes.machine = hyprlandMachine {
    services.audio-daemon.systemd.target = "default.target";
    wayland.windowManager.hyprland = {
      configType = "hyprlang";
      extraConfig = builtins.readFile ../tests/compositor/vm-extra.conf;
    };
  };

  # Global shortcuts and @focused: the daemon starts with Hyprland's session target
  # (the module's default), after Hyprland imported HYPRLAND_INSTANCE_SIGNATURE into
  # the user manager, as a user's would.
  nodes.ipc = hyprlandMachine (
    { pkgs, ... }:
    {
      imports = [ ../nix/examples/hyprland-ipc.nix ];
      # On-screen feedback for the global shortcuts, shown by mako (D-Bus activated).
      services.audio-daemon.settings.osd = "notify";
      # audioDaemonTools: the @focused windows play through it.
      home.packages = [
        audioDaemonTools
        pkgs.mako
      ];
      wayland.windowManager.hyprland = {
        configType = "lua";
        extraConfig = builtins.readFile ../tests/compositor/vm-extra.lua;
      };
    }
  );

  testScript = builtins.readFile ./hyprland_keys.py + builtins.readFile ./hyprland_keys_test.py;
}
