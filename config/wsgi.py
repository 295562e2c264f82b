import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_application = get_wsgi_application()

from labeling.fastpath import QueueFront  # noqa: E402  (after Django's setup)

# The task queue's two busiest requests are answered in front of Django (labeling/fastpath.py).
application = QueueFront(django_application)
