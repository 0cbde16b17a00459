import uuid

from flask import abort, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from ...access import FIELD, REGISTRY, allow, public
from ...extensions import db
from ...services import registry, scope, visits
from ...services.records import ingest_one
from ..admin.routes import _download
from . import bp


@bp.route("/today")
@allow("leader", "worker")
def today():
    entries = visits.today_list(current_user)
    return render_template("visits/today.html", entries=entries)


def visit_form_context(error=None, amends=None, form=None):
    return dict(error=error, amends=amends, v=visits.form_values(amends, form),
                new_uuid=form.get("uuid") if form is not None else str(uuid.uuid4()),
                modes=visits.MODE_LABELS, checks=visits.CHECK_LABELS, needs=visits.NEED_LABELS)


@bp.route("/households/<int:household_id>/visits/new")
@allow(*REGISTRY)
def new(household_id):
    household = scope.household_or_404(current_user, household_id)
    amends = visits.get_visit(current_user, request.args["amends"]) if request.args.get("amends") else None
    return render_template("visits/new.html", household=household, **visit_form_context(amends=amends))


@bp.route("/households/<int:household_id>/visits", methods=["POST"])
@allow(*REGISTRY)
def create(household_id):
    """The plain-HTML way in; the phone's outbox sends the same payload to /api/sync."""
    household = scope.household_or_404(current_user, household_id)
    payload = visits.form_payload(request.form)
    payload["household_id"] = household.id
    answer = ingest_one(current_user, "visit", request.form.get("uuid"), payload)
    if answer["status"] != "stored":
        amends = visits.get_visit(current_user, payload.get("amends")) if payload.get("amends") else None
        return render_template("visits/new.html", household=household,
                               **visit_form_context(answer["reason"], amends, request.form)), 400
    return redirect(url_for("registry.household", household_id=household.id, saved=answer["uuid"]))


@bp.route("/visits/<visit_uuid>")
@allow(*REGISTRY)
def show(visit_uuid):
    visit = visits.get_visit(current_user, visit_uuid)
    if visit is None:
        abort(404)
    history = {v.uuid: v for v in visits.for_household(visit.household)}
    return render_template("visits/show.html", visit=history.get(visit.uuid, visit), labels=visits)


@bp.route("/outbox")
@public
def outbox():
    """A shell: what waits on this phone lives in its IndexedDB, not on the server."""
    return render_template("visits/outbox.html")


@bp.route("/offline/manifest.json")
@allow(*FIELD)
def offline_manifest():
    """What 准备离线 stores: whole pages (today's list…), the layout shell, and each of the
    worker's households as a fragment (with its visit form) that the service worker puts
    into the shell when offline."""
    pages = ["/outbox", "/offline", "/settings", "/shell"]
    fragments = []
    if current_user.role in REGISTRY:
        pages += ["/grids", "/search"]
        if current_user.role in ("leader", "worker"):
            pages.append("/today")
        ids = db.session.scalars(
            scope.households(current_user).with_only_columns(scope.Household.id).order_by(scope.Household.id))
        fragments = [f"/households/{hid}" for hid in ids]
    return jsonify(user=current_user.id, pages=pages, fragments=fragments)


@bp.route("/shell")
@allow(*FIELD)
def shell():
    """The layout with an empty main, for pages the service worker builds from fragments."""
    return render_template("visits/shell.html")


@bp.route("/admin/visits/export.<fmt>")
@allow("admin")
def export(fmt):
    registry.audit(current_user, "export", "visits", fmt)
    db.session.commit()
    return _download(visits.export_rows(current_user.community_id), fmt, "visits")
