import uuid

from flask import abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ...access import INVITE_RESIDENTS, SOS, allow, public
from ...services import accounts, audit, checkins, residents, scope, sos as sos_service, throttle
from ...services.records import ingest_one
from ...web import lookups
from ...web.login import start_session
from ..offline.pages import contribute
from . import bp


@bp.route("/me")
@allow(SOS)
def home(sent=None, checked=None, status=200):
    household, workers, recent = residents.home(current_user)
    return render_template("resident/home.html", household=household, workers=workers, recent=recent,
                           sent=sent, checked=checked, sos_status=_sos_status(household),
                           checkin=checkins.status(household) if household else None,
                           login_name=residents.login_name(current_user)), status


def _sos_status(household):
    return sos_service.status(current_user, household.id if household else None)


@bp.route("/me/sos-status")
@allow(SOS)
def sos_status():
    """The resident's latest SOS: who was told, who responded (the home page polls it while open)."""
    household_id = scope.own_household_id(current_user)
    return render_template("resident/_sos_status.html",
                           sos_status=sos_service.status(current_user, household_id))


@bp.route("/me/viewers")
@allow("resident")
def viewers():
    """谁看过我的信息: staff who opened this resident's record, from the audit trail."""
    return render_template("resident/viewers.html", rows=residents.viewers(current_user))


@bp.route("/sos", methods=["POST"])
@allow(SOS)
def sos():
    """One button, confirmed: without JavaScript, a first post asks on a page of its own; the
    press then goes through the same record path as everything else (kind "sos")."""
    household_id = scope.own_household_id(current_user)
    if household_id is None:
        abort(404)
    if request.form.get("confirm") != "1":
        return render_template("resident/sos_confirm.html", new_uuid=str(uuid.uuid4()))
    answer = ingest_one(current_user, "sos", request.form.get("uuid") or str(uuid.uuid4()),
                        {"household_id": household_id, "location": request.form.get("location") or ""})
    return home(sent=answer, status=200 if answer["status"] == "stored" else 400)


@bp.route("/checkin", methods=["POST"])
@allow(SOS)
def checkin():
    """我很好 without JavaScript: the same record as the phone's outbox sends."""
    household_id = scope.own_household_id(current_user)
    if household_id is None:
        abort(404)
    answer = ingest_one(current_user, "checkin", request.form.get("uuid") or str(uuid.uuid4()),
                        {"household_id": household_id, "mode": "self"})
    return home(checked=answer, status=200 if answer["status"] == "stored" else 400)


@bp.route("/households/<int:household_id>/invite", methods=["GET", "POST"])
@allow(INVITE_RESIDENTS)
def invite(household_id):
    household = lookups.household_or_404(current_user, household_id)
    members = {link.resident.id: link.resident for link in household.current_residencies}
    if request.method == "GET":
        return render_template("resident/invite_form.html", household=household, members=members.values())
    resident_id = request.form.get("resident_id", type=int)
    if resident_id not in members:
        return render_template("resident/invite_form.html", household=household, members=members.values(),
                               error=_("请选择这户的居民。")), 400
    invitation = residents.invite(current_user, members[resident_id])
    audit.record(current_user, "invite", "resident", resident_id)
    link = url_for("resident.join", code=invitation.code, _external=True)
    import segno
    qr = segno.make(link, error="m").svg_inline(scale=6, dark="#000", light="#fff")
    return render_template("resident/invite.html", invitation=invitation, household=household, link=link, qr=qr)


@bp.route("/join", methods=["GET", "POST"])
@public
def join():
    error = None
    status = 200
    if request.method == "POST":
        address = request.remote_addr or ""
        if throttle.hit("JOIN_ADDRESS_LIMITS", address) or throttle.hit("JOIN_GLOBAL_LIMITS", "all"):
            audit.record(None, "join_failed", "invitation", None, "throttled", durable=True)
            return render_template("resident/join.html", error=_("尝试次数过多，请稍后再试。"),
                                   code=request.form.get("code", "")), 429
        try:
            user = residents.join(request.form.get("code"), request.form.get("phone"),
                                  request.form.get("password"))
        except accounts.AccountError as exc:
            error, status = str(exc), 400
            audit.record(None, "join_failed", "invitation", None, error, durable=True)
        else:
            audit.record(user, "join", "resident", user.resident_id)
            start_session(user)
            return redirect(url_for("resident.home", welcome=1))
    return render_template("resident/join.html", error=error, code=request.values.get("code", "")), status


@contribute
def _offline_pages(user):
    """The SOS page, with the grid worker's phone, 120 and the address, works offline."""
    if user.role == "resident":
        yield url_for("resident.home")
