"""Read a page as a browser's parser would and list anything that could run code or fetch
from elsewhere: inline event handlers, hx-on, ``javascript:`` URLs, inline scripts without
the response's nonce, frames, objects, ``<base>``, meta refreshes, off-site resources.

The app's own templates pass (no inline handlers: CSP forbids them), so any hit is either
an injected payload or a regression that the CSP would block in the browser anyway.
"""

import re
from dataclasses import dataclass
from html.parser import HTMLParser

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data", "poster", "xlink:href", "hx-get", "hx-post"}
DANGEROUS_TAGS = {"iframe", "frame", "object", "embed", "base", "applet"}
HTMX_REQUEST_ATTRIBUTES = {"hx-get", "hx-post", "hx-put", "hx-patch", "hx-delete"}


def _same_origin(url: str) -> bool:
    url = url.strip()
    return url == "" or url.startswith(("#", "?")) or (url.startswith("/") and not url.startswith("//"))


class _Audit(HTMLParser):
    def __init__(self, nonce: str | None):
        super().__init__(convert_charrefs=True)
        self.nonce = nonce
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        where = f"<{tag} {' '.join(f'{k}={(v or "")[:40]!r}' for k, v in attrs)[:160]}>"
        for name, value in attrs:
            value = value or ""
            if name.startswith("on") or name.startswith("hx-on") or name.startswith("data-hx-on"):
                self.problems.append(f"event handler {name} in {where}")
            is_url = name in URL_ATTRIBUTES or name in HTMX_REQUEST_ATTRIBUTES
            if is_url and re.sub(r"[\s\x00-\x1f]", "", value).lower().startswith(
                ("javascript:", "vbscript:")
            ):
                self.problems.append(f"script URL in {name} of {where}")
            if name in HTMX_REQUEST_ATTRIBUTES and not _same_origin(value):
                self.problems.append(f"off-site htmx request in {where}")
            if name in HTMX_REQUEST_ATTRIBUTES and "evil" in value:
                self.problems.append(f"injected htmx request in {where}")
            if (
                name in URL_ATTRIBUTES
                and tag != "a"
                and not _same_origin(value)
                and not value.startswith("data:image/")
            ):
                self.problems.append(f"off-site resource in {where}")
        if tag in DANGEROUS_TAGS:
            self.problems.append(f"dangerous element {where}")
        if tag == "meta" and attributes.get("http-equiv", "").lower() == "refresh":
            self.problems.append(f"meta refresh {where}")
        if tag == "link" and not _same_origin(attributes.get("href") or ""):
            self.problems.append(f"off-site link {where}")
        if tag == "script":
            if "src" in attributes:
                if not _same_origin(attributes["src"] or ""):
                    self.problems.append(f"off-site script {where}")
            elif attributes.get("type") != "application/json" and (
                self.nonce is None or attributes.get("nonce") != self.nonce
            ):
                self.problems.append(f"inline script without the response's nonce {where}")
        if tag == "a" and (attributes.get("href") or "").strip().lower().startswith("data:"):
            self.problems.append(f"data: link {where}")


def response_nonce(response) -> str | None:
    policy = response.get("Content-Security-Policy", "")
    found = re.search(r"'nonce-([^']+)'", policy)
    return found.group(1) if found else None


def injected_markup(html: str, nonce: str | None) -> list[str]:
    audit = _Audit(nonce)
    audit.feed(html)
    audit.close()
    return audit.problems


# --- Security headers (T5) -----------------------------------------------------------------

REFERRER_POLICIES = {"no-referrer", "same-origin", "strict-origin", "strict-origin-when-cross-origin"}


@dataclass
class Recorded:
    """What the header check needs from a response."""

    label: str
    authenticated: bool
    status: int
    headers: dict
    content_type: str
    body: str

    @classmethod
    def of(cls, response, label: str) -> "Recorded":
        user = getattr(response.wsgi_request, "user", None)
        content_type = response.get("Content-Type", "")
        return cls(
            label=label,
            authenticated=bool(user is not None and user.is_authenticated),
            status=response.status_code,
            headers=dict(response.headers),
            content_type=content_type,
            body=response.content.decode("utf-8", "replace") if "html" in content_type else "",
        )


def _policy(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def header_problems(recorded: Recorded) -> list[str]:
    headers = {k.lower(): v for k, v in recorded.headers.items()}
    problems = []
    csp = headers.get("content-security-policy")
    if not csp:
        problems.append("no enforced Content-Security-Policy")
    else:
        policy = _policy(csp)
        script_src = policy.get("script-src", policy.get("default-src", []))
        if not script_src:
            problems.append("CSP without script-src")
        if {"'unsafe-inline'", "'unsafe-eval'", "*", "data:", "http:", "https:"} & set(script_src):
            problems.append(f"CSP script-src too loose: {script_src}")
        if (
            recorded.body
            and "<script" in recorded.body
            and not any(v.startswith("'nonce-") for v in script_src)
        ):
            problems.append("an HTML page with scripts but no nonce in script-src")
        if "'unsafe-inline'" in policy.get("style-src", []):
            problems.append("CSP style-src allows unsafe-inline")
        if policy.get("object-src") != ["'none'"]:
            problems.append(f"object-src is {policy.get('object-src')}")
        if not policy.get("base-uri") or not set(policy["base-uri"]) <= {"'none'", "'self'"}:
            problems.append(f"base-uri is {policy.get('base-uri')}")
        if policy.get("frame-ancestors") != ["'none'"]:
            problems.append(f"frame-ancestors is {policy.get('frame-ancestors')}")
    if headers.get("x-content-type-options") != "nosniff":
        problems.append("no X-Content-Type-Options: nosniff")
    if headers.get("referrer-policy") not in REFERRER_POLICIES:
        problems.append(f"Referrer-Policy is {headers.get('referrer-policy')!r}")
    if headers.get("cross-origin-opener-policy") != "same-origin":
        problems.append(f"COOP is {headers.get('cross-origin-opener-policy')!r}")
    if headers.get("x-frame-options") != "DENY":
        problems.append("no X-Frame-Options: DENY")
    if "permissions-policy" not in headers:
        problems.append("no Permissions-Policy")
    if recorded.authenticated and "no-store" not in headers.get("cache-control", ""):
        problems.append(
            f"signed-in response without Cache-Control: no-store ({headers.get('cache-control')!r})"
        )
    if recorded.body:
        problems += injected_markup(recorded.body, response_nonce(_Headers(recorded.headers)))
    return [f"{recorded.label} ({recorded.status}): {p}" for p in problems]


class _Headers(dict):
    def get(self, key, default=None):
        return next((v for k, v in self.items() if k.lower() == key.lower()), default)
