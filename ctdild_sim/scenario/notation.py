"""How a number or a name is written for people: one notation for cells, shares, quantities of any
size, and identifiers ("I2_ild_pathway" -> "I2 ILD pathway").

Below every layer that writes a number into text (the learned assumptions' "planned" and "what
the records say", the views' tables), so a figure reads the same wherever it appears;
``views.columns`` formats table columns with these.
"""

from __future__ import annotations

import math

import pandas as pd


def missing(value: object) -> bool:
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def fmt_share(p: object) -> str:
    """A fraction as a percentage: 0.1234 -> "12.3%" (0 and 1 exactly: "0%", "100%")."""
    if missing(p):
        return ""
    p = float(p)
    if p in (0.0, 1.0):
        return f"{p:.0%}"
    return f"{p:.1%}" if abs(p) >= 0.001 else f"{p:.2%}"


SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def fmt_cells(x: object) -> str:
    """A number of cells: 1.92e9 -> "1.92 × 10⁹"."""
    if missing(x):
        return ""
    x = float(x)
    if x == 0 or not math.isfinite(x):
        return f"{x:g}"
    exponent = math.floor(math.log10(abs(x)))
    return f"{x / 10**exponent:.2f} × 10{str(exponent).translate(SUPERSCRIPTS)}"


def fmt_quantity(x: object, signed: bool = False) -> str:
    """A number of any size to 3 significant digits, never in e-notation: 0.956, -0.00765,
    1,250, 1.92 × 10⁹ (past a million or below a thousandth, as cells are written)."""
    if missing(x):
        return ""
    v = float(x)
    sign = "+" if signed and v > 0 else ""
    if v == 0 or not math.isfinite(v):
        return f"{sign}{v:g}"
    if abs(v) >= 1e6 or abs(v) < 1e-3:
        return sign + fmt_cells(v)
    digits = max(0, 2 - math.floor(math.log10(abs(v))))
    text = f"{v:,.{digits}f}"
    return sign + (text.rstrip("0").rstrip(".") if "." in text else text)


ACRONYMS = {"ild": "ILD", "ctd": "CTD", "sle": "SLE", "hiv": "HIV", "aids": "AIDS", "got": "GOT", "gpt": "GPT"}
"""Words an identifier writes in lower case that people write in capitals."""


def fmt_name(x: object) -> str:
    """An identifier as people read it: "I2_ild_pathway" -> "I2 ILD pathway" (the identifier is
    what records and ranges files write; tables and charts show this)."""
    if missing(x):
        return ""
    return " ".join(ACRONYMS.get(word, word) for word in str(x).split("_") if word)
