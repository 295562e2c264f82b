"""Writes of labeling data. Imports live in labeling/imports/ (a package: they are large);
their entry points are re-exported here so that other apps find every service in one place."""

from .imports.services import import_job_create, import_job_run

__all__ = ["import_job_create", "import_job_run"]
