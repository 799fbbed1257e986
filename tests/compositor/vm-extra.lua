-- Test-only additions to the generated hyprland.lua in the Hyprland VM
-- (scripts/vm-test.sh appends them); the same as vm-extra.conf.
hl.config({
    debug = { disable_logs = false, enable_stdout_logs = true },
    animations = { enabled = false },
    misc = { disable_hyprland_logo = true, force_default_wallpaper = 0 },
})
hl.bind("ALT + XF86AudioRaiseVolume", hl.dsp.exec_cmd("wpctl set-volume @DEFAULT_AUDIO_SINK@ 5%+"), { locked = true, repeating = true })
hl.bind("ALT + XF86AudioLowerVolume", hl.dsp.exec_cmd("wpctl set-volume @DEFAULT_AUDIO_SINK@ 5%-"), { locked = true, repeating = true })
hl.bind("SUPER + ALT + F12", hl.dsp.exec_cmd("date +%s%N >> $XDG_RUNTIME_DIR/keys-marker"))
