"""The files the runner applies: `migrations/NNNN_name.sql` and `db/functions/[app_private/]NAME.sql`."""

import functools
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import sqlparse

from settings import PROJECT_ROOT

MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
FUNCTION_NAME = re.compile(r"^[a-z_][a-z0-9_]*\.sql$")
# The schemas whose functions db/functions/ defines, each in its own folder: the interface in
# public (the folder itself), the helpers the functions share in app_private (a subfolder).
PUBLIC_SCHEMA = "public"
PRIVATE_SCHEMA = "app_private"
SCHEMAS = (PUBLIC_SCHEMA, PRIVATE_SCHEMA)


class MigrationError(Exception):
    """A file could not be applied (its step was rolled back), or the files are not as they must be."""


@dataclass(frozen=True)
class SqlFile:
    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @cached_property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

    @cached_property
    def checksum(self) -> str:
        return hashlib.sha256(self.path.read_bytes()).hexdigest()

    def statements(self) -> Iterator[tuple[int, str]]:
        """Each statement with the line it starts on; chunks of comments only are skipped."""
        return iter(_statements(self.text))


@functools.lru_cache(maxsize=1024)
def _statements(text: str) -> tuple[tuple[int, str], ...]:
    """`text` split by sqlparse, which takes 80 % of an `up` (0.3 of 0.38 s measured): the same
    text is split once per process (the tests migrate a database dozens of times)."""
    statements, line = [], 1
    for statement in sqlparse.parse(text):
        chunk = str(statement)
        stripped = chunk.lstrip()
        if sqlparse.format(chunk, strip_comments=True).strip():
            statements.append((line + chunk[: len(chunk) - len(stripped)].count("\n"), stripped))
        line += chunk.count("\n")
    return tuple(statements)


@dataclass(frozen=True)
class FunctionFile(SqlFile):
    """A file that defines the function it is named after, in the schema its folder names."""

    schema: str = PUBLIC_SCHEMA

    @property
    def function(self) -> str:
        """The function's name as the catalog prints it with search_path = public: schema-qualified elsewhere."""
        return self.path.stem if self.schema == PUBLIC_SCHEMA else f"{self.schema}.{self.path.stem}"

    @property
    def record_name(self) -> str:
        """Its name in the `migrations` table: relative to db/functions/ (see `function_of`)."""
        return self.name if self.schema == PUBLIC_SCHEMA else f"{self.schema}/{self.name}"


@dataclass(frozen=True)
class Layout:
    """Where the files live; tests point it at a copy they can edit."""

    migrations_dir: Path = PROJECT_ROOT / "migrations"
    functions_dir: Path = PROJECT_ROOT / "db" / "functions"

    def migrations(self) -> list[SqlFile]:
        files, versions = [], {}
        for path in sorted(self.migrations_dir.glob("*.sql")):
            match = MIGRATION_NAME.match(path.name)
            if match is None:
                raise MigrationError(f"{path.name}: migration files are named NNNN_lower_snake.sql")
            if match[1] in versions:
                raise MigrationError(f"{path.name} and {versions[match[1]]} share version {match[1]}")
            versions[match[1]] = path.name
            files.append(SqlFile(path))
        return files

    def functions(self) -> list[FunctionFile]:
        """Public functions first, then the helpers, each in name order."""
        files = []
        for schema in SCHEMAS:
            folder = self.functions_dir if schema == PUBLIC_SCHEMA else self.functions_dir / schema
            for path in sorted(folder.glob("*.sql")):
                if FUNCTION_NAME.match(path.name) is None:
                    raise MigrationError(f"{path.name}: function files are named after their function, lower_snake.sql")
                files.append(FunctionFile(path, schema))
        return files


def function_of(record_name: str) -> str:
    """The function a `migrations` row names: the inverse of `FunctionFile.record_name`."""
    return record_name.removesuffix(".sql").replace("/", ".")


def version(name: str) -> str:
    return name.split("_", 1)[0]
