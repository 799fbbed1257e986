# Evaluates home configurations the way home-manager does: its full module
# list with `check = true` (a definition of an option that does not exist
# fails), plus this project's module (home-manager/) and a user.
# Shared by nix/eval-hm.nix (assertions) and nix/golden/render.nix (golden
# files). Nothing is built.
{
  # nixpkgs' lib (not yet extended with home-manager's).
  lib,
  # A home-manager source tree.
  hmSrc,
  pkgs,
}:
rec {
  hmLib = import (hmSrc + "/modules/lib/stdlib-extended.nix") lib;

  hmModules = import (hmSrc + "/modules/modules.nix") {
    inherit pkgs;
    lib = hmLib;
    check = true;
    useNixpkgsModule = false;
  };

  user.home = {
    username = "alice";
    homeDirectory = "/home/alice";
    stateVersion = "26.05";
  };

  # The config of a home made of `modules`.
  evalHome =
    modules:
    (hmLib.evalModules {
      modules = hmModules ++ [
        ../home-manager
        user
      ]
      ++ modules;
      class = "homeManager";
      specialArgs.modulesPath = hmSrc + "/modules";
    }).config;

  failedAssertions = config: map (a: a.message) (lib.filter (a: !a.assertion) config.assertions);

  # The systemd unit text, rendered as home-manager's modules/systemd.nix
  # does (its `toSystemdIni` and the filtering of null/empty values are not
  # exported, so they are repeated here). `unitText` checks the result against
  # the file home-manager generated.
  toSystemdIni = lib.generators.toINI {
    listsAsDuplicateKeys = true;
    mkKeyValue =
      key: value:
      "${key}=${if lib.isBool value then lib.boolToString value else toString value}";
  };
  renderUnit =
    unit:
    toSystemdIni (
      lib.filterAttrs (_: section: section != { }) (
        lib.mapAttrs (_: lib.filterAttrs (_: v: v != null && v != [ ])) unit
      )
    );

  # The unit file of `name` as `config` generates it. With the stand-in
  # `pkgs`, the path home-manager wrote carries a hash of the text it wrote:
  # a render that differs from home-manager's fails here. With the real
  # `pkgs` the text cannot be read back at evaluation time; it is returned
  # as rendered.
  # A user target's unit text (no file to check it against: with the
  # stand-in `pkgs` home-manager writes targets through the same renderer).
  targetText = config: name: renderUnit config.systemd.user.targets.${name};

  unitText =
    config: name:
    let
      text = renderUnit config.systemd.user.services.${name};
      source = toString config.xdg.configFile."systemd/user/${name}.service".source;
      written = builtins.match "/nix/store/([0-9a-z]{32})-.*" source;
    in
    if pkgs.isAudioDaemonStandIn or false then
      if written != null && lib.head written == pkgs.textHash text then
        text
      else
        throw "nix/hm-home.nix: the rendered ${name}.service differs from what home-manager wrote (${source})"
    else
      text;
}
