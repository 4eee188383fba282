"""Project files: atomic writes, archive moves, layout."""
