{
  description = "audio-daemon: per-application volume control for PipeWire, fast enough for key repeat";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixpkgs-unstable";
    home-manager = {
      url = "github:nix-community/home-manager";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs =
    {
      self,
      nixpkgs,
      home-manager,
    }:
    let
      inherit (nixpkgs) lib;

      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});

      nixFiles = lib.fileset.toSource {
        root = ./.;
        fileset = lib.fileset.fileFilter (file: file.hasExt "nix") ./.;
      };
    in
    {
      packages = forAllSystems (pkgs: {
        audio-daemon = pkgs.callPackage ./nix/package.nix { };
        default = self.packages.${pkgs.stdenv.hostPlatform.system}.audio-daemon;
      });

      overlays.default = final: _prev: {
        audio-daemon = final.callPackage ./nix/package.nix { };
      };

      # The module's package defaults to `pkgs.audio-daemon` when the overlay
      # is applied, otherwise to this source built with the user's nixpkgs.
      # `homeModules` is home-manager's output name; `homeManagerModules` is
      # the older name, kept as an alias for existing configurations.
      homeModules = {
        audio-daemon = ./home-manager;
        default = self.homeModules.audio-daemon;
      };
      homeManagerModules = self.homeModules;

      checks = forAllSystems (
        pkgs:
        let
          inherit (pkgs.stdenv.hostPlatform) system;
          # What both VM tests get: this flake's module, home-manager's NixOS module,
          # and the test stream helper (nix/tools.nix; not part of the user's package).
          vmTestArgs = {
            audioDaemonModule = self.homeModules.audio-daemon;
            homeManagerModule = home-manager.nixosModules.home-manager;
            audioDaemonTools = pkgs.callPackage ./nix/tools.nix {
              audio-daemon = self.packages.${system}.audio-daemon;
            };
          };
        in
        {
          package = self.packages.${system}.audio-daemon;

          # NixOS VM: home-manager module + real PipeWire, shared scenario.
          vm-test = pkgs.testers.runNixOSTest (import ./nixos-tests vmTestArgs);

          # NixOS VM: real key presses in Hyprland under a user session (exec
          # binds, and global shortcuts with @focused), the key scenario shared
          # with scripts/vm-test.sh.
          hyprland-keys = pkgs.testers.runNixOSTest (
            import ./nixos-tests/hyprland-keys.nix vmTestArgs
          );

          # The module's generated binds, waybar modules and unit, evaluated
          # in the real home-manager (check = true: a definition of an option
          # that does not exist fails) with the real pkgs: the same
          # expectations nix/check-hm-eval.sh runs offline.
          hm-eval = pkgs.writeText "audio-daemon-hm-eval.json" (
            builtins.toJSON (
              import ./nix/eval-hm.nix {
                inherit lib pkgs;
                hmSrc = home-manager.outPath;
              }
            )
          );

          formatting =
            pkgs.runCommand "audio-daemon-nixfmt-check" { nativeBuildInputs = [ pkgs.nixfmt ]; }
              ''
                cd ${nixFiles}
                find . -name '*.nix' -print0 | xargs -0 nixfmt --check
                touch $out
              '';
        }
      );

      devShells = forAllSystems (pkgs: {
        default = pkgs.mkShell {
          inputsFrom = [ self.packages.${pkgs.stdenv.hostPlatform.system}.audio-daemon ];
          packages = with pkgs; [
            cargo
            clang
            clippy
            pipewire
            pkg-config
            rustc
            rustfmt
            socat
            wireplumber
          ];
        };
      });

      # nixfmt is the RFC 166 style formatter (formerly nixfmt-rfc-style).
      formatter = forAllSystems (pkgs: pkgs.nixfmt-tree);
    };
}
