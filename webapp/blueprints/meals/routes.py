"""Meal deliveries: the volunteer's route for today (offline through the outbox), and the
staff's recipients, routes, print sheets and reports."""
import uuid

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ... import access
from ...access import allow
from ...extensions import db
from ...models import MealRecipient, MealRoute, Resident, User
from ...services import meals, registry, scope
from ...services import records
from ...services.records import ingest_one
from ...web import forms
from ...web.downloads import download
from ..offline.pages import contribute
from . import bp

deliverers = allow(access.DELIVER_MEALS)
staff_only = allow(access.ADMIN)


def _route_or_404(route_id):
    route = db.session.scalar(meals.routes(current_user).where(MealRoute.id == route_id))
    if route is None:
        abort(404)
    return route


def _recipient_or_404(recipient_id):
    recipient = db.session.scalar(meals.recipients(current_user).where(MealRecipient.id == recipient_id))
    if recipient is None:
        abort(404)
    return recipient


def _ids(values):
    return [i for i in (forms.int_or_none(v) for v in values) if i is not None]


def _day():
    value = request.args.get("day")
    parsed = registry.parse_date(value) if value else None
    return parsed or meals.local_today(current_user.community)


# ---- the volunteer's day -------------------------------------------------------------

@bp.route("/meals")
@deliverers
def home():
    """Today's routes, stops in order, with one tap per outcome. Stored by 准备离线."""
    day = meals.local_today(current_user.community)
    my_routes = db.session.scalars(meals.routes(current_user)).all()
    sheets = meals.sheets([r.id for r in my_routes], day)
    return render_template("meals/home.html", routes=my_routes, sheets=sheets, day=day, m=meals,
                           new_uuid=lambda: str(uuid.uuid4()))


@contribute
def _offline_pages(user):
    """A volunteer's route is their home, and works offline from the installed icon."""
    if access.may(user, access.MEAL_ROUNDS):
        yield url_for("meals.home")


def _ingest_form(kind):
    payload = records.KINDS[kind].form_payload(request.form)
    payload.pop("uuid", None)
    answer = ingest_one(current_user, kind, request.form.get("uuid") or str(uuid.uuid4()), payload)
    if answer["status"] != "stored":
        return render_template("errors/400.html", reason=answer["reason"]), 400
    flash(_("已提交"))
    return redirect(url_for("meals.home") + (f"#stop-{payload.get('recipient_id')}"
                                             if payload.get("recipient_id") else ""))


@bp.route("/meals/deliveries", methods=["POST"])
@deliverers
def deliver():
    """The plain-HTML way in; the phone's outbox sends the same payload to /api/sync."""
    return _ingest_form("delivery")


@bp.route("/meals/steps", methods=["POST"])
@deliverers
def step():
    return _ingest_form("delivery_step")


@bp.route("/meals/closures", methods=["POST"])
@deliverers
def close_route():
    return _ingest_form("route_closure")


# ---- staff: recipients -----------------------------------------------------------------

def _enrol_values(form):
    return dict(days=[int(d) for d in form.getlist("days") if d in "0123456" and len(d) == 1], meal_kind=form.get("meal_kind"),
                diets=form.getlist("diets"), avoid=form.get("avoid", ""), notes=form.get("notes", ""),
                dine_in=form.get("dine_in") == "1")


@bp.route("/meals/recipients", methods=["GET", "POST"])
@staff_only
def recipients():
    error = None
    if request.method == "POST":
        resident = db.session.scalar(scope.residents(current_user).where(
            Resident.id == forms.int_or_none(request.form.get("resident_id"))))
        if resident is None:
            error = _("请先搜索并选择一位居民。")
        else:
            try:
                recipient = meals.enroll(current_user, resident, **_enrol_values(request.form))
                flash(_("已登记送餐：%(name)s", name=resident.name))
                return redirect(url_for("meals.recipient", recipient_id=recipient.id))
            except meals.MealError as exc:
                error = str(exc)
    listing = db.session.execute(
        select(MealRecipient, Resident).join(Resident, Resident.id == MealRecipient.resident_id)
        .where(MealRecipient.community_id == current_user.community_id).order_by(Resident.name)).all()
    found = meals.search_residents(current_user, request.args.get("q"))
    return render_template("meals/recipients.html", listing=listing, found=found, error=error, m=meals,
                           form=request.form), 400 if error else 200


@bp.route("/meals/recipients/<int:recipient_id>", methods=["GET", "POST"])
@staff_only
def recipient(recipient_id):
    r = _recipient_or_404(recipient_id)
    error = None
    if request.method == "POST":
        try:
            if request.form.get("action") == "pause":
                meals.add_pause(r, registry.parse_date(request.form.get("start")),
                                registry.parse_date(request.form.get("end")), request.form.get("reason"))
                flash(_("已添加暂停"))
            else:
                meals.enroll(current_user, r.resident, recipient=r, **_enrol_values(request.form))
                r.active = request.form.get("active", "1") == "1"
                flash(_("已保存"))
            return redirect(url_for("meals.recipient", recipient_id=r.id))
        except meals.MealError as exc:
            error = str(exc)
    return render_template("meals/recipient.html", r=r, error=error, m=meals,
                           form=request.form if error else None), 400 if error else 200


# ---- staff: routes ---------------------------------------------------------------------

@bp.route("/meals/routes", methods=["GET", "POST"])
@staff_only
def routes():
    error = None
    if request.method == "POST":
        try:
            route = meals.save_route(current_user, request.form.get("name"),
                                     _ids(request.form.getlist("volunteers")))
            flash(_("已保存线路"))
            return redirect(url_for("meals.route", route_id=route.id))
        except meals.MealError as exc:
            error = str(exc)
    all_routes = db.session.scalars(meals.routes(current_user)).all()
    day = _day()
    sheets = meals.sheets([r.id for r in all_routes], day)
    return render_template("meals/routes.html", routes=all_routes, sheets=sheets, day=day, m=meals, error=error,
                           volunteers=_volunteers(), form=request.form,
                           unmatched=meals.unmatched_steps(current_user)), 400 if error else 200


def _volunteers():
    return db.session.scalars(select(User).where(User.community_id == current_user.community_id,
                                                 User.role.in_(("volunteer", "worker", "leader")),
                                                 User.active.is_(True)).order_by(User.role.desc(), User.name)).all()


@bp.route("/meals/routes/<int:route_id>", methods=["GET", "POST"])
@staff_only
def route(route_id):
    r = _route_or_404(route_id)
    error = None
    if request.method == "POST":
        action = request.form.get("action")
        try:
            if action == "add":
                meals.add_stop(r, _recipient_or_404(forms.int_or_none(request.form.get("recipient_id")) or 0))
            elif action in ("up", "down"):
                meals.move_stop(r, forms.int_or_none(request.form.get("stop_id")), -1 if action == "up" else 1)
            elif action == "remove":
                meals.remove_stop(r, forms.int_or_none(request.form.get("stop_id")))
            else:
                meals.save_route(current_user, request.form.get("name"),
                                 _ids(request.form.getlist("volunteers")), route=r)
            flash(_("已保存线路"))
            return redirect(url_for("meals.route", route_id=r.id))
        except meals.MealError as exc:
            error = str(exc)
    on_routes = select(MealRecipient.id).join(meals.RouteStop, meals.RouteStop.recipient_id == MealRecipient.id)
    free = db.session.execute(
        select(MealRecipient, Resident).join(Resident, Resident.id == MealRecipient.resident_id)
        .where(MealRecipient.community_id == current_user.community_id, MealRecipient.id.not_in(on_routes))
        .order_by(Resident.name)).all()
    return render_template("meals/route.html", r=r, free=free, error=error, volunteers=_volunteers(),
                           m=meals), 400 if error else 200


@bp.route("/meals/routes/<int:route_id>/print")
@staff_only
def print_sheet(route_id):
    r = _route_or_404(route_id)
    day = _day()
    stops = meals.sheets([r.id], day)[r.id]
    return render_template("meals/print.html", r=r, stops=stops, day=day, totals=meals.diet_totals(stops), m=meals)


@bp.route("/meals/report")
@staff_only
def report():
    month = meals.parse_month(request.args.get("month"), current_user.community)
    return render_template("meals/report.html", month=month, data=meals.report(current_user, month), m=meals)


@bp.route("/meals/export.<fmt>")
@staff_only
def export(fmt):
    month = meals.parse_month(request.args.get("month"), current_user.community)
    from ...services import audit
    audit.record(current_user, "export", "meals", None, f"{month:%Y-%m} {fmt}")
    return download(meals.monthly_sheet_rows(current_user, month), fmt, f"meals-{month:%Y-%m}")
