"""The migration engine behind `migrations.py`: files, catalog, and inspect/apply.

    files.py    what the checkout holds: migration and function files, split into statements
    catalog.py  what the database holds: the `migrations` table and the live functions
    engine.py   the two compared (inspect) and brought in line (up)

It prints nothing: callers pass `say` for progress lines (`migrations.py`, the CLI, passes print).
"""
