"""What is done with the person and the room once the matte is known (settings:
:class:`vcam.config.EffectSettings` and :class:`vcam.config.FramingSettings`).

:mod:`~vcam.effects.composite` is the one entry point: a :class:`Compositor` built for a frame size
lays the person over a defocused room (:mod:`~vcam.effects.defocus`,
:mod:`~vcam.effects.portrait`, :mod:`~vcam.effects.painted_room`), a new background
(:mod:`~vcam.effects.background`, :mod:`~vcam.effects.gradient`, :mod:`~vcam.effects.style`) or a
colour, with clean edges (:mod:`~vcam.effects.clean_edge`) and a shadow
(:mod:`~vcam.effects.shadow`). :mod:`~vcam.effects.autoframe` crops and zooms to keep the person
framed.
"""
