"""Residents' requests: intake (through the record path), the case page with its timeline and
the step a person may take, lists (a resident's own, a worker's queue, the leaders' board),
photos (served only within scope) and the community's categories and calendar."""
import base64
import uuid

from flask import abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ... import access
from ...access import allow
from ...extensions import db
from ...models import Grid, Request, RequestCategory
from ...services import meals, records, registry, requests as svc, scope
from ...services.records import ingest_one
from ...web import forms, lookups
from ...web.fragments import wants_fragment
from ..offline.pages import contribute
from . import bp

STEP_TEMPLATE = "requests/show.html"


def _request_or_404(request_id):
    req = svc.get(current_user, lookups.object_id(request_id))
    if req is None:
        lookups._not_found(current_user, "request", request_id)
    return req


def _version():
    return forms.int_or_none(request.form.get("version"))


def _shown(req, error=None, step=None):
    """The case page; after a refused step, that step's form comes back with what was typed."""
    case = svc.case_of(req)
    typed = request.form if error and step else {}
    return render_template(STEP_TEMPLATE, req=req, case=case, merged=svc.merged_of(case), error=error, s=svc,
                           step=step, typed=typed,
                           assignees=svc.assignees(current_user, case) if access.may(
                               current_user, access.HANDLE_REQUESTS) else [],
                           reporters=svc.reporters(case)), (400 if error else 200)


# ---- intake ---------------------------------------------------------------------------------

def _new_context(values=None, error=None):
    svc.ensure_categories(current_user.community)
    household = None
    household_id = forms.int_or_none((values or request.args).get("household_id")
                                     or request.args.get("household"))
    if current_user.role == "resident":
        household_id = scope.own_household_id(current_user)
        household = db.session.get(scope.Household, household_id) if household_id else None
    elif household_id:
        household = lookups.household_or_404(current_user, household_id)
    visit_uuid = records._uuid((values or request.args).get("visit_uuid") or request.args.get("visit") or "")
    grids = db.session.scalars(select(Grid).where(Grid.id.in_(scope.grid_ids(current_user) or {-1}))
                               .order_by(Grid.code)).all() if current_user.role != "resident" else []
    return dict(categories=svc.categories(current_user.community_id), household=household, grids=grids,
                visit_uuid=visit_uuid, values=values or {}, error=error, new_uuid=str(uuid.uuid4()),
                s_channels=svc.CHANNEL_LABELS)


@bp.route("/requests/new")
@allow(access.REQUESTS)
def new():
    """The form: a resident's own (stored for offline use), or staff's for a household, a visit's
    needs, a phone call or a walk-in."""
    return render_template("requests/new.html", **_new_context())


@bp.app_template_global("visit_requests")
def visit_requests(visit_uuid):
    """For the visit page: the requests recorded from its needs."""
    return svc.for_visit(current_user, visit_uuid) if access.may(current_user, access.REQUESTS) else []


@contribute
def _offline_pages(user):
    if user.role == "resident" or access.may(user, access.HANDLE_REQUESTS):
        yield url_for("requests.new")  # staff: opened from any stored household page (#household=…)
    if access.may(user, access.HANDLE_REQUESTS):
        yield url_for("requests.index")  # the queue, as it was when stored


@bp.route("/requests", methods=["POST"])
@allow(access.REQUESTS)
def create():
    """The plain-HTML way in (a photo as a file); the phone's outbox sends the same record to /api/sync."""
    payload = records.KINDS["request"].form_payload(request.form)
    payload.pop("uuid", None)
    upload = _chosen_file()
    if upload:
        data = upload.read(svc.PHOTO_MAX + 1)
        try:
            svc.check_photo(data)
        except records.Rejected as exc:
            return render_template("requests/new.html", **_new_context(request.form, exc.message)), 400
        payload["photo"] = base64.b64encode(data).decode()
    answer = ingest_one(current_user, "request", request.form.get("uuid") or str(uuid.uuid4()), payload)
    if answer["status"] != "stored":
        return render_template("requests/new.html", **_new_context(request.form, answer["reason"])), 400
    req = db.session.scalar(select(Request).where(Request.uuid == answer["uuid"]))
    flash(_("诉求已提交"), "ok")
    return redirect(url_for("requests.show", request_id=req.id))


# ---- lists ------------------------------------------------------------------------------------

@bp.route("/requests")
@allow(access.REQUESTS)
def index():
    """Residents: their own requests. Workers: their queue. Leaders and admins: the board."""
    if current_user.role == "resident":
        return render_template("requests/mine.html", rows=svc.mine(current_user), s=svc)
    state = request.args.get("state") or "open"
    category_id = forms.int_or_none(request.args.get("category"))
    grid_id = forms.int_or_none(request.args.get("grid"))
    page = forms.int_or_none(request.args.get("page")) or 1
    rows, total = svc.board(current_user, state, category_id, grid_id, page)
    grids = db.session.scalars(select(Grid).where(Grid.id.in_(scope.grid_ids(current_user) or {-1}))
                               .order_by(Grid.code)).all()
    ctx = dict(rows=rows, total=total, page=page, pages=max(1, -(-total // svc.PAGE)), state=state,
               category_id=category_id, grid_id=grid_id, grids=grids, s=svc,
               categories=svc.categories(current_user.community_id, active_only=False))
    template = "requests/_board.html" if wants_fragment() else "requests/board.html"
    response = render_template(template, **ctx)
    return response, 200, {"Vary": "HX-Request"}


# ---- a case -----------------------------------------------------------------------------------

@bp.route("/requests/<int:request_id>")
@allow(access.REQUESTS)
def show(request_id):
    return _shown(_request_or_404(request_id))


def _step(request_id, action, step=None):
    asked = _request_or_404(request_id)
    req = svc.case_of(asked)
    try:
        action(req)
    except svc.RequestError as exc:
        return _shown(asked, str(exc), step)
    flash(_("已保存"), "ok")
    return redirect(url_for("requests.show", request_id=request_id))


@bp.route("/requests/<int:request_id>/accept", methods=["POST"])
@allow(access.HANDLE_REQUESTS)
def accept(request_id):
    return _step(request_id, lambda req: svc.accept(current_user, req, _version()))


@bp.route("/requests/<int:request_id>/dispatch", methods=["POST"])
@allow(access.HANDLE_REQUESTS)
def dispatch(request_id):
    return _step(request_id, lambda req: svc.dispatch(
        current_user, req, _version(), forms.int_or_none(request.form.get("assignee_id")),
        request.form.get("outside", "")), "dispatch")


def _chosen_file():
    """The photo sent as a plain file (no scripts on the phone): a photo field has two inputs named
    photo_file, 拍照 and 从相册选择 (requests/_photo.html); the one that holds a file."""
    return next((f for f in request.files.getlist("photo_file") if f and f.filename), None)


def _photo_upload():
    """The handling photo: shrunk on the phone (data-shrink, a data: URL in `photo`), or a plain file."""
    shrunk = request.form.get("photo")
    upload = _chosen_file()
    try:
        if shrunk:
            return svc.decode_photo(shrunk)
        if not upload:
            return None
        return svc.check_photo(upload.read(svc.PHOTO_MAX + 1))
    except records.Rejected as exc:
        raise svc.RequestError(exc.message) from None


@bp.route("/requests/<int:request_id>/handle", methods=["POST"])
@allow(access.HANDLE_REQUESTS)
def handle(request_id):
    return _step(request_id, lambda req: svc.handle(current_user, req, _version(), request.form.get("note"),
                                                    _photo_upload()), "handle")


@bp.route("/requests/<int:request_id>/verify", methods=["POST"])
@allow(access.VERIFY_REQUESTS)
def verify(request_id):
    return _step(request_id, lambda req: svc.verify(current_user, req, _version(),
                                                    request.form.get("passed") != "0", request.form.get("note")),
                 "verify")


@bp.route("/requests/<int:request_id>/close", methods=["POST"])
@allow(access.VERIFY_REQUESTS)
def close(request_id):
    return _step(request_id, lambda req: svc.close(current_user, req, _version(), request.form.get("note")), "close")


@bp.route("/requests/<int:request_id>/rate", methods=["POST"])
@allow(access.SOS)
def rate(request_id):
    return _step(request_id, lambda req: svc.rate(current_user, req, forms.int_or_none(request.form.get("rating")),
                                                  request.form.get("comment")), "rate")


@bp.route("/requests/<int:request_id>/merge", methods=["POST"])
@allow(access.VERIFY_REQUESTS)
def merge(request_id):
    def action(req):
        ids = [i for i in (forms.int_or_none(v) for v in request.form.getlist("others")) if i]
        others = db.session.scalars(svc.visible(current_user).where(Request.id.in_(ids or [-1]))).all()
        if len(others) != len(set(ids)):
            raise svc.RequestError(_("所选诉求不在您的范围内。"))
        svc.merge(current_user, req, others)
    return _step(request_id, action)


@bp.route("/requests/<int:request_id>/meeting", methods=["POST"])
@allow(access.VERIFY_REQUESTS)
def meeting(request_id):
    """Mark the case as needing a residents' meeting (议事), or record the meeting and return it to handling."""
    if request.form.get("held"):
        return _step(request_id, lambda req: svc.meeting_held(
            current_user, req, _version(), registry.parse_date(request.form.get("date")),
            request.form.get("participants"), request.form.get("resolution")), "meeting_held")
    return _step(request_id, lambda req: svc.to_meeting(current_user, req, _version(), request.form.get("note")),
                 "meeting")


@bp.route("/requests/<int:request_id>/photos/<name>")
@allow(access.REQUESTS)
def photo(request_id, name):
    """A photo of a case in the user's scope; any other name or case answers 404."""
    req = _request_or_404(request_id)
    case = svc.case_of(req)
    if name not in svc.photos_of(req) | svc.photos_of(case):
        abort(404)
    response = send_file(svc.photo_path(name), mimetype="image/png" if name.endswith(".png") else "image/jpeg",
                         max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


# ---- the community's categories and calendar ------------------------------------------------

@bp.route("/requests/settings", methods=["GET", "POST"])
@allow(access.ADMIN)
def settings():
    community = current_user.community
    svc.ensure_categories(community)
    error = None
    if request.method == "POST":
        try:
            if request.form.get("what") == "calendar":
                svc.save_calendar(community, (request.form.get("opens", ""), request.form.get("closes", "")),
                                  request.form.getlist("weekdays"), request.form.get("holidays"),
                                  request.form.get("make_up_days"))
            else:
                category = None
                cat_id = forms.int_or_none(request.form.get("category_id"))
                if cat_id:
                    category = db.session.scalar(select(RequestCategory).where(
                        RequestCategory.id == cat_id, RequestCategory.community_id == community.id))
                    if category is None:
                        abort(404)
                svc.save_category(community, request.form.get("name"), request.form.get("response_hours"),
                                  request.form.get("limit_hours"), category,
                                  active=request.form.get("active", "1") == "1")
        except svc.RequestError as exc:
            error = str(exc)
        else:
            return forms.saved(_("已保存"), url_for("requests.settings"))
    opens, closes, weekdays, holidays, extra = svc.calendar(community)
    typed = request.form if error and request.form.get("what") != "calendar" \
        and not request.form.get("category_id") else {}  # a new category refused: what was typed comes back
    return forms.page("requests/settings.html", error=error, typed=typed,
                      categories=svc.categories(community.id, active_only=False),
                      opens=opens, closes=closes, weekdays=weekdays, holidays=sorted(holidays),
                      extra=sorted(extra), weekday_labels=meals.WEEKDAY_LABELS)
