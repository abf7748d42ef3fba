"""The package metadata, read by setuptools exactly as ``pip install -e .`` reads it."""

import tomllib
import warnings
from pathlib import Path

from packaging.requirements import Requirement
from setuptools.config.pyprojecttoml import apply_configuration
from setuptools.dist import Distribution

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def test_installing_prints_no_deprecation_of_the_licence_field() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # setuptools' deprecation notices are warnings
        dist = apply_configuration(Distribution(), PYPROJECT)
    assert dist.metadata.license_expression == "AGPL-3.0-or-later"


def test_the_build_asks_for_a_setuptools_that_reads_an_spdx_licence() -> None:
    build = tomllib.loads(PYPROJECT.read_text())["build-system"]
    (setuptools,) = [Requirement(r) for r in build["requires"] if r.startswith("setuptools")]
    assert not setuptools.specifier.contains("76.1.0")
    assert setuptools.specifier.contains("77.0.3")
