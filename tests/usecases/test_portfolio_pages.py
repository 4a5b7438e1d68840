"""The portfolio page at scale: 50 rows a page, filters and sort kept across pages, and
the chart, value-by-bucket and exports computed over every filtered row, not the page."""

import csv
import io
import re
from collections import defaultdict
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from tests.usecases.factories import make_use_case, rate
from usecases import selectors
from usecases.charts import DENSITY_TRACE
from usecases.choices import ValueBucket
from usecases.selectors import usecase_portfolio

pytestmark = pytest.mark.django_db

URL = reverse("usecases:portfolio")
BUCKETS = ValueBucket.values
N = 120
SCORED = 60  # every other use case is scored; the unscored ones have no bubble


@pytest.fixture
def portfolio(ops_lead, client):
    """120 use cases in the four value buckets, various volumes and approvals; half scored."""
    for i in range(N):
        use_case = make_use_case(
            ops_lead,
            title=f"Case {i:03d}",
            value_bucket=BUCKETS[i % len(BUCKETS)],
            cases_per_week=10 + i,
            approvals_needed=i % 7,
        )
        if i % 2 == 0:
            rate(use_case, ops_lead, 1 + i % 5, 5 - i % 5, 3, 3, 1 + (i // 5) % 5)
    client.force_login(ops_lead)
    return client


def titles(response):
    return [row.title for row in response.context["rows"]]


def ranked_titles(ops_lead, **filters):
    """The whole ranking, straight from the selector: what the pages must add up to."""
    return [row.title for row in usecase_portfolio(viewer=ops_lead).filter(**filters)]


def test_the_portfolio_shows_fifty_rows_a_page_and_says_which(portfolio, ops_lead):
    everything = ranked_titles(ops_lead)
    first = portfolio.get(URL)
    assert titles(first) == everything[:50]
    html = first.content.decode()
    assert "Showing 1–50 of 120" in html
    assert "Export these 120 rows" in html
    assert html.count('data-testid="portfolio-row"') == 50
    assert 'rel="next"' in html and 'rel="prev"' not in html
    second = portfolio.get(URL + "?page=2")
    assert titles(second) == everything[50:100]
    assert "Showing 51–100 of 120" in second.content.decode()
    # the rank column carries on from the previous page
    assert re.search(r'<td class="num">\s*51\s*</td>', second.content.decode())
    third = portfolio.get(URL + "?page=3")
    assert titles(third) == everything[100:]
    assert len(titles(third)) == 20
    assert "Showing 101–120 of 120" in third.content.decode()
    assert 'rel="next"' not in third.content.decode()


def test_a_bad_page_number_shows_the_nearest_page(portfolio):
    cases = [("0", 1), ("-1", 1), ("abc", 1), ("", 1), ("2.5", 1), ("1000000000", 3), ("3", 3)]
    for raw, shown in cases:
        response = portfolio.get(URL, {"page": raw})
        assert response.status_code == 200, raw
        assert response.context["page"].number == shown, raw
        assert len(titles(response)) == (20 if shown == 3 else 50), raw
    # an empty selection is one empty page, whatever page was asked for
    response = portfolio.get(URL, {"q": "no such title", "page": "4"})
    assert response.status_code == 200
    assert titles(response) == []
    assert "Showing 0 of 0" in response.content.decode()
    assert "No use cases match." in response.content.decode()


def test_filters_and_sort_survive_paging_with_and_without_htmx(portfolio, ops_lead):
    # approvals 0–6 cycling: 5 and 6 make a political thriller → 34 of 120
    query = "?political_thriller=true&sort=-value"
    expected = [
        row.title
        for row in usecase_portfolio(viewer=ops_lead)
        .filter(political_thriller=True)
        .order_by("-est_cost", "title", "pk")
    ]
    assert len(expected) == 34
    first = portfolio.get(URL + query)
    assert titles(first) == expected[:34]  # one page: 34 < 50
    # a smaller filter+sort that spans pages: every case, sorted by title descending
    query = "?sort=-title&radar_hit="
    first = portfolio.get(URL + query)
    html = first.content.decode()
    next_link = re.search(r'<a class="button" href="([^"]+)"[^>]*rel="next"', html).group(1)
    assert "sort=-title" in next_link and "page=2" in next_link
    everything = sorted(ranked_titles(ops_lead), reverse=True)
    followed = portfolio.get(URL + next_link.replace("&amp;", "&"))
    assert titles(followed) == everything[50:100]
    # htmx: only the results partial, with the same rows and page links
    partial = portfolio.get(URL + "?sort=-title&page=3", headers={"HX-Request": "true"})
    body = partial.content.decode()
    assert "<html" not in body and 'data-testid="portfolio-table"' in body
    assert titles(partial) == everything[100:]
    assert 'hx-get="?sort=-title&amp;page=2"' in body
    # a new sort starts at page 1: the sort links drop ?page=
    assert "page=" not in partial.context["sort_links"]["title"]["url"]
    # and the export links carry the filters but not the page
    assert "sort=-title&amp;export=csv" in body and "page=3&amp;export" not in body


def test_exports_hold_every_filtered_row_not_just_the_page(portfolio, ops_lead):
    response = portfolio.get(URL + "?sort=title&page=2&export=csv")
    assert response.streaming  # the CSV streams; it is never built whole in memory
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [row[1] for row in rows[1:]] == sorted(ranked_titles(ops_lead))
    response = portfolio.get(URL + "?political_thriller=true&page=3&export=xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    exported = [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert exported == ranked_titles(ops_lead, political_thriller=True)
    assert len(exported) == 34


def bubble_urls(chart):
    return [u for trace in chart["data"] if "customdata" in trace for u in trace["customdata"]]


def density_total(chart):
    cells = [trace for trace in chart["data"] if trace["name"] == DENSITY_TRACE]
    return sum(cells[0]["marker"]["color"]) if cells else 0


def test_the_chart_counts_every_scored_row_and_labels_the_top_ones(portfolio, ops_lead):
    response = portfolio.get(URL + "?page=3")
    chart = response.context["chart"]
    scored = [row for row in usecase_portfolio(viewer=ops_lead) if row.consensus is not None]
    assert len(scored) == SCORED
    assert density_total(chart) == SCORED  # every scored use case is in the grid
    top = [row.get_absolute_url() for row in scored[: selectors.CHART_BUBBLES]]
    assert sorted(bubble_urls(chart)) == sorted(top)
    assert "Showing the top 25 of 60 scored use cases" in response.content.decode()


def test_the_bubbles_follow_the_current_sort(portfolio, ops_lead, monkeypatch):
    monkeypatch.setattr(selectors, "CHART_BUBBLES", 10)
    response = portfolio.get(URL + "?sort=-value")
    chart = response.context["chart"]
    best = (
        usecase_portfolio(viewer=ops_lead)
        .filter(consensus__isnull=False)
        .order_by("-est_cost", "title", "pk")[:10]
    )
    assert sorted(bubble_urls(chart)) == sorted(row.get_absolute_url() for row in best)
    assert density_total(chart) == SCORED
    assert "Showing the top 10 of 60 scored use cases" in response.content.decode()


def test_value_by_bucket_sums_every_filtered_row(portfolio, ops_lead):
    for query, filters in [
        ("", {}),
        ("?political_thriller=true&page=2", {"political_thriller": True}),
    ]:
        expected = defaultdict(lambda: [0, Decimal(0), Decimal(0)])
        for row in usecase_portfolio(viewer=ops_lead).filter(**filters):
            entry = expected[row.get_value_bucket_display() or "No bucket yet"]
            entry[0] += 1
            entry[1] += row.est_hours or 0
            entry[2] += row.est_cost or 0
        shown = portfolio.get(URL + query).context["value_by_bucket"]
        assert {e["bucket"]: [e["use_cases"], e["hours"], e["cost"]] for e in shown} == expected
        assert [e["cost"] for e in shown] == sorted((e["cost"] for e in shown), reverse=True)
        assert sum(e["use_cases"] for e in shown) == sum(v[0] for v in expected.values())


def test_a_blind_scorer_sees_no_hidden_bubble_and_pages_still_count_every_row(portfolio, make_user):
    other = make_user("Ops lead", username="other-scorer")
    portfolio.force_login(other)  # scored nothing: all 60 scored rows are blind to them
    response = portfolio.get(URL + "?page=2")
    assert response.context["chart"]["data"] == []
    assert "Showing 51–100 of 120" in response.content.decode()
