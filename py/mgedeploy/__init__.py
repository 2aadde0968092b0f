"""MegEngine model export and megenginelite inference: the Python half of the project."""
