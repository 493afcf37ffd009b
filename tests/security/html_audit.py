"""Read a page as a browser's parser would and list anything that could run code or fetch
from elsewhere: inline event handlers, hx-on, ``javascript:`` URLs, inline scripts without
the response's nonce, frames, objects, ``<base>``, meta refreshes, off-site resources.

The app's own templates pass (no inline handlers: CSP forbids them), so any hit is either
an injected payload or a regression that the CSP would block in the browser anyway.
"""

import re
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
