"""Contracts shared by generator/, studies/ and platform/, each defined once (docs/architecture.md, 'Data contracts').

Plain Python with numpy and scipy only: no torch, no Django, so every part can import it. It sits at the bottom of the
layering (nothing here imports the project's other packages); a package of its own rather than a corner of studies/,
so that the generator, which trains models and never needs study bundles, does not import the study tools to read a
constant.
"""
