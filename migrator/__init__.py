"""The migration engine behind `migrations.py`: files, catalog, and inspect/apply.

    files.py    what the checkout holds: migration and function files, split into statements
    catalog.py  what the database holds: the `migrations` table and the live functions
    engine.py   the two compared (inspect) and brought in line (up)

It prints nothing: callers pass `say` for progress lines (`migrations.py`, the CLI, passes print).
What the service, the dev tools and the tests use is re-exported here.
"""

from migrator.catalog import BOOTSTRAP
from migrator.engine import (
    SCHEMA_CHANNEL,
    Exit,
    FunctionState,
    MigrationState,
    State,
    connect,
    inspect,
    migrate,
    up,
)
from migrator.files import Layout, MigrationError

__all__ = [
    "BOOTSTRAP",
    "SCHEMA_CHANNEL",
    "Exit",
    "FunctionState",
    "Layout",
    "MigrationError",
    "MigrationState",
    "State",
    "connect",
    "inspect",
    "migrate",
    "up",
]
