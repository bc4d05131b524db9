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
    # A margin is read off its line of the income statement: asked for, the line is searched.
    (
        "operating income",
        "operating profit",
        "earnings from operations",
        "income from operations",
        "operating margin",
    ),
    ("gross margin", "gross profit", "cost of sales", "cost of products", "cost of revenue"),
    ("revenue", "revenues", "net sales", "total net sales"),
    ("share repurchase", "share repurchases", "repurchase of common stock", "stock buyback"),
    ("headcount", "workforce", "employees"),
)

# The statement each figure is read from, by analysts' convention: a question about a margin or
# earnings is answered by the income statement, one about a ratio of assets and liabilities by
# the balance sheet, one about cash by the cash flow statement. The statement's names are then
# searched too, so its page (titled by name, see chunking.page_title) comes forward.
INCOME_STATEMENT = GROUPS[0]
BALANCE_SHEET = GROUPS[1]
CASH_FLOW_STATEMENT = GROUPS[2]
READ_FROM: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (
        (
            "gross margin",
            "operating margin",
            "net margin",
            "profit margin",
            "eps",
            "earnings per share",
            "net income",
            "operating income",
            "gross profit",
        ),
        INCOME_STATEMENT,
    ),
    (
        (
            "current ratio",
            "quick ratio",
            "working capital",
            "total assets",
            "total liabilities",
            "current assets",
            "current liabilities",
            "debt to equity",
            "shareholders equity",
            "stockholders equity",
        ),
        BALANCE_SHEET,
    ),
    (
        (
            "capex",
            "capital expenditure",
            "capital expenditures",
            "free cash flow",
            "operating cash flow",
            "cash from operations",
            "cash flow from operations",
        ),
        CASH_FLOW_STATEMENT,
    ),
)


def _groups_by_name() -> dict[str, tuple[str, ...]]:
    """Each name with every other name of the groups it belongs to (a name may be in two:
    cost of sales is a name of COGS and half of a gross margin)."""
    found: dict[str, dict[str, None]] = {}
    for group in GROUPS:
        for name in group:
            found.setdefault(name, {}).update(dict.fromkeys(group))
    for figures, statement in READ_FROM:
        for name in figures:
            found.setdefault(name, {name: None}).update(dict.fromkeys(statement))
    return {name: tuple(others) for name, others in found.items()}


_NAMES: dict[str, tuple[str, ...]] = _groups_by_name()
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
