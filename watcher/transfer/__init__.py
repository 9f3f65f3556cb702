"""Full, versioned export of the database to JSON lines and its restore into an empty database.

The format (``cluster-watch-export`` version 1) is one JSON object per line: a header naming the
format, version, schema revision and tables; then ``{"table": ..., "row": {...}}`` per row, tables
in foreign-key order; then a trailer with row counts, so a truncated file is detected. Values use
plain JSON: timestamps and dates as ISO 8601, binary columns (stored messages) as base64. Because
tables are read and written through reflection, not the models, the same code moves any schema
revision between SQLite and PostgreSQL.
"""

from watcher.transfer.dump import FORMAT, VERSION, export_database
from watcher.transfer.restore import TransferError, import_database

__all__ = ["FORMAT", "VERSION", "TransferError", "export_database", "import_database"]
