"""Importing a district's base data (grid, buildings, units, houses, residents) from .xlsx/.csv.

The format is documented in docs/import-format.md and declared once in `layout`. Modules, in the
order data flows through them:

    reader    stream rows from .xlsx (openpyxl read-only) and .csv; find each sheet's header
    layout    the sheets and columns, Chinese headers and English aliases
    cells     one cell -> clean text, level, date
    rows      one row -> GridRow / RosterRow, or its FieldErrors
    grids     grid nodes, created level by level, matched by code
    places    buildings, units, houses, matched by natural key from a preloaded index
    people    residents matched by ID number; bindings closed and opened on a move
    roster    the roster loop: validate, de-duplicate, write in chunks
    run       import_grid: grid first, then roster
    template  the empty template with instructions
    report    ImportReport and RowError
    keys      deterministic ids for grid nodes and places
    feed      ChangeSink: how created/changed records reach the sync change feed
"""

from sync_server.importer.feed import ChangeSink
from sync_server.importer.report import ImportReport, RowError
from sync_server.importer.run import import_grid
from sync_server.importer.template import write_template

__all__ = ["ChangeSink", "ImportReport", "RowError", "import_grid", "write_template"]
