"""One number, one format: the portfolio page and its CSV and Excel exports agree, row by row.

Issue 11 saw a consensus of 3.125 as 3.13 on the portfolio and 3.12 in the CSV (two
rounding rules). Here the consensus of each use case is exactly half-way between two
hundredths — where half-up and Python's ``round`` part ways — and the amounts run
into the thousands; the page and both exports are parsed and compared cell by cell.
"""

from __future__ import annotations

import csv
import io
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser

import openpyxl
import pytest
from django.urls import reverse

from tests.usecases.factories import make_use_case, rate
from usecases.services import scoring_model_create

pytestmark = pytest.mark.django_db

URL = reverse("usecases:portfolio")
SCORE = "score (consensus, 1-5)"
HOURS = "estimated hours saved per year (estimate)"
COST = "estimated cost saved per year (estimate)"

# Title → (four scorers' value scores, their feasibility scores, the consensus they make
# under weights value 1, feasibility 1, the rest 0: (Σ value + Σ feasibility) / 8).
HALF_WAY = {
    "Three one two five": ((3, 3, 3, 4), (3, 3, 3, 3), "3.13"),  # round(3.125, 2) == 3.12
    "Two six two five": ((2, 2, 3, 3), (3, 3, 3, 2), "2.63"),  # round(2.625, 2) == 2.62
    "Four one two five": ((4, 4, 4, 4), (4, 4, 4, 5), "4.13"),  # round(4.125, 2) == 4.12
    "Three three seven five": ((3, 3, 4, 4), (3, 3, 3, 4), "3.38"),
}


class _PortfolioTable(HTMLParser):
    """Each portfolio row's cells, each cell as its text chunks (value first, notes after)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: dict[str, list[list[str]]] = {}
        self.title: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "tr" and attributes.get("data-testid") == "portfolio-row":
            self.title = attributes["data-title"]
            self.rows[self.title] = []
        elif tag == "td" and self.title:
            self.rows[self.title].append([])

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self.title = None

    def handle_data(self, data: str) -> None:
        if self.title and self.rows[self.title] and data.strip():
            self.rows[self.title][-1].append(data.strip())


def page_rows(html: str) -> dict[str, dict[str, str]]:
    """Title → the score, hours and amount as the page shows them."""
    parser = _PortfolioTable()
    parser.feed(html)
    shown = {}
    for title, cells in parser.rows.items():
        score, value = cells[6], cells[7]  # columns: #, use case, unit, stage, bucket, flags
        shown[title] = {SCORE: score[0], COST: value[0], HOURS: value[1].removesuffix(" h")}
    return shown


@pytest.fixture
def half_way_portfolio(admin_user, ops_lead, make_user, executive, client):
    """Four use cases whose consensus is exactly x.xx5, with yearly amounts in the thousands."""
    weights = {"value": 1, "feasibility": 1, "data_readiness": 0}
    weights |= {"integration_complexity": 0, "change_pain": 0}
    scoring_model_create(actor=admin_user, **{f"weight_{k}": w for k, w in weights.items()})
    scorers = [make_user("Ops lead", username=f"scorer{i}") for i in range(4)]
    for i, (title, (values, feasibilities, _)) in enumerate(HALF_WAY.items()):
        use_case = make_use_case(ops_lead, title=title, cases_per_week=900 + 137 * i)
        for scorer, value, feasibility in zip(scorers, values, feasibilities, strict=True):
            rate(use_case, scorer, value, feasibility, 3, 3, 3)
    client.force_login(executive)  # scores nothing, so nothing is blind to them
    return client


def test_half_way_scores_round_up_on_the_page_and_in_both_exports(half_way_portfolio):
    """GIVEN use cases whose consensus is exactly 3.125, 2.625, 4.125 and 3.375 and whose
    estimated value runs into the thousands
    WHEN the portfolio page, its CSV and its Excel export are read for the same filter
    THEN each row's score, hours and amount are the same text in all three, the score is
    rounded half up (3.125 → 3.13), the amount has separators and the currency, and the
    raw columns hold the numbers behind them."""
    client = half_way_portfolio
    query = "?sort=title&stage=scoring"  # submitted: in scoring
    page = page_rows(client.get(URL + query).content.decode())
    assert {title: row[SCORE] for title, row in page.items()} == {
        title: shown for title, (_, _, shown) in HALF_WAY.items()
    }
    assert all(row[COST].startswith("£") and "," in row[COST] for row in page.values())

    response = client.get(URL + query + "&export=csv")
    csv_rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    workbook = openpyxl.load_workbook(
        io.BytesIO(client.get(URL + query + "&export=xlsx").content), read_only=True
    )
    header, *cells = list(workbook["Portfolio"].iter_rows(values_only=True))
    xlsx_rows = [dict(zip(header, row, strict=True)) for row in cells]

    for exported in (csv_rows, xlsx_rows):
        by_title = {row["title"]: row for row in exported}
        assert by_title.keys() == page.keys()
        for title, shown in page.items():
            row = by_title[title]
            assert {column: row[column] for column in shown} == shown, title
            raw = Decimal(str(row["consensus_raw"]))
            assert str(raw.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)) == shown[SCORE]
            assert f"£{int(row['est_cost_raw (GBP)']):,}" == shown[COST]
            assert f"{int(row['est_hours_raw']):,}" == shown[HOURS]


def test_the_use_case_page_shows_the_portfolio_s_score(half_way_portfolio):
    """GIVEN a use case whose consensus is 3.125 WHEN its own page is opened
    THEN it reads 3.13, as the portfolio and the exports do."""
    from usecases.models import UseCase

    use_case = UseCase.objects.get(title="Three one two five")
    html = half_way_portfolio.get(use_case.get_absolute_url()).content.decode()
    assert "Consensus 3.13</strong>" in html
