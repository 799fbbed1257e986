-- The same binds for a Lua hyprland config (hl.dsp.global, locked).
hl.bind("SUPER + F1", hl.dsp.global("audio-daemon:focused-up"), { locked = true })
hl.bind("SUPER + F2", hl.dsp.global("audio-daemon:focused-hold"), { locked = true })
