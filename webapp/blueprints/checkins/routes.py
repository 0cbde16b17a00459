"""平安打卡 on the household page: staff enrol an elder (in their grids: the household is looked
up in the user's scope, 404 outside it), set pauses, and check in on the elder's behalf."""
import uuid

from flask import flash, redirect, request
from flask_babel import gettext as _
from flask_login import current_user

from ...access import ENROL_CHECKIN, allow
from ...services import checkins
from ...services.records import ingest_one
from ...web import lookups
from . import bp


def _back(household, error=None):
    if error:
        flash(error, "error")
    return redirect(f"/households/{household.id}#checkin")


@bp.route("/households/<int:household_id>/checkin/enrol", methods=["POST"])
@allow(ENROL_CHECKIN)
def enrol(household_id):
    household = lookups.household_or_404(current_user, household_id)
    try:
        row = checkins.enrol(current_user, household, request.form.get("deadline"))
    except checkins.CheckinError as exc:
        return _back(household, str(exc))
    flash(_("已开启平安打卡，每天 %(deadline)s 前打卡。", deadline=row.deadline), "ok")
    return _back(household)


@bp.route("/households/<int:household_id>/checkin/stop", methods=["POST"])
@allow(ENROL_CHECKIN)
def stop(household_id):
    household = lookups.household_or_404(current_user, household_id)
    checkins.stop(current_user, household)
    flash(_("已停止平安打卡。"), "ok")
    return _back(household)


@bp.route("/households/<int:household_id>/checkin/pauses", methods=["POST"])
@allow(ENROL_CHECKIN)
def pause(household_id):
    household = lookups.household_or_404(current_user, household_id)
    try:
        checkins.add_pause(current_user, household, request.form.get("reason"), request.form.get("starts_on"),
                           request.form.get("ends_on"))
    except checkins.CheckinError as exc:
        return _back(household, str(exc))
    flash(_("已暂停平安打卡。"), "ok")
    return _back(household)


@bp.route("/households/<int:household_id>/checkin/pauses/<int:pause_id>/end", methods=["POST"])
@allow(ENROL_CHECKIN)
def end_pause(household_id, pause_id):
    household = lookups.household_or_404(current_user, household_id)
    checkins.end_pause(current_user, household, pause_id)
    flash(_("已恢复平安打卡。"), "ok")
    return _back(household)


@bp.route("/households/<int:household_id>/checkin", methods=["POST"])
@allow(ENROL_CHECKIN)
def on_behalf(household_id):
    """A worker checks in for the elder after a call or a visit: the same record kind, author = the worker."""
    household = lookups.household_or_404(current_user, household_id)
    answer = ingest_one(current_user, "checkin", request.form.get("uuid") or str(uuid.uuid4()),
                        {"household_id": household.id, "mode": request.form.get("mode") or "phone",
                         "note": request.form.get("note") or ""})
    if answer["status"] != "stored":
        return _back(household, answer["reason"])
    flash(_("已代为打卡。"), "ok")
    return _back(household)
