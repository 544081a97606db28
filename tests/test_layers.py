"""The layout's promise, checked on the source: each part of vcam imports only the layers below
its own (docs/architecture.md, "Layers"), lazy imports inside functions included, and every
package is listed in pyproject.toml so the installed wheel has it."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]

# Bottom to top. A part may import its own layer's parts only where listed in SAME_LAYER.
LAYERS = [
    {"errors"},
    {"config"},
    {"system"},
    {"fileio"},
    {"jit", "kernels", "scaling", "checks"},
    {"segment", "matte", "light", "effects"},
    {"engine"},
    {"live", "batch", "serve"},
    {"bench_chart", "bench", "doctor", "cli", "ui", "__main__", "__init__"},
]
SAME_LAYER = {("kernels", "jit"), ("bench", "bench_chart"), ("cli", "bench"), ("cli", "doctor"), ("cli", "ui"),
              ("cli", "batch"), ("cli", "__init__"), ("__main__", "cli")}
PACKAGES = {"segment", "light", "effects", "live", "fileio", "system", "ui", "serve"}


def _part(module: str) -> str:
    """``vcam.fileio.atomic`` -> ``fileio``; ``vcam.engine`` -> ``engine``; ``vcam`` -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _layer(part: str) -> int:
    for i, layer in enumerate(LAYERS):
        if part in layer:
            return i
    raise AssertionError(f"vcam.{part} is in no layer: add it to LAYERS (and to docs/architecture.md)")


def _imports(path: Path) -> list[tuple[str, int]]:
    """Every vcam module ``path`` imports, anywhere in it, with its line."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module and node.module.split(".")[0] == "vcam":
            if node.module == "vcam":   # from vcam import x: x is a module, or a name of vcam/__init__
                found += [(f"vcam.{a.name}" if a.name[0].islower() and a.name != "__version__" else "vcam", node.lineno)
                          for a in node.names]
            else:
                found.append((node.module, node.lineno))
        elif isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.split(".")[0] == "vcam"]
    return found


def _modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted((ROOT / "vcam").rglob("*.py")):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        out.append((name.removesuffix(".__init__"), path))
    return out


def test_every_part_imports_only_the_layers_below_it():
    wrong = []
    for module, path in _modules():
        here = _part(module)
        for target, line in _imports(path):
            there = _part(target)
            if there == here:
                continue
            if _layer(there) > _layer(here) or (_layer(there) == _layer(here) and (here, there) not in SAME_LAYER):
                wrong.append(f"{path.relative_to(ROOT)}:{line}: vcam.{here} imports {target}")
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_the_check_sees_an_import_against_the_layers(tmp_path):
    source = tmp_path / "config.py"
    source.write_text("def f():\n    from vcam.live.pipeline import Pipeline\n")
    (target, line), = _imports(source)
    assert target == "vcam.live.pipeline" and line == 2
    assert _layer(_part(target)) > _layer(_part("vcam.config"))


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_every_package_is_in_the_wheel(package):
    line = re.search(r"^packages = \[(.*)\]$", (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    listed = re.findall(r'"([^"]+)"', line)
    assert f"vcam.{package}" in listed
    assert (ROOT / "vcam" / package / "__init__.py").exists()


def test_no_package_is_left_out_of_the_layers():
    folders = {p.name for p in (ROOT / "vcam").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == PACKAGES
