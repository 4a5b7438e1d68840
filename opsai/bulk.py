"""Insert thousands of rows at once: PostgreSQL's COPY, the fastest way in.

``bulk_create`` sends its rows as query parameters, and Django's PostgreSQL cursors bind
them on the client: every value (and every element of the arrays ``bulk_create``
unnests) is quoted in Python. For the 10,000-row import that quoting was most of the
time. COPY streams the rows in PostgreSQL's text format instead (psycopg writes it in
C), in one statement per table.

Each value goes through its field's ``pre_save`` and ``get_db_prep_save``, as a save
would, so defaults, ``auto_now`` and JSON encoders hold. Model ``save`` methods and
signals do not run (as with ``bulk_create``). Elsewhere than PostgreSQL (the embedded
SQLite) it falls back to ``bulk_create``.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connections, models

BATCH = 1000
# Fields whose stored value is the attribute itself (no conversion on the way in): read
# as they are, which is most of the columns and most of the time a COPY would spend here.
_AS_IS = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.ForeignKey,
)


def bulk_insert(
    model: type[models.Model],
    objs: Sequence[models.Model],
    *,
    ids: bool = False,
    using: str = "default",
) -> int:
    """Insert ``objs`` (new rows of ``model``); with ``ids``, each gets its primary key first.

    The keys come from the table's own sequence in one query, so rows pointing at
    these (stage changes, audit events) can be built before anything is written.
    """
    if not objs:
        return 0
    connection = connections[using]
    if connection.vendor != "postgresql":
        model.objects.using(using).bulk_create(objs, batch_size=BATCH)
        return len(objs)
    meta = model._meta
    pk = meta.pk
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if ids:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, pk.column, len(objs)],
            )
            for obj, (key,) in zip(objs, cursor.fetchall(), strict=True):
                obj.pk = key
        fields = [f for f in meta.concrete_fields if f is not pk or ids]
        columns = ", ".join(quote(f.column) for f in fields)
        statement = f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN"
        plain = [isinstance(f, _AS_IS) and not isinstance(f, models.AutoField) for f in fields]
        with cursor.cursor.copy(statement) as copy:
            for obj in objs:
                copy.write_row(
                    [
                        getattr(obj, f.attname)
                        if simple
                        else f.get_db_prep_save(f.pre_save(obj, True), connection)
                        for f, simple in zip(fields, plain, strict=True)
                    ]
                )
    for obj in objs:
        obj._state.adding = False
        obj._state.db = using
    return len(objs)
