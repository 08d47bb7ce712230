"""No SQL is assembled from request data: every statement the routes send is a constant."""

import ast
from pathlib import Path

ROUTES = sorted(p for p in Path(__file__).parent.glob("*.py") if not p.name.endswith("_test.py"))


def database_calls(path: Path) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in {"fetch_value", "fetch_values"}
    ]


def test_every_statement_is_a_string_constant_with_placeholders_for_values():
    calls = [(path.name, call) for path in ROUTES for call in database_calls(path)]

    assert len(calls) >= 7  # one per operation, at least
    for name, call in calls:
        statement = call.args[0]
        assert isinstance(statement, ast.Constant) and isinstance(statement.value, str), f"{name}:{call.lineno}"
        assert statement.value.startswith("SELECT "), f"{name}:{call.lineno}"
        placeholders = statement.value.count("%s")
        values = call.args[1]
        assert isinstance(values, ast.Tuple) and len(values.elts) == placeholders, f"{name}:{call.lineno}"
