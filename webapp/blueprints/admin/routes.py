"""The admin's desk, thin: check access, call a service, render (web/forms.py's one pattern)."""
from datetime import datetime, time, timedelta

from flask import Response, abort, current_app, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from ...access import ADMIN, MANAGE_ABSENCES, allow
from ...models import ROLES
from ...services import accounts, admin, audit, coverage, importer, registry
from ...web import downloads, forms, lookups
from . import bp

admin_only = allow(ADMIN)


@bp.route("/")
@admin_only
def index():
    return render_template("admin/index.html", counts=admin.counts(current_user.community_id),
                           grids=admin.grids(current_user.community_id), v=request.args,
                           gaps=coverage.coverage_gaps(current_user.community))


# ---- grids and buildings -------------------------------------------------

@bp.route("/grids", methods=["GET", "POST"])
@admin_only
def grids():
    error = None
    if request.method == "POST":
        parent_id = forms.int_or_none(request.form.get("parent_id"))
        parent = lookups.grid_or_404(current_user, parent_id) if request.form.get("parent_id") else None
        try:
            grid = admin.save_grid(current_user, request.form.get("name"), parent)
            return forms.saved(_("已保存网格“%(name)s”。", name=grid.name), url_for("admin.grids"))
        except registry.RegistryError as exc:
            error = str(exc)
    return forms.page("admin/grids.html", error, grids=admin.grids(current_user.community_id), v=forms.values())


@bp.route("/grids/<int:grid_id>/edit", methods=["GET", "POST"])
@admin_only
def grid_edit(grid_id):
    grid = lookups.grid_or_404(current_user, grid_id)
    error = None
    if request.method == "POST":
        try:
            admin.save_grid(current_user, request.form.get("name"), grid.parent, grid=grid)
            return forms.saved(_("已保存网格“%(name)s”。", name=grid.name), url_for("admin.grids"))
        except registry.RegistryError as exc:
            error = str(exc)
    return forms.page("admin/grid_form.html", error, grid=grid, v=forms.values({"name": grid.name}))


def _building_form(building=None):
    error = None
    if request.method == "POST":
        grid_id = forms.int_or_none(request.form.get("grid_id"))
        if grid_id is None:
            error = _("请选择所属网格。")
        else:
            grid = lookups.grid_or_404(current_user, grid_id)
            try:
                building = admin.save_building(current_user, grid, request.form.get("name"),
                                               request.form.get("address"), building=building)
                return forms.saved(_("已保存楼栋“%(name)s”。", name=building.name),
                                   url_for("registry.building", building_id=building.id))
            except registry.RegistryError as exc:
                error = str(exc)
    stored = ({"grid_id": building.grid_id, "name": building.name, "address": building.address} if building
              else {"grid_id": request.args.get("grid", "")})
    return forms.page("admin/building_form.html", error, building=building,
                      grids=admin.grids(current_user.community_id), v=forms.values(stored))


@bp.route("/buildings/new", methods=["GET", "POST"])
@admin_only
def building_new():
    return _building_form()


@bp.route("/buildings/<int:building_id>/edit", methods=["GET", "POST"])
@admin_only
def building_edit(building_id):
    return _building_form(lookups.building_or_404(current_user, building_id))


# ---- households and residents --------------------------------------------

def _household_form(household=None):
    error = None
    if request.method == "POST":
        building_id = forms.int_or_none(request.form.get("building_id"))
        if building_id is None:
            error = _("请选择楼栋。")
        else:
            building = lookups.building_or_404(current_user, building_id)
            try:
                household = admin.save_household(
                    current_user, building, request.form.get("unit"), request.form.get("room"),
                    request.form.get("phone"), request.form.get("contacts"), request.form.get("note"),
                    household=household)
                return forms.saved(_("已保存住户 %(label)s。", label=household.label),
                                   url_for("registry.household", household_id=household.id))
            except registry.RegistryError as exc:
                error = str(exc)
    h = household
    stored = ({"building_id": h.building_id, "unit": h.unit, "room": h.room, "phone": h.phone,
               "contacts": "".join(f"{c['name']},{c['relation']},{c['phone']}\n" for c in h.emergency_contacts or []),
               "note": h.note} if h else {"building_id": request.args.get("building", "")})
    buildings = admin.buildings(current_user)
    return forms.page("admin/household_form.html", error, household=household, buildings=buildings,
                      v=forms.values(stored))


@bp.route("/households/new", methods=["GET", "POST"])
@admin_only
def household_new():
    return _household_form()


@bp.route("/households/<int:household_id>/edit", methods=["GET", "POST"])
@admin_only
def household_edit(household_id):
    return _household_form(lookups.household_or_404(current_user, household_id))


def _picked_household(v):
    """The household the form names (404 outside the admin's community), or None."""
    hid = forms.int_or_none(v.get("household_id"))
    return lookups.household_or_404(current_user, hid) if hid is not None else None


def _resident_form(resident=None):
    error = None
    cats = [c for c in registry.categories(current_user.community_id) if not c.derived]
    if request.method == "POST":
        household = _picked_household(request.form)
        if household is None:
            error = _("请选择住户。")
        else:
            try:
                resident = admin.save_resident(
                    current_user, household, request.form.get("relation"), request.form.get("name"),
                    request.form.get("sex"), request.form.get("birth_date"), request.form.get("phone"),
                    request.form.get("id_number"),
                    [int(v) for v in request.form.getlist("category") if v.isascii() and v.isdigit() and len(v) < 12],
                    resident=resident)
                return forms.saved(_("已保存居民%(name)s。", name=resident.name),
                                   url_for("registry.household", household_id=household.id))
            except registry.RegistryError as exc:
                error = str(exc)
    r = resident
    link = r.current_residency if r else None
    stored = ({"household_id": link.household_id if link else "", "relation": link.relation if link else "",
               "name": r.name, "sex": r.sex, "birth_date": r.birth_date.isoformat() if r.birth_date else "",
               "phone": r.phone, "id_number": r.id_number, "category": [c.id for c in r.categories]}
              if r else {"household_id": request.args.get("household", ""), "relation": "户主"})
    v = forms.values(stored)
    chosen = _picked_household(v)
    options = admin.pick_households(current_user, request.args.get("hq"))
    if chosen is not None and chosen not in options:
        options = [chosen, *options]
    return forms.page("admin/resident_form.html", error, resident=resident, categories=cats, v=v,
                      households=[(h.id, _household_text(h)) for h in options], hq=request.args.get("hq", ""))


@bp.route("/residents/new", methods=["GET", "POST"])
@admin_only
def resident_new():
    return _resident_form()


@bp.route("/residents/<int:resident_id>/edit", methods=["GET", "POST"])
@admin_only
def resident_edit(resident_id):
    resident = lookups.resident_or_404(current_user, resident_id)
    if request.method == "GET":  # the form shows the full ID number
        admin.open_resident_form(current_user, resident)
    return _resident_form(resident)


@bp.route("/pick/<kind>")
@admin_only
def pick(kind):
    """Search-as-you-type for the pickers: <option>s for htmx to swap into a <select>."""
    q = (request.args.get("q") or request.args.get("hq") or request.args.get("rq") or "")[:50]
    if kind == "households":
        items = [(h.id, _household_text(h)) for h in admin.pick_households(current_user, q)]
    elif kind == "residents":
        items = [(r.id, _resident_text(r)) for r in admin.pick_residents(current_user, q)]
    else:
        abort(404)
    return render_template("admin/_options.html", items=items, selected=None)


def _household_text(h):
    head = registry.head_of(h)
    return f"{h.label}" + (f" · {head.name}" if head else "")


def _resident_text(r):
    link = r.current_residency
    return r.name + (f" · {link.household.label}" if link else "")


# ---- users and assignments -----------------------------------------------

@bp.route("/users")
@admin_only
def users():
    return render_template("admin/users.html", users=admin.users(current_user))


def _user_form(user=None):
    error = None
    if request.method == "POST":
        resident = None
        rid = forms.int_or_none(request.form.get("resident_id"))
        if rid is not None and request.form.get("role") == "resident":
            resident = lookups.resident_or_404(current_user, rid)
        try:
            user = admin.save_user(current_user, request.form, user=user, resident=resident)
            return forms.saved(_("已保存账号“%(name)s”。", name=user.name), url_for("admin.users"))
        except admin.AdminError as exc:
            error = str(exc)
    u = user
    stored = ({"name": u.name, "phone": u.phone, "role": u.role, "resident_id": u.resident_id,
               "active": "1" if u.active else "", "grid": [a.grid_id for a in u.assignments]}
              if u else {"role": "worker"})
    v = forms.values(stored)
    residents = admin.pick_residents(current_user, request.args.get("rq"))
    rid = forms.int_or_none(v.get("resident_id"))
    if rid is not None and rid not in {r.id for r in residents}:
        current = admin.resident_in_scope(current_user, rid)
        if current is not None:
            residents = [current, *residents]
    return forms.page("admin/user_form.html", error, user=user, grids=admin.grids(current_user.community_id),
                      roles=ROLES, v=v, residents=[(r.id, _resident_text(r)) for r in residents],
                      rq=request.args.get("rq", ""))


@bp.route("/users/new", methods=["GET", "POST"])
@admin_only
def user_new():
    return _user_form()


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@admin_only
def user_edit(user_id):
    return _user_form(lookups.user_or_404(current_user, user_id))


# ---- absences (请假/病假): admins for any worker or leader, leaders for their grids' workers ----

@bp.route("/absences")
@allow(MANAGE_ABSENCES)
def absences():
    people = coverage.manageable(current_user)
    away = coverage.away_ids(current_user.community)
    return render_template("admin/absences.html", people=people, away=away)


@bp.route("/users/<int:user_id>/absences", methods=["GET", "POST"])
@allow(MANAGE_ABSENCES)
def user_absences(user_id):
    person = lookups.absentee_or_404(current_user, user_id)
    error = None
    if request.method == "POST":
        try:
            coverage.save_absence(current_user, person, request.form.get("kind"), request.form.get("start_date"),
                                  request.form.get("end_date"), request.form.get("note"))
            return forms.saved(_("已登记%(name)s的请假。", name=person.name),
                               url_for("admin.user_absences", user_id=person.id))
        except coverage.CoverageError as exc:
            error = str(exc)
    return forms.page("admin/user_absences.html", error, person=person, absences=coverage.absences_of(person),
                      kinds=coverage.KIND_LABELS, v=forms.values({"kind": "leave"}))


@bp.route("/absences/<int:absence_id>/delete", methods=["POST"])
@allow(MANAGE_ABSENCES)
def absence_delete(absence_id):
    absence = lookups.absence_or_404(current_user, absence_id)
    person = absence.user
    coverage.delete_absence(absence)
    return forms.saved(_("已删除这条请假记录。"), url_for("admin.user_absences", user_id=person.id))


@bp.route("/users/<int:user_id>/unlock", methods=["POST"])
@admin_only
def user_unlock(user_id):
    """Lift the login back-off of an account (after strangers' guesses)."""
    user = lookups.user_or_404(current_user, user_id)
    accounts.unlock(current_user, user)
    return forms.saved(_("已解除登录限制。"), url_for("admin.user_edit", user_id=user.id))


@bp.route("/users/<int:user_id>/reset-code", methods=["POST"])
@admin_only
def user_reset_code(user_id):
    """A one-time code, shown once, for a user who forgot their password (no e-mail here)."""
    user = lookups.user_or_404(current_user, user_id)
    code = accounts.issue_reset_code(current_user, user)
    response = render_template("admin/reset_code.html", user=user, code=code,
                               hours=current_app.config["RESET_CODE_HOURS"])
    return response

# ---- care categories and community settings ---------------------------------

@bp.route("/categories", methods=["GET", "POST"])
@admin_only
def categories():
    """Kept for links and bookmarks: the categories are edited on the settings page."""
    return settings()


@bp.route("/settings", methods=["GET", "POST"])
@admin_only
def settings():
    error = None
    cats = registry.categories(current_user.community_id)
    if request.method == "POST":
        try:
            if request.form.get("part") == "ladder":
                admin.save_settings(current_user, request.form)
            else:
                admin.save_categories(current_user, request.form)
            return forms.saved(_("设置已保存。"), url_for("admin.settings"))
        except admin.AdminError as exc:
            error = str(exc)
    stored = {**{f"days_{c.id}": c.interval_days for c in cats}, **{f"level_{c.id}": c.level for c in cats},
              **admin.settings_values(current_user.community)}
    # After a refusal the half that was sent shows as typed; the other half keeps its stored values.
    v = _merge(stored, request.form) if request.method == "POST" else forms.values(stored)
    return forms.page("admin/settings.html", error, categories=cats, v=v,
                      ladder=[(k, admin.setting_label(k), admin.SETTING_RANGES[k]) for k in admin.SETTING_RANGES],
                      part=request.form.get("part"))


def _merge(stored, form):
    data = MultiDict({k: str(v) for k, v in stored.items()})
    for key in form.keys():
        data.setlist(key, form.getlist(key))
    return data


# ---- import and export ---------------------------------------------------

@bp.route("/import", methods=["GET", "POST"])
@admin_only
def import_upload():
    error = None
    if request.method == "POST":
        upload = request.files.get("file")
        if not upload or not upload.filename:
            error = _("请选择文件。")
        else:
            try:
                job = importer.preview(current_user.community, current_user, upload.filename, upload.read())
                return forms.saved(_("文件已检查。"), url_for("admin.import_preview", token=job.token))
            except importer.ImportFileError as exc:
                error = str(exc)
    return forms.page("admin/import.html", error, columns=importer.COLUMNS)


def _job(token):
    job = admin.import_job(current_user.community_id, token)
    if job is None:
        abort(404)
    return job


@bp.route("/import/<token>")
@admin_only
def import_preview(token):
    job = _job(token)
    return render_template("admin/import_preview.html", job=job, errors=importer.load_preview(job)["errors"],
                           progress=importer.progress(job))


@bp.route("/import/<token>/commit", methods=["POST"])
@admin_only
def import_commit(token):
    job = _job(token)
    try:
        importer.start(job, only_valid=request.form.get("only_valid") == "1")
    except importer.ImportFileError as exc:
        return render_template("admin/import_preview.html", job=job, errors=importer.load_preview(job)["errors"],
                               error=str(exc), progress=importer.progress(job)), 400
    return forms.saved(_("已开始导入。"), url_for("admin.import_preview", token=job.token))


@bp.route("/import/<token>/progress")
@admin_only
def import_progress(token):
    job = _job(token)
    return render_template("admin/_progress.html", job=job, progress=importer.progress(job))


@bp.route("/export.<fmt>")
@admin_only
def export(fmt):
    if fmt not in ("csv", "xlsx"):
        abort(404)
    return downloads.download(admin.export_households(current_user, fmt), fmt, "households")


def _audit_filters():
    a = request.args
    since = registry.parse_date(a.get("from")) if a.get("from") else None
    until = registry.parse_date(a.get("to")) if a.get("to") else None
    return {"who": (a.get("who") or "").strip()[:50], "action": (a.get("action") or "").strip()[:40],
            "target": (a.get("target") or "").strip()[:80],
            "since": datetime.combine(since, time()) if since else None,
            "until": datetime.combine(until, time()) + timedelta(days=1) if until else None}


def _asked():
    return " ".join(f"{k}={v}" for k, v in request.args.items() if v)


@bp.route("/audit")
@admin_only
def audit_trail():
    """Search the audit trail of this community (reading it is audited too)."""
    rows = audit.review(current_user, _asked(), **_audit_filters())
    return render_template("admin/audit.html", rows=rows, args=request.args)


@bp.route("/audit.csv")
@admin_only
def audit_export():
    rows = audit.review(current_user, _asked(), export=True, limit=100000, **_audit_filters())
    return Response(audit.to_csv(rows), mimetype="text/csv",
                    headers={"Content-Disposition": "attachment; filename=audit.csv"})
