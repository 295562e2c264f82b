"""The test suite's settings, in one place: production's (config/settings.py, from the same
environment that platform/test.sh sets up) with what only tests change."""

from .settings import *  # noqa: F403

# Hashing dominates user creation; the tests do not measure password strength.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
