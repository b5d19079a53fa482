"""Runs the proxy and client-certificate cases with FastHttpUser's client and with NativeHttpUser's, in one gevent
process, and writes what each observed as JSON (the shape of parity_driver.py's, whose ``Run`` it uses). The
servers and the proxy are the test's; this process gets their addresses and files in a JSON file.

    python tests/python/tls_proxy_driver.py CONFIG.json OUT.json KIND[,KIND] CASE[,CASE...]
"""

from __future__ import annotations

import json
import ssl
import sys
from pathlib import Path
from typing import Any, Callable

from locust.exception import LocustError

sys.path.insert(0, str(Path(__file__).resolve().parent))
from parity_cases import described, seen  # noqa: E402
from parity_driver import Run  # noqa: E402

Case = Callable[[Run, dict[str, Any]], Any]
CASES: dict[str, Case] = {}


def case(function: Case) -> Case:
    CASES[function.__name__] = function
    return function


def _kind(run: Run) -> str:
    return "native" if run.user_class.__name__ == "NativeHttpUser" else "fast"


def _proxied(run: Run, config: dict[str, Any], base: str, **attributes: Any) -> Any:
    run.base = base
    return run.user(proxy_host="127.0.0.1", proxy_port=config["proxy_port"], **attributes)


# --- proxies ------------------------------------------------------------------------------------------------------

@case
def proxy_http_get(run: Run, config: dict[str, Any]) -> Any:
    user = _proxied(run, config, config["http"])
    return [seen(user.client.get(f"/seen/{n}?q=1", headers={"X-Client": _kind(run)})) for n in range(3)]


@case
def proxy_http_post(run: Run, config: dict[str, Any]) -> Any:
    user = _proxied(run, config, config["http"])
    return seen(user.client.post("/seen/post", json={"a": 1}, headers={"X-Client": _kind(run)}))


@case
def proxy_http_session_keywords(run: Run, config: dict[str, Any]) -> Any:
    session = run.session(config["http"], proxy_host="127.0.0.1", proxy_port=config["proxy_port"])
    return seen(session.get("/seen/session", headers={"X-Client": _kind(run)}))


@case
def proxy_https_get(run: Run, config: dict[str, Any]) -> Any:
    user = _proxied(run, config, config["https"])
    return [seen(user.client.get(f"/seen/tls/{n}", headers={"X-Client": _kind(run)})) for n in range(3)]


@case
def proxy_refuses_connect(run: Run, config: dict[str, Any]) -> Any:
    # the proxy allows CONNECT to the https server's port only (tinyproxy's ConnectPort)
    user = _proxied(run, config, config["https_not_allowed"])
    return seen(user.client.get("/seen/refused"))


def _with_credentials(run: Run, config: dict[str, Any], base: str, password: str) -> Any:
    """A session through the proxy that asks for Basic credentials (FastHttpSession takes them as keywords)."""
    return run.session(base, proxy_host="127.0.0.1", proxy_port=config["auth_proxy_port"],
                       proxy_user=config["proxy_user"], proxy_password=password)


@case
def proxy_credentials_http(run: Run, config: dict[str, Any]) -> Any:
    session = _with_credentials(run, config, config["http"], config["proxy_password"])
    return [seen(session.get(f"/seen/auth/{n}", headers={"X-Client": _kind(run)})) for n in range(2)]


@case
def proxy_credentials_https(run: Run, config: dict[str, Any]) -> Any:
    session = _with_credentials(run, config, config["https"], config["proxy_password"])
    return [seen(session.get(f"/seen/tls-auth/{n}", headers={"X-Client": _kind(run)})) for n in range(2)]


@case
def proxy_credentials_wrong_http(run: Run, config: dict[str, Any]) -> Any:
    session = _with_credentials(run, config, config["http"], "wrong")
    return seen(session.get("/seen/auth/wrong", headers={"X-Client": _kind(run)}))


# --- mutual TLS and private CAs -----------------------------------------------------------------------------------

def _context(config: dict[str, Any], cert: bool, ca: str | None) -> Callable[[], ssl.SSLContext]:
    """FastHttpUser's way: an ssl_context_factory."""
    def factory() -> ssl.SSLContext:
        if ca is None:
            context = ssl._create_unverified_context()  # noqa: S323 - FastHttpUser's insecure default, as Locust's
        else:
            context = ssl.create_default_context(cafile=ca)
        if cert:
            context.load_cert_chain(config["client_cert"], config["client_key"])
        return context
    return factory


def _mtls_user(run: Run, config: dict[str, Any], cert: bool, ca: str | None) -> Any:
    run.base = config["mtls"]
    if _kind(run) == "fast":
        return run.user(insecure=ca is None, ssl_context_factory=staticmethod(_context(config, cert, ca)))
    files = {"client_cert": config["client_cert"], "client_key": config["client_key"]} if cert else {}
    return run.user(insecure=ca is None, ca_bundle=ca, **files)


@case
def mtls_with_a_client_certificate(run: Run, config: dict[str, Any]) -> Any:
    user = _mtls_user(run, config, cert=True, ca=None)
    return [seen(user.client.get(f"/whoami/{n}")) for n in range(2)]


@case
def mtls_without_a_client_certificate(run: Run, config: dict[str, Any]) -> Any:
    user = _mtls_user(run, config, cert=False, ca=None)
    return seen(user.client.get("/whoami"))


@case
def mtls_verified_against_the_private_ca(run: Run, config: dict[str, Any]) -> Any:
    user = _mtls_user(run, config, cert=True, ca=config["ca"])
    return seen(user.client.get("/whoami"))


@case
def mtls_verified_against_a_wrong_ca(run: Run, config: dict[str, Any]) -> Any:
    user = _mtls_user(run, config, cert=True, ca=config["wrong_ca"])
    return seen(user.client.get("/whoami"))


@case
def mtls_ca_bundle_verifies_even_when_insecure(run: Run, config: dict[str, Any]) -> Any:
    """Native only: a ``ca_bundle`` means verification, with ``insecure`` left at its default (True)."""
    run.base = config["mtls"]
    files = {"client_cert": config["client_cert"], "client_key": config["client_key"]}
    right = run.user(ca_bundle=config["ca"], **files).client.get("/whoami/insecure-default")
    wrong = run.user(ca_bundle=config["wrong_ca"], **files).client.get("/whoami/insecure-default")
    return {"right": seen(right), "wrong": seen(wrong)}


@case
def mtls_unusable_files(run: Run, config: dict[str, Any]) -> Any:
    """Native only: a missing or garbled file is a LocustError naming it, when the user is made."""
    raised = {}
    for name, files in {
        "missing_cert": {"client_cert": config["missing"], "client_key": config["client_key"]},
        "key_is_no_key": {"client_cert": config["client_cert"], "client_key": config["client_cert"]},
        "ca_is_no_pem": {"ca_bundle": config["garbage"]},
    }.items():
        run.base = config["mtls"]
        try:
            run.user(**files)
            raised[name] = None
        except LocustError as error:
            raised[name] = described(error)
    return raised


def main() -> None:
    config_path, out, kinds, names = sys.argv[1:]
    config = json.loads(Path(config_path).read_text())
    results: dict[str, Any] = {}
    for name in names.split(","):
        results[name] = {}
        for kind in kinds.split(","):
            run = Run(kind, config.get("http", "http://127.0.0.1:9"), 9)
            observed: dict[str, Any] = {"returned": None, "raised": None}
            try:
                observed["returned"] = CASES[name](run, config)
            except Exception as error:  # noqa: BLE001 - what the case raised is an observation
                observed["raised"] = described(error)
            observed["events"] = run.events
            results[name][kind] = json.loads(json.dumps(observed, default=repr))
    Path(out).write_text(json.dumps(results, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
