import uuid

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...access import ADMIN, FOLLOW_OVERDUE, RECORD_VISITS, VISIT_ROUNDS, allow, may
from ...services import admin, overdue, registry, visits
from ...services.records import ingest_one
from ...web import downloads, forms, lookups
from ..offline.pages import contribute
from . import bp


def _walk():
    building = request.args.get("building", "")
    return visits.today_walk(current_user, building_id=forms.int_or_none(building))


@bp.route("/today")
@allow(VISIT_ROUNDS)
def today():
    """The day shaped like a walk; ?building= narrows it (a plain GET form, htmx swaps #walk)."""
    return render_template("visits/today.html", walk=_walk())


@bp.route("/overdue")
@allow(FOLLOW_OVERDUE)
def overdue_list():
    """High-risk elders overdue for a visit in the user's scope, most overdue first, paged."""
    number = forms.int_or_none(request.args.get("page")) or 1
    return render_template("visits/overdue.html", listing=overdue.page(current_user, number))


@bp.route("/today/print")
@allow(VISIT_ROUNDS)
def today_print():
    return render_template("print/today.html", walk=_walk(), printed_at=visits.local_now_input().replace("T", " "))


def visit_form_context(error=None, amends=None, form=None):
    return dict(error=error, amends=amends, v=visits.form_values(amends, form, current_user.community),
                new_uuid=form.get("uuid") if form is not None else str(uuid.uuid4()),
                modes=visits.MODE_LABELS, checks=visits.CHECK_LABELS, needs=visits.NEED_LABELS)


@bp.route("/households/<int:household_id>/visits/new")
@allow(RECORD_VISITS)
def new(household_id):
    household = lookups.household_or_404(current_user, household_id)
    amends = visits.get_visit(current_user, request.args["amends"]) if request.args.get("amends") else None
    if amends is not None:  # the form shows the earlier visit's notes
        visits.opened(current_user, household.id, amends.uuid)
    return render_template("visits/new.html", household=household, **visit_form_context(amends=amends))


@bp.route("/households/<int:household_id>/visits", methods=["POST"])
@allow(RECORD_VISITS)
def create(household_id):
    """The plain-HTML way in; the phone's outbox sends the same payload to /api/sync."""
    household = lookups.household_or_404(current_user, household_id)
    payload = visits.form_payload(request.form)
    payload["household_id"] = household.id
    answer = ingest_one(current_user, "visit", request.form.get("uuid"), payload)
    if answer["status"] != "stored":
        amends = visits.get_visit(current_user, payload.get("amends")) if payload.get("amends") else None
        return render_template("visits/new.html", household=household,
                               **visit_form_context(answer["reason"], amends, request.form)), 400
    return redirect(url_for("registry.household", household_id=household.id, saved=answer["uuid"]))


@bp.route("/visits/<visit_uuid>")
@allow(RECORD_VISITS)
def show(visit_uuid):
    visit = visits.get_visit(current_user, visit_uuid)
    if visit is None:
        lookups._not_found(current_user, "visit", visit_uuid[:40])
    visits.opened(current_user, visit.household_id, visit.uuid)
    history = {v.uuid: v for v in visits.for_household(visit.household)}
    return render_template("visits/show.html", visit=history.get(visit.uuid, visit), labels=visits)


@contribute
def _offline_pages(user):
    """Today's list works offline for those who visit."""
    if may(user, VISIT_ROUNDS):
        yield "/today"


@bp.route("/admin/visits/export.<fmt>")
@allow(ADMIN)
def export(fmt):
    """Visits as CSV or XLSX, filtered by local dates (from, to) and a grid; a bad filter comes back
    to the admin's page with the reason."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    start, end = request.args.get("from", ""), request.args.get("to", "")
    start_date, end_date = registry.parse_date(start), registry.parse_date(end)
    error = None
    if (start.strip() and start_date is None) or (end.strip() and end_date is None):
        error = _("日期无法识别，请用 2026-01-31 这样的格式。")
    elif start_date and end_date and start_date > end_date:
        error = _("开始日期不能晚于结束日期。")
    grid_id = request.args.get("grid", "")
    grid = None
    if grid_id:
        grid = lookups.grid_or_404(current_user, int(grid_id) if grid_id.isascii() and grid_id.isdigit() and len(grid_id) < 12 else -1)
    if error:
        return render_template("admin/index.html", counts=admin.counts(current_user.community_id),
                               grids=admin.grids(current_user.community_id), error=error, v=request.args), 400
    return downloads.download(visits.export(current_user, start_date, end_date, grid, fmt), fmt, "visits")
