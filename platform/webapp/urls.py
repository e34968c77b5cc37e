"""Site URLs: the reader flow at /r/, staff pages at /staff/, Django admin at /admin/."""

from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Reader-study administration"
admin.site.site_title = "Reader study"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("surveys.urls")),
]
