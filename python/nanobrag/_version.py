"""The package version: the one place it is written.

Read by the build (scikit-build-core's regex metadata provider, pyproject.toml),
by CMakeLists.txt (the C library's ``nb_version()``), and imported as
``nanobrag.__version__``.
"""
__version__ = "0.1.0"
