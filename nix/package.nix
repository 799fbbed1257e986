# The audio-daemon package: the daemon, `audioctl`, and the test/demo/bench
# helpers, built from this repository's Cargo package.
{
  lib,
  rustPlatform,
  pkg-config,
  pipewire,
}:
let
  cargoToml = lib.importTOML ../Cargo.toml;
in
rustPlatform.buildRustPackage {
  pname = cargoToml.package.name;
  inherit (cargoToml.package) version;

  # Only what cargo reads: editing the Nix files, README or CI does not rebuild.
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../Cargo.toml
      ../Cargo.lock
      ../src
      (lib.fileset.maybeMissing ../build.rs)
      (lib.fileset.maybeMissing ../tests)
      (lib.fileset.maybeMissing ../benches)
      (lib.fileset.maybeMissing ../examples)
    ];
  };

  cargoLock.lockFile = ../Cargo.lock;

  nativeBuildInputs = [
    pkg-config
    # libspa-sys / pipewire-sys generate their bindings with bindgen.
    rustPlatform.bindgenHook
  ];

  buildInputs = [ pipewire ];

  # The integration tests start a real PipeWire, which the build sandbox
  # cannot do; "0" makes them skip. Unit tests run as usual. The NixOS VM
  # test (checks.<system>.vm-test) exercises the daemon on a real PipeWire.
  env.AUDIO_DAEMON_PW_TESTS = "0";

  meta = {
    inherit (cargoToml.package) description;
    license = lib.licenses.mit;
    platforms = lib.platforms.linux;
    mainProgram = "audio-daemon";
  };
}
