"""Geometry of the server-drawn SVG charts on the insight page, and the heat-map shades."""

from dataclasses import dataclass


@dataclass
class Bar:
    label: str
    count: int
    y: int = 0
    width: int = 0
    text_x: int = 0


CHART_BAR_HEIGHT = 28
CHART_GAP = 10
CHART_LABEL_WIDTH = 150
CHART_BAR_SPACE = 300


def heat_level(count: int, students: int) -> int:
    """0 for no citations, then 1..5 by the share of students who cited the passage."""
    if count <= 0 or students <= 0:
        return 0
    return max(1, min(5, -(-count * 5 // students)))
