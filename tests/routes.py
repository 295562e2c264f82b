"""Every route of the platform, read from the URL resolver, with the kwargs it takes."""

from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver


@dataclass(frozen=True)
class Route:
    name: str
    pattern: str
    kwargs: tuple[str, ...]

    @property
    def is_api(self) -> bool:
        return self.pattern.startswith("api/")

    def path(self, kwargs: dict) -> str:
        from django.urls import reverse

        return reverse(self.name, kwargs={k: kwargs[k] for k in self.kwargs})


def all_routes(skip_namespaces=("admin",)) -> list[Route]:
    """Named routes outside the skipped namespaces (Django's admin has its own staff gate and
    is checked on its own). An unnamed route is an error: it could not be given a spec."""
    found: list[Route] = []

    def walk(patterns, prefix: str, namespace: str | None):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                if entry.namespace in skip_namespaces:
                    continue
                walk(entry.url_patterns, prefix + str(entry.pattern), entry.namespace or namespace)
            elif isinstance(entry, URLPattern):
                if not entry.name:
                    raise AssertionError(f"route {prefix}{entry.pattern} has no name")
                name = f"{namespace}:{entry.name}" if namespace else entry.name
                found.append(
                    Route(name, prefix + str(entry.pattern), tuple(entry.pattern.converters))
                )

    walk(get_resolver().url_patterns, "", None)
    return found
