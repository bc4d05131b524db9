"""Other names for what a question asks about, in the words documents use for it.

A question says "income statement", "P&L" or "PP&E"; a filing prints "Consolidated Statements of
Earnings" and "Property and equipment, net". Stemming cannot bridge that, and a sentence
embedder trained on web text bridges it only loosely, so the keyword search also looks for the
standard names of the same thing. The groups are accounting's and reporting's own vocabulary
(the names financial statements and their line items go by, and their usual abbreviations), not
the wording of any particular document.
"""

from __future__ import annotations

import re

# Each group: names of one thing. A question using one of them is also matched against the others.
GROUPS: tuple[tuple[str, ...], ...] = (
    (
        "income statement",
        "statement of income",
        "statements of income",
        "statement of operations",
        "statements of operations",
        "statement of earnings",
        "statements of earnings",
        "profit and loss",
        "p&l",
    ),
    (
        "balance sheet",
        "balance sheets",
        "statement of financial position",
        "statements of financial position",
        "statement of financial condition",
    ),
    (
        "cash flow statement",
        "statement of cash flows",
        "statements of cash flows",
    ),
    (
        "statement of shareholders equity",
        "statement of stockholders equity",
        "statements of shareholders equity",
        "statements of stockholders equity",
        "statements of equity",
        "statement of changes in equity",
    ),
    ("pp&e", "property and equipment", "property, plant and equipment"),
    ("cogs", "cost of goods sold", "cost of sales", "cost of revenue", "cost of revenues"),
    (
        "capex",
        "capital expenditure",
        "capital expenditures",
        "purchases of property and equipment",
        "additions to property and equipment",
    ),
    ("eps", "earnings per share", "net income per share"),
    ("sg&a", "selling, general and administrative"),
    ("r&d", "research and development"),
    ("d&a", "depreciation and amortization"),
    ("net income", "net earnings", "net profit"),
    ("operating income", "operating profit", "earnings from operations", "income from operations"),
    ("revenue", "revenues", "net sales", "total net sales"),
    ("share repurchase", "share repurchases", "repurchase of common stock", "stock buyback"),
    ("headcount", "workforce", "employees"),
)

_NAMES: dict[str, tuple[str, ...]] = {name: group for group in GROUPS for name in group}
_PATTERN = re.compile(
    r"(?<![\w&])("
    + "|".join(re.escape(name) for name in sorted(_NAMES, key=len, reverse=True))
    + r")(?![\w&])"
)


def _normalised(text: str) -> str:
    # Apostrophes and spaced ampersands vary: “shareholders’ equity”, “P & L”.
    text = re.sub(r"['’]", "", text.lower())
    return re.sub(r"\s*&\s*", "&", text)


def other_names(query: str) -> list[str]:
    """The names, besides those it uses, of each thing ``query`` names; first mention first."""
    found: dict[str, None] = {}
    used: set[str] = set()
    for match in _PATTERN.finditer(_normalised(query)):
        name = match.group(1)
        used.add(name)
        for other in _NAMES[name]:
            found.setdefault(other, None)
    return [name for name in found if name not in used]
