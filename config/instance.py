"""Say which app server answered: ``X-Instance: <name>`` on every response, from the
``PROVENANCE_INSTANCE`` environment variable (read once at start-up; no header when unset).

Several gunicorn instances serve the same site behind a proxy (README "Production shape");
the header lets the scale-out check (``make scaleout``) and an operator reading a response
see which one served it. It names a process, never a user or anything secret.
"""

import os


class InstanceHeaderMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self.instance = os.environ.get("PROVENANCE_INSTANCE", "").strip()

    def __call__(self, request):
        response = self.get_response(request)
        if self.instance:
            response["X-Instance"] = self.instance
        return response
