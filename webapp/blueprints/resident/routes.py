import uuid

from flask import abort, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user

from ...access import REGISTRY, allow, public
from ...extensions import db
from ...services import accounts, residents, scope
from ...services.records import ingest_one
from . import bp


@bp.route("/me")
@allow("resident")
def home(sent=None, status=200):
    household, workers, recent = residents.home(current_user)
    return render_template("resident/home.html", household=household, workers=workers, recent=recent,
                           sent=sent), status


@bp.route("/sos", methods=["POST"])
@allow("resident")
def sos():
    """One button: the alert goes through the same record path as everything else."""
    household_id = scope.own_household_id(current_user)
    if household_id is None:
        abort(404)
    answer = ingest_one(current_user, "alert", request.form.get("uuid") or str(uuid.uuid4()),
                        {"household_id": household_id, "source": "sos", "severity": "high",
                         "location": request.form.get("location") or ""})
    return home(sent=answer, status=200 if answer["status"] == "stored" else 400)


@bp.route("/households/<int:household_id>/invite", methods=["GET", "POST"])
@allow(*REGISTRY)
def invite(household_id):
    household = scope.household_or_404(current_user, household_id)
    members = {link.resident.id: link.resident for link in household.current_residencies}
    if request.method == "GET":
        return render_template("resident/invite_form.html", household=household, members=members.values())
    resident_id = request.form.get("resident_id", type=int)
    if resident_id not in members:
        return render_template("resident/invite_form.html", household=household, members=members.values(),
                               error=_("请选择这户的居民。")), 400
    invitation = residents.invite(current_user, members[resident_id])
    link = url_for("resident.join", code=invitation.code, _external=True)
    import segno
    qr = segno.make(link, error="m").svg_inline(scale=6, dark="#000", light="#fff")
    return render_template("resident/invite.html", invitation=invitation, household=household, link=link, qr=qr)


@bp.route("/join", methods=["GET", "POST"])
@public
def join():
    error = None
    if request.method == "POST":
        try:
            user = residents.join(request.form.get("code"), request.form.get("phone"),
                                  request.form.get("password"))
        except accounts.AccountError as exc:
            db.session.rollback()
            error = str(exc)
        else:
            session.permanent = True
            login_user(user, remember=True)
            return redirect(url_for("resident.home", welcome=1))
    return render_template("resident/join.html", error=error, code=request.values.get("code", "")), \
        400 if error else 200
