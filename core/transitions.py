"""The one way a status changes: a transition table per kind of row, enforced by a
conditional UPDATE, so that two workers cannot both make the same move."""

from __future__ import annotations

from django.db.models import Model, QuerySet


class InvalidTransition(Exception):
    pass


class Transitions:
    """A table {status: statuses it may move to} and the moves it allows."""

    def __init__(self, name: str, table: dict[str, set[str]]):
        self.name = name
        self.table = {str(status): {str(t) for t in targets} for status, targets in table.items()}

    def sources(self, to: str) -> list[str]:
        """The statuses a row may leave for `to` (the condition of a transition's UPDATE)."""
        return [status for status, targets in self.table.items() if str(to) in targets]

    def allowed(self, current: str, to: str) -> bool:
        return str(to) in self.table.get(str(current), set())

    def move(self, queryset: QuerySet, to: str, **fields) -> int:
        """Move every row of `queryset` whose status allows it; the number moved."""
        return queryset.filter(status__in=self.sources(to)).update(status=to, **fields)

    def apply(self, obj: Model, to: str, **fields) -> Model:
        """Move one row, or raise InvalidTransition (nothing written); `obj` is brought up to
        date with the new status and fields."""
        if not self.try_apply(obj, to, **fields):
            current = (
                type(obj)._default_manager.filter(pk=obj.pk)
                .values_list("status", flat=True)
                .first()
            )
            raise InvalidTransition(f"{self.name} {obj.pk}: {current} -> {to} is not allowed")
        return obj

    def try_apply(self, obj: Model, to: str, **fields) -> bool:
        """apply() that answers False instead of raising (a redelivered task that finds its
        job already moved)."""
        moved = self.move(type(obj)._default_manager.filter(pk=obj.pk), to, **fields)
        if moved:
            obj.status = to
            for name, value in fields.items():
                setattr(obj, name, value)
        return bool(moved)
