"""The install is repeatable: pinned direct dependencies, environment.yml in step with pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

import yaml

from analysis import config

PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^\s;]+)$")


def _canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject_pins() -> dict[str, str]:
    data = tomllib.loads((config.PROJECT_ROOT / "pyproject.toml").read_text("utf-8"))
    specs = list(data["project"]["dependencies"]) + list(data["project"]["optional-dependencies"]["test"])
    pins = {}
    for spec in specs:
        m = PIN.match(spec.strip())
        assert m, f"pyproject.toml: dependency {spec!r} is not pinned with =="
        pins[_canon(m[1])] = m[3]
    return pins


def _environment_pins() -> dict[str, str]:
    env = yaml.safe_load((config.PROJECT_ROOT / "environment.yml").read_text("utf-8"))
    pins = {}
    for dep in env["dependencies"]:
        items = dep["pip"] if isinstance(dep, dict) else [dep]
        for item in items:
            m = PIN.match(item.replace(" ", ""))
            if m:
                pins[_canon(m[1])] = m[3]
    return pins


def test_every_direct_dependency_is_pinned():
    assert len(_pyproject_pins()) >= 20


def test_environment_yml_matches_pyproject():
    py, env = _pyproject_pins(), _environment_pins()
    assert py == env, {
        "only in pyproject.toml": sorted(set(py) - set(env)),
        "only in environment.yml": sorted(set(env) - set(py)),
        "different versions": {k: (py[k], env[k]) for k in set(py) & set(env) if py[k] != env[k]},
    }


def test_constraints_agree_with_pins():
    lines = (config.PROJECT_ROOT / "constraints.txt").read_text("utf-8").splitlines()
    constraints = {_canon(m[1]): m[3] for m in (PIN.match(ln.strip()) for ln in lines) if m}
    for name, version in _pyproject_pins().items():
        assert constraints.get(name) == version, f"constraints.txt pins {name}=={constraints.get(name)}, pyproject {version}"


def test_installed_versions_are_the_pinned_ones():
    for name, version in _pyproject_pins().items():
        assert metadata.version(name) == version, name
