"""Model instances from hand-written SELECTs, for the reads every API request makes.

Building a query with the ORM costs about 0.5 ms of Python (a select_related over three tables,
1-2 ms); running a small indexed one costs a tenth of that. The few reads on every request (the
caller's token, the project or item asked for) are written once as SQL, and their rows become
instances the way the ORM makes them: every concrete field, converted by the database backend's
and the field's own converters (JSON).
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Model


class Columns:
    """A model's concrete columns under a table alias, in the model's field order."""

    def __init__(self, model: type[Model], alias: str):
        self.model = model
        self.alias = alias
        self.fields = model._meta.concrete_fields
        self.attnames = [field.attname for field in self.fields]
        self._pk = self.fields.index(model._meta.pk)
        self.sql = ", ".join(f'{alias}."{field.column}"' for field in self.fields)
        self._converters: list[tuple] | None = None  # made on first use

    def __len__(self) -> int:
        return len(self.fields)

    def instance(self, row, start: int = 0) -> Model | None:
        """The instance whose columns start at row[start]; None when its key is NULL (the
        missing side of an outer join)."""
        values = list(row[start : start + len(self.fields)])
        if values[self._pk] is None:
            return None
        for n, col, converters in self._converters_for():
            for converter in converters:
                values[n] = converter(values[n], col, connection)
        return self.model.from_db(connection.alias, self.attnames, values)

    def _converters_for(self) -> list[tuple]:
        """(position, column, converters) of the fields that have converters."""
        if self._converters is None:
            found = []
            for n, field in enumerate(self.fields):
                col = field.get_col(self.alias)
                converters = connection.ops.get_db_converters(col)
                converters += col.get_db_converters(connection)
                if converters:
                    found.append((n, col, converters))
            self._converters = found
        return self._converters
