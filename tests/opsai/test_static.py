"""The vendored browser libraries: served compressed and cacheable in every mode, and the
plotly.js bundle draws every trace type opsai's figures use."""

from __future__ import annotations

import gzip
import re
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import pytest
from django.conf import settings as django_settings
from django.contrib.staticfiles import finders
from django.templatetags.static import static

from opsai.charts import TRACE_TYPES, figure_json

PLOTLY_JS = "vendor/plotly-basic-3.1.0/plotly.min.js"
HTMX_JS = "vendor/htmx-2.0.4/htmx.min.js"
A_YEAR = 365 * 24 * 60 * 60


def fetch(client: Any, name: str, encoding: str) -> tuple[Any, bytes]:
    response = client.get(static(name), HTTP_ACCEPT_ENCODING=encoding)
    body = b"".join(response.streaming_content)
    response.close()
    return response, body


@pytest.mark.parametrize("debug", [True, False], ids=["make-run", "debug-off"])
@pytest.mark.parametrize("name", [PLOTLY_JS, HTMX_JS])
def test_it_serves_a_vendored_library_gzipped_and_cacheable_for_a_year(
    client: Any, settings: Any, debug: bool, name: str
) -> None:
    # DEBUG on is `make run`: whitenoise looks each file up through the finders per request.
    settings.DEBUG = debug
    response, body = fetch(client, name, "gzip")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    assert len(body) < 1_500_000
    assert gzip.decompress(body) == Path(finders.find(name)).read_bytes()  # the .gz is not stale
    max_age = re.search(r"max-age=(\d+)", response["Cache-Control"])
    assert max_age and int(max_age.group(1)) >= A_YEAR
    assert "immutable" in response["Cache-Control"]


def test_it_serves_the_plotly_bundle_as_brotli_to_a_browser_that_takes_it(client: Any) -> None:
    response, body = fetch(client, PLOTLY_JS, "gzip, deflate, br, zstd")
    _, gzipped = fetch(client, PLOTLY_JS, "gzip")
    assert response["Content-Encoding"] == "br"
    assert len(body) < len(gzipped)


def test_it_keeps_unversioned_files_revalidated_and_hashed_names_immutable() -> None:
    immutable = re.compile(django_settings.WHITENOISE_IMMUTABLE_FILE_TEST)
    assert immutable.search("/static/" + PLOTLY_JS)
    assert immutable.search("/static/css/opsai.3f2a1b4c5d6e.css")  # manifest storage, production
    assert immutable.search("/static/vendor/plotly-basic-3.1.0/plotly.min.0123456789ab.js")
    assert not immutable.search("/static/js/kpis.js")
    assert not immutable.search("/static/css/opsai.css")
    assert not immutable.search("/static/vendor/plotly.min.js")


def test_the_plotly_bundle_registers_every_trace_type_opsai_draws() -> None:
    bundle = Path(finders.find(PLOTLY_JS)).read_text()
    registered = set(re.findall(r'moduleType:"trace",name:"(\w+)"', bundle))
    missing = TRACE_TYPES - registered
    assert not missing, f"the plotly.js bundle lacks {sorted(missing)}: vendor a bigger one"


def test_it_refuses_a_figure_with_a_trace_type_the_bundle_lacks() -> None:
    with pytest.raises(ValueError, match="heatmap"):
        figure_json(go.Figure(data=[go.Heatmap(z=[[1, 2], [3, 4]])]))


def test_it_hands_over_plain_json_without_plotly_pys_template() -> None:
    figure = figure_json(go.Figure(data=[go.Bar(x=["a", "b"], y=[1.5, 2.0])]))
    assert figure == {"data": [{"type": "bar", "x": ["a", "b"], "y": [1.5, 2.0]}], "layout": {}}
