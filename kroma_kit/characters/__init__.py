"""Characters and the knowledge layer: profiles with identity constraints, style guides,
reference sets, the character image workspace (reference, 360° portfolio, scene images) and the
``kroma.bootstrap.v1`` import. Faces (CLI, panels, dashboards) call these functions; SQL lives
in :mod:`kroma_kit.catalog.knowledge`, :mod:`~kroma_kit.catalog.refsets` and
:mod:`~kroma_kit.catalog.character_images`.

Public surface for other services (e.g. a continuity gate):

- :func:`kroma_kit.characters.profiles.get_character` -> :class:`~kroma_kit.characters.records.Character`
  (``identity.signature_colors`` as ``#rrggbb``);
- :func:`kroma_kit.characters.images.character_reference_images` -> the best reference and the
  portfolio items as file paths.
"""
