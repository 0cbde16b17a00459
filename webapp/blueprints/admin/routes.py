from flask import Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, select

from ...access import allow
from ...extensions import db
from ...models import ROLES, Building, Grid, Household, ImportJob, Resident, User
from ...services import accounts, importer, registry, scope
from . import bp

admin_only = allow("admin")


def _grids():
    return db.session.scalars(
        select(Grid).where(Grid.community_id == current_user.community_id).order_by(Grid.code)).all()


def _form_page(template, status=200, **ctx):
    return render_template(template, **ctx), status


@bp.route("/")
@admin_only
def index():
    cid = current_user.community_id
    counts = {
        "grids": db.session.scalar(select(func.count(Grid.id)).where(Grid.community_id == cid)),
        "buildings": db.session.scalar(select(func.count(Building.id)).join(Grid).where(Grid.community_id == cid)),
        "households": db.session.scalar(
            select(func.count(Household.id)).join(Building).join(Grid).where(Grid.community_id == cid)),
        "residents": db.session.scalar(select(func.count(Resident.id)).where(Resident.community_id == cid)),
        "users": db.session.scalar(select(func.count(User.id)).where(User.community_id == cid)),
    }
    return render_template("admin/index.html", counts=counts)


# ---- grids and buildings -------------------------------------------------

@bp.route("/grids", methods=["GET", "POST"])
@admin_only
def grids():
    error = None
    if request.method == "POST":
        parent = None
        if request.form.get("parent_id"):
            parent = scope.grid_or_404(current_user, int(request.form["parent_id"]))
        try:
            registry.save_grid(current_user.community, request.form.get("name"), parent)
            db.session.commit()
            return redirect(url_for("admin.grids"))
        except registry.RegistryError as exc:
            db.session.rollback()
            error = str(exc)
    return _form_page("admin/grids.html", 400 if error else 200, grids=_grids(), error=error)


@bp.route("/grids/<int:grid_id>/edit", methods=["GET", "POST"])
@admin_only
def grid_edit(grid_id):
    grid = scope.grid_or_404(current_user, grid_id)
    error = None
    if request.method == "POST":
        try:
            registry.save_grid(current_user.community, request.form.get("name"), grid.parent, grid=grid)
            db.session.commit()
            return redirect(url_for("admin.grids"))
        except registry.RegistryError as exc:
            db.session.rollback()
            error = str(exc)
    return _form_page("admin/grid_form.html", 400 if error else 200, grid=grid, error=error)


def _building_form(building=None):
    error = None
    if request.method == "POST":
        try:
            grid = scope.grid_or_404(current_user, int(request.form.get("grid_id") or 0))
            building = registry.save_building(grid, request.form.get("name"), request.form.get("address"),
                                              building=building)
            db.session.commit()
            return redirect(url_for("registry.building", building_id=building.id))
        except registry.RegistryError as exc:
            db.session.rollback()
            error = str(exc)
    return _form_page("admin/building_form.html", 400 if error else 200, building=building, grids=_grids(),
                      error=error, grid_id=request.values.get("grid", type=int))


@bp.route("/buildings/new", methods=["GET", "POST"])
@admin_only
def building_new():
    return _building_form()


@bp.route("/buildings/<int:building_id>/edit", methods=["GET", "POST"])
@admin_only
def building_edit(building_id):
    return _building_form(scope.building_or_404(current_user, building_id))


# ---- households and residents --------------------------------------------

def _household_form(household=None):
    error = None
    if request.method == "POST":
        try:
            building = scope.building_or_404(current_user, int(request.form.get("building_id") or 0))
            household = registry.save_household(
                building, request.form.get("unit"), request.form.get("room"), request.form.get("phone"),
                registry.parse_contacts(request.form.get("contacts")), request.form.get("note"),
                household=household)
            registry.audit(current_user, "edit", f"household:{household.id}")
            db.session.commit()
            return redirect(url_for("registry.household", household_id=household.id))
        except registry.RegistryError as exc:
            db.session.rollback()
            error = str(exc)
    buildings = db.session.scalars(scope.buildings(current_user).order_by(Building.name)).all()
    return _form_page("admin/household_form.html", 400 if error else 200, household=household,
                      buildings=buildings, error=error, building_id=request.values.get("building", type=int))


@bp.route("/households/new", methods=["GET", "POST"])
@admin_only
def household_new():
    return _household_form()


@bp.route("/households/<int:household_id>/edit", methods=["GET", "POST"])
@admin_only
def household_edit(household_id):
    return _household_form(scope.household_or_404(current_user, household_id))


def _resident_form(resident=None):
    error = None
    cats = [c for c in registry.categories(current_user.community_id) if not c.derived]
    if request.method == "POST":
        try:
            household = scope.household_or_404(current_user, int(request.form.get("household_id") or 0))
            birth = registry.parse_date(request.form.get("birth_date"))
            if request.form.get("birth_date") and birth is None:
                raise registry.RegistryError(_("出生日期无法识别。"))
            resident = registry.save_resident(
                current_user.community, household, request.form.get("relation"), request.form.get("name"),
                request.form.get("sex"), birth, request.form.get("phone"), request.form.get("id_number"),
                [int(v) for v in request.form.getlist("category") if v.isdigit()], resident=resident)
            registry.audit(current_user, "edit", f"resident:{resident.id}")
            db.session.commit()
            return redirect(url_for("registry.household", household_id=household.id))
        except registry.RegistryError as exc:
            db.session.rollback()
            error = str(exc)
    household_id = request.values.get("household", type=int)
    if resident and resident.current_residency:
        household_id = resident.current_residency.household_id
    return _form_page("admin/resident_form.html", 400 if error else 200, resident=resident, categories=cats,
                      error=error, household_id=household_id, form=request.form)


@bp.route("/residents/new", methods=["GET", "POST"])
@admin_only
def resident_new():
    return _resident_form()


@bp.route("/residents/<int:resident_id>/edit", methods=["GET", "POST"])
@admin_only
def resident_edit(resident_id):
    return _resident_form(scope.resident_or_404(current_user, resident_id))


# ---- users and assignments -----------------------------------------------

@bp.route("/users")
@admin_only
def users():
    users = db.session.scalars(scope.users(current_user).order_by(User.role, User.username)).all()
    return render_template("admin/users.html", users=users)


def _user_form(user=None):
    error = None
    grids = _grids()
    if request.method == "POST":
        f = request.form
        role = f.get("role")
        grid_ids = {int(g) for g in f.getlist("grid") if g.isdigit()} & {g.id for g in grids}
        try:
            if role not in ROLES:
                raise accounts.AccountError(_("请选择角色。"))
            if not (f.get("name") or "").strip():
                raise accounts.AccountError(_("请填写姓名。"))
            if user is None:
                if len(f.get("password") or "") < 8:
                    raise accounts.AccountError(_("密码至少8位。"))
                user = accounts.create_user(current_user.community, (f.get("username") or "").strip(),
                                            f["name"].strip(), role, f["password"], phone=f.get("phone") or None)
            else:
                user.name, user.role, user.phone = f["name"].strip(), role, f.get("phone") or None
                user.active = f.get("active") == "1"
                if f.get("password"):
                    if len(f["password"]) < 8:
                        raise accounts.AccountError(_("密码至少8位。"))
                    user.set_password(f["password"])
            if role == "resident" and f.get("resident_id"):
                user.resident_id = scope.resident_or_404(current_user, int(f["resident_id"])).id
            accounts.set_assignments(user, grid_ids if role in ("leader", "worker") else set())
            registry.audit(current_user, "edit", f"user:{user.id}")
            db.session.commit()
            return redirect(url_for("admin.users"))
        except (accounts.AccountError, ValueError) as exc:
            db.session.rollback()
            error = str(exc)
    return _form_page("admin/user_form.html", 400 if error else 200, user=user, grids=grids, roles=ROLES,
                      error=error)


@bp.route("/users/new", methods=["GET", "POST"])
@admin_only
def user_new():
    return _user_form()


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@admin_only
def user_edit(user_id):
    return _user_form(scope.user_or_404(current_user, user_id))


@bp.route("/categories", methods=["GET", "POST"])
@admin_only
def categories():
    cats = registry.categories(current_user.community_id)
    error = None
    if request.method == "POST":
        for c in cats:
            days = request.form.get(f"days_{c.id}", type=int)
            level = request.form.get(f"level_{c.id}")
            if days is None or not 1 <= days <= 366 or level not in registry.RISK_LEVELS:
                error = _("走访周期应为1到366天。")
                break
            c.interval_days, c.level = days, level
        if error:
            db.session.rollback()
        else:
            registry.audit(current_user, "edit", "categories")
            db.session.commit()
            return redirect(url_for("admin.categories"))
    return _form_page("admin/categories.html", 400 if error else 200, categories=cats, error=error)


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
                return redirect(url_for("admin.import_preview", token=job.token))
            except importer.ImportFileError as exc:
                error = str(exc)
    return _form_page("admin/import.html", 400 if error else 200, error=error, columns=importer.COLUMNS)


def _job(token):
    job = db.session.scalar(select(ImportJob).where(ImportJob.token == token,
                                                    ImportJob.community_id == current_user.community_id))
    if job is None:
        abort(404)
    return job


@bp.route("/import/<token>")
@admin_only
def import_preview(token):
    job = _job(token)
    data = importer.load_preview(job)
    return render_template("admin/import_preview.html", job=job, errors=data["errors"],
                           progress=importer.progress(job))


@bp.route("/import/<token>/commit", methods=["POST"])
@admin_only
def import_commit(token):
    job = _job(token)
    try:
        importer.start(job, only_valid=request.form.get("only_valid") == "1")
    except importer.ImportFileError as exc:
        data = importer.load_preview(job)
        return render_template("admin/import_preview.html", job=job, errors=data["errors"], error=str(exc),
                               progress=importer.progress(job)), 400
    return redirect(url_for("admin.import_preview", token=job.token))


@bp.route("/import/<token>/progress")
@admin_only
def import_progress(token):
    job = _job(token)
    return render_template("admin/_progress.html", job=job, progress=importer.progress(job))


@bp.route("/export.<fmt>")
@admin_only
def export(fmt):
    rows = importer.export_rows(current_user.community_id)
    registry.audit(current_user, "export", "households", fmt)
    db.session.commit()
    return _download(rows, fmt, "households")


def _download(rows, fmt, name):
    if fmt == "csv":
        return Response(importer.to_csv(rows), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename={name}.csv"})
    if fmt == "xlsx":
        return Response(importer.to_xlsx(rows),
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f"attachment; filename={name}.xlsx"})
    abort(404)
