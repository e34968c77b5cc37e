"""Staff pages: the study's export downloads, its readers' progress and its results so far."""

from __future__ import annotations

import io
from html import escape

import markdown
from django.contrib import admin, messages
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.safestring import mark_safe

from studies.analysis.report import report_markdown
from surveys.exports import COLUMNS, write_export
from surveys.models import Study
from surveys.progress import study_progress
from surveys.results import analysis_zip, live_analysis, page_tables, plot_uris, reader_counts


@staff_member_required
def exports(request: HttpRequest, slug: str) -> HttpResponse:
    """A page listing the study's downloadable CSV files."""
    study = get_object_or_404(Study, slug=slug)
    context = {**admin.site.each_context(request), "study": study, "title": f"Exports of {study.title}"}
    return render(request, "surveys/staff_exports.html", {**context, "kinds": list(COLUMNS)})


@staff_member_required
def progress(request: HttpRequest, slug: str) -> HttpResponse:
    """Every reader's progress (status, tasks done, minutes, when started, finished, last seen), with totals."""
    study = get_object_or_404(Study, slug=slug)
    context = {**admin.site.each_context(request), "study": study, "title": f"Progress of {study.title}"}
    return render(request, "surveys/staff_progress.html", {**context, "progress": study_progress(study)})


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


def _report_html(report: str) -> str:
    """report.md as HTML; any markup in it (e.g. from a study's text) is shown as text, never run."""
    return mark_safe(markdown.markdown(escape(report, quote=False), extensions=["tables"]))


@staff_member_required
def results(request: HttpRequest, slug: str) -> HttpResponse:
    """The analysis of the answers so far: report, plots and tables, or why there is nothing to show yet."""
    study = get_object_or_404(Study, slug=slug)
    analysis = live_analysis(study)
    context = {
        **admin.site.each_context(request),
        "study": study,
        "title": f"Results of {study.title}",
        "kinds": list(COLUMNS),
        "readers": reader_counts(study),
        "analysis": analysis,
    }
    if analysis.summary is not None:
        context.update(
            report=_report_html(report_markdown(analysis.summary, study.title)),
            plots=plot_uris(analysis.summary),
            tables=page_tables(analysis),
        )
    return render(request, "surveys/staff_results.html", context)


@staff_member_required
def results_zip(request: HttpRequest, slug: str) -> HttpResponse:
    """The analysis as files (what `python -m studies analyze` writes) with the export CSVs, in one zip download."""
    study = get_object_or_404(Study, slug=slug)
    analysis = live_analysis(study)
    if analysis.summary is None:
        messages.info(request, analysis.problem)
        return redirect("surveys:results", slug=study.slug)
    response = HttpResponse(analysis_zip(study, analysis), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{study.slug}-analysis.zip"'
    return response
