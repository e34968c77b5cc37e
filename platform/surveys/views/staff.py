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

from studies.analysis.endpoints import PLAN_FILE
from studies.analysis.plan import interim_of
from studies.analysis.report import report_markdown
from surveys.disclosure import disclosure, interim_endpoints, opened_for, record
from surveys.exports import COLUMNS, first_views, plan_json, write_export
from surveys.models import ResultsLook, Study
from surveys.progress import study_progress
from surveys.results import analysis_zip, live_analysis, page_tables, plot_uris, reader_counts

LOCKED = "The results are locked while the study is open (no peeking): close the study to unlock them."


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
def export_plan(request: HttpRequest, slug: str) -> HttpResponse:
    """plan.json: the frozen analysis plan with its digest, the time it was frozen and the interim looks taken."""
    study = get_object_or_404(Study, slug=slug)
    response = HttpResponse(plan_json(study), content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{study.slug}-{PLAN_FILE}"'
    return response


@staff_member_required
def results(request: HttpRequest, slug: str) -> HttpResponse:
    """Progress only while the study is open; the primary endpoints at an interim look the plan allows; the whole
    analysis (report, plots, tables) once it is closed. Every view is recorded."""
    study = get_object_or_404(Study, slug=slug)
    state = disclosure(study)
    context = {
        **admin.site.each_context(request),
        "study": study,
        "title": f"Results of {study.title}",
        "kinds": list(COLUMNS),
        "readers": reader_counts(study),
        "state": state,
        "opened_for": opened_for(study),
        "interim": interim_of(study.analysis_plan),
    }
    if state.shown == ResultsLook.INTERIM:
        look = next((row for row in first_views(study) if row.look == state.look), None)
        if look is None:
            analysis = live_analysis(study)
            look = record(study, request.user, "page", state, analysis.summary)
            context["analysis"] = analysis
        else:
            record(study, request.user, "page", state)
        context.update(look_taken=look, endpoints=interim_endpoints(study, look) if look.summary else [])
        return render(request, "surveys/staff_results.html", context)
    record(study, request.user, "page", state)
    if state.locked:
        return render(request, "surveys/staff_results.html", context)
    analysis = live_analysis(study)
    context["analysis"] = analysis
    if analysis.summary is not None:
        context.update(
            report=_report_html(report_markdown(analysis.summary, study.title)),
            plots=plot_uris(analysis.summary),
            tables=page_tables(analysis),
        )
    return render(request, "surveys/staff_results.html", context)


@staff_member_required
def results_zip(request: HttpRequest, slug: str) -> HttpResponse:
    """The analysis as files (what `python -m studies analyze` writes) with the export CSVs, in one zip download;
    only once the study is closed."""
    study = get_object_or_404(Study, slug=slug)
    state = disclosure(study)
    if state.shown != ResultsLook.FINAL:
        messages.info(request, LOCKED)
        return redirect("surveys:results", slug=study.slug)
    analysis = live_analysis(study)
    if analysis.summary is None:
        messages.info(request, analysis.problem)
        return redirect("surveys:results", slug=study.slug)
    record(study, request.user, "zip", state)
    response = HttpResponse(analysis_zip(study, analysis), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{study.slug}-analysis.zip"'
    return response
