"""The JSON nesting bound counts only structural brackets, outside strings."""

from __future__ import annotations

import pytest

from certctl.api.bodies import too_deep


@pytest.mark.parametrize(
    ("body", "deep"),
    [
        (b"[" * 3 + b"]" * 3, False),
        (b"[" * 4 + b"]" * 4, True),
        (b'{"a": {"b": {"c": 1}}}', False),
        (b'{"a": {"b": {"c": {"d": 1}}}}', True),
        (b'["[[[[", "{{{{"]', False),
        (b'["\\"[[[[", "\\\\", [[1]]]', False),
        (b'["\\\\", [[[1]]]]', True),
        (b"[1], [2], [3], [4], [5]", False),
        (b"", False),
        (b"  \n[[[[1]]]]", True),
        (b"\x30\x82" + b"[" * 8, False),
    ],
)
def test_depth_is_counted_outside_strings(body: bytes, deep: bool) -> None:
    """Depth 3 passes a limit of 3, depth 4 does not; brackets in strings never count."""
    assert too_deep(body, 3) is deep
