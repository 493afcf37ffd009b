"""The address of the client that sent a request, correct behind the app's own proxies.

Behind N proxies (``DJANGO_PROXY_COUNT``, setting ``PROXY_COUNT``) each proxy appends the address
it received the request from to ``X-Forwarded-For``, so the N-th entry from the right is the
address the outermost of our proxies saw: the client. Everything to its left was written by the
client and proves nothing (an attacker can send any ``X-Forwarded-For`` it likes). With no
proxies, or a header shorter than N entries (a request that did not come through every proxy),
or an entry that is not an address, the connection's own address (``REMOTE_ADDR``) is used.

One function for every consumer: log-in lock-outs (django-axes, ``AXES_CLIENT_IP_CALLABLE``),
per-address rate limits (django-ratelimit's ``ip`` key, ``RATELIMIT_IP_META_KEY``) and the
security log.
"""

import ipaddress

from django.conf import settings

_CACHE_ATTRIBUTE = "_provenance_client_ip"


def _address(value: str) -> str | None:
    value = value.strip()
    if value.startswith("[") and "]" in value:  # "[v6]:port", as some proxies write it
        value = value[1 : value.index("]")]
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


def client_ip(request) -> str:
    """The client's address as a string (IPv4 or IPv6), computed once per request."""
    cached = getattr(request, _CACHE_ATTRIBUTE, None)
    if cached is not None:
        return cached
    remote = request.META.get("REMOTE_ADDR", "") or ""
    address = _address(remote) or remote
    count = getattr(settings, "PROXY_COUNT", 0)
    if count > 0:
        forwarded = [part for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= count:
            address = _address(forwarded[-count]) or address
    setattr(request, _CACHE_ATTRIBUTE, address)
    return address
