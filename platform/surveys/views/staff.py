"""Staff pages: the study's export downloads."""
from __future__ import annotations

import io

from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from surveys.exports import COLUMNS, write_export
from surveys.models import Study


@staff_member_required
def exports(request: HttpRequest, slug: str) -> HttpResponse:
    """A page listing the study's downloadable CSV files."""
    study = get_object_or_404(Study, slug=slug)
    return render(request, "surveys/staff_exports.html", {"study": study, "kinds": list(COLUMNS)})


@staff_member_required
def export_csv(request: HttpRequest, slug: str, kind: str) -> HttpResponse:
    """One export file as a CSV download."""
    study = get_object_or_404(Study, slug=slug)
    if kind not in COLUMNS:
        raise Http404
    buffer = io.StringIO()
    write_export(kind, study, buffer)
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{study.slug}-{kind}.csv"'
    return response
