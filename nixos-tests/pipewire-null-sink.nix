# The user's PipeWire with WirePlumber, plus a null sink: a test VM has no sound card,
# so it becomes the default sink. Shared by both NixOS VM tests.
{
  security.rtkit.enable = true;
  services.pipewire = {
    enable = true;
    # As on users' machines: PipeWire is the audio server (WirePlumber then runs its
    # audio policy as users' does).
    audio.enable = true;
    wireplumber.enable = true;
    extraConfig.pipewire."90-audio-daemon-test-sink"."context.objects" = [
      {
        factory = "adapter";
        args = {
          "factory.name" = "support.null-audio-sink";
          "node.name" = "audio-daemon-test-sink";
          "node.description" = "audio-daemon test sink";
          "media.class" = "Audio/Sink";
          "audio.position" = "FL,FR";
          "monitor.channel-volumes" = true;
        };
      }
    ];
  };
}
