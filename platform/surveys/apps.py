"""The surveys app: studies, readers, tasks, answers."""

from django.apps import AppConfig


class SurveysConfig(AppConfig):
    """Blinded reader studies of 3D chest CT."""

    name = "surveys"
    verbose_name = "Reader studies"

    def ready(self) -> None:
        from surveys import checks  # noqa: F401 - registers the system checks
