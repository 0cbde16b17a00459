"""Chinese resident ID numbers (GB 11643-1999) and masking of personal numbers."""
import re
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")
PHONE_RE = re.compile(r"^(1\d{10}|0\d{2,3}-?\d{7,8})$")
MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def check_digit(first17):
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS)) % 11]


def normalize_id(value):
    return (value or "").strip().upper()


def id_birth_date(value):
    try:
        return date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None


def valid_id(value):
    """True for an 18-character ID whose checksum and embedded birth date are right."""
    value = normalize_id(value)
    if not _ID_RE.match(value):
        return False
    return check_digit(value[:17]) == value[17] and id_birth_date(value) is not None


def make_id(region, birth, seq):
    """Build a valid ID number (demo data and tests)."""
    first17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_digit(first17)


def mask_id(value):
    if not value:
        return ""
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_phone(value):
    if not value:
        return ""
    if len(value) == 11 and value.isdigit():
        return value[:3] + "****" + value[-4:]
    return value[:-4] + "****" if len(value) > 4 else "****"


def valid_phone(value):
    return bool(PHONE_RE.match((value or "").strip()))


def valid_mobile(value):
    """A mainland mobile number: 11 digits starting 13–19 (what a resident logs in with)."""
    return isinstance(value, str) and bool(MOBILE_RE.match(value))
