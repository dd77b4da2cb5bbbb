"""Tables of results: one renderer to aligned text and to markdown, one per-layer report base.

:class:`winit.StatsTable`, :class:`winit.LSUVReport` and :class:`winit.Diagnosis`
format their cells with :func:`cell` and lay them out with a :class:`Table`
(``str()``: :meth:`Table.text`, ``to_markdown()``: :meth:`Table.markdown`); the
two per-layer reports share :class:`LayerReport` (iteration, length, lookup by
position or name).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Generic, Protocol, TypeVar

__all__ = ["LayerReport", "Table", "cell"]


class _Named(Protocol):
    @property
    def layer(self) -> str: ...


Row = TypeVar("Row", bound=_Named)


def cell(value: Any, digits: int = 6) -> str:
    """Text of one table cell.

    Parameters
    ----------
    value : object
        ``None`` gives ``"-"``; a float (also ``numpy.float64``) is written with
        ``digits`` significant digits (``"g"`` format); a tuple (a shape) as
        Python writes a tuple of ints, ``"(64, 32)"``, ``"(3,)"``, whatever the
        element types (numpy integers included); anything else with ``str``.
    digits : int, default 6
        Significant digits of floats.

    Returns
    -------
    str
    """
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    if isinstance(value, tuple):
        return "(" + ", ".join(str(x) for x in value) + ("," if len(value) == 1 else "") + ")"
    return str(value)


class Table:
    """Formatted cells under a header, rendered as an aligned text table or as markdown.

    :meth:`text` (also ``str()``) is a fixed-width table: the header line, a
    rule of dashes as wide as each column, then one line per row; columns are
    as wide as their widest cell (header included), separated by two spaces,
    and the first ``left`` are aligned left (names, shapes), the others right
    (numbers); trailing spaces are stripped. :meth:`markdown` is a
    GitHub-flavoured table with the same alignment (delimiter ``---`` for the
    first ``left`` columns, ``---:`` for the others) and every ``|`` in a cell
    written ``\\|`` so that it does not split the cell. Both are lines joined by
    ``"\\n"``, without a final newline.

    Parameters
    ----------
    header : sequence of str
        Column titles.
    rows : sequence of sequence of str
        Formatted cells (see :func:`cell`), ``len(header)`` per row.
    left : int, default 1
        Number of leading columns aligned left.

    Raises
    ------
    ValueError
        If a row has not ``len(header)`` cells.
    """

    def __init__(self, header: Sequence[str], rows: Sequence[Sequence[str]], *,
                 left: int = 1) -> None:
        for i, row in enumerate(rows):
            if len(row) != len(header):
                raise ValueError(f"row {i} has {len(row)} cells, the header {len(header)}")
        self.header = list(header)
        self.rows = [list(r) for r in rows]
        self.left = left

    def text(self) -> str:
        """The aligned fixed-width text table.

        Returns
        -------
        str
        """
        widths = [max(len(r[j]) for r in [self.header, *self.rows])
                  for j in range(len(self.header))]

        def line(cells: Sequence[str]) -> str:
            return "  ".join(c.ljust(w) if j < self.left else c.rjust(w)
                             for j, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

        return "\n".join([line(self.header), line(["-" * w for w in widths]),
                          *map(line, self.rows)])

    def markdown(self) -> str:
        """The markdown table.

        Returns
        -------
        str
        """

        def line(cells: Sequence[str]) -> str:
            return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

        align = ["---" if j < self.left else "---:" for j in range(len(self.header))]
        return "\n".join([line(self.header), "|" + "|".join(align) + "|",
                          *map(line, self.rows)])

    __str__ = text


class LayerReport(Generic[Row]):
    """Rows of a per-layer result, in call order (base of ``LSUVReport`` and ``Diagnosis``).

    Iterable, sized, and indexable by position or by layer name: each row has
    a ``layer`` attribute ``"<index path>:<class name>"``, and ``report["3"]``
    and ``report["3:Linear"]`` both give that row. Subclasses define
    ``_table()`` (a :class:`Table` of the rows); :meth:`to_markdown` renders it.

    Parameters
    ----------
    rows : iterable
        The rows (copied into a list, :attr:`rows`).
    """

    def __init__(self, rows) -> None:
        self.rows: list[Row] = list(rows)

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, i: int | str) -> Row:
        if isinstance(i, str):
            for r in self.rows:
                if r.layer == i or r.layer.split(":")[0] == i:
                    return r
            raise KeyError(i)
        return self.rows[i]

    def _table(self) -> Table:  # pragma: no cover - abstract
        """The rows as a :class:`Table`, one row per layer."""
        raise NotImplementedError

    def to_markdown(self) -> str:
        """A markdown table, one row per layer (numbers aligned right)."""
        return self._table().markdown()
