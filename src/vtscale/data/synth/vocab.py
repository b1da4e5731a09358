"""The closed vocabulary of the demo world: shapes, colours, words, place names."""

from __future__ import annotations

# Small on purpose: a from-scratch fusion module learns a colour-and-kind lookup over 4 x 4
# names in about a thousand steps on two CPU cores, and not within several thousand over
# 6 x 5 (docs/experiments.md). Skewed frequencies make POPE's "popular" negatives differ
# from "random" ones.
KINDS = {"circle": 0.35, "square": 0.3, "triangle": 0.2, "star": 0.15}
PLURALS = {"circle": "circles", "square": "squares", "triangle": "triangles", "star": "stars"}
COLORS = {
    "red": ((215, 38, 38), 0.3),
    "blue": ((35, 80, 215), 0.3),
    "green": ((30, 150, 55), 0.2),
    "yellow": ((235, 195, 20), 0.2),
}
SIZES = ("small", "large")
BACKGROUNDS = ((250, 250, 250), (236, 236, 236), (245, 240, 228), (232, 238, 245))
TEXT_COLOR = (20, 20, 20)

# Short common words that are neither colour nor shape names, three letters so that
# each fits one grid cell at the demo's font size.
WORDS = ("cat", "dog", "sun", "map", "box", "cup", "hat", "key", "pen", "bus", "car", "egg")

NUMBER_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen")

# The 4x4 grid folds into a 3x3 set of named regions: row 0 top, rows 1-2 middle, row 3 bottom.
REGIONS = ("top left", "top", "top right", "left", "center", "right",
           "bottom left", "bottom", "bottom right")
REGION_PHRASES = {
    "top left": "in the top left", "top": "at the top", "top right": "in the top right",
    "left": "on the left", "center": "in the center", "right": "on the right",
    "bottom left": "in the bottom left", "bottom": "at the bottom",
    "bottom right": "in the bottom right",
}


def _band(i: int, grid: int = 4) -> int:
    return 0 if i == 0 else 2 if i == grid - 1 else 1


def region(cell: tuple[int, int] | list[int]) -> str:
    row, col = cell
    return REGIONS[3 * _band(row) + _band(col)]


def region_phrase(cell) -> str:
    return REGION_PHRASES[region(cell)]


def plural(kind: str, n: int) -> str:
    return kind if n == 1 else PLURALS.get(kind, kind + "s")


def number_word(n: int) -> str:
    return NUMBER_WORDS[n] if n < len(NUMBER_WORDS) else str(n)


def article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def with_article(name: str) -> str:
    """``name`` after its indefinite article: "an orange circle"."""
    return f"{article(name)} {name}"
