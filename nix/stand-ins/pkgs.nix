# STAND-IN for a nixpkgs package set, used only by nix/offline-eval.sh where
# nixpkgs cannot be had. It holds just what evaluating home-manager's options
# and values (not building anything) touches. The flake's checks run the same
# nix/eval-hm.nix with the real `pkgs`.
#
# Packages are fake store paths `/nix/store/000…000-NAME` (a well-formed store
# path: home-manager passes some through `builtins.storePath`); the golden
# renders (nix/golden/) turn every store hash into `...`. A written text file's
# path carries a hash of its text, as a real store path would, so a render can
# prove it matches what home-manager wrote.
{
  lib,
  # A directory laid out like nixpkgs for the few files home-manager imports
  # from `pkgs.path` (see offline-eval.sh).
  path,
}:
let
  standIn = name: {
    type = "derivation";
    inherit name;
    pname = name;
    version = "stand-in";
    outPath = "/nix/store/${lib.fixedWidthString 32 "0" ""}-${name}";
    outputs = [ "out" ];
    meta.mainProgram = name;
  };

  # 32 characters of the store's hash alphabet, which has no "e".
  textHash = text: lib.replaceStrings [ "e" ] [ "z" ] (builtins.hashString "md5" text);

  textFile =
    name: text:
    standIn name
    // {
      outPath = "/nix/store/${textHash text}-${name}";
      standInText = text;
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

  # One stand-in for every `pkgs.formats.*`: home-manager declares options of
  # these types in modules that are not enabled, and `check = true` evaluates
  # every option's type. `generate` keeps the value so a render can show what
  # would be written.
  standInFormat = {
    type = jsonValue;
    lib.types = lib.genAttrs [
      "atom"
      "attrsOf"
      "listOf"
    ] (_: jsonValue);
    generate = name: value: standIn name // { standInValue = value; };
  };

  # The cargo version, so the package reads /nix/store/...-audio-daemon-0.1.0.
  cargoToml = lib.importTOML ../../Cargo.toml;
  version =
    if lib.isAttrs cargoToml.package.version then
      cargoToml.workspace.package.version
    else
      cargoToml.package.version;
in
lib.genAttrs [
  "coreutils"
  "dbus"
  "xvfb-run"
  "findutils"
  "dmenu"
  "foot"
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
  # Tells nix/hm-home.nix that written files carry their text's hash.
  isAudioDaemonStandIn = true;
  inherit textHash;
  system = "x86_64-linux";
  stdenv.hostPlatform = lib.systems.elaborate "x86_64-linux";
  stdenv.buildPlatform = lib.systems.elaborate "x86_64-linux";

  # The flake's overlay provides this; a stand-in with the real binary names.
  audio-daemon = standIn "audio-daemon-${version}" // {
    meta.mainProgram = "audio-daemon";
  };

  formats = lib.genAttrs [
    "ini"
    "iniWithGlobalSection"
    "javaProperties"
    "json"
    "keyValue"
    "toml"
    "xml"
    "yaml"
    "yaml_1_1"
    "yaml_1_2"
  ] (_: _: standInFormat);

  writeTextFile = { name, ... }@args: textFile name (args.text or "");
  writeText = textFile;
  writeShellScript = textFile;
  symlinkJoin = { name, ... }: standIn name;
  runCommand = name: _: _: standIn name;
  emptyDirectory = standIn "empty-directory";
  # home-manager's sway module builds its default package with `.override`.
  sway = standIn "sway" // {
    override = _: standIn "sway";
  };
}
