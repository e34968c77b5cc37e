"""Site URLs: the reader flow at /r/, staff pages at /staff/, Django admin at /admin/."""

from django.contrib import admin
from django.contrib.staticfiles.storage import staticfiles_storage
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "MedSyn reader study: administration"
admin.site.site_title = "MedSyn reader study"
admin.site.index_title = "Studies, readers and answers"

urlpatterns = [
    path("admin/", admin.site.urls),
    # Pages without our <link rel="icon"> (the admin's) ask for /favicon.ico; nginx answers it itself.
    path("favicon.ico", RedirectView.as_view(url=staticfiles_storage.url("favicon.ico"), permanent=False)),
    path("", include("surveys.urls")),
]
