# STAND-IN for nixpkgs' nixos/modules/misc/assertions.nix, used only by
# nix/check-hm-eval.sh where nixpkgs itself is not available. It declares the
# two options home-manager modules write to; nothing else.
{ lib, ... }:
{
  options = {
    assertions = lib.mkOption {
      type = lib.types.listOf lib.types.unspecified;
      internal = true;
      default = [ ];
      description = "Stand-in: assertions checked by the module system's user.";
    };
    warnings = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      internal = true;
      default = [ ];
      description = "Stand-in: warnings printed by the module system's user.";
    };
  };
}
