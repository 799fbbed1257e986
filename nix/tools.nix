# The workspace's test, demo and benchmark programs (audio-daemon-streams,
# audio-daemon-demo, audio-daemon-bench), for the NixOS VM test. Not a user
# package: nothing here belongs in a user's PATH.
{ audio-daemon }:
audio-daemon.overrideAttrs (old: {
  pname = "audio-daemon-tools";
  cargoBuildFlags = [
    "-p"
    "audio-daemon-tools"
  ];
  # The same tests already ran in audio-daemon's build.
  doCheck = false;
  meta = old.meta // {
    description = "audio-daemon's test, demo and benchmark programs";
    mainProgram = "audio-daemon-streams";
  };
})
