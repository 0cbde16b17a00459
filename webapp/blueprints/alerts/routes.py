import uuid

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user

from ...access import ANY_USER, REGISTRY, allow
from ...extensions import db
from ...models import Notice
from ...services import alerts, push, scope
from ...services.clock import utcnow
from ...services.records import ingest_one
from . import bp


def _alert_or_404(alert_id):
    alert = alerts.get(current_user, alert_id)
    if alert is None:
        abort(404)
    return alert


@bp.route("/alerts")
@allow(*REGISTRY)
def index():
    return render_template("alerts/index.html", alerts=alerts.listing(current_user), labels=alerts)


@bp.route("/alerts/<int:alert_id>")
@allow(*REGISTRY)
def show(alert_id, error=None, status=200):
    alert = _alert_or_404(alert_id)
    return render_template("alerts/show.html", alert=alert, labels=alerts, error=error), status


def _act(alert_id, action, error_status):
    """Apply one step of the closed loop, then show the alert (or why the step was refused)."""
    alert = _alert_or_404(alert_id)
    try:
        action(alert)
    except alerts.AlertError as exc:
        return show(alert_id, str(exc), error_status)
    return redirect(url_for("alerts.show", alert_id=alert.id))


@bp.route("/alerts/<int:alert_id>/ack", methods=["POST"])
@allow(*REGISTRY)
def acknowledge(alert_id):
    return _act(alert_id, lambda alert: alerts.acknowledge(alert, current_user), 409)


@bp.route("/alerts/<int:alert_id>/resolve", methods=["POST"])
@allow(*REGISTRY)
def resolve(alert_id):
    return _act(alert_id, lambda alert: alerts.resolve(alert, current_user, request.form.get("outcome"),
                                                       false_alarm=request.form.get("false_alarm") == "1"), 400)


@bp.route("/households/<int:household_id>/alerts", methods=["POST"])
@allow(*REGISTRY)
def raise_for_household(household_id):
    """A worker raises an alert directly (plain HTML; the phone's outbox sends the same payload)."""
    household = scope.household_or_404(current_user, household_id)
    payload = {"household_id": household.id, "source": "worker",
               "severity": request.form.get("severity") or "high", "note": request.form.get("note") or ""}
    answer = ingest_one(current_user, "alert", request.form.get("uuid") or str(uuid.uuid4()), payload)
    if answer["status"] != "stored":
        return render_template("errors/400.html", reason=answer["reason"]), 400
    alert = db.session.scalar(alerts.visible(current_user).where(alerts.Alert.uuid == answer["uuid"]))
    return redirect(url_for("alerts.show", alert_id=alert.id))


@bp.route("/inbox")
@allow(*ANY_USER)
def inbox():
    notices = push.inbox(current_user)
    response = render_template("alerts/inbox.html", notices=notices)
    db.session.query(Notice).filter(Notice.user_id == current_user.id, Notice.read_at.is_(None)) \
        .update({"read_at": utcnow()})
    db.session.commit()
    return response
