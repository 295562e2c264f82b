"""The site's URLs and one view that fails: the server error page is answered through the
whole middleware stack (tests/core/test_csp.py)."""

from django.urls import path

from config.urls import urlpatterns as site


def fails(request):
    raise RuntimeError("a view that fails")


urlpatterns = [path("fails/", fails), *site]
