"""OpenAPI 3 description of the sync API, with an example for every record kind."""
from . import records


ERR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


def document():
    kinds = sorted(records.KINDS.values(), key=lambda k: -k.priority)
    examples = {k.name: {"summary": f"one {k.name} record", "value": {"records": [k.example]}} for k in kinds}
    return {
        "openapi": "3.0.3",
        "info": {"title": "Linli sync API", "version": "1",
                 "description": "The phone's outbox sends records made in the field. Each record carries a "
                                "client-generated UUID; sending it again gives the same answer and no second row. "
                                "Each record is answered on its own: stored, or rejected with a reason to keep "
                                "and show to the worker."},
        "servers": [{"url": "/"}],
        "components": {
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRFToken"},
            },
            "schemas": {
                "Record": {
                    "type": "object", "required": ["uuid", "kind", "recorded_at", "payload"],
                    "properties": {
                        "uuid": {"type": "string", "format": "uuid"},
                        "kind": {"type": "string", "enum": [k.name for k in kinds]},
                        "recorded_at": {"type": "string", "format": "date-time",
                                        "description": "when the record was saved on the phone"},
                        "payload": {"type": "object", "description": "the form's fields, as posted online"},
                    },
                },
                "Answer": {
                    "type": "object", "required": ["uuid", "status"],
                    "properties": {
                        "uuid": {"type": "string", "description":
                                 "the record's UUID, normalised to lower case; \"\" when the record "
                                 "carried no valid UUID (answers come in the order of the records)"},
                        "kind": {"type": "string", "description":
                                 "the record's kind; \"\" when it was not a known kind"},
                        "status": {"type": "string", "enum": ["stored", "rejected"]},
                        "code": {"type": "string", "enum": ["invalid", "out_of_scope", "conflict", "forbidden", "retry"],
                                 "description": ("retry: what the record refers to has not arrived yet; send it again later "
                                                 "(a delivery_step is asked for again for two hours after its "
                                                 "occurred_at, then stored without its delivery)")},
                        "reason": {"type": "string", "description": "in the user's language"},
                    },
                },
                "Error": {"type": "object", "properties": {"error": {"type": "string"},
                                                           "message": {"type": "string"}}},
                "Subscription": {
                    "type": "object", "required": ["endpoint", "keys"],
                    "description": "a browser's PushSubscription.toJSON(); the endpoint must be https, on a "
                                   "known push service",
                    "properties": {
                        "endpoint": {"type": "string", "maxLength": 1000},
                        "keys": {"type": "object", "required": ["p256dh", "auth"], "properties": {
                            "p256dh": {"type": "string", "maxLength": 200},
                            "auth": {"type": "string", "maxLength": 100}}},
                    },
                },
            },
        },
        "paths": {
            "/api/session": {"get": {
                "summary": "The signed-in user and a CSRF token for /api/sync",
                "security": [{"session": []}],
                "responses": {"200": {"description": "signed in"},
                              "401": {"description": "not signed in",
                                      "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}},
            }},
            "/api/push/key": {"get": {
                "summary": "The application server's VAPID public key (applicationServerKey)",
                "security": [{"session": []}],
                "responses": {"200": {"description": "the key, base64url", "content": {"application/json": {
                    "schema": {"type": "object", "required": ["publicKey"],
                               "properties": {"publicKey": {"type": "string"}}}}}},
                              "401": dict(description="not signed in", **ERR)},
            }},
            "/api/push/subscribe": {"post": {
                "summary": "Push notices to this phone (at most a few phones per user; the oldest goes)",
                "security": [{"session": [], "csrf": []}],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Subscription"}}}},
                "responses": {"200": {"description": "subscribed", "content": {"application/json": {
                    "schema": {"type": "object", "properties": {"status": {"type": "string"}}}}}},
                              "400": dict(description="incomplete, or not a supported push service", **ERR),
                              "401": dict(description="not signed in", **ERR),
                              "409": dict(description="this phone's subscription belongs to another account",
                                          **ERR)},
            }},
            "/api/push/unsubscribe": {"post": {
                "summary": "No more push notices to this phone",
                "security": [{"session": [], "csrf": []}],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["endpoint"],
                    "properties": {"endpoint": {"type": "string", "maxLength": 1000}}}}}},
                "responses": {"200": {"description": "unsubscribed", "content": {"application/json": {
                    "schema": {"type": "object", "properties": {"status": {"type": "string"}}}}}},
                              "400": dict(description="malformed", **ERR),
                              "401": dict(description="not signed in", **ERR)},
            }},
            "/api/sync": {"post": {
                "summary": "Store a batch of field records, each exactly once",
                "security": [{"session": [], "csrf": []}],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"type": "object", "required": ["records"], "properties": {
                        "records": {"type": "array", "maxItems": 200,
                                    "items": {"$ref": "#/components/schemas/Record"}},
                        "device": {"type": "object", "description": "optional: the phone's outbox when it sent "
                                   "this batch (records still waiting, records refused), for the leader's team view; "
                                   "values that are not small non-negative integers are ignored",
                                   "properties": {"pending": {"type": "integer", "minimum": 0},
                                                  "rejected": {"type": "integer", "minimum": 0}}}}},
                    "examples": examples}}},
                "responses": {
                    "200": {"description": "one answer per record, in order", "content": {"application/json": {
                        "schema": {"type": "object", "properties": {"results": {
                            "type": "array", "items": {"$ref": "#/components/schemas/Answer"}}}}}}},
                    "400": {"description": "malformed JSON, or the CSRF token is missing or expired",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                    "401": {"description": "the session has expired: sign in again; keep the records",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                    "413": {"description": "more records or bytes than one batch may hold",
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                },
            }},
        },
    }
