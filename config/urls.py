from django.contrib import admin
from django.urls import include, path

from labeling import views as labeling_views
from tenancy import views as tenancy_views

urlpatterns = [
    path("", tenancy_views.home, name="home"),
    path("accounts/", include("tenancy.urls_accounts")),
    path("projects/<int:project_id>/", tenancy_views.project_detail, name="project-detail"),
    path(
        "projects/<int:project_id>/imports/",
        labeling_views.project_imports,
        name="project-imports",
    ),
    path(
        "projects/<int:project_id>/annotate/",
        labeling_views.annotate,
        name="project-annotate",
    ),
    path("status/", tenancy_views.system_status, name="system-status"),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.urls_api")),
]
