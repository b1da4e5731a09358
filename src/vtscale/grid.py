"""The grid of (n, m) settings: n fused tokens for the first question, m for each later one."""

from __future__ import annotations

from typing import Any, Mapping


def m_for(n: int, m_default: int) -> int:
    """Tokens for later questions: m = min(m_default, n) (paper: n = 1 gives m = 1)."""
    return min(m_default, n)


def grid_settings(grid: Mapping[str, Any]) -> list[tuple[int, int]]:
    """All (n, m) settings of the grid, in config order."""
    return [(n, m_for(n, grid["m_default"])) for n in grid["n"]]

