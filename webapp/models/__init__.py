"""The domain: places, people, users and what is recorded about them."""
from .registry import (  # noqa: F401
    Community, Grid, Building, Household, Resident, Residency, CareCategory,
    resident_categories,
)
from .user import User, GridAssignment, LoginFailure, ROLES  # noqa: F401
from .audit import AuditEntry  # noqa: F401
from .jobs import ImportJob  # noqa: F401
from .records import Visit, VISIT_MODES, CHECKS, NEEDS  # noqa: F401
from .alerts import (Alert, AlertEvent, Invitation, Notice, PushSubscription,  # noqa: F401
                     ALERT_SOURCES, ALERT_STATES, SEVERITIES)
