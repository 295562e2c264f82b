"""Which secret keys the platform refuses to start with outside debug.

A key signs sessions, password-reset links and CSRF tokens: one that is short or published
lets anyone forge them. tests/test_runtime.py checks that every key written in the repository
is refused here, so a key that ever lands in a file is caught by this list or by its shape.
"""

from django.core.exceptions import ImproperlyConfigured

MIN_LENGTH = 50
MIN_DISTINCT = 5  # Django's own deploy check asks for as many

# Used with DJANGO_DEBUG=1 when no key is set: published here, so never good for anything else.
DEVELOPMENT_KEY = "django-insecure-local-development-key-never-used-in-production"
PUBLISHED = frozenset({DEVELOPMENT_KEY, "changeme"})

GENERATE = "python -c 'import secrets; print(secrets.token_urlsafe(50))'"


def refusal(key: str) -> str | None:
    """Why `key` may not be used outside debug, or None when it may."""
    if key in PUBLISHED or key.startswith("django-insecure-"):
        return "is a published key (it is written in the LabelQA repository)"
    if len(key) < MIN_LENGTH:
        return f"is too short: {len(key)} characters, at least {MIN_LENGTH} are needed"
    if len(set(key)) < MIN_DISTINCT:
        return f"has fewer than {MIN_DISTINCT} different characters"
    return None


def require_strong(key: str, fallbacks: list[str]) -> None:
    """Refuse to start outside debug without a good SECRET_KEY (and good fallbacks)."""
    if not key:
        raise ImproperlyConfigured(
            f"SECRET_KEY must be set in the environment outside debug (DJANGO_DEBUG=1 is for "
            f"development only): at least {MIN_LENGTH} characters, not a published key; "
            f"make one with: {GENERATE}"
        )
    named = [("SECRET_KEY", key)]
    named += [(f"SECRET_KEY_FALLBACKS[{n}]", old) for n, old in enumerate(fallbacks)]
    for name, value in named:
        why = refusal(value)
        if why:
            raise ImproperlyConfigured(
                f"{name} {why}; refused outside debug (DJANGO_DEBUG=1 is for development only); "
                f"make one with: {GENERATE}"
            )
