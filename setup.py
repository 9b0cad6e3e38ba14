"""The package layout pyproject.toml cannot state: the top-level templates/ folder ships as
the package's newsletter/templates/ (an operator's own templates/ folder overrides it).

Everything else about the project is in pyproject.toml.
"""

from setuptools import find_packages, setup

setup(packages=[*find_packages(include=["newsletter", "newsletter.*"]), "newsletter.templates"])
