"""The import graph of ``gi_tf``, built from the source: no cycles, and the layering rule.

Every module under ``gi_tf/`` is parsed with :mod:`ast` (nothing is imported). An edge
``a -> b`` means module ``a`` imports module ``b`` somewhere, at module level or inside a
function (a lazy import that dodges a cycle is still a cycle). ``from P import x`` is an
edge to ``P.x`` when ``x`` is a submodule, else to ``P``; ``importlib.import_module`` with
a literal name counts too. Importing ``a.b.c`` runs ``a/__init__`` and ``a/b/__init__``
first, so an importer also has an edge to each parent package of what it imports, unless
the importer lies inside that package: a module of package ``a`` only runs once ``a`` has
started importing, so it never waits for ``a/__init__`` (which may itself import it, the
usual re-export).

The root package ``gi_tf`` is the public facade: at import time it runs no import (checked
below), and its names (``gi_tf.Inpainter``) load their module on first access, from
``__getattr__``. ``from gi_tf import Inpainter`` is therefore an edge to the module that
defines ``Inpainter``, and the parent edge to ``gi_tf`` itself leads nowhere.

The layering rule is WORKSPACE.md section 1, "Dependency rule":

    cli
     └─ benchmarks
         └─ evaluation, app, parity
             └─ training, inference, tf1
                 └─ models
                     └─ layers
    ops, utils, data: the bottom (data may use ops; none of the three imports the layers above)

A subpackage imports only from the ones below it (and from itself). One addition to the
table: data also uses utils (``gi_tf.utils.options`` for its config fields, the file layer
``gi_tf.utils.files`` for its writes), which both stay free of the other subpackages.
"""

import ast
import os

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "gi_tf"
PACKAGE_DIR = os.path.join(REPO_ROOT, PACKAGE)

# Subpackage -> the subpackages it may import (besides itself). Level by level from
# WORKSPACE.md section 1; keep the two in step.
_BOTTOM = ("ops", "utils", "data")
_LEVELS = (
    ("cli",),
    ("benchmarks",),
    ("evaluation", "app", "parity"),
    ("training", "inference", "tf1"),
    ("models",),
    ("layers",),
)
ALLOWED = {}
for _i, _level in enumerate(_LEVELS):
    _below = {name for lower in _LEVELS[_i + 1:] for name in lower} | set(_BOTTOM)
    for _name in _level:
        ALLOWED[_name] = frozenset(_below)
ALLOWED["ops"] = frozenset()
ALLOWED["utils"] = frozenset()
ALLOWED["data"] = frozenset({"ops", "utils"})


def module_files(package_dir=PACKAGE_DIR):
    """``{module name: path}`` of every ``.py`` file of the package (``__init__`` = the package)."""
    modules = {}
    for folder, dirs, files in os.walk(package_dir):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__pycache__")))
        rel = os.path.relpath(folder, os.path.dirname(package_dir))
        prefix = rel.replace(os.sep, ".")
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            stem = name[:-3]
            modules[prefix if stem == "__init__" else f"{prefix}.{stem}"] = os.path.join(
                folder, name)
    return modules


def _resolve_relative(module, is_package, level, target):
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    if level > 1:
        base = base[:-(level - 1)]
    return ".".join(base + ([target] if target else []))


def _literal_import_module(node):
    """The name of ``importlib.import_module("literal")`` / ``import_module("literal")``."""
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    if name != "import_module" or not node.args:
        return None
    arg = node.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    return None


def imported_modules(module, path, modules, facade):
    """The package modules ``module`` imports (anywhere in its source), as a set of names."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), filename=path)
    is_package = os.path.basename(path) == "__init__.py"
    targets = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = _resolve_relative(module, is_package, node.level, node.module)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                if full in modules:
                    targets.add(full)
                elif base == PACKAGE and alias.name in facade:
                    targets.add(facade[alias.name])
                else:
                    targets.add(base)
        elif isinstance(node, ast.Call):
            name = _literal_import_module(node)
            if name:
                targets.add(name)
    return {t for t in targets if t in modules and t != module}


ROOT_INIT = os.path.join(PACKAGE_DIR, "__init__.py")


def facade_names(root_path=ROOT_INIT):
    """``{name: module}`` the root package loads lazily, and its import-time imports."""
    with open(root_path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    lazy, eager = {}, []
    for statement in tree.body:
        if isinstance(statement, (ast.Import, ast.ImportFrom)):
            eager.append(ast.unparse(statement))
        elif isinstance(statement, ast.FunctionDef):
            for node in ast.walk(statement):
                if isinstance(node, ast.ImportFrom) and node.module:
                    for alias in node.names:
                        lazy[alias.asname or alias.name] = node.module
    return lazy, eager


def parents(module):
    parts = module.split(".")
    return [".".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)]


def inside(module, package):
    return module == package or module.startswith(package + ".")


def with_parent_packages(module, targets, modules):
    """``targets`` plus their parent packages that do not contain ``module``."""
    edges = set(targets)
    for target in targets:
        edges.update(p for p in parents(target) if p in modules and not inside(module, p))
    return edges


def import_graph():
    """``{module: set of modules}``: explicit imports plus the parent packages they run."""
    modules = module_files()
    facade, _ = facade_names()
    graph = {}
    for module, path in modules.items():
        if module == PACKAGE:
            graph[module] = set()  # facade: nothing at import time (see the module docstring)
            continue
        graph[module] = with_parent_packages(
            module, imported_modules(module, path, modules, facade), modules)
    return graph


def find_cycles(graph):
    """Strongly connected components with more than one module (or a self-loop), sorted."""
    index, low, on_stack, stack, components = {}, {}, set(), [], []
    counter = [0]

    def visit(node):
        # Iterative Tarjan (recursion depth is not a concern at this size, but stay safe).
        work = [(node, iter(sorted(graph[node])))]
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        while work:
            current, successors = work[-1]
            advanced = False
            for nxt in successors:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]
                    counter[0] += 1
                    stack.append(nxt)
                    on_stack.add(nxt)
                    work.append((nxt, iter(sorted(graph[nxt]))))
                    advanced = True
                    break
                if nxt in on_stack:
                    low[current] = min(low[current], index[nxt])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[current])
            if low[current] == index[current]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == current:
                        break
                if len(component) > 1 or current in graph[current]:
                    components.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components)


def cycle_path(graph, component):
    """One concrete cycle through ``component``'s first module, as ``a -> b -> ... -> a``."""
    members = set(component)
    start = component[0]
    # Breadth-first search back to start inside the component.
    previous = {start: None}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & members):
            if nxt == start:
                path = [node]
                while previous[path[-1]] is not None:
                    path.append(previous[path[-1]])
                return " -> ".join(reversed(path)) + f" -> {start}"
            if nxt not in previous:
                previous[nxt] = node
                queue.append(nxt)
    return " <-> ".join(component)


def subpackage(module):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def layering_violations(graph):
    """``["a -> b (x may not import y)", ...]`` for every edge across a forbidden boundary."""
    problems = []
    for module in sorted(graph):
        source = subpackage(module)
        for target in sorted(graph[module]):
            dest = subpackage(target)
            if source is None or dest is None or source == dest:
                continue
            if dest not in ALLOWED[source]:
                problems.append(f"{module} -> {target} ({source} may not import {dest})")
    return problems


# --- the checks on gi_tf ------------------------------------------------------------------


def test_every_subpackage_has_a_layer():
    found = {subpackage(m) for m in module_files()} - {None}
    assert found == set(ALLOWED), (
        f"subpackages without a layer: {sorted(found - set(ALLOWED))}; layers without a "
        f"subpackage: {sorted(set(ALLOWED) - found)} (update ALLOWED and WORKSPACE.md)")


@pytest.mark.smoke
def test_root_package_imports_nothing_at_import_time():
    lazy, eager = facade_names()
    assert eager == [], f"gi_tf/__init__.py imports at import time: {eager}"
    assert lazy, "expected the lazy gi_tf.Inpainter (update this test if it went away)"


@pytest.mark.smoke
def test_no_import_cycles():
    graph = import_graph()
    cycles = find_cycles(graph)
    assert not cycles, "import cycles in gi_tf:\n" + "\n".join(
        "  " + cycle_path(graph, c) for c in cycles)


@pytest.mark.smoke
def test_layering_rule():
    problems = layering_violations(import_graph())
    assert not problems, ("imports against the dependency rule (WORKSPACE.md section 1):\n"
                          + "\n".join("  " + p for p in problems))


def test_graph_sees_function_level_and_relative_imports(tmp_path):
    # The graph builder itself, on a small package: a lazy import inside a function, a
    # relative import, `from pkg import submodule`, import_module, the parent-package edge
    # (from outside the package only) and a re-exporting __init__ (no cycle).
    pkg = tmp_path / "toy"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("from toy.sub.c import g\n")
    (pkg / "a.py").write_text("def f():\n    from toy.sub import b\n")
    (pkg / "sub" / "b.py").write_text("from ..a import f\n")
    (pkg / "sub" / "c.py").write_text("import importlib\n\n\ndef g():\n"
                                      "    importlib.import_module('toy.sub.d')\n")
    (pkg / "sub" / "d.py").write_text("from toy import a\n")
    modules = module_files(str(pkg))
    assert set(modules) == {"toy", "toy.a", "toy.sub", "toy.sub.b", "toy.sub.c", "toy.sub.d"}
    graph = {m: with_parent_packages(m, imported_modules(m, p, modules, {}), modules)
             for m, p in modules.items()}
    assert graph["toy.a"] == {"toy.sub", "toy.sub.b"}
    assert graph["toy.sub"] == {"toy.sub.c"}
    assert graph["toy.sub.b"] == {"toy.a"}
    assert graph["toy.sub.c"] == {"toy.sub.d"}
    assert graph["toy.sub.d"] == {"toy.a"}
    assert find_cycles(graph) == [["toy.a", "toy.sub", "toy.sub.b", "toy.sub.c", "toy.sub.d"]]
    assert cycle_path(graph, ["toy.a", "toy.sub.b"]) == "toy.a -> toy.sub.b -> toy.a"


def test_layering_check_flags_an_upward_import():
    graph = {"gi_tf.layers.x": {"gi_tf.models.y"}, "gi_tf.models.y": {"gi_tf.layers.x"},
             "gi_tf.data.z": {"gi_tf.ops.s", "gi_tf.utils.t"}, "gi_tf.ops.s": set(),
             "gi_tf.utils.t": {"gi_tf.ops.s"}}
    assert layering_violations(graph) == [
        "gi_tf.layers.x -> gi_tf.models.y (layers may not import models)",
        "gi_tf.utils.t -> gi_tf.ops.s (utils may not import ops)",
    ]
