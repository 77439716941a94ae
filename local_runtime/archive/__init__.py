"""The function as a code-only archive: the layout's function/ and python/ in one reproducible ZIP."""
