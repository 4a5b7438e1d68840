"""How pages say a stage move in words: what it did (linked to what it opened) and why it
was refused (every condition, linked to where it is resolved). One owner for the wording,
so the use case page and the governance page say a move the same way."""

from __future__ import annotations

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from usecases import lifecycle
from usecases.models import UseCase


def moved_text(use_case: UseCase, to_stage: str) -> SafeString:
    """Where the move took ``use_case``, and what entering that stage opened, linked."""
    where = use_case.get_stage_display()
    if use_case.stage != to_stage:  # a step took it further (the Allowed lane: on to approved)
        where = f"{lifecycle.stage_label(to_stage)}, then on to {where}"
    linked = format_html_join(
        "",
        ' {} — <a href="{}">{}</a>.',
        ((c.text, c.url, c.link_label) for c in lifecycle.entry_words_after(use_case) if c.url),
    )
    return format_html("Moved to {}.{}", where, linked)


def refused_text(heading: str, conditions: list[lifecycle.Condition]) -> SafeString:
    """``heading`` and every unmet condition, each with the link that resolves it (one line,
    for a flash message; the use case page lists them instead)."""
    items = format_html_join(
        " ",
        "{}",
        (
            (
                format_html('{} — <a href="{}">{}</a>', c.text, c.url, c.link_label)
                if c.url
                else c.text,
            )
            for c in conditions
        ),
    )
    return format_html("{}: {}", heading, items)
