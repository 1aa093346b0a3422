"""Reading the files file-backed datamodules train on: CSV, Parquet and JSONL tables.

Every problem with a file ends in one ``DataFileError`` line that names the file, the line or
row, and what to fix, instead of a traceback from deep inside a parser.

- CSV: standard quoting (fields with commas, quotes or line breaks inside double quotes),
  UTF-8 with or without a byte-order mark, any delimiter given; every row must have as many
  fields as the header.
- Parquet: needs the ``parquet`` extra (pyarrow).
- JSONL: one JSON object per line; blank lines are skipped.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import DataFileError

if TYPE_CHECKING:
    from torch import Tensor

TABLE_SUFFIXES = (".csv", ".tsv", ".parquet", ".pq", ".jsonl", ".ndjson")


@dataclass(frozen=True)
class Table:
    """Named columns of values, and where each row came from (for messages)."""

    source: Path
    columns: list[str]
    rows: list[list[Any]]
    locations: list[str]  # "line 7" (CSV, JSONL) or "row 7" (Parquet), one per row

    def column(self, name: str, key: str = "data.target") -> list[Any]:
        """Return the values of column ``name``; ``DataFileError`` naming the columns there are."""
        if name not in self.columns:
            raise DataFileError(
                self.source,
                f"there is no column {name!r} (columns: {', '.join(self.columns)})",
                f"set {key} to one of them",
            )
        index = self.columns.index(name)
        return [row[index] for row in self.rows]


def existing(path: str | Path, key: str = "data.path") -> Path:
    """Return ``path`` when it exists; else a ``DataFileError`` saying which setting to fix."""
    found = Path(str(path)).expanduser()
    if not found.exists():
        raise DataFileError(found, "does not exist", f"set {key} to your data")
    return found


def read_table(path: str | Path, *, delimiter: str = ",", key: str = "data.path") -> Table:
    """Read a CSV (or TSV), Parquet or JSONL file as a table; the format follows the suffix."""
    source = existing(path, key)
    if source.is_dir():
        raise DataFileError(
            source, "is a folder", f"set {key} to a {', '.join(TABLE_SUFFIXES)} file"
        )
    suffix = source.suffix.lower()
    if suffix in (".parquet", ".pq"):
        return read_parquet(source)
    if suffix in (".jsonl", ".ndjson"):
        records = read_jsonl(source)
        columns = list(dict.fromkeys(name for _, record in records for name in record))
        rows = [[record.get(name) for name in columns] for _, record in records]
        return Table(source, columns, rows, [location for location, _ in records])
    return read_csv(source, delimiter="\t" if suffix == ".tsv" else delimiter)


def read_csv(source: Path, *, delimiter: str = ",") -> Table:
    """Read a delimited text file whose first row names the columns."""
    rows: list[list[Any]] = []
    locations: list[str] = []
    try:
        with source.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=delimiter, strict=True)
            header = next(reader, None)
            if not header:
                raise DataFileError(source, "is empty", "add a header row and data rows")
            columns = [name.strip() for name in header]
            for row in reader:
                if not row or all(not field.strip() for field in row):
                    continue  # a blank line
                if len(row) != len(columns):
                    raise DataFileError(
                        source,
                        f"has {len(row)} fields where the header has {len(columns)}",
                        "quote fields that contain the delimiter, or fix the row",
                        where=f"line {reader.line_num}",
                    )
                rows.append(row)
                locations.append(f"line {reader.line_num}")
    except UnicodeDecodeError as error:
        raise DataFileError(
            source, f"is not UTF-8 text ({error.reason} at byte {error.start})", "save it as UTF-8"
        ) from None
    except csv.Error as error:
        raise DataFileError(
            source, f"cannot be parsed as CSV ({error})", "fix its quoting"
        ) from None
    return Table(source, columns, rows, locations)


def read_parquet(source: Path) -> Table:
    """Read a Parquet file (needs pyarrow, the project's ``parquet`` extra)."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise DataFileError(
            source, "is Parquet, which needs pyarrow", "install it: uv sync --extra parquet"
        ) from None
    try:
        table = pq.read_table(source)
    except Exception as error:  # pyarrow raises its own error types for broken files
        raise DataFileError(
            source, f"cannot be read as Parquet ({error})", "check the file"
        ) from None
    columns = [str(name) for name in table.column_names]
    data = table.to_pydict()
    rows = [list(values) for values in zip(*(data[name] for name in columns), strict=True)]
    return Table(source, columns, rows, [f"row {index + 1}" for index in range(len(rows))])


def read_jsonl(source: Path) -> list[tuple[str, dict[str, Any]]]:
    """Read one JSON object per line; return ``(location, object)`` pairs."""
    records = []
    try:
        with source.open(encoding="utf-8-sig") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    record = json.loads(line)
                except json.JSONDecodeError as error:
                    raise DataFileError(
                        source,
                        f"is not JSON ({error.msg})",
                        "write one object per line",
                        where=f"line {number}",
                    ) from None
                if not isinstance(record, dict):
                    raise DataFileError(
                        source,
                        "holds a JSON value that is not an object",
                        "write one object per line",
                        where=f"line {number}",
                    )
                records.append((f"line {number}", record))
    except UnicodeDecodeError as error:
        raise DataFileError(
            source, f"is not UTF-8 text ({error.reason})", "save it as UTF-8"
        ) from None
    return records


def as_number(value: Any, table: Table, row: int, column: str) -> float:
    """Return a numeric field as a float; ``DataFileError`` naming the row and column otherwise."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        raise DataFileError(
            table.source,
            f"column {column!r} holds {value!r}, which is not a number",
            "fix the value, or list the column in data.categorical",
            where=table.locations[row],
        ) from None


def numeric_columns(table: Table, columns: Sequence[str]) -> Tensor:
    """Return ``columns`` as a float64 tensor ``(rows, columns)``; a non-number names its row."""
    import torch

    positions = [table.columns.index(c) for c in columns]
    values = [
        [as_number(row[p], table, r, c) for p, c in zip(positions, columns, strict=True)]
        for r, row in enumerate(table.rows)
    ]
    return torch.tensor(values, dtype=torch.float64).reshape(len(table.rows), len(columns))


def files_with_suffixes(folder: Path, suffixes: Sequence[str]) -> list[Path]:
    """Return the files below ``folder`` with one of ``suffixes`` (any case), sorted by path."""
    wanted = tuple(suffix.lower() for suffix in suffixes)
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in wanted)


def unique_in_order(values: Iterable[Any]) -> list[Any]:
    """Return the distinct values, in the order they first appear."""
    return list(dict.fromkeys(values))
