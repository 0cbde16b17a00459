"""Free text typed by people: within its column, and free of characters that hide or break things.

Control characters (a NUL, a vertical tab…) break XML exports and confuse every tool
downstream; bidi overrides and zero-width characters make a name look like another
one. Names refuse both; notes may keep line breaks and tabs, and zero-width joiners
(emoji sequences), but never control characters.
"""
import re

from flask_babel import gettext as _

# C0 and C1 controls and DEL; notes keep tab, LF and CR.
_CONTROL_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_NOTE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Bidi embeddings and overrides, bidi isolates, zero-width space/non-joiner/joiner, BOM.
_INVISIBLE = re.compile("[\u202a-\u202e\u2066-\u2069\u200b-\u200d\u2060\ufeff]")


def clean(value, label, limit, error=ValueError, multiline=False, name=False):
    """The stripped text, or `error` with a sentence in Chinese naming the field `label`.

    limit is the column's length in characters; name=True also refuses invisible
    formatting characters; multiline=True keeps line breaks and tabs."""
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    # Ordinary blanks around the text go; a control character anywhere (even at the end,
    # which str.strip would silently eat) is refused.
    value = value.strip(" \t\r\n\u3000")
    if (_CONTROL_NOTE if multiline else _CONTROL_LINE).search(value):
        raise error(_("%(field)s不能包含控制字符。", field=label))
    if name and _INVISIBLE.search(value):
        raise error(_("%(field)s不能包含不可见的格式字符（如方向控制符、零宽字符）。", field=label))
    value = value.strip()
    if len(value) > limit:
        raise error(_("%(field)s最多%(n)s个字。", field=label, n=limit))
    return value


def has_control(value, multiline=False):
    """True when the text carries a control character (line breaks and tabs allowed when multiline)."""
    return bool((_CONTROL_NOTE if multiline else _CONTROL_LINE).search(value or ""))
