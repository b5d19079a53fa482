"""What a locustfile does with its client, one case per function, run against FastHttpUser's client and against
NativeHttpUser's by tests/python/parity_driver.py; tests/python/test_nativehttp_parity.py compares what each case
observed. No Locust import at the top, so that pytest can list the cases without gevent's monkey-patching.

A case gets a ``Run`` (parity_driver.py) and returns what a locustfile could observe: ``seen(response)`` for a
response, plus anything else; the driver adds the ``events.request`` calls the case caused, the exception it
raised, if any, and the session's cookies.
"""

from __future__ import annotations

import json as _json
import re
from typing import Any, Callable

CASES: dict[str, Callable[[Any], Any]] = {}
STATUSES = [200, 201, 202, 204, 206, 226, 300, 304, 305, 400, 401, 403, 404, 405, 409, 410, 418, 429, 500, 502,
            503, 504]


def case(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
    CASES[function.__name__] = function
    return function


def described(error: BaseException | None) -> Any:
    """An exception as a locustfile meets it: its type, text and repr (Locust's failures table groups by repr)."""
    if error is None:
        return None
    return {"type": type(error).__name__, "str": str(error), "repr": repr(error),
            "bases": [base.__name__ for base in type(error).__mro__ if base.__module__ == "builtins"]}


def seen(response: Any) -> dict[str, Any]:
    """Every attribute of a response that locustfiles read."""
    content = response.content
    try:
        parsed: Any = response.json()
    except Exception as error:  # noqa: BLE001 - the type is what is compared
        parsed = {"raised": type(error).__name__}
    request = response.request
    headers = response.headers
    return {
        "status_code": response.status_code,
        "ok": response.ok,
        "content": None if content is None else content.decode("latin-1"),
        "text": response.text,
        "json": parsed,
        "url": response.url,
        "content_type": None if headers is None else headers.get("content-type"),
        "content_encoding": None if headers is None else headers.get("content-encoding"),
        "error": described(getattr(response, "error", None)),
        "request": None if request is None else {
            "method": request.method,
            "url": request.url,
            "body": _body(request),
            "headers": {name.lower(): value for name, value in request.headers.items()
                        if name.lower() not in ("user-agent", "host")},
        },
    }


def _body(request: Any) -> Any:
    body = request.body
    return body.decode("latin-1") if isinstance(body, bytes) else body


def echoed(response: Any) -> Any:
    """What /echo saw of the request."""
    return response.json() if response.status_code == 200 else None


# --- request building -------------------------------------------------------------------------------------------

@case
def get_text(run):
    return seen(run.session().get("/text"))


@case
def get_params_dict(run):
    return echoed(run.session().get("/echo", params={"a": 1, "b": "x y", "c": "é&="}))


@case
def get_params_list(run):
    return echoed(run.session().get("/echo", params=[("a", "1"), ("a", "2")]))


@case
def get_params_on_a_url_with_a_query(run):
    return echoed(run.session().get("/echo?z=0", params={"a": "1"}))


@case
def post_str(run):
    return seen(run.session().post("/echo", data="plain body é"))


@case
def post_bytes(run):
    return echoed(run.session().post("/echo", data=b"\x00\x01binary"))


@case
def post_form(run):
    return echoed(run.session().post("/echo", data={"field": "value", "other": "a b"}))


@case
def post_json(run):
    response = run.session().post("/echo", json={"k": [1, 2], "s": "é"})
    return {"echo": echoed(response), "request": seen(response)["request"]}


@case
def post_data_and_json(run):
    return echoed(run.session().post("/echo", data="wins", json={"loses": True}))


@case
def post_extra_keywords_are_form_fields(run):
    return echoed(run.session().post("/echo", extra="1"))


def _upload(response: Any) -> Any:
    """/echo's view of a multipart upload, its random boundary replaced by a fixed word."""
    seen_by_server = echoed(response)
    kind = seen_by_server["headers"]["content-type"]
    boundary = kind.partition("boundary=")[2]
    return {key: value.replace(boundary, "BOUNDARY") if isinstance(value, str) else value
            for key, value in {**seen_by_server, "kind": kind}.items() if key != "headers"}


@case
def files_upload(run):
    return _upload(run.session().post("/echo", files={"f": ("a.txt", b"hello")}))


@case
def files_with_form_fields_and_types(run):
    files = [("first", ("a.csv", "x,y\n1,2\n", "text/csv")), ("second", ("b.bin", b"\x00\x01", None, {"X-Part": "2"}))]
    return _upload(run.session().post("/echo", data={"field": "value", "many": ["1", "2"]}, files=files,
                                      headers={"Content-Type": "text/plain"}))


@case
def files_from_file_objects(run):
    import io
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "upload.txt"
        path.write_bytes(b"named file")
        with open(path, "rb") as named:
            return _upload(run.session().put("/echo", files={"anonymous": io.BytesIO(b"no name"), "named": named}))


@case
def files_with_a_custom_boundary(run):
    return echoed(run.session().post("/echo", files={"f": ("a.txt", b"hi", "text/plain", {}, "fixedboundary")}))


@case
def files_beside_text_data(run):
    return echoed(run.session().post("/echo", data="text", files={"f": ("a.txt", b"hi")}))


@case
def methods(run):
    session = run.session()
    return [echoed(session.put("/echo", data="p")), echoed(session.patch("/echo", data="q")),
            echoed(session.delete("/echo")), echoed(session.options("/echo")),
            seen(session.head("/echo"))["content"]]


@case
def request_method_in_lower_case(run):
    return echoed(run.session().request("get", "/echo"))


@case
def custom_headers(run):
    return echoed(run.session().get("/echo", headers={"X-Custom": "1", "Accept-Encoding": "identity"}))


@case
def session_default_headers(run):
    return echoed(run.session(headers={"X-Default": "d"}).get("/echo", headers={"X-Call": "c"}))


@case
def basic_auth_tuple(run):
    return echoed(run.session().get("/basic", auth=("user", "p@ss")))


@case
def credentials_in_the_host(run):
    session = run.session(base=run.base.replace("http://", "http://us%40er:p%40ss@"))
    return {"base_url": session.base_url, "echo": echoed(session.get("/basic"))}


@case
def no_credentials_answers_401(run):
    return seen(run.session().get("/basic"))


@case
def absolute_url(run):
    return seen(run.session().get(run.base + "/text"))


@case
def name_and_context(run):
    session = run.session()
    session.get("/text", name="named", context={"tag": "t"})
    return None


@case
def user_context(run):
    user = run.user(context=lambda self: {"user": "u1"})
    user.client.get("/text", context={"call": "c"})
    return None


@case
def utf8_body(run):
    return seen(run.session().get("/utf8"))


@case
def latin1_body(run):
    return seen(run.session().get("/latin1"))


@case
def encoding_set_before_text(run):
    response = run.session().get("/utf8")
    response.encoding = "latin-1"
    return response.text


@case
def big_body(run):
    response = run.session().get("/big")
    return {"length": len(response.content), "tail": response.content[-8:].hex()}


# --- statuses ---------------------------------------------------------------------------------------------------

def _status_case(status: int) -> None:
    def status_case(run):
        response = run.session().get(f"/status/{status}")
        observed = seen(response)
        try:
            response.raise_for_status()
            observed["raise_for_status"] = None
        except Exception as error:  # noqa: BLE001
            observed["raise_for_status"] = described(error)
        return observed

    CASES[f"status_{status}"] = status_case


for _status in STATUSES:
    _status_case(_status)


@case
def status_with_its_own_reason(run):
    return seen(run.session().get("/status/404?reason=Gone%20Fishing"))


# --- catch_response ---------------------------------------------------------------------------------------------

@case
def catch_success_of_a_500(run):
    with run.session().get("/status/500", catch_response=True) as response:
        response.success()
    return seen(response)


@case
def catch_failure_text_of_a_200(run):
    with run.session().get("/text", catch_response=True) as response:
        response.failure("not what I wanted")
    return None


@case
def catch_failure_exception(run):
    with run.session().get("/text", catch_response=True) as response:
        response.failure(ValueError("bad value"))
    return None


@case
def catch_unmarked_404(run):
    with run.session().get("/status/404", catch_response=True) as response:
        pass
    return seen(response)


@case
def catch_response_error_raised_in_block(run):
    from locust.exception import ResponseError

    with run.session().get("/text", catch_response=True):
        raise ResponseError("raised in the block")


@case
def catch_other_exception_propagates(run):
    with run.session().get("/text", catch_response=True):
        raise KeyError("escapes")


@case
def catch_raise_for_status_after_failure(run):
    with run.session().get("/text", catch_response=True) as response:
        response.failure("marked")
        response.raise_for_status()


@case
def catch_success_outside_the_block(run):
    response = run.session().get("/text", catch_response=True)
    response.success()


@case
def success_without_catch_response(run):
    run.session().get("/text").success()


@case
def failure_without_catch_response_in_a_with(run):
    with run.session().get("/text") as response:
        response.failure("no")


@case
def catch_then_access_after_block(run):
    with run.session().get("/json", catch_response=True) as response:
        pass
    return {"json": response.json(), "status": response.status_code}


# --- redirects and cookies --------------------------------------------------------------------------------------

def _redirect_case(status: int, method: str) -> None:
    def redirect_case(run):
        response = run.session().request(method, f"/redirect?status={status}&to=/echo", data="payload")
        return {"echo": echoed(response), "seen": seen(response)}

    CASES[f"redirect_{status}_{method.lower()}"] = redirect_case


for _status in (301, 302, 303, 307, 308):
    for _method in ("GET", "POST"):
        _redirect_case(_status, _method)


@case
def redirect_not_followed(run):
    return seen(run.session().get("/redirect?to=/echo", allow_redirects=False))


@case
def redirect_chain(run):
    session = run.session()
    return echoed(session.get("/redirect?to=/redirect%3Fto%3D/echo%253Fafter%253D1"))


@case
def redirect_to_an_absolute_url(run):
    return echoed(run.session().get(f"/redirect?to={run.base}/echo"))


@case
def redirect_keeps_basic_auth_on_the_same_origin(run):
    return echoed(run.session().get("/redirect?to=/basic", auth=("a", "b")))


@case
def redirect_limit(run):
    return seen(run.session(max_redirects=3).get("/loop"))


@case
def cookie_set_then_sent(run):
    session = run.session()
    session.get("/setcookie?name=token&value=abc")
    return echoed(session.get("/echo"))["headers"].get("cookie")


@case
def cookie_two_in_one_answer(run):
    session = run.session()
    session.get("/twocookies")
    return session.get("/cookies").json()


@case
def cookie_set_on_a_redirect(run):
    session = run.session()
    first = session.get("/redirect?to=/cookies&cookie=hop%3D1")
    return {"first": first.json(), "later": session.get("/cookies").json()}


@case
def cookie_path_scoped(run):
    session = run.session()
    session.get("/setcookie?name=scoped&value=1&path=/scoped")
    return {"scoped": session.get("/scoped/deeper").json(), "elsewhere": session.get("/cookies").json()}


@case
def cookie_expired_removes(run):
    session = run.session()
    session.get("/setcookie?name=gone&value=1")
    session.get("/setcookie?name=gone&value=1&max-age=0")
    return session.get("/cookies").json()


@case
def cookie_replaced(run):
    session = run.session()
    session.get("/setcookie?name=v&value=1")
    session.get("/setcookie?name=v&value=2")
    return session.get("/cookies").json()


@case
def cookie_header_given_by_the_call(run):
    session = run.session()
    session.get("/setcookie?name=jar&value=1")
    return echoed(session.get("/echo", headers={"Cookie": "mine=2"}))["headers"].get("cookie")


@case
def cookie_secure_over_http(run):
    session = run.session()
    session.get("/setcookie?name=safe&value=1&secure=1")
    return session.get("/cookies").json()


@case
def cookie_for_another_domain(run):
    session = run.session()
    session.get("/setcookie?name=other&value=1&domain=example.com")
    return session.get("/cookies").json()


@case
def cookie_jar_cleared(run):
    session = run.session()
    session.get("/setcookie?name=c&value=1")
    session.cookiejar.clear()
    return session.get("/cookies").json()


@case
def cookies_per_session(run):
    first, second = run.session(), run.session()
    first.get("/setcookie?name=mine&value=1")
    return second.get("/cookies").json()


# --- content encoding and streaming -----------------------------------------------------------------------------

def _encoding_case(coding: str) -> None:
    def encoding_case(run):
        return seen(run.session().get(f"/encoded/{coding}"))

    CASES[f"encoded_{coding}"] = encoding_case


for _coding in ("gzip", "deflate", "br"):
    _encoding_case(_coding)


@case
def encoded_but_not_asked_for(run):
    return seen(run.session().get("/encoded/gzip", headers={"Accept-Encoding": "identity"}))


@case
def stream_iter_content(run):
    response = run.session().get("/lines", stream=True)
    return "".join(chunk if isinstance(chunk, str) else chunk.decode() for chunk in response.iter_content(64))


@case
def stream_iter_content_bytes(run):
    response = run.session().get("/big", stream=True)
    chunks = list(response.iter_content(chunk_size=65536, decode_content=False))
    return {"total": sum(len(chunk) for chunk in chunks), "types": sorted({type(c).__name__ for c in chunks})}


@case
def stream_reports_the_announced_length(run):
    response = run.session().get("/big", stream=True)
    return {"read": len(response.stream.read()), "status": response.status_code}


@case
def stream_of_a_gzip_answer(run):
    response = run.session().get("/encoded/gzip", stream=True)
    return "".join(chunk if isinstance(chunk, str) else chunk.hex() for chunk in response.iter_content(4096))


@case
def session_iter_lines(run):
    return list(run.session().iter_lines("/lines"))


@case
def session_iter_lines_of_an_error_status(run):
    return list(run.session().iter_lines("/status/500"))


# --- JSON and rest ----------------------------------------------------------------------------------------------

@case
def json_of_a_non_json_answer(run):
    return seen(run.session().get("/notjson"))["json"]


@case
def rest_get(run):
    with run.user().rest("GET", "/json") as response:
        return {"js": response.js, "request": seen(response)["request"]}


@case
def rest_post_json(run):
    with run.user().rest("POST", "/echo", json={"a": 1}) as response:
        return response.js


@case
def rest_non_json(run):
    with run.user().rest("GET", "/notjson") as response:
        return {"js": response.js}


@case
def rest_error_status(run):
    with run.user().rest("GET", "/json?status=500") as response:
        return {"js": response.js}


@case
def rest_assertion_fails_the_request(run):
    with run.user().rest("GET", "/json") as response:
        assert response.js["name"] == "other", "wrong name"


@case
def rest_assertion_with_trailing_comma(run):
    with run.user().rest("GET", "/json") as response:
        assert response.js["name"] == "other", "wrong name,"


@case
def rest_underscore(run):
    with run.user().rest_("GET", "/echo") as response:
        query = dict(response.js["query"])
        return {"has_stamp": re.fullmatch(r"\d{13}", query["_"]) is not None}


@case
def rest_headers_given(run):
    with run.user().rest("GET", "/echo", headers={"Accept": "text/plain"}) as response:
        return {k: v for k, v in response.js["headers"].items() if k in ("accept", "content-type")}


# --- transport failures -----------------------------------------------------------------------------------------

@case
def connection_refused(run):
    return seen(run.session(base=f"http://127.0.0.1:{run.closed_port}").get("/text"))


@case
def connection_refused_raise_for_status(run):
    run.session(base=f"http://127.0.0.1:{run.closed_port}").get("/text").raise_for_status()


@case
def connection_refused_catch_response(run):
    with run.session(base=f"http://127.0.0.1:{run.closed_port}").get("/text", catch_response=True) as response:
        return {"content": response.content, "text": response.text, "status": response.status_code}


@case
def unknown_host(run):
    return seen(run.session(base="http://pushpop-parity.invalid").get("/text"))


@case
def timeout_without_retries(run):
    return seen(run.session(network_timeout=0.2, max_retries=0).get("/slow?delay=1"))


@case
def timeout_of_a_post(run):
    return seen(run.session(network_timeout=0.2).post("/slow?delay=1", data="x"))


@case
def closed_without_an_answer(run):
    return seen(run.session(max_retries=0).get("/close"))


@case
def gzip_that_does_not_decode(run):
    return seen(run.session().get("/encoded/broken"))


@case
def rest_on_a_refused_connection(run):
    user = run.user(host=f"http://127.0.0.1:{run.closed_port}")
    with user.rest("GET", "/json") as response:
        return {"js": response.js}


def dumps(value: Any) -> str:
    return _json.dumps(value, sort_keys=True, default=repr)
