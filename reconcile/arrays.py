"""Arrow arrays from a block of records, without ``pa.array``.

``pa.array`` on a Python list or a NumPy array imports pandas the first time it
runs (pyarrow asks whether the object is a pandas one), and pandas costs the
process about 44 MB of resident memory it never gives back: a tenth of what the
run may hold beside DuckDB's 1 GB at a large night's peak (issue 16).  Strings
go through Arrow's own builder, numbers and masks are wrapped as buffers.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def texts(values: list, large: bool = False) -> pa.Array:
    """A string array of ``values``: str or None (anything else raises TypeError)."""
    builder = pa.lib.StringBuilder()
    builder.append_values(values)
    array = builder.finish()
    return array.cast(pa.large_string()) if large else array


def int64s(values: np.ndarray | list) -> pa.Array:
    """An int64 array without nulls."""
    data = np.ascontiguousarray(values, np.int64)
    return pa.Array.from_buffers(pa.int64(), len(data), [None, pa.py_buffer(data)])


def mask(values: np.ndarray) -> pa.Array:
    """A boolean array without nulls, for ``filter``."""
    bits = np.packbits(np.asarray(values, bool), bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(bits)])
