"""The domain: places, people, users and what is recorded about them."""
from .registry import (  # noqa: F401
    Community, Grid, Building, Household, Resident, Residency, CareCategory,
    resident_categories,
)
from .user import User, GridAssignment, LoginFailure, ROLES, Absence, ABSENCE_KINDS  # noqa: F401
from .audit import AuditEntry, AuditHead  # noqa: F401
from .jobs import ImportJob, SweepRun  # noqa: F401
from .records import Visit, VISIT_MODES, CHECKS, NEEDS  # noqa: F401
from .alerts import (Alert, AlertEvent, Invitation, Notice, PushSubscription,  # noqa: F401
                     ALERT_SOURCES, ALERT_STATES, SEVERITIES)
from .meals import (MealRecipient, MealPause, MealRoute, RouteStop, Delivery, DeliveryStep,  # noqa: F401
                    RouteClosure, DIETS, MEAL_KINDS, OUTCOMES, STEPS)
from .checkins import (CheckinEnrolment, CheckinPause, Checkin, SosPress,  # noqa: F401
                       CHECKIN_MODES, PAUSE_REASONS)
from .requests import Request, RequestCategory, RequestEvent  # noqa: F401
from .dashboard import ZeroReport, DeviceSync  # noqa: F401
