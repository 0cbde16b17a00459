"""What requests bring in, bounded before a view sees it: ids in URLs fit the 32-bit
id columns (a larger one is a 404, not a database error), and JSON nested too deeply
to parse is malformed (400), not a RecursionError (500)."""
from flask.json.provider import DefaultJSONProvider
from werkzeug.routing import IntegerConverter

MAX_ID = 2 ** 31 - 1


class IdConverter(IntegerConverter):
    """<int:...> in every route: 0 … 2**31-1, and no more digits than that."""
    regex = r"\d{1,10}"

    def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


class JSONProvider(DefaultJSONProvider):
    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError as exc:  # request.get_json turns ValueError into 400 (or None when silent)
            raise ValueError("JSON nested too deeply") from exc


def install(app):
    """Before the blueprints are registered: their rules compile with these converters."""
    app.url_map.converters["int"] = IdConverter
    app.json_provider_class = JSONProvider
    app.json = JSONProvider(app)
