"""OpenAPI 3 description of the sync API, with an example for every record kind."""
from . import records


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
                        "uuid": {"type": "string"}, "kind": {"type": "string"},
                        "status": {"type": "string", "enum": ["stored", "rejected"]},
                        "code": {"type": "string", "enum": ["invalid", "out_of_scope", "conflict"]},
                        "reason": {"type": "string", "description": "in the user's language"},
                    },
                },
                "Error": {"type": "object", "properties": {"error": {"type": "string"},
                                                           "message": {"type": "string"}}},
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
            "/api/sync": {"post": {
                "summary": "Store a batch of field records, each exactly once",
                "security": [{"session": [], "csrf": []}],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"type": "object", "required": ["records"], "properties": {
                        "records": {"type": "array", "maxItems": 200,
                                    "items": {"$ref": "#/components/schemas/Record"}}}},
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
