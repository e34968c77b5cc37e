"""URLs of the reader flow (/r/<token>/...) and the staff pages (/staff/...)."""

from django.urls import path

from surveys.views import answers, health, reader, staff, volumes

app_name = "surveys"

urlpatterns = [
    path("healthz", health.health, name="health"),
    path("healthz/delivery/<slug:location>", health.delivery_probe, name="delivery_probe"),
    path("r/<str:token>/", reader.welcome, name="welcome"),
    path("r/<str:token>/start", reader.start, name="start"),
    path("r/<str:token>/task/<int:number>/", reader.task, name="task"),
    path("r/<str:token>/answer", answers.answer, name="answer"),
    path("r/<str:token>/finish", reader.finish, name="finish"),
    path("r/<str:token>/scan/<slug:name>.nii", volumes.volume, name="volume"),
    path("r/<str:token>/media/<str:name>", volumes.video, name="video"),
    path("staff/studies/<slug:slug>/exports/", staff.exports, name="exports"),
    path("staff/studies/<slug:slug>/exports/plan.json", staff.export_plan, name="export_plan"),
    path("staff/studies/<slug:slug>/exports/<slug:kind>.csv", staff.export_csv, name="export_csv"),
    path("staff/studies/<slug:slug>/progress/", staff.progress, name="progress"),
    path("staff/studies/<slug:slug>/results/", staff.results, name="results"),
    path("staff/studies/<slug:slug>/results/analysis.zip", staff.results_zip, name="results_zip"),
]
