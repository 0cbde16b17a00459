"""Import households and residents from CSV or XLSX, with a preview of bad rows.

One row per resident. Nothing is written until the file is clean, or until the
admin chooses to import only the valid rows; the import itself is one
transaction, so a failure leaves nothing half-saved.
"""
import csv
import io
import secrets
from datetime import date, datetime

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import insert, select

from ..extensions import db
from ..models import (Building, CareCategory, Community, Grid, Household, ImportJob, Residency, Resident,
                      User, resident_categories)
from . import audit, identity, jobs, registry, text
from .. import localtime

COLUMNS = ("楼栋", "单元", "房号", "住户电话", "紧急联系人", "姓名", "性别", "出生日期", "身份证号",
           "居民电话", "与户主关系", "人群类别")
CHUNK = 250
# A cell starting with one of these is a formula to a spreadsheet (CSV injection): exports quote it.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class ImportFileError(ValueError):
    pass


def read_rows(filename, data):
    """Yield dicts keyed by COLUMNS from a CSV or XLSX upload."""
    name = filename.lower()
    if name.endswith(".xlsx"):
        from openpyxl import load_workbook
        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:
            raise ImportFileError(_("无法读取这个 Excel 文件。")) from exc
        rows = wb.active.iter_rows(values_only=True)
    elif name.endswith(".csv"):
        text = None
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = data.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        if text is None:
            raise ImportFileError(_("无法识别文件编码，请保存为 UTF-8 的 CSV。"))
        rows = csv.reader(io.StringIO(text))
    else:
        raise ImportFileError(_("只支持 CSV 或 XLSX 文件。"))
    header = next(rows, None)
    if header is None:
        raise ImportFileError(_("文件是空的。"))
    header = [str(h or "").strip() for h in header]
    missing = [c for c in ("楼栋", "房号", "姓名") if c not in header]
    if missing:
        raise ImportFileError(_("缺少必需的列：%(cols)s", cols="、".join(missing)))
    index = {c: header.index(c) for c in COLUMNS if c in header}
    for row in rows:
        if row is None or not any(v not in (None, "") for v in row):
            continue
        yield {c: (row[i] if i < len(row) else None) for c, i in index.items()}


def _text(value):
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    value = str(value).strip()
    if value[:1] == "'" and value[1:2] in FORMULA_START:  # quoted by our own export
        value = value[1:]
    return value


def _date(value):
    if value in (None, ""):
        return None, True
    if isinstance(value, datetime):
        return value.date(), True
    if isinstance(value, date):
        return value, True
    parsed = registry.parse_date(_text(value))
    return parsed, parsed is not None


def validate(community_id, rows):
    """Return (clean rows, errors). errors: [{"row": n, "name": ..., "reasons": [...]}]."""
    buildings = {}
    for b_id, b_name in db.session.execute(
        select(Building.id, Building.name).join(Grid).where(Grid.community_id == community_id)
    ):
        buildings.setdefault(b_name, []).append(b_id)
    cats = {c.name: c for c in registry.categories(community_id)}
    seen_ids = {}
    clean, errors = [], []
    for n, raw in enumerate(rows, start=2):  # row 1 is the header
        reasons = []
        b_name = _text(raw.get("楼栋"))
        found = buildings.get(b_name, [])
        if not found:
            reasons.append(_("未知楼栋“%(name)s”", name=b_name))
        elif len(found) > 1:
            reasons.append(_("楼栋名称“%(name)s”在社区内不唯一", name=b_name))
        def field(column, label, limit, **kw):
            """The cell checked as the admin form checks it; None (and a reason) when it fails."""
            try:
                return text.clean(_text(raw.get(column)), label, limit, **kw)
            except ValueError as exc:
                reasons.append(str(exc).rstrip("。"))
                return None
        room = field("房号", _("房号"), 20, name=True)
        if room == "":
            reasons.append(_("缺少房号"))
        name = field("姓名", _("姓名"), 50, name=True)
        if name == "":
            reasons.append(_("缺少姓名"))
        unit = field("单元", _("单元"), 20, name=True)
        relation = field("与户主关系", _("与户主关系"), 20, name=True)
        sex = {"男": "M", "女": "F", "M": "M", "F": "F"}.get(_text(raw.get("性别")).upper() or "", None)
        if sex is None:
            reasons.append(_("性别应为男或女"))
        birth, ok = _date(raw.get("出生日期"))
        if not ok:
            reasons.append(_("出生日期无法识别“%(value)s”", value=_text(raw.get("出生日期"))))
        id_number = identity.normalize_id(_text(raw.get("身份证号")))
        if id_number:
            if not identity.valid_id(id_number):
                reasons.append(_("身份证号校验不通过"))
            else:
                if birth is None:
                    birth = identity.id_birth_date(id_number)
                elif birth != identity.id_birth_date(id_number):
                    reasons.append(_("出生日期与身份证号不一致"))
        problem = registry.birth_date_problem(birth)
        if problem:
            reasons.append(problem.rstrip("。"))
        for col in ("住户电话", "居民电话"):
            phone = _text(raw.get(col))
            if phone and not identity.valid_phone(phone):
                reasons.append(_("%(col)s格式不正确", col=col))
        try:
            contacts = registry.parse_contacts(_text(raw.get("紧急联系人")).replace("；", "\n").replace(";", "\n"))
        except registry.RegistryError as exc:
            reasons.append(str(exc).rstrip("。"))
            contacts = []
        cat_ids = []
        for cname in _text(raw.get("人群类别")).replace("，", "、").replace(",", "、").split("、"):
            cname = cname.strip()
            if not cname:
                continue
            cat = cats.get(cname)
            if cat is None:
                reasons.append(_("未知人群类别“%(name)s”", name=cname))
            elif not cat.derived:
                cat_ids.append(cat.id)
        person_key = id_number or (b_name, unit, room, name, birth)
        if person_key in seen_ids:
            reasons.append(_("与第%(row)s行重复的居民", row=seen_ids[person_key]))
        if not reasons:
            seen_ids[person_key] = n
            clean.append({
                "row": n, "building_id": found[0], "unit": unit, "room": room,
                "household_phone": _text(raw.get("住户电话")) or None, "contacts": contacts,
                "name": name, "sex": sex, "birth": birth.isoformat() if birth else None,
                "id_number": id_number or None, "phone": _text(raw.get("居民电话")) or None,
                "relation": relation or "户主", "categories": cat_ids,
            })
        else:
            errors.append({"row": n, "name": name or "", "reasons": reasons})
    return clean, errors


def preview(community, user, filename, data):
    """Parse and check an upload; store the result and return its ImportJob."""
    clean, errors = validate(community.id, read_rows(filename, data))
    token = secrets.token_urlsafe(16)
    job = ImportJob(community_id=community.id, user_id=user.id, filename=filename[:200], token=token,
                    total_rows=len(clean) + len(errors), bad_rows=len(errors),
                    preview={"rows": clean, "errors": errors})
    db.session.add(job)
    audit.record(user, "import_preview", "import", token, f"{filename}: {len(errors)} bad rows")
    db.session.flush()
    return job


def load_preview(job):
    return job.preview


def start(job, only_valid):
    if job.status != "previewed":
        raise ImportFileError(_("这个文件已经导入过了。"))
    if job.bad_rows and not only_valid:
        raise ImportFileError(_("文件中有错误行。请修改后重新上传，或选择只导入正确的行。"))
    job.status, job.only_valid = "running", bool(only_valid)
    db.session.commit()  # durable boundary: a worker process reads the claimed job, so commit before enqueueing
    jobs.set_progress(f"import:{job.token}", done=0, total=job.total_rows - job.bad_rows, status="running")
    jobs.enqueue("webapp.services.importer:run", job.id)


def progress(job):
    p = jobs.get_progress(f"import:{job.token}")
    if p is None:
        total = job.total_rows - job.bad_rows
        return {"done": job.done_rows if job.status == "done" else 0, "total": total, "status": job.status}
    return p


def run(job_id):
    """Write the valid rows in one transaction, reporting progress as it goes."""
    job = db.session.get(ImportJob, job_id)
    rows = load_preview(job)["rows"]
    key = f"import:{job.token}"
    try:
        written = write_rows(job.community_id, rows,
                             lambda done: jobs.set_progress(key, done=done, total=len(rows), status="running"))
        job = db.session.get(ImportJob, job_id)
        job.status, job.done_rows = "done", written
        audit.record(db.session.get(User, job.user_id), "import", "import", job.token,
                     f"{written} residents")
        db.session.commit()
        jobs.set_progress(key, done=written, total=len(rows), status="done")
    except Exception as exc:
        # The details (SQL, row data) go to the server log only; the admin sees a plain sentence.
        current_app.logger.exception("%s (job %s) failed", key, job_id)
        db.session.rollback()
        job = db.session.get(ImportJob, job_id)
        job.status, job.message = "failed", type(exc).__name__[:500]
        db.session.commit()
        jobs.set_progress(key, done=0, total=len(rows), status="failed")


def write_rows(community_id, rows, report=lambda done: None):
    """Bulk-write validated rows; the caller commits. Returns the number of residents written."""
    households = {
        (b, u, r): hid for hid, b, u, r in db.session.execute(
            select(Household.id, Household.building_id, Household.unit, Household.room)
            .join(Building).join(Grid).where(Grid.community_id == community_id))
    }
    # Natural keys are looked up inside the importing community only: a row never touches,
    # moves or reveals another community's resident.
    existing = dict(db.session.execute(
        select(Resident.id_number, Resident.id).where(
            Resident.community_id == community_id,
            Resident.id_number.in_([r["id_number"] for r in rows if r["id_number"]] or [""])))
        .all())
    # Without an ID number, the same name and birth date in the same household is the same person.
    for rid, hid, name, birth in db.session.execute(
            select(Resident.id, Residency.household_id, Resident.name, Resident.birth_date)
            .join(Residency, (Residency.resident_id == Resident.id) & Residency.end_date.is_(None))
            .where(Resident.community_id == community_id, Resident.id_number.is_(None))):
        existing[(hid, name, birth.isoformat() if birth else None)] = rid
    today = localtime.today(db.session.get(Community, community_id))  # the community's date, not UTC's
    done = 0
    for start_at in range(0, len(rows), CHUNK):
        chunk = rows[start_at:start_at + CHUNK]
        new_keys, new_households = [], []
        for r in chunk:
            key = (r["building_id"], r["unit"], r["room"])
            if key not in households and key not in new_keys:
                new_keys.append(key)
                new_households.append({"building_id": key[0], "unit": key[1], "room": key[2],
                                       "phone": r["household_phone"], "emergency_contacts": r["contacts"],
                                       "note": ""})
        if new_households:
            ids = db.session.scalars(insert(Household).returning(Household.id, sort_by_parameter_order=True),
                                     new_households).all()
            households.update(zip(new_keys, ids))
        fresh = []
        for r in chunk:
            key = r["id_number"] or (households[(r["building_id"], r["unit"], r["room"])], r["name"], r["birth"])
            if key in existing:
                _update_existing(existing[key], r, households, today)
            else:
                fresh.append(r)
        if fresh:
            ids = db.session.scalars(insert(Resident).returning(Resident.id, sort_by_parameter_order=True), [
                {"community_id": community_id, "name": r["name"], "sex": r["sex"],
                 "birth_date": date.fromisoformat(r["birth"]) if r["birth"] else None,
                 "phone": r["phone"], "id_number": r["id_number"]} for r in fresh]).all()
            db.session.execute(insert(Residency), [
                {"resident_id": rid, "household_id": households[(r["building_id"], r["unit"], r["room"])],
                 "relation": r["relation"], "start_date": today} for rid, r in zip(ids, fresh)])
            links = [{"resident_id": rid, "category_id": c} for rid, r in zip(ids, fresh) for c in r["categories"]]
            if links:
                db.session.execute(insert(resident_categories), links)
            for rid, r in zip(ids, fresh):
                if r["id_number"]:
                    existing[r["id_number"]] = rid
        done += len(chunk)
        report(done)
    return done


def _update_existing(resident_id, r, households, today):
    resident = db.session.get(Resident, resident_id)
    resident.name, resident.sex, resident.phone = r["name"], r["sex"], r["phone"]
    if r["birth"]:
        resident.birth_date = date.fromisoformat(r["birth"])
    cats = db.session.scalars(select(CareCategory).where(CareCategory.id.in_(r["categories"] or [-1]))).all()
    resident.categories = cats
    household = db.session.get(Household, households[(r["building_id"], r["unit"], r["room"])])
    registry.move_resident(resident, household, r["relation"], on=today)


def export_rows(community_id):
    """The same columns back, one row per current resident."""
    q = (
        select(Resident, Residency, Household, Building)
        .join(Residency, (Residency.resident_id == Resident.id) & Residency.end_date.is_(None))
        .join(Household, Household.id == Residency.household_id)
        .join(Building, Building.id == Household.building_id)
        .where(Resident.community_id == community_id)
        .order_by(Building.name, Household.unit, Household.room, Residency.id)
    )
    yield list(COLUMNS)
    for resident, link, household, building in db.session.execute(q):
        yield [
            building.name, household.unit, household.room, household.phone or "",
            "；".join(f"{c['name']},{c['relation']},{c['phone']}" for c in household.emergency_contacts or []),
            resident.name, "男" if resident.sex == "M" else "女",
            resident.birth_date.isoformat() if resident.birth_date else "",
            resident.id_number or "", resident.phone or "", link.relation,
            "、".join(c.name for c in resident.categories if not c.derived),
        ]


def safe_cell(value):
    """A value a spreadsheet shows as text: characters XML cannot carry are dropped
    (whatever is already stored), and a leading = + - @ tab or CR is quoted."""
    if not isinstance(value, str):
        return value
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if value.startswith(FORMULA_START):
        value = "'" + value
    return value


def to_csv(rows):
    buf = io.StringIO()
    buf.write("\ufeff")
    writer = csv.writer(buf)
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return buf.getvalue().encode("utf-8")


def to_xlsx(rows, title="Sheet1"):
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title)
    for row in rows:
        cells = []
        for value in row:
            cell = WriteOnlyCell(ws, value=safe_cell(value))
            if isinstance(value, str):
                cell.data_type = "s"  # text, never a formula
            cells.append(cell)
        ws.append(cells)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
