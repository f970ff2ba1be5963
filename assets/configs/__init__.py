"""Training presets (``croco-train --config NAME``), installed as the package data ``crocohuman.presets``."""
