"""Sphinx configuration: the API reference from numpydoc docstrings, and the tutorials.

Build: ``PYTHONPATH=$PWD/python sphinx-build -W -b html docs docs/_build/html``
(or with the package installed); tests/project/test_docs.py runs it with warnings as
errors against the nanobrag the tests import.  Only
the .rst pages are part of the build; the Markdown notes (architecture.md,
gradients.md) are read on GitHub.
"""
project = "nanobrag"
author = "nanobrag developers"
extensions = ["sphinx.ext.autodoc", "numpydoc"]
source_suffix = {".rst": "restructuredtext"}
exclude_patterns = ["_build", "*.md"]
root_doc = "index"
html_theme = "alabaster"

autodoc_member_order = "bysource"
autodoc_typehints = "none"  # numpydoc sections carry the types
# numpydoc: no autosummary tables of members (they would need generated stub pages)
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
nitpicky = False
