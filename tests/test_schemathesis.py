"""schemathesis generates requests from /api/openapi.json (valid records, odd ones, push
subscriptions) and the phone's signed-in session sends them: no answer is a 500, and every JSON
answer keeps the schema documented for its status, which the phone relies on."""
import jsonschema
import schemathesis
from hypothesis import HealthCheck, given, settings

from .conftest import login, small_demo


def _resolve(node, doc):
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[1]
            return _resolve(doc["components"]["schemas"][name], doc)
        return {k: _resolve(v, doc) for k, v in node.items()}
    if isinstance(node, list):
        return [_resolve(v, doc) for v in node]
    return node


def test_no_500_and_answers_keep_the_schema(app):
    small_demo()
    phone = app.test_client()
    token = login(phone, "worker1")
    doc = phone.get("/api/openapi.json").get_json()
    schema = schemathesis.openapi.from_dict(doc)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {f"{op.method.upper()} {op.path}" for op in operations} >= {
        "POST /api/sync", "GET /api/session", "GET /api/push/key", "POST /api/push/subscribe",
        "POST /api/push/unsubscribe"}
    statuses = []
    for operation in operations:
        documented = doc["paths"][operation.path][operation.method.lower()]["responses"]

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            kw = case.as_transport_kwargs(base_url="http://localhost")
            headers = dict(kw.get("headers") or {}, **{"X-CSRFToken": token})
            headers.pop("Accept-Encoding", None)  # read the body as is (compression has its own tests)
            response = phone.open(case.formatted_path, method=case.method, headers=headers,
                                  query_string=kw.get("params"), json=kw.get("json"), data=kw.get("data"))
            statuses.append(response.status_code)
            assert response.status_code < 500, (case.path, kw.get("json"))
            spec = documented.get(str(response.status_code))
            assert spec is not None, f"{case.method} {case.path} answered an undocumented {response.status_code}"
            if "content" in spec:
                body = response.get_json(silent=True)
                assert body is not None, (case.path, response.status_code, response.get_data(as_text=True)[:200])
                jsonschema.validate(body, _resolve(spec["content"]["application/json"]["schema"], doc))
        run()
    assert statuses.count(200) >= 40, sorted(set(statuses))  # signed in: generated requests reach the rules
