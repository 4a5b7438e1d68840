"""Time the use-case portfolio page on a large synthetic portfolio (Django test client).

    DATABASE_URL=postgres://.../opsai_bench DEBUG=false python manage.py kpi_generate \
        --use-cases 1000 --kpis 1 --days 2
    DATABASE_URL=... DEBUG=false python scripts/portfolio_bench.py [--score] [--repeat 10]

``--score`` first submits the generated use cases (kpi_generate leaves them drafts) and gives three scorers' sheets to 70% of the generated use cases (bulk
insert), so the bubble chart has points. Prints median and p95 time and size per URL.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "opsai.settings")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from usecases.models import Score, UseCase  # noqa: E402
from usecases.selectors import scoring_model_current  # noqa: E402
from usecases.services import score_figures_refresh  # noqa: E402


def score(use_cases: list[UseCase]) -> None:
    model = scoring_model_current()
    if model.pk is None:  # a fresh install scores under the defaults: save them as v1
        model.version = 1
        model.save()
    users = [
        get_user_model().objects.get_or_create(username=f"bench-scorer-{i}")[0] for i in range(3)
    ]
    Score.objects.filter(scorer__in=users).delete()
    sheets = []
    for n, use_case in enumerate(use_cases):
        if n % 10 >= 7:
            continue
        for k, user in enumerate(users):
            values = {
                key: 1 + (n + k + j) % 5
                for j, key in enumerate(
                    [
                        "value",
                        "feasibility",
                        "data_readiness",
                        "integration_complexity",
                        "change_pain",
                    ]
                )
            }
            sheets.append(
                Score(
                    use_case=use_case,
                    scorer=user,
                    scoring_model=model,
                    weighted_score=3,
                    **values,
                    **{f"{key}_rationale": "bench" for key in values},
                )
            )
    Score.objects.bulk_create(sheets, batch_size=2000)
    score_figures_refresh(use_case_ids=[use_case.pk for use_case in use_cases])
    print(f"scored: {len(sheets):,} sheets")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--score", action="store_true")
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    if args.score:
        # kpi_generate leaves its use cases unsubmitted (drafts only their owner sees):
        # submit them so every role's portfolio holds them.
        UseCase.objects.filter(submitted_at__isnull=True).update(submitted_at=timezone.now())
        score(list(UseCase.objects.order_by("pk")))
    viewer, _ = get_user_model().objects.get_or_create(username="bench-executive")
    viewer.groups.add(Group.objects.get(name="Executive"))
    client = Client(HTTP_HOST="localhost")
    client.force_login(viewer)
    print(f"use cases: {UseCase.objects.count():,}")
    urls = [
        "/usecases/",
        "/usecases/?page=10&sort=-value",
        "/usecases/?stage=pilot&page=3",
        "htmx /usecases/?page=2",
        "/usecases/?export=csv",
    ]
    for url in urls:
        htmx = url.startswith("htmx ")
        path = url.removeprefix("htmx ")
        times, size = [], 0
        client.get(path, headers={"HX-Request": "true"} if htmx else {})  # warm-up, not timed
        for _ in range(args.repeat):
            started = time.perf_counter()
            response = client.get(path, headers={"HX-Request": "true"} if htmx else {})
            body = b"".join(response.streaming_content) if response.streaming else response.content
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (url, response.status_code)
            size = len(body)
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        print(
            f"{url:40s} median {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms  "
            f"{size / 1024:8.1f} KB"
        )


if __name__ == "__main__":
    main()
