"""The API's JSON parser: DRF's, refusing bodies nested too deep with a 400.

Its own module, not ``opsai.api``: DRF imports the parser classes while it defines
``APIView``, so this module must not import ``rest_framework.views`` (``opsai.api`` does).
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions
from rest_framework.parsers import JSONParser

# A request body nested deeper than this is refused: no opsai payload needs more than
# four levels, and Python's json module raises RecursionError near 1,000 (a 500).
MAX_JSON_DEPTH = 32


def json_depth_exceeds(data: Any, limit: int) -> bool:
    """Whether ``data`` nests lists or objects more than ``limit`` deep (walked without recursion)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > limit:
                return True
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children)
    return False


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, refusing bodies nested deeper than ``MAX_JSON_DEPTH`` with a 400."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError(self._too_deep) from None
        if json_depth_exceeds(data, MAX_JSON_DEPTH):
            raise exceptions.ParseError(self._too_deep)
        return data

    _too_deep = f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep."
