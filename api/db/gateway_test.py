"""The gateway holds the service's SQL, and no SQL is assembled from request data: every
statement it sends is a constant with a placeholder per value."""

import ast
from pathlib import Path

API = Path(__file__).parents[1]
GATEWAY = Path(__file__).parent / "gateway.py"

# The calls that send a statement, and where its (statement, values) arguments are: the pool's
# own, and the gateway's _read(statement, values, ...), _write(statement, values, (re-read statement,
# id)) and _revalidated(statement, statement if modified, values, ...), the second with a version more.
CALLS = {
    "fetch_value": (0, 1),
    "fetch_values": (0, 1),
    "fetch_row": (0, 1),
    "_read": (0, 1),
    "_write": (0, 1),
    "_revalidated": (0, 2),
}


def database_calls(path: Path) -> list[tuple[ast.expr, ast.expr, int]]:
    """(statement, values, line) of each call in `path`, module-level string constants resolved."""
    tree = ast.parse(path.read_text())
    constants = {
        node.targets[0].id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and isinstance(node.value, ast.Constant)
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CALLS:
            statement_at, values_at = CALLS[node.func.attr]
            pairs = [(node.args[statement_at], node.args[values_at])]
            if node.func.attr == "_write" and len(node.args) > 2:  # the re-read: (statement, id)
                reread = node.args[2]
                assert isinstance(reread, ast.Tuple), f"{path.name}:{node.lineno}"
                pairs.append((reread.elts[0], ast.Tuple(elts=reread.elts[1:])))
            if node.func.attr == "_revalidated":  # the statement if modified: the values and a version
                values = node.args[values_at]
                assert isinstance(values, ast.Tuple), f"{path.name}:{node.lineno}"
                pairs.append((node.args[1], ast.Tuple(elts=[*values.elts, ast.Constant(None)])))
            for statement, values in pairs:
                if isinstance(statement, ast.Name):
                    statement = constants.get(statement.id, statement)
                found.append((statement, values, node.lineno))
    return found


def test_every_statement_is_a_string_constant_with_placeholders_for_values():
    calls = [(GATEWAY.name, *call) for call in database_calls(GATEWAY)]

    assert len(calls) >= 14  # one per SQL function, at least
    for name, statement, values, line in calls:
        if isinstance(statement, ast.Name) and statement.id in ("statement", "read", "if_modified"):
            continue  # the gateway's own helpers, passing on what the methods above them gave
        assert isinstance(statement, ast.Constant) and isinstance(statement.value, str), f"{name}:{line}"
        assert statement.value.startswith("SELECT "), f"{name}:{line}"
        placeholders = statement.value.count("%s")
        assert isinstance(values, ast.Tuple) and len(values.elts) == placeholders, f"{name}:{line}"


def test_no_module_outside_the_database_layer_holds_sql():
    outside = [
        p for p in API.rglob("*.py") if "db" not in p.relative_to(API).parts[:1] and not p.name.endswith("_test.py")
    ]
    offenders = []
    for path in outside:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and node.value.lstrip().startswith("SELECT ")
            ):
                offenders.append(f"{path.relative_to(API)}:{node.lineno}")

    assert len(outside) > 20
    assert offenders == []
