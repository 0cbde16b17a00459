import uuid

from flask import abort, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from ...access import ANY_USER, HANDLE_ALERTS, RAISE_ALERTS, allow
from ...extensions import db
from ...services import alerts, push, scope
from ...services.records import ingest_one
from ...web import forms, lookups
from . import bp


def _alert_or_404(alert_id):
    alert = alerts.get(current_user, alert_id)
    if alert is None:
        abort(404)
    return alert


@bp.route("/alerts")
@allow(HANDLE_ALERTS)
def index():
    """Filtered by ?state= &source= &grid= (a plain GET form; htmx swaps #alert-list), paged by ?page=."""
    args = request.args
    grid_id = forms.int_or_none(args.get("grid"))
    grid = lookups.grid_or_404(current_user, grid_id) if grid_id is not None else None
    number = forms.int_or_none(args.get("page")) or 1
    found, total = alerts.listing(current_user, state=args.get("state"), source=args.get("source"), grid=grid,
                                  page=number)
    pages = max(1, -(-total // alerts.PER_PAGE))
    query = {k: args.get(k) for k in ("state", "source", "grid") if args.get(k)}
    template = "alerts/_list.html" if request.headers.get("HX-Request") else "alerts/index.html"
    response = make_response(render_template(
        template, alerts=found, total=total, page=number, pages=pages, query=query, labels=alerts,
        grids=scope.grid_list(current_user)))
    response.headers["Vary"] = "HX-Request"
    return response


@bp.route("/alerts/<int:alert_id>")
@allow(HANDLE_ALERTS)
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
@allow(HANDLE_ALERTS)
def acknowledge(alert_id):
    return _act(alert_id, lambda alert: alerts.acknowledge(alert, current_user), 409)


@bp.route("/alerts/<int:alert_id>/resolve", methods=["POST"])
@allow(HANDLE_ALERTS)
def resolve(alert_id):
    return _act(alert_id, lambda alert: alerts.resolve(alert, current_user, request.form.get("outcome"),
                                                       false_alarm=request.form.get("false_alarm") == "1"), 400)


@bp.route("/households/<int:household_id>/alerts", methods=["POST"])
@allow(RAISE_ALERTS)
def raise_for_household(household_id):
    """A worker raises an alert directly (plain HTML; the phone's outbox sends the same payload)."""
    household = lookups.household_or_404(current_user, household_id)
    payload = {"household_id": household.id, "source": "worker",
               "severity": request.form.get("severity") or "high", "note": request.form.get("note") or ""}
    answer = ingest_one(current_user, "alert", request.form.get("uuid") or str(uuid.uuid4()), payload)
    if answer["status"] != "stored":
        return render_template("errors/400.html", reason=answer["reason"]), 400
    alert = db.session.scalar(alerts.visible(current_user).where(alerts.Alert.uuid == answer["uuid"]))
    return redirect(url_for("alerts.show", alert_id=alert.id))


@bp.route("/inbox")
@allow(ANY_USER)
def inbox():
    """The notices. Looking changes nothing: reading is a POST (one notice, or all)."""
    return render_template("alerts/inbox.html", notices=push.inbox(current_user),
                           unread=push.unread_count(current_user))


@bp.route("/inbox/read", methods=["POST"])
@allow(*ANY_USER)
def inbox_read_all():
    push.mark_read(current_user)
    return redirect(url_for("alerts.inbox"))


@bp.route("/notices/<int:notice_id>/open", methods=["POST"])
@allow(*ANY_USER)
def open_notice(notice_id):
    """Follow a notice: it is read now, and the user goes where it points."""
    notice = push.mark_read(current_user, notice_id)
    if notice is None:
        abort(404)
    url = notice.url or "/"
    return redirect(url if url.startswith("/") and not url.startswith("//") else "/")
