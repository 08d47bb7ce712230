"""The house rules for db/functions/, checked on the deployed functions themselves."""

import re
from pathlib import Path

import pytest

from api.db import errors

FUNCTIONS_DIR = Path(__file__).parent
# The interface in public (this folder), the helpers it shares in app_private (a subfolder).
FILES = sorted(FUNCTIONS_DIR.glob("*.sql")) + sorted((FUNCTIONS_DIR / "app_private").glob("*.sql"))
ERROR_TABLE = (FUNCTIONS_DIR.parent / "README.md").read_text()
# condition name -> SQLSTATE, for the conditions the functions raise
CONDITIONS = {
    "unique_violation": "23505",
    "foreign_key_violation": "23503",
    "no_data_found": "P0002",
    "invalid_text_representation": "22P02",
    "null_value_not_allowed": "22004",
    "invalid_parameter_value": "22023",
    "string_data_right_truncation": "22001",
    "program_limit_exceeded": "54000",
    "numeric_value_out_of_range": "22003",
    "dependent_objects_still_exist": "2BP01",
    "PT412": "PT412",  # ours: precondition failed (no condition name)
    "PT410": "PT410",  # ours: the change feed no longer holds what follows that cursor
}


def test_every_function_pins_search_path_states_volatility_and_has_a_comment(rows):
    deployed = rows(
        "SELECT n.nspname, p.proname, p.provolatile, p.proconfig, obj_description(p.oid, 'pg_proc'), p.prosecdef,"
        "       p.prorettype = 'trigger'::regtype"
        "  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " WHERE n.nspname IN ('public', 'app_private')"
    )
    assert {(schema, name) for schema, name, *_ in deployed} == {
        ("app_private" if path.parent.name == "app_private" else "public", path.stem) for path in FILES
    }
    for schema, name, volatility, config, comment, security_definer, is_trigger in deployed:
        assert config == ["search_path=pg_catalog, public, pg_temp"], name
        assert comment and len(comment) > 40, name
        if name.endswith(("_get", "_list")):
            assert volatility == "s", f"{name} reads: STABLE"
        if name.endswith(("_create", "_update")):
            assert volatility == "v", f"{name} writes: VOLATILE"
        # The API's role may not touch the tables: what reaches them runs as the owner.
        # A trigger fires for whoever writes the table, and records the revision as the owner.
        if schema == "public" or is_trigger:
            assert security_definer, f"{name}: SECURITY DEFINER"
        else:  # helpers run with their caller's rights, who is the owner already
            assert not security_definer, f"app_private.{name}: not SECURITY DEFINER"


def test_every_file_says_its_volatility_in_words():
    for path in FILES:
        assert re.search(r"^\s*(IMMUTABLE|STABLE|VOLATILE)\s*$", path.read_text(), re.MULTILINE), path.name


@pytest.mark.parametrize("path", FILES, ids=lambda path: path.stem)
def test_every_raised_code_is_in_the_error_table_and_mapped_by_the_api(path):
    for condition in re.findall(r"ERRCODE = '(\w+)'", path.read_text()):
        code = CONDITIONS[condition]
        assert f"| `{code}` | `{condition}` |" in ERROR_TABLE, (path.name, condition)
        assert code in errors.SQLSTATE_ERRORS or code[:2] in errors.SQLSTATE_ERRORS, code


def test_error_table_lists_no_code_the_functions_do_not_raise():
    raised = {CONDITIONS[c] for p in FILES for c in re.findall(r"ERRCODE = '(\w+)'", p.read_text())}
    documented = set(re.findall(r"^\| `(\w{5})` \|", ERROR_TABLE, re.MULTILINE))

    assert documented == raised
