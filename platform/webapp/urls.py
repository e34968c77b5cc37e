"""Site URLs: the reader flow at /r/, staff pages at /staff/, Django admin at /admin/."""

from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "MedSyn reader study: administration"
admin.site.site_title = "MedSyn reader study"
admin.site.index_title = "Studies, readers and answers"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("", include("surveys.urls")),
]
