"""The demo platform's pages and LTI endpoints. State lives in memory, behind one lock."""

import datetime
import json
import secrets
import threading
import time
import uuid
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.http import HttpResponse, HttpResponseBadRequest, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from jwcrypto.jwk import JWK

LOCK = threading.Lock()
KEY = JWK.generate(kty="RSA", size=2048)
KID = KEY.thumbprint()
PRIVATE_PEM = KEY.export_to_pem(private_key=True, password=None)

COURSE = {"id": "demo-course-9c", "title": "History 9C (demo course)", "label": "HIST9C"}
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
PEOPLE = [
    {"user_id": "demo-instructor-1", "given_name": "Ada", "family_name": "Byron", "role": "Instructor"},
    {"user_id": "demo-learner-1", "given_name": "Sam", "family_name": "Lee", "role": "Learner"},
    {"user_id": "demo-learner-2", "given_name": "Priya", "family_name": "Shah", "role": "Learner"},
]
LINKS = []  # {"id", "title", "custom", "lineitem"}
LINE_ITEMS = {}  # id -> {"label", "scoreMaximum", "resourceId", "tag", "resourceLinkId", "scores": {}}
RECEIVED = []  # what the tool sent: deep links, token requests, roster reads, scores
TOKENS = {}  # access token -> scopes
AGS_SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
]
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"


def _url(path: str) -> str:
    return settings.PLATFORM_URL + path


def _record(kind: str, summary: str, payload) -> None:
    with LOCK:
        RECEIVED.append(
            {
                "at": datetime.datetime.now().strftime("%H:%M:%S"),
                "kind": kind,
                "summary": summary,
                "payload": payload,
            }
        )


def _person(user_id):
    return next((p for p in PEOPLE if p["user_id"] == user_id), None)


def _tool_claims(token: str, *, audience: str):
    """Verify a JWT the tool signed, against the tool's published JWKS."""
    header = jwt.get_unverified_header(token)
    keys = requests.get(settings.TOOL_URL + "/lti/jwks.json", timeout=10).json()["keys"]
    key = next((k for k in keys if k.get("kid") == header.get("kid")), None)
    if key is None:
        raise jwt.InvalidTokenError("unknown kid")
    public = jwt.algorithms.RSAAlgorithm.from_jwk(json.dumps(key))
    return jwt.decode(token, public, algorithms=["RS256"], audience=audience)


def _bearer_ok(request, scope: str) -> bool:
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ").strip()
    return scope in TOKENS.get(token, [])


# --- Pages for the person trying it ---------------------------------------------------------


def course(request):
    acting = _person(request.COOKIES.get("demo_user", "")) or PEOPLE[0]
    return render(
        request,
        "platform/course.html",
        {
            "course": COURSE,
            "people": PEOPLE,
            "acting": acting,
            "links": LINKS,
            "line_items": LINE_ITEMS,
            "frame": request.GET.get("frame", ""),
            "tool_url": settings.TOOL_URL,
        },
    )


@csrf_exempt
def act_as(request):
    response = redirect("course")
    if _person(request.POST.get("user_id", "")):
        response.set_cookie("demo_user", request.POST["user_id"], samesite="Lax")
    return response


@csrf_exempt
def learner_add(request):
    given = request.POST.get("given_name", "").strip()[:50] or "New"
    family = request.POST.get("family_name", "").strip()[:50] or "Learner"
    with LOCK:
        PEOPLE.append(
            {
                "user_id": f"demo-learner-{uuid.uuid4().hex[:8]}",
                "given_name": given,
                "family_name": family,
                "role": "Learner",
            }
        )
    return redirect("course")


def open_tool(request, kind):
    """Start a launch the way a platform does: send the browser (here, the frame) to the tool's
    login initiation URL with a login hint and a message hint."""
    acting = _person(request.COOKIES.get("demo_user", "")) or PEOPLE[0]
    hint = kind if kind == "deep-link" else f"link:{kind}"
    params = {
        "iss": settings.PLATFORM_URL,
        "login_hint": acting["user_id"],
        "lti_message_hint": hint,
        "target_link_uri": settings.TOOL_URL + "/lti/launch/",
        "client_id": settings.CLIENT_ID,
        "lti_deployment_id": settings.DEPLOYMENT_ID,
    }
    return redirect(settings.TOOL_URL + "/lti/login/?" + urlencode(params))


def auth(request):
    """The OIDC auth endpoint: answer the tool's authentication request with a signed id_token,
    posted to its redirect URI."""
    q = request.GET
    if (
        q.get("client_id") != settings.CLIENT_ID
        or q.get("redirect_uri") != settings.TOOL_URL + "/lti/launch/"
    ):
        return HttpResponseBadRequest("Unknown client or redirect URI.")
    person = _person(q.get("login_hint", ""))
    if person is None or q.get("response_type") != "id_token" or "openid" not in q.get("scope", ""):
        return HttpResponseBadRequest("Bad authentication request.")
    hint = q.get("lti_message_hint", "")
    now = int(time.time())
    claims = {
        "iss": settings.PLATFORM_URL,
        "aud": settings.CLIENT_ID,
        "azp": settings.CLIENT_ID,
        "sub": person["user_id"],
        "iat": now,
        "exp": now + 300,
        "nonce": q.get("nonce", ""),
        "given_name": person["given_name"],
        "family_name": person["family_name"],
        "name": f"{person['given_name']} {person['family_name']}",
        "https://purl.imsglobal.org/spec/lti/claim/deployment_id": settings.DEPLOYMENT_ID,
        "https://purl.imsglobal.org/spec/lti/claim/version": "1.3.0",
        "https://purl.imsglobal.org/spec/lti/claim/roles": [MEMBERSHIP + person["role"]],
        "https://purl.imsglobal.org/spec/lti/claim/context": COURSE,
        "https://purl.imsglobal.org/spec/lti/claim/target_link_uri": settings.TOOL_URL + "/lti/launch/",
        "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice": {
            "context_memberships_url": _url("/nrps/memberships"),
            "service_versions": ["2.0"],
        },
    }
    if hint == "deep-link":
        if person["role"] != "Instructor":
            return HttpResponseBadRequest("Only the instructor adds activities.")
        claims["https://purl.imsglobal.org/spec/lti/claim/message_type"] = "LtiDeepLinkingRequest"
        claims["https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"] = {
            "deep_link_return_url": _url("/deep-link/return"),
            "accept_types": ["ltiResourceLink"],
            "accept_presentation_document_targets": ["iframe", "window"],
            "accept_multiple": False,
            "data": "demo-" + secrets.token_hex(4),
        }
        claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"] = {
            "scope": AGS_SCOPES,
            "lineitems": _url("/ags/lineitems"),
        }
    else:
        link = next((item for item in LINKS if f"link:{item['id']}" == hint), None)
        if link is None:
            return HttpResponseBadRequest("No such activity.")
        claims["https://purl.imsglobal.org/spec/lti/claim/message_type"] = "LtiResourceLinkRequest"
        claims["https://purl.imsglobal.org/spec/lti/claim/resource_link"] = {
            "id": link["id"],
            "title": link["title"],
        }
        claims["https://purl.imsglobal.org/spec/lti/claim/custom"] = link["custom"]
        claims["https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"] = {
            "scope": AGS_SCOPES,
            "lineitems": _url("/ags/lineitems"),
            **({"lineitem": _url(f"/ags/lineitems/{link['lineitem']}")} if link["lineitem"] else {}),
        }
    token = jwt.encode(claims, PRIVATE_PEM, algorithm="RS256", headers={"kid": KID})
    return render(
        request,
        "platform/post.html",
        {"action": q["redirect_uri"], "fields": {"id_token": token, "state": q.get("state", "")}},
    )


def jwks(request):
    public = json.loads(KEY.export_public())
    public.update({"kid": KID, "alg": "RS256", "use": "sig"})
    return JsonResponse({"keys": [public]})


@csrf_exempt
def token(request):
    """OAuth 2 client credentials with a signed JWT assertion, checked against the tool's JWKS."""
    try:
        claims = _tool_claims(request.POST.get("client_assertion", ""), audience=_url("/token"))
    except (jwt.InvalidTokenError, requests.RequestException, ValueError) as error:
        _record("token refused", str(error), {})
        return JsonResponse({"error": "invalid_client"}, status=401)
    if claims.get("iss") != settings.CLIENT_ID or claims.get("sub") != settings.CLIENT_ID:
        return JsonResponse({"error": "invalid_client"}, status=401)
    scopes = request.POST.get("scope", "").split()
    access = secrets.token_urlsafe(24)
    with LOCK:
        TOKENS[access] = scopes
    _record("access token", " ".join(s.rsplit("/", 1)[-1] for s in scopes), {"scopes": scopes})
    return JsonResponse(
        {"access_token": access, "token_type": "bearer", "expires_in": 3600, "scope": " ".join(scopes)}
    )


@csrf_exempt
def deep_link_return(request):
    try:
        claims = _tool_claims(request.POST.get("JWT", ""), audience=settings.PLATFORM_URL)
    except (jwt.InvalidTokenError, requests.RequestException, ValueError) as error:
        _record("deep link refused", str(error), {})
        return HttpResponseBadRequest("The deep-linking response did not verify.")
    if claims.get("https://purl.imsglobal.org/spec/lti/claim/message_type") != "LtiDeepLinkingResponse":
        return HttpResponseBadRequest("Not a deep-linking response.")
    items = claims.get("https://purl.imsglobal.org/spec/lti-dl/claim/content_items", [])
    added = []
    with LOCK:
        for item in items:
            link_id = f"rl-{uuid.uuid4().hex[:10]}"
            lineitem_id = None
            if item.get("lineItem"):
                lineitem_id = len(LINE_ITEMS) + 1
                LINE_ITEMS[lineitem_id] = {**item["lineItem"], "resourceLinkId": link_id, "scores": {}}
            LINKS.append(
                {
                    "id": link_id,
                    "title": item.get("title", "Activity"),
                    "custom": item.get("custom", {}),
                    "lineitem": lineitem_id,
                }
            )
            added.append(item.get("title", "Activity"))
    _record("deep link", ", ".join(added), items)
    return render(request, "platform/added.html", {"added": added})


def _member(person):
    return {
        "status": "Active",
        "name": f"{person['given_name']} {person['family_name']}",
        "given_name": person["given_name"],
        "family_name": person["family_name"],
        "user_id": person["user_id"],
        "roles": [MEMBERSHIP + person["role"]],
    }


def memberships(request):
    if not _bearer_ok(request, NRPS_SCOPE):
        return JsonResponse({"error": "unauthorized"}, status=401)
    members = [_member(p) for p in PEOPLE]
    _record("roster read", f"{len(members)} members", {})
    return JsonResponse(
        {"id": _url("/nrps/memberships"), "context": COURSE, "members": members},
        content_type="application/vnd.ims.lti-nrps.v2.membershipcontainer+json",
    )


def _lineitem_json(item_id):
    item = LINE_ITEMS[item_id]
    return {"id": _url(f"/ags/lineitems/{item_id}"), **{k: v for k, v in item.items() if k != "scores"}}


@csrf_exempt
def lineitems(request):
    if not _bearer_ok(request, AGS_SCOPES[0]) and not _bearer_ok(request, AGS_SCOPES[2]):
        return JsonResponse({"error": "unauthorized"}, status=401)
    items = [_lineitem_json(i) for i in LINE_ITEMS]
    if rlid := request.GET.get("resource_link_id"):
        items = [i for i in items if i.get("resourceLinkId") == rlid]
    return JsonResponse(items, safe=False, content_type="application/vnd.ims.lis.v2.lineitemcontainer+json")


def lineitem(request, item_id):
    if item_id not in LINE_ITEMS:
        return JsonResponse({"error": "not found"}, status=404)
    return JsonResponse(_lineitem_json(item_id), content_type="application/vnd.ims.lis.v2.lineitem+json")


@csrf_exempt
def scores(request, item_id):
    if request.method != "POST":
        return HttpResponse(status=405)
    if not _bearer_ok(request, AGS_SCOPES[2]):
        return JsonResponse({"error": "unauthorized"}, status=401)
    if item_id not in LINE_ITEMS:
        return JsonResponse({"error": "no such line item"}, status=404)
    try:
        score = json.loads(request.body)
    except ValueError:
        return JsonResponse({"error": "not JSON"}, status=400)
    person = _person(score.get("userId", ""))
    with LOCK:
        LINE_ITEMS[item_id]["scores"][score.get("userId")] = score
    who = f"{person['given_name']} {person['family_name']}" if person else score.get("userId")
    given = f"{score['scoreGiven']:g}/{score['scoreMaximum']:g}" if "scoreGiven" in score else "no score"
    _record(
        "score",
        f"{who}: {given} ({score.get('activityProgress')}, {score.get('gradingProgress')})",
        {**score, "lineitem": LINE_ITEMS[item_id].get("label")},
    )
    return HttpResponse(status=200)


def received(request):
    return render(
        request,
        "platform/received.html",
        {"received": list(reversed(RECEIVED)), "line_items": LINE_ITEMS, "people": PEOPLE},
    )


def received_json(request):
    return JsonResponse({"received": RECEIVED, "people": PEOPLE, "links": LINKS}, safe=False)
