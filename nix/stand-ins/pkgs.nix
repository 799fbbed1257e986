# STAND-IN for a nixpkgs package set, used only by nix/check-hm-eval.sh where
# nixpkgs cannot be had. It holds just what evaluating home-manager's option
# values (not building anything) touches. Packages are fake store paths; the
# flake's `checks.<system>.hm-eval` runs the same nix/eval-hm.nix with the real
# `pkgs`.
{
  lib,
  # A directory laid out like nixpkgs for the few files home-manager imports
  # from `pkgs.path` (see check-hm-eval.sh).
  path,
}:
let
  standIn = name: {
    type = "derivation";
    inherit name;
    pname = name;
    version = "stand-in";
    outPath = "/nix/store/00000000000000000000000000000000-${name}-stand-in";
    outputs = [ "out" ];
    meta.mainProgram = name;
  };

  # Spelled out: this file's `path` argument would shadow `with lib.types`.
  jsonValue =
    lib.types.nullOr (
      lib.types.oneOf [
        lib.types.bool
        lib.types.int
        lib.types.float
        lib.types.str
        lib.types.path
        (lib.types.attrsOf jsonValue)
        (lib.types.listOf jsonValue)
      ]
    )
    // {
      description = "JSON value (stand-in)";
    };

  # `generate` keeps the value so the eval can show what would be written.
  standInFormat = {
    type = jsonValue;
    generate = name: value: standIn name // { standInValue = value; };
  };
in
lib.genAttrs [
  "coreutils"
  "dbus"
  "glibcLocales"
  "hyprland"
  "procps"
  "sd-switch"
  "systemd"
  "waybar"
  "xdg-desktop-portal-hyprland"
  "xwayland"
] standIn
// {
  inherit path lib;
  system = "x86_64-linux";
  stdenv.hostPlatform = lib.systems.elaborate "x86_64-linux";
  stdenv.buildPlatform = lib.systems.elaborate "x86_64-linux";

  # The flake's overlay provides this; a stand-in with the real binary names.
  audio-daemon = standIn "audio-daemon-0.1.0" // {
    meta.mainProgram = "audio-daemon";
  };

  formats = {
    json = _: standInFormat;
    ini = _: standInFormat;
    toml = _: standInFormat;
  };

  writeTextFile = { name, ... }@args: standIn name // { standInText = args.text or null; };
  writeText = name: text: standIn name // { standInText = text; };
  writeShellScript = name: text: standIn name // { standInText = text; };
  symlinkJoin = { name, ... }: standIn name;
  runCommand = name: _: _: standIn name;
  emptyDirectory = standIn "empty-directory";
}
