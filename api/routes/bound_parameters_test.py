"""No SQL is assembled from request data: every statement the routes send is a constant."""

import ast
from pathlib import Path

ROUTES = sorted(p for p in Path(__file__).parent.glob("*.py") if not p.name.endswith("_test.py"))


# The calls that send a statement, and where its (statement, values) arguments are: the pool's
# own, and api.conditional.write(db, statement, values, (re-read statement, id)).
CALLS = {"fetch_value": (0, 1), "fetch_values": (0, 1), "fetch_row": (0, 1), "write": (1, 2)}


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
            if node.func.attr == "write":  # the re-read: (statement, id)
                reread = node.args[3]
                assert isinstance(reread, ast.Tuple), f"{path.name}:{node.lineno}"
                pairs.append((reread.elts[0], ast.Tuple(elts=reread.elts[1:])))
            for statement, values in pairs:
                if isinstance(statement, ast.Name):
                    statement = constants.get(statement.id, statement)
                found.append((statement, values, node.lineno))
    return found


def test_every_statement_is_a_string_constant_with_placeholders_for_values():
    calls = [(path.name, *call) for path in ROUTES for call in database_calls(path)]

    assert len(calls) >= 14  # one per operation, at least
    for name, statement, values, line in calls:
        assert isinstance(statement, ast.Constant) and isinstance(statement.value, str), f"{name}:{line}"
        assert statement.value.startswith("SELECT "), f"{name}:{line}"
        placeholders = statement.value.count("%s")
        assert isinstance(values, ast.Tuple) and len(values.elts) == placeholders, f"{name}:{line}"
