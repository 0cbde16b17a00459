"""Rows as a CSV or XLSX download (households and visits exports)."""
from flask import Response, abort

from ..services import importer

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(rows, fmt, name):
    if fmt == "csv":
        return Response(importer.to_csv(rows), mimetype="text/csv",
                        headers={"Content-Disposition": f"attachment; filename={name}.csv"})
    if fmt == "xlsx":
        return Response(importer.to_xlsx(rows), mimetype=XLSX,
                        headers={"Content-Disposition": f"attachment; filename={name}.xlsx"})
    abort(404)
