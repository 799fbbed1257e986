# The audio-daemon package: what users run, `audio-daemon` and `audioctl`,
# built from this repository's Cargo workspace. The test, demo and benchmark
# tools (crates/audio-daemon-tools) are not installed; nix/tools.nix builds
# them for the VM test.
{
  lib,
  rustPlatform,
  pkg-config,
  pipewire,
}:
let
  cargoToml = lib.importTOML ../Cargo.toml;
  # A field of the root package, or of [workspace.package] when the package
  # says `field.workspace = true`.
  packageField =
    field:
    let
      value = cargoToml.package.${field};
    in
    if lib.isAttrs value && value.workspace or false then
      cargoToml.workspace.package.${field}
    else
      value;
in
rustPlatform.buildRustPackage {
  pname = cargoToml.package.name;
  version = packageField "version";

  # Only what cargo reads: editing the Nix files, README or CI does not rebuild.
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../Cargo.toml
      ../Cargo.lock
      ../src
      # Wayland protocol XML that wayland-scanner reads at build time.
      ../protocols
      (lib.fileset.maybeMissing ../crates)
      (lib.fileset.maybeMissing ../build.rs)
      # The integration tests, not the compositor checks' scripts and VM files
      # (editing those must not rebuild the package).
      (lib.fileset.difference (lib.fileset.maybeMissing ../tests) (
        lib.fileset.maybeMissing ../tests/compositor
      ))
      (lib.fileset.maybeMissing ../benches)
      (lib.fileset.maybeMissing ../examples)
    ];
  };

  cargoLock.lockFile = ../Cargo.lock;

  # Installed: the daemon and its client. Tested: every crate of the
  # workspace.
  cargoBuildFlags = [
    "-p"
    "audio-daemon"
    "-p"
    "audioctl"
  ];
  cargoTestFlags = [ "--workspace" ];

  nativeBuildInputs = [
    pkg-config
    # libspa-sys / pipewire-sys generate their bindings with bindgen.
    rustPlatform.bindgenHook
  ];

  buildInputs = [ pipewire ];

  # The integration tests start a real PipeWire, which the build sandbox
  # cannot do: with "0", build.rs sets `pw_tests_off` and they are compiled
  # as #[ignore], so `cargo test` lists them as ignored, not as passed. Unit
  # tests run as usual. The NixOS VM test (checks.<system>.vm-test) runs the
  # daemon on a real PipeWire.
  env.AUDIO_DAEMON_PW_TESTS = "0";

  meta = {
    description = packageField "description";
    license = lib.licenses.mit;
    platforms = lib.platforms.linux;
    mainProgram = "audio-daemon";
  };
}
