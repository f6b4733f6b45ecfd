"""The layout's import rules, read from the source with ``ast`` (nothing is imported to check them):

- ``chalicelib.core`` imports no feature package;
- a feature package uses another one only through its surface: ``from chalicelib.<pkg> import <name>`` with the
  name in ``chalicelib/<pkg>/__init__.py``'s ``__all__``; the core through its modules (``chalicelib.core.<m>``);
- ``app.py`` imports only package surfaces, in its plain imports, its ``TYPE_CHECKING`` imports and the module
  names it hands to ``LazyModule``, and uses a package it binds only through names in that package's ``__all__``;
- every package declares ``__all__`` and every name in it exists.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import chalicelib

CHALICELIB = Path(chalicelib.__file__).resolve().parent
APP = CHALICELIB.parent / "app.py"
CORE = "core"


@dataclass(frozen=True)
class Imported:
    """One import: ``where`` it is (file:line), the absolute ``module`` and the ``names`` taken from it (empty:
    the module itself is bound); ``lazy`` for a ``LazyModule``."""

    where: str
    module: str
    names: tuple[str, ...] = ()
    lazy: bool = False


def packages() -> list[str]:
    """``chalicelib``'s packages, ``core`` included."""
    return sorted(path.parent.name for path in CHALICELIB.glob("*/__init__.py"))


def feature_packages() -> list[str]:
    return [name for name in packages() if name != CORE]


def declared_all(package: str) -> list[str] | None:
    """The literal ``__all__`` of ``chalicelib/<package>/__init__.py``, or None when it declares none."""
    tree = ast.parse((CHALICELIB / package / "__init__.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            return list(ast.literal_eval(node.value))
    return None


def surface(package: str) -> set[str]:
    return set(declared_all(package) or ())


def _module_name(path: Path) -> str:
    parts = path.relative_to(CHALICELIB.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _absolute(node: ast.ImportFrom, path: Path) -> str:
    if not node.level:
        return node.module or ""
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rpartition(".")[0]
    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
    return ".".join([*anchor, *filter(None, [node.module])])


def _lazy_module(node: ast.Call) -> str | None:
    """The module name of ``LazyModule("chalicelib.x")``."""
    if getattr(node.func, "id", None) == "LazyModule" and node.args and isinstance(node.args[0], ast.Constant):
        return node.args[0].value
    return None


def imports_of(path: Path, display: str) -> Iterator[Imported]:
    """Every import in ``path`` (top level, in functions, under ``TYPE_CHECKING``) and every ``LazyModule``;
    ``from chalicelib import x`` is the import of module ``chalicelib.x``."""
    for node in ast.walk(ast.parse(path.read_text())):
        where = f"{display}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Import):
            yield from (Imported(where, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node, path)
            names = tuple(alias.name for alias in node.names)
            if module == "chalicelib":
                yield from (Imported(where, f"chalicelib.{name}") for name in names)
            else:
                yield Imported(where, module, names)
        elif isinstance(node, ast.Call) and (lazy := _lazy_module(node)):
            yield Imported(where, lazy, lazy=True)


def package_imports(package: str) -> Iterator[Imported]:
    for path in sorted((CHALICELIB / package).rglob("*.py")):
        yield from imports_of(path, str(path.relative_to(CHALICELIB.parent)))


def _package_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "chalicelib" and len(parts) > 1 else None


def surface_violation(imported: Imported, own: str | None, whole_packages: bool) -> str | None:
    """Why ``imported`` reaches past a surface (None when it does not). ``own``: the importing package, which
    may use its own modules; ``whole_packages``: binding a feature package itself is allowed (``app.py``)."""
    parts = imported.module.split(".")
    if parts[0] != "chalicelib" or _package_of(imported.module) == own:
        return None
    if len(parts) == 1:
        return f"{imported.where}: imports chalicelib itself"
    if parts[1] == CORE:
        core_modules = surface(CORE)
        if len(parts) == 2 and set(imported.names) <= core_modules and imported.names:
            return None
        if len(parts) == 3 and parts[2] in core_modules:
            return None
        return f"{imported.where}: {imported.module} {list(imported.names)} is not one of the core's modules"
    if len(parts) > 2:
        return f"{imported.where}: reaches inside chalicelib.{parts[1]} ({imported.module})"
    if not imported.names:
        return None if whole_packages else f"{imported.where}: binds package {imported.module} instead of names"
    outside = sorted(set(imported.names) - surface(parts[1]))
    return f"{imported.where}: {outside} not in chalicelib.{parts[1]}.__all__" if outside else None


def core_violations() -> list[str]:
    return [
        f"{imported.where}: the core imports {imported.module}"
        for imported in package_imports(CORE)
        if _package_of(imported.module) not in (None, CORE)
    ]


def feature_violations() -> list[str]:
    found = (
        surface_violation(imported, package, whole_packages=False)
        for package in feature_packages()
        for imported in package_imports(package)
    )
    return [violation for violation in found if violation]


def _bound_packages(tree: ast.Module) -> dict[str, str]:
    """The names ``app.py`` binds to a feature package (lazily or under ``TYPE_CHECKING``) -> package."""
    bound = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and (lazy := _lazy_module(node.value)):
            if (package := _package_of(lazy)) != CORE:
                bound.update({target.id: package for target in node.targets if isinstance(target, ast.Name)})
        elif isinstance(node, ast.ImportFrom) and node.module == "chalicelib":
            bound.update({alias.asname or alias.name: alias.name for alias in node.names})
    return bound


def app_violations() -> list[str]:
    found = [surface_violation(imported, None, whole_packages=True) for imported in imports_of(APP, "app.py")]
    tree = ast.parse(APP.read_text())
    bound = _bound_packages(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in bound:
            package = bound[node.value.id]
            if node.attr not in surface(package):
                found.append(
                    f"app.py:{node.lineno}: {node.value.id}.{node.attr} is not in chalicelib.{package}.__all__"
                )
    return [violation for violation in found if violation]


def test_the_core_imports_no_feature_package():
    assert core_violations() == []


def test_feature_packages_use_each_other_only_through_their_surfaces():
    assert feature_violations() == []


def test_app_imports_only_package_surfaces_and_uses_only_their_names():
    assert app_violations() == []


def test_app_binds_every_lazy_module_for_the_type_checker_too():
    """Each lazily bound module is also imported under ``TYPE_CHECKING``, so the checker sees the real one."""
    found = list(imports_of(APP, "app.py"))
    lazy = {i.module for i in found if i.lazy}
    imported = {i.module for i in found if not i.lazy and not i.names}
    imported |= {f"{i.module}.{name}" for i in found if not i.lazy for name in i.names}
    assert lazy and lazy <= imported, sorted(lazy - imported)


def test_every_package_declares_its_surface_and_every_name_in_it_exists():
    for package in packages():
        names = declared_all(package)
        assert names, f"chalicelib/{package}/__init__.py declares no __all__"
        assert len(set(names)) == len(names), package
        module = importlib.import_module(f"chalicelib.{package}")
        for name in names:
            exists = hasattr(module, name) or importlib.util.find_spec(f"chalicelib.{package}.{name}") is not None
            assert exists, f"chalicelib.{package}.__all__ names {name!r}, which does not exist"


def test_the_rules_see_every_kind_of_import():
    """The reader itself: relative imports resolve, ``from chalicelib import x`` binds a package, LazyModule
    counts as an import."""
    source = CHALICELIB / "heroes" / "api.py"
    relative = ast.parse("from ..ingest import columns\nfrom . import store\n").body
    assert [_absolute(node, source) for node in relative] == ["chalicelib.ingest", "chalicelib.heroes"]
    inside = Imported("x.py:1", "chalicelib.heroes.store", ("load_one",))
    assert surface_violation(inside, "ingest", whole_packages=False) == (
        "x.py:1: reaches inside chalicelib.heroes (chalicelib.heroes.store)"
    )
    assert surface_violation(inside, "heroes", whole_packages=False) is None
    assert surface_violation(Imported("x.py:1", "chalicelib.heroes"), "ingest", whole_packages=False)
    assert surface_violation(Imported("x.py:1", "chalicelib.heroes", ("nothing_such",)), "ingest", False)
    assert surface_violation(Imported("x.py:1", "chalicelib.core", ("settings",)), "ingest", False) is None
    assert surface_violation(Imported("x.py:1", "chalicelib.core.nothing_such"), "ingest", False)
