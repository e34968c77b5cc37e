"""The surveys app: studies, readers, tasks, answers."""

from django.apps import AppConfig


class SurveysConfig(AppConfig):
    """Blinded reader studies of 3D chest CT."""

    name = "surveys"
    verbose_name = "Reader studies"
