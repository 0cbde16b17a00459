"""The record kinds of the sync path, one line each ("module:Class").

Loaded and checked when the app starts (services/records.py `install`): a kind that
does not declare its contract stops the start with a clear error. Adding a kind means
its own files (model, RecordKind) and one line here.
"""
KINDS = [
    "webapp.services.visits:VisitKind",
    "webapp.services.alerts:AlertKind",
    "webapp.services.sos:SosKind",
    "webapp.services.checkins:CheckinKind",
    "webapp.services.meals:DeliveryKind",
    "webapp.services.meals:DeliveryStepKind",
    "webapp.services.meals:RouteClosureKind",
    "webapp.services.requests:RequestKind",
    "webapp.services.zero_reports:ZeroReportKind",
]
