"""The person's light, fixed after the matte and before the effect: temporal noise reduction
(:mod:`~vcam.light.denoise`), low light (:mod:`~vcam.light.lowlight`), a studio key light
(:mod:`~vcam.light.keylight`) and relighting to match a new background
(:mod:`~vcam.light.relight`). Settings: :class:`vcam.config.LightSettings`."""
