"""The panels of the community dashboard, one line each ("module:function"), in page order.

The contract is in services/dashboard.py's docstring. A record kind that wants a panel
(daily check-ins, residents' requests, workers away) writes its function in its own
service and adds one line here.
"""
PANELS = [
    "webapp.services.dashboard:coverage_by_category",
    "webapp.services.dashboard:coverage_by_grid",
    "webapp.services.dashboard:overdue_by_grid",
    "webapp.services.dashboard:alerts_by_source",
    "webapp.services.dashboard:meals_panel",
    "webapp.services.checkins:dashboard_panel",
    "webapp.services.requests:dashboard_panel",
    "webapp.services.dashboard:grids_without_worker",
    "webapp.services.coverage:dashboard_panel",
    "webapp.services.dashboard:silent_grids_today",
]
