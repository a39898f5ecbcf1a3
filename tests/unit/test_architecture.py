"""The house rules, read off the source with ``ast``: imports point one way, and nothing imports in a circle.

Rooms of ``shared/`` (README "Architecture") and what each may import of tdkt:
contract → nothing; law → contract; platform → contract, law; devtools → contract, platform;
cli → contract, law, platform, devtools; services → contract, law, platform (never cli or devtools,
never another service). Every import counts, those inside functions too.
"""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {
    "shared.contract": {"shared.contract"},
    "shared.law": {"shared.contract", "shared.law"},
    "shared.platform": {"shared.contract", "shared.law", "shared.platform"},
    "shared.devtools": {"shared.contract", "shared.platform", "shared.devtools"},
    "shared.cli": {"shared.contract", "shared.law", "shared.platform", "shared.devtools", "shared.cli"},
}


def modules() -> dict[str, Path]:
    found = {}
    for top in ("shared", "services"):
        for path in (ROOT / top).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports(path: Path, known: set[str]) -> set[str]:
    """The project modules ``path`` imports (``from a import b`` counts as ``a.b`` when that is a module)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                found.add(f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}" in known else node.module)
    return {name for name in found if name in known}


GRAPH = {name: imports(path, set(modules())) for name, path in modules().items()}


def room(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == "shared" and len(parts) > 1 else ".".join(parts[:2])


def test_nothing_in_shared_imports_a_service():
    offenders = {m: sorted(i for i in imported if i.startswith("services"))
                 for m, imported in GRAPH.items() if m.startswith("shared")}
    assert {m: i for m, i in offenders.items() if i} == {}


def test_each_room_of_shared_imports_only_what_it_may():
    wrong = {}
    for module, imported in GRAPH.items():
        if module.startswith("shared.") and room(module) in ALLOWED:
            bad = sorted(i for i in imported if i != "shared" and room(i) not in ALLOWED[room(module)])
            if bad:
                wrong[module] = bad
    assert wrong == {}


def test_services_use_contract_law_and_platform_but_not_the_command_line_or_each_other():
    wrong = {}
    for module, imported in GRAPH.items():
        if module.startswith("services."):
            own = room(module)
            bad = sorted(i for i in imported if room(i) in ("shared.cli", "shared.devtools")
                         or (i.startswith("services.") and room(i) != own))
            if bad:
                wrong[module] = bad
    assert wrong == {}


def test_no_module_imports_itself_through_others():
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(node):  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in GRAPH.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    assert cycles == []


def test_the_graph_sees_the_imports_it_checks():
    """The checks above would pass on an empty graph: show that they read real edges."""
    assert "shared.platform.messaging" in GRAPH["shared.platform.store"]
    assert "shared.cli.app" in GRAPH["shared.cli.review"]
    assert "shared.contract.schemas" in GRAPH["services.review.service"]


def test_every_module_over_250_lines_says_why_at_its_top():
    long = []
    for top in ("shared", "services", "tests"):
        for path in (ROOT / top).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if text.count("\n") > 250 and "Long because" not in text[:1500]:
                long.append(str(path.relative_to(ROOT)))
    assert long == []
