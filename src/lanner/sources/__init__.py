"""Log sources: find the files, frame them into verbatim record texts (plain or gzip).

Framing never parses records on the JSON-lines path; classification and normalization to the
event schema happen in `lanner.normalize` (DuckDB SQL).
"""

from lanner.sources.files import iter_files
from lanner.sources.framing import RECORDS_SCHEMA, Framed, frame_file

__all__ = ["RECORDS_SCHEMA", "Framed", "frame_file", "iter_files"]
