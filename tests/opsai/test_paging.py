"""The shared pieces every list and amount goes through: paging, sort links, money."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.test import RequestFactory, override_settings

from opsai import formatting
from opsai.paging import MAX_PAGE_SIZE, page_size_of, paginate, sort_links
from tests.opsai.test_config import assert_one_clear_line, run

rf = RequestFactory()


def test_it_pages_at_the_size_asked_for_and_clamps_it() -> None:
    items = list(range(1000))
    listing = paginate(rf.get("/x/", {"size": "100", "page": "3"}), items, target="#x")
    assert listing.size == 100 and list(listing)[:2] == [200, 201]
    assert listing.count == 1000
    assert paginate(rf.get("/x/", {"size": "9999"}), items, target="#x").size == MAX_PAGE_SIZE
    assert paginate(rf.get("/x/", {"size": "0"}), items, target="#x").size == 1
    assert paginate(rf.get("/x/", {"size": "many"}), items, target="#x").size == 50
    assert paginate(rf.get("/x/"), items, target="#x", default_size=25).size == 25
    # a page past the end shows the last one, never an error
    assert paginate(rf.get("/x/", {"page": "99"}), items, target="#x").page.number == 20


def test_its_links_keep_the_filters_and_a_new_size_starts_again_at_page_one() -> None:
    request = rf.get("/x/", {"stage": "pilot", "sort": "-title", "size": "25", "page": "2"})
    listing = paginate(request, list(range(100)), target="#x")
    next_link = next(link for link in listing.links if link.get("rel") == "next")
    assert next_link["url"] == "?stage=pilot&sort=-title&size=25&page=3"
    sizes = {option["size"]: option for option in listing.sizes}
    assert sizes[25]["current"] and not sizes[100]["current"]
    assert sizes[100]["url"] == "?stage=pilot&sort=-title&size=100"
    assert sizes[50]["url"] == "?stage=pilot&sort=-title"  # the default is left out
    assert [option["size"] for option in listing.sizes] == [25, 50, 100, 200]


def test_sort_links_toggle_and_drop_the_page() -> None:
    query = rf.get("/x/", {"sort": "-title", "page": "4", "size": "100"}).GET
    links = sort_links(query, ["title", "score"], default="-score")
    assert links["title"] == {"url": "?sort=title&size=100", "arrow": "↓"}
    assert links["score"]["url"] == "?sort=-score&size=100" and links["score"]["arrow"] == ""


def test_a_junk_page_size_is_the_default() -> None:
    assert page_size_of(None) == 50
    assert page_size_of("-5") == 1
    assert page_size_of("1e9") == 50


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (1234567.8, "£1,234,568"),
        (Decimal("0.4"), "£0"),
        (Decimal("999.5"), "£1,000"),
        (-2500, "-£2,500"),
        (None, "—"),
        ("not a number", "—"),
    ],
)
def test_money_is_whole_units_with_separators(value: object, shown: str) -> None:
    assert formatting.money(value) == shown


def test_the_currency_is_a_setting() -> None:
    with override_settings(CURRENCY={"code": "EUR", "symbol": "€"}):
        assert formatting.money(1234567.8) == "€1,234,568"
        assert formatting.money_column("cost") == "cost (EUR)"
        html = Template(
            "{% load opsai %}{{ v|money }} {{ n|number }} {% currency_symbol %}"
        ).render(Context({"v": 1234567.8, "n": 98765.4}))
        assert html == "€1,234,568 98,765 €"
    with override_settings(CURRENCY={"code": "CHF", "symbol": formatting.currency_symbol("CHF")}):
        assert formatting.money(12) == "CHF 12"
    assert formatting.money(1) == "£1"  # the default: pounds


def test_opsai_currency_sets_the_code_and_symbol() -> None:
    show = [
        "-c",
        "import django; django.setup(); from django.conf import settings; print(settings.CURRENCY)",
    ]
    result = run(show, OPSAI_CURRENCY="usd", DJANGO_SETTINGS_MODULE="opsai.settings")
    assert result.stdout.strip() == "{'code': 'USD', 'symbol': '$'}", result.stderr
    result = run(["manage.py", "check"], OPSAI_CURRENCY="dollars")
    assert_one_clear_line(result, "OPSAI_CURRENCY")
