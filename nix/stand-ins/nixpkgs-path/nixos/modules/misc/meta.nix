# STAND-IN for nixpkgs' nixos/modules/misc/meta.nix, used only by
# nix/check-hm-eval.sh where nixpkgs itself is not available. Modules set
# `meta.maintainers` (lists, merged) and a few other keys; accept them all.
{ lib, ... }:
{
  options.meta = lib.mkOption {
    type = lib.types.submodule {
      freeformType = lib.types.lazyAttrsOf lib.types.raw;
      options.maintainers = lib.mkOption {
        type = lib.types.listOf lib.types.raw;
        default = [ ];
        description = "Stand-in: module maintainers.";
      };
    };
    internal = true;
    default = { };
    description = "Stand-in: module metadata.";
  };
}
