"""The Content-Security-Policy header on every response, built from settings.SECURE_CSP.

SECURE_CSP has the name and shape of Django 6.0's setting (directive -> list of sources), so on
that upgrade Django's own middleware replaces this one. No view may loosen the policy: the
header is set, not defaulted.
"""

from django.conf import settings
from rest_framework import renderers

HEADER = "Content-Security-Policy"


def policy_header(directives: dict[str, list[str]]) -> str:
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.value = policy_header(settings.SECURE_CSP)

    def __call__(self, request):
        response = self.get_response(request)
        response.headers[HEADER] = self.value
        return response


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """DRF's browsable API without its inline <style> (Pygments colours for code in Markdown
    descriptions, which this API does not have): the policy blocks it on every page."""

    def get_context(self, *args, **kwargs):
        context = super().get_context(*args, **kwargs)
        context["code_style"] = None
        return context
