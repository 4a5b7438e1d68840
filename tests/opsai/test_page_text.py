"""What people read on every page is in their words: no codenames, no Python, no raw numbers.

For each demo role the test opens every page the URL walker finds
(``tests/opsai/test_every_page.py``; the demo is loaded with sequences reset, so the
sample id 1 names a real object) and the detail pages of real demo objects — a use
case in each stage, reviews, workers, incidents, KPIs — and reads the *visible text*
of each page that answers 200 or 403: the text nodes outside ``<script>``, ``<style>``
and ``<template>``, plus the attributes a person sees (``title`` on hover, ``alt``,
``placeholder``, ``aria-label``, a button's ``value``) — and the words of each chart
(the hover and label texts of the plotly figures handed over in ``json_script``: a
hover of "£210600" was one of the things users saw).

The rules, each a regular expression over that text (:data:`RULES`):

- **permission codename**: any name in ``rules.permissions.permissions``
  (``usecases.add_usecase``), as a whole token.
- **Python repr**: the words ``True``/``False`` (capitalised, whole words); ``None``
  after ``:``, ``=``, ``,``, ``(`` or ``[`` (a printed dict, tuple or keyword), or as the
  whole text of an element other than an ``<option>`` (a ``<dd>None</dd>``) — "None" is
  also English ("None." under an empty list, "None — every pilot moved") and a choice
  label, which pass; a list or dict literal with a quoted item
  (``['crm'``, ``{'key'``); ``Decimal(``, ``datetime.``/``date(`` constructors, a
  ``<… object at 0x…>`` or ``<QuerySet``.
- **unformatted amount**: a currency symbol (any of ``opsai.formatting.CURRENCY_SYMBOLS``)
  followed by four or more digits in a row (``£210600``, ``£1234``); or a run of five
  or more digits with no thousands separator that is not part of a word, an id or a
  fraction — i.e. not preceded by a letter, digit, ``#``, ``.``, ``/``, ``-``, ``_`` or
  ``:`` (``#12345``, ``v10000``, ``3.14159``, dates and paths) and not followed by a
  letter or digit, nor a standard's number (``ISO 27001``, ``RFC 9110``). Four-digit
  runs are left alone: they are years (``2026``) as often as amounts, and amounts below
  10,000 are caught by the currency rule.
- **Django's default time**: ``a.m.``/``p.m.`` — the layer's clock is 24-hour, so this is
  a value printed without ``|datetime`` (it gave "5:01 p.m.." before a full stop).
- **count and noun disagreeing**: ``1`` followed by a plural noun the pages count
  (``1 rows``, ``Needs 1 approvals``).

Each failure names the role, the path and the offending snippet with some context.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from opsai.demo import DEMO_USERS, demo_load
from opsai.formatting import CURRENCY_SYMBOLS
from tests.opsai.test_every_page import concrete_paths_for_demo

# Visible without interaction, or on hover / to a screen reader.
VISIBLE_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label"}
HIDDEN_ELEMENTS = {"script", "style", "template", "noscript"}
VOID_ELEMENTS = {
    "area",
    "base",
    "br",
    "col",
    "embed",
    "hr",
    "img",
    "input",
    "link",
    "meta",
    "source",
    "wbr",
}
CONTEXT = 40
# Offences listed per page before "… and N more" (an audit trail of dicts has hundreds).
PER_PAGE = 5


def _permission_rule() -> re.Pattern[str]:
    from rules.permissions import permissions

    names = sorted(permissions.keys(), key=len, reverse=True)
    return re.compile(r"(?<![\w.])(?:" + "|".join(re.escape(name) for name in names) + r")(?!\w)")


WHOLE_NONE = "Python repr (a lone None)"
_SYMBOLS = "|".join(re.escape(symbol.strip()) for symbol in CURRENCY_SYMBOLS.values())
COUNTED_PLURALS = (
    "rows|approvals|scorers|use cases|cases|KPIs|teams|days|items|sheets|reviews|snapshots|"
    "systems|workers|incidents|hours|minutes|points|times|people|users|alerts|files|steps|"
    "sign-offs|changes|releases|tokens|columns|errors|problems"
)

RULES: list[tuple[str, re.Pattern[str]]] = [
    ("Python repr", re.compile(r"\b(?:True|False)\b")),
    ("Python repr", re.compile(r"[:=,(\[]\s*None\b")),
    (WHOLE_NONE, re.compile(r"^None$")),
    ("Python repr", re.compile(r"[\[{]\s*['\"]")),
    ("Python repr", re.compile(r"\bDecimal\(|\bdatetime\.\w+\(|\bdate\(\d|object at 0x|<QuerySet")),
    ("unformatted amount", re.compile(rf"(?:{_SYMBOLS})\s?\d{{4,}}")),
    ("unformatted amount", re.compile(r"(?<![\w#./\-_:])(?<!ISO )(?<!IEC )(?<!RFC )\d{5,}(?!\w)")),
    ("Django's default time (use |datetime)", re.compile(r"\b[ap]\.m\.")),
    ("count and noun disagree", re.compile(rf"(?<![\d.,])\b1 (?:{COUNTED_PLURALS})\b")),
]


class _VisibleText(HTMLParser):
    """Collects the text a person sees: text nodes outside hidden elements, visible attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hidden = 0
        # The stored JSON behind a closed "Show raw JSON" toggle is for auditors, and
        # raw on purpose: a browser does not show it until asked.
        self.raw_json = 0
        self.figure: list[str] | None = None  # the JSON of a json_script being read
        self.open: list[str] = []
        self.chunks: list[tuple[str, str]] = []  # (text, the element holding it or "@attribute")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "details" and "raw-json" in (dict(attrs).get("class") or "").split():
            self.raw_json += 1
        if tag in HIDDEN_ELEMENTS or (tag == "pre" and self.raw_json):
            self.hidden += 1
            if tag == "script" and dict(attrs).get("type") == "application/json":
                self.figure = []
            return
        if tag not in VOID_ELEMENTS:
            self.open.append(tag)
        attributes = dict(attrs)
        for name, value in attrs:
            if value and name in VISIBLE_ATTRIBUTES:
                self.chunks.append((value, f"@{name}"))
        if tag == "input" and attributes.get("type") in ("submit", "button"):
            self.chunks.append((attributes.get("value") or "", "@value"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "details" and self.raw_json:
            self.raw_json -= 1
        if (tag in HIDDEN_ELEMENTS or (tag == "pre" and self.raw_json)) and self.hidden:
            self.hidden -= 1
            if self.figure is not None:
                self.chunks += [
                    (text, "@chart") for text in _chart_words(json.loads("".join(self.figure)))
                ]
                self.figure = None
        elif tag in self.open:
            while self.open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if self.figure is not None:
            self.figure.append(data)
        if not self.hidden and data.strip():
            self.chunks.append((" ".join(data.split()), self.open[-1] if self.open else ""))


CHART_TEXT_KEYS = {"text", "hovertext", "hovertemplate", "ticktext", "title"}


def _chart_words(figure: Any, key: str = "") -> Iterator[str]:
    """The strings a plotly figure shows: hover, label, tick and title texts."""
    if isinstance(figure, dict):
        for name, value in figure.items():
            yield from _chart_words(value, name)
    elif isinstance(figure, list):
        for value in figure:
            yield from _chart_words(value, key)
    elif isinstance(figure, str) and key in CHART_TEXT_KEYS:
        yield figure


def visible_text(html: str) -> list[tuple[str, str]]:
    """The visible text of ``html`` as (text, where) chunks, one per text node or attribute."""
    parser = _VisibleText()
    parser.feed(html)
    parser.close()
    return parser.chunks


def offences(chunks: list[tuple[str, str]], codenames: re.Pattern[str]) -> Iterator[str]:
    """``rule: …snippet…`` for each match of a rule in the chunks."""
    for chunk, where in chunks:
        for name, rule in [("permission codename", codenames), *RULES]:
            if name == WHOLE_NONE and where == "option":
                continue  # a choice labelled "None" (no sensitive data)
            for match in rule.finditer(chunk):
                start, end = max(match.start() - CONTEXT, 0), match.end() + CONTEXT
                yield f"{name}: …{chunk[start:end]}…"


def test_the_rules_catch_what_users_saw():
    """GIVEN the texts of issue 11 WHEN the rules read them THEN each is caught, and the
    formatted forms of the same values pass."""
    codenames = _permission_rule()
    seen = [
        "You do not have permission (usecases.add_usecase).",
        "exports_data False",
        "{'high_impact': None}",
        "['crm', 'ticketing']",
        "{'title': 'Old'}",
        "Decimal('3.10')",
        "hover £210600",
        "Total 1234567 hours",
        "sent at 5:01 p.m..",
        "Export these 1 rows",
        "Needs 1 approvals, fewer than 5",
    ]
    caught = [text for text in seen if list(offences([(text, "p")], codenames))]
    assert caught == seen
    fine = [
        "None.",
        "None — every pilot older than 60 days has moved its business KPI.",
        "data sensitivity is None or Internal",
        "SOC 2 type II, ISO 27001",
        "Review #12345 of 2026, v10000, 3.14159, 2026-11-28, £210,600, 1,234,567 hours",
        "28 Nov 2026, 17:01. Export these 1,024 rows; 1 row; Needs 1 approval",
        "usecases.add_usecase_form",  # not a codename: a longer word
    ]
    assert [text for text in fine if list(offences([(text, "p")], codenames))] == []
    assert list(offences(visible_text("<dl><dd>None</dd></dl>"), codenames))
    assert not list(offences(visible_text("<select><option>None</option></select>"), codenames))
    figure = '<script type="application/json">{"data": [{"hovertext": ["£210600"]}]}</script>'
    assert list(offences(visible_text(figure), codenames))
    # The stored JSON behind a closed "Show raw JSON" toggle is not read; the same JSON
    # shown openly is.
    raw = '<pre>{"exports_data": false, "systems": ["crm"]}</pre>'
    assert not list(offences(visible_text(f'<details class="raw-json">{raw}</details>'), codenames))
    assert list(offences(visible_text(raw), codenames))


def _detail_paths() -> list[str]:
    """Detail pages of real demo objects: a use case in each stage, reviews (decided ones
    too), workers, incidents and KPIs (the walker only tries id 1)."""
    from governance.models import AIWorker, Incident, Review
    from kpis.models import KPI
    from usecases.models import UseCase

    paths: list[str] = []
    for stage in UseCase.objects.order_by().values_list("stage", flat=True).distinct():
        use_case = UseCase.objects.filter(stage=stage).order_by("pk").first()
        paths += [
            use_case.get_absolute_url(),
            f"/kpis/usecases/{use_case.pk}/",
            f"/governance/usecases/{use_case.pk}/",
        ]
    for model in (Review, AIWorker, Incident, KPI):
        paths += [obj.get_absolute_url() for obj in model.objects.order_by("pk")[:3]]
    # a decided review shows its frozen decision copy
    decided = Review.objects.exclude(decided_at=None).order_by("pk")[:3]
    paths += [review.get_absolute_url() for review in decided]
    return paths


def _freeze_a_review() -> None:
    """The demo decides no review (its approved use case is in the Allowed lane): open one
    on a use case without one and withdraw it, so a frozen decision copy is on show."""
    from governance.choices import ReviewStatus
    from governance.models import Review
    from governance.services import review_open, review_withdraw
    from usecases.models import UseCase

    ops = get_user_model().objects.get(username="ops")
    busy = Review.objects.filter(status=ReviewStatus.OPEN).values("use_case")
    use_case = UseCase.objects.exclude(pk__in=busy).order_by("pk").first()
    review = review_open(use_case=use_case, actor=ops, reason="Page-text test")
    review_withdraw(review=review, actor=ops, reason="Page-text test")


@pytest.mark.django_db(transaction=True, reset_sequences=True)
@pytest.mark.parametrize("username", sorted(DEMO_USERS))
def test_every_page_reads_as_words(client, username):
    """GIVEN the demo portfolio (with one decided review) and one role's demo user
    WHEN they open every page and the detail pages of real demo objects
    THEN no page that answers 200 or 403 shows a permission codename, a Python repr, an
    unformatted amount, Django's default clock or a count disagreeing with its noun."""
    demo_load()
    _freeze_a_review()
    client.force_login(get_user_model().objects.get(username=username))
    codenames = _permission_rule()
    paths = [p for p in concrete_paths_for_demo() if not p.startswith("/api/")]
    paths += [p for p in dict.fromkeys(_detail_paths()) if p not in paths]
    problems: list[str] = []
    read = 0
    for path in paths:
        response = client.get(path)
        if response.status_code not in (200, 403):
            continue
        if "text/html" not in response.get("Content-Type", ""):
            continue
        read += 1
        found = list(dict.fromkeys(offences(visible_text(response.content.decode()), codenames)))
        problems += [f"{path} ({response.status_code}) → {o}" for o in found[:PER_PAGE]]
        if len(found) > PER_PAGE:
            problems.append(f"{path} ({response.status_code}) → … and {len(found) - PER_PAGE} more")
    assert read > 40, f"only {read} pages were read"
    assert problems == [], f"{username} saw:\n" + "\n".join(problems)
