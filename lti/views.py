"""The LTI 1.3 endpoints: login initiation, launch, the tool's JWKS, the deep-linking pick
page, the hand-over from a framed launch to a logged-in page, an LMS course's page (roster
sync, grade posts) and the site admin's "connect" page."""

import json
from urllib.parse import urlencode, urlsplit

import jwt as pyjwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.exception import LtiException, LtiServiceException
from pylti1p3.lineitem import LineItem

from accounts.decorators import teacher_required
from accounts.models import School
from analysis.models import Assignment
from config.logging import log_account_event, log_refused, security_log
from lti import registration, services
from lti.forms import DeepLinkForm
from lti.keys import active_key, published_jwks
from lti.models import Course, GradePost, LaunchState, LtiIdentity, Platform
from lti.tasks import grade_post_send
from lti.tool import LaunchRefused, ToolMessageLaunch, ToolOIDCLogin, find_platform, refusal_from

AUTH_BACKEND = "django.contrib.auth.backends.ModelBackend"
DEEP_LINKING = "https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings"
LOGIN_PARAMS = ("iss", "login_hint", "target_link_uri", "lti_message_hint", "lti_deployment_id", "client_id")


def _frameable(response, platform: Platform | None, *, form_target: str = ""):
    """Let this one response be framed by the platform's stored frame origins (every other
    page keeps frame-ancestors 'none' and X-Frame-Options DENY)."""
    csp = dict(settings.SECURE_CSP)
    origins = platform.frame_origin_list if platform else []
    if origins:
        csp["frame-ancestors"] = origins
        response.xframe_options_exempt = True
    if form_target:
        csp["form-action"] = [*csp.get("form-action", []), form_target]
    response._csp_config = csp
    return response


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def refuse(request, refusal: LaunchRefused, *, platform: Platform | None = None, status: int | None = None):
    """A clear page and one security-log record for every refused launch: 422 for a posted
    token or form the tool will not accept, 400 for a bad log-in request."""
    status = status or (422 if request.method == "POST" else 400)
    log_refused(request, status=status, outcome=refusal.code, event="lti_refused")
    response = render(
        request, "lti/refused.html", {"message": refusal.message, "code": refusal.code}, status=status
    )
    return _frameable(response, platform)


def _claimed_platform(request) -> Platform | None:
    """The platform a refused token claims to come from, only to let the refusal page show in
    its frame (nothing else is trusted from an unverified token)."""
    try:
        claims = pyjwt.decode(request.POST.get("id_token", ""), options={"verify_signature": False})
    except pyjwt.PyJWTError:
        return None
    aud = claims.get("aud")
    return find_platform(str(claims.get("iss", "")), aud[0] if isinstance(aud, list) and aud else aud)


# --- Public endpoints the platform calls ----------------------------------------------------


@login_not_required
@require_GET
def jwks(request):
    response = JsonResponse(published_jwks())
    response["Cache-Control"] = "public, max-age=300"
    return response


@login_not_required
@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def login_initiation(request):
    """OIDC third-party initiated login: answer with a redirect to the platform's auth URL,
    carrying a fresh state (also set as this browser's cookie) and nonce."""
    services.launch_states_purge()  # expired nonces, states and tickets go as new ones come
    params = {key: value for key, value in (request.POST or request.GET).items() if key in LOGIN_PARAMS}
    platform = find_platform(params.get("iss", ""), params.get("client_id"))
    framed = request.headers.get("Sec-Fetch-Dest") == "iframe"
    if framed and platform and not ({"lti1p3_new_window", "cookies_checked"} & set(request.GET)):
        # In a frame: check first that the browser lets the frame keep the state cookie.
        base = request.build_absolute_uri(reverse("lti:login")) + "?"
        response = render(
            request,
            "lti/cookie_check.html",
            {
                "continue_url": base + urlencode({**params, "cookies_checked": "1"}),
                "new_tab_url": base + urlencode({**params, "lti1p3_new_window": "1"}),
            },
        )
        return _frameable(response, platform)
    oidc = ToolOIDCLogin(request)
    try:
        return oidc.redirect(request.build_absolute_uri(reverse("lti:launch")))
    except (LtiException, LaunchRefused) as error:
        return refuse(request, refusal_from(error))


@login_not_required
@csrf_exempt
@never_cache
@require_POST
def launch(request):
    """The platform's form post with the signed id_token: validated in full, then the person is
    logged in as their linked user and sent on, or shown the deep-linking pick page."""
    message = ToolMessageLaunch(request)
    try:
        message.validate()
        body = message.get_launch_data()
        if services.is_first_launch(platform=message.platform, body=body):
            # Everything that could refuse this launch is checked now, in a rolled-back dry run.
            with transaction.atomic():
                services.launch_accept(platform=message.platform, body=body)
                transaction.set_rollback(True)
            # A new LMS account: decided on the next page, which a logged-in Provenance user
            # reaches with their session (a cross-site post never carries it) and may link.
            ticket = services.ticket_create_first(
                launch_id=message.get_launch_id(), platform=message.platform
            )
            response = redirect(_continue_url(ticket))
            message.clear_state_cookie(response)
            return _frameable(response, message.platform)
        outcome = services.launch_accept(platform=message.platform, body=body)
    except (LtiException, LaunchRefused, KeyError, ValueError) as error:
        return refuse(request, refusal_from(error), platform=message.platform or _claimed_platform(request))
    security_log.info(
        "lti launch",
        extra={"event": "lti_launch", "user_id": outcome.user.pk, "path": request.path, "outcome": "ok"},
    )
    return _after_launch(request, message, outcome)


def _after_launch(request, message, outcome):
    platform = outcome.platform
    if outcome.user.is_teacher and outcome.course.memberships_url:
        from lti.tasks import roster_sync_task

        transaction.on_commit(lambda: roster_sync_task.enqueue(outcome.course.pk))
    if outcome.is_deep_link:
        form = DeepLinkForm(
            teacher=outcome.user,
            classroom=outcome.course.classroom,
            initial={
                "launch_id": message.get_launch_id(),
                "opens_at": timezone.localtime().replace(second=0, microsecond=0),
            },
        )
        response = _pick_page(request, form, outcome.course)
    else:
        ticket = services.ticket_create(user=outcome.user, next_url=outcome.next_url, platform=platform)
        login(request, outcome.user, backend=AUTH_BACKEND)
        response = redirect(_continue_url(ticket))
    message.clear_state_cookie(response)
    return _frameable(response, platform)


def _first_launch_continue(request, ticket, data):
    """A first launch of an LMS account. Framed without a session: a new tab. Logged in here as a
    user the account could belong to: ask (link, or a new user). Otherwise: the new user."""
    platform = Platform.objects.filter(pk=data["platform"]).first()
    if request.headers.get("Sec-Fetch-Dest") == "iframe" and not request.user.is_authenticated:
        response = render(request, "lti/open_in_tab.html", {"url": request.build_absolute_uri()})
        return _frameable(response, platform)
    try:
        message = ToolMessageLaunch.restore(request, data["launch"])
        body = message.get_launch_data()
    except LaunchRefused as error:
        return refuse(request, error, status=404)
    if services.link_offer(platform=message.platform, body=body, user=request.user):
        response = render(
            request, "lti/link.html", {"ticket": ticket, "platform": message.platform, "claims": body}
        )
        return _frameable(response, platform)
    return _finish_first_launch(request, ticket, link=False)


def _finish_first_launch(request, ticket, *, link: bool):
    data = services.ticket_take(ticket)
    if data is None or "launch" not in data:
        return refuse(
            request,
            LaunchRefused(
                "ticket_expired", _("This link has expired. Open the activity again from your course.")
            ),
            status=422 if request.method == "POST" else 404,
        )
    try:
        message = ToolMessageLaunch.restore(request, data["launch"])
        body = message.get_launch_data()
        with transaction.atomic():
            if link:
                identity = services.identity_link(platform=message.platform, body=body, user=request.user)
                log_account_event(request, event="lti_identity_linked", target=identity.user)
            outcome = services.launch_accept(platform=message.platform, body=body)
    except (LtiException, LaunchRefused, KeyError, ValueError) as error:
        return refuse(request, refusal_from(error), status=422 if request.method == "POST" else 400)
    LaunchState.objects.filter(key=data["launch"]).delete()
    security_log.info(
        "lti launch",
        extra={"event": "lti_launch", "user_id": outcome.user.pk, "path": request.path, "outcome": "first"},
    )
    if request.user.pk != outcome.user.pk:
        login(request, outcome.user, backend=AUTH_BACKEND)
    if outcome.user.is_teacher and outcome.course.memberships_url:
        from lti.tasks import roster_sync_task

        transaction.on_commit(lambda: roster_sync_task.enqueue(outcome.course.pk))
    return redirect(outcome.next_url)


@never_cache
@require_POST
def link_confirm(request):
    """The logged-in user's answer: link this LMS account to theirs, or make a new user."""
    ticket = request.POST.get("ticket", "")
    return _finish_first_launch(request, ticket, link=request.POST.get("choice") == "link")


def _continue_url(ticket: str) -> str:
    return reverse("lti:continue") + "?" + urlencode({"t": ticket})


def _pick_page(request, form, course, status=200):
    response = render(
        request,
        "lti/deep_link.html",
        {"form": form, "course": course, "time_zone": timezone.get_current_timezone_name()},
        status=status,
    )
    return response


@login_not_required
@never_cache
@require_GET
def launch_continue(request):
    """Where a launch hands over. With a working session (a new window, or an LMS on the same
    site) it goes straight on. In a cross-site frame the session cookie is not sent, so the
    frame offers to open Provenance in a new tab, where the one-time ticket logs the person in."""
    ticket = request.GET.get("t", "")
    data = services.ticket_peek(ticket)
    if data is not None and "launch" in data:
        return _first_launch_continue(request, ticket, data)
    if data is None:
        return refuse(
            request,
            LaunchRefused(
                "ticket_expired", _("This link has expired. Open the activity again from your course.")
            ),
            status=404,
        )
    platform = Platform.objects.filter(pk=data["platform"]).first()
    if request.user.is_authenticated and request.user.pk == data["user"]:
        services.ticket_take(ticket)
        return redirect(data["next"])
    if request.headers.get("Sec-Fetch-Dest") == "iframe":
        response = render(request, "lti/open_in_tab.html", {"url": request.build_absolute_uri()})
        return _frameable(response, platform)
    data = services.ticket_take(ticket)
    if data is None:
        return refuse(
            request,
            LaunchRefused(
                "ticket_expired",
                _("This link has been used already. Open the activity again from your course."),
            ),
            status=404,
        )
    from accounts.models import User

    user = User.objects.filter(pk=data["user"], is_active=True).first()
    if user is None:
        raise Http404
    login(request, user, backend=AUTH_BACKEND)
    return redirect(data["next"])


@login_not_required
@csrf_exempt
@never_cache
@require_POST
def deep_link(request):
    """The instructor's choice from the pick page: the assignment is made in the course's
    class and a signed deep-linking response goes back to the platform with one resource link
    and its gradebook line item. The page came from a validated launch; its launch id (random,
    kept server-side, used once) is what authorises the post, since a cross-site frame has no
    session or CSRF cookie."""
    launch_id = request.POST.get("launch_id", "")
    try:
        message = ToolMessageLaunch.restore(request, launch_id)
        body = message.get_launch_data()
        if not message.is_deep_link_launch():
            raise LaunchRefused("not_deep_link", _("This page is not for adding an activity."))
        identity = LtiIdentity.objects.select_related("user").get(
            issuer=message.platform.issuer, sub=str(body["sub"])
        )
        course = Course.objects.select_related("classroom").get(
            platform=message.platform, context_id=str(body[services.CONTEXT]["id"])
        )
        return_url = str(body[DEEP_LINKING]["deep_link_return_url"])
    except (LtiException, LaunchRefused, LtiIdentity.DoesNotExist, Course.DoesNotExist, KeyError) as error:
        return refuse(request, refusal_from(error))
    teacher = identity.user
    if not return_url.startswith(("https://", "http://")):
        return refuse(
            request, LaunchRefused("bad_message", _("The platform's return address is not a web address."))
        )
    if not teacher.is_teacher or not course.classroom.teachers.filter(pk=teacher.pk).exists():
        return refuse(
            request,
            LaunchRefused("not_instructor", _("Only this course's instructors can add activities.")),
            platform=message.platform,
        )
    form = DeepLinkForm(request.POST, teacher=teacher, classroom=course.classroom)
    if not form.is_valid():
        return _frameable(_pick_page(request, form, course, status=422), message.platform)
    with transaction.atomic():
        assignment = form.save()
        link = course.links.create(assignment=assignment)
    total = assignment.exercise.total_marks
    resource = (
        DeepLinkResource()
        .set_url(request.build_absolute_uri(reverse("lti:launch")))
        .set_title(assignment.exercise.title)
        .set_custom_params({"provenance_assignment": str(assignment.pk)})
    )
    if total > 0:
        resource.set_lineitem(
            LineItem()
            .set_score_maximum(total)
            .set_label(assignment.exercise.title)
            .set_resource_id(f"provenance-assignment-{assignment.pk}")
            .set_tag("provenance")
        )
    deep = message.get_deep_link()
    jwt_value = deep.get_response_jwt([resource])
    # Used once: the launch data goes, so the page cannot post a second activity.
    LaunchState.objects.filter(key=launch_id).delete()
    security_log.info(
        "lti deep link",
        extra={
            "event": "lti_deep_link",
            "user_id": teacher.pk,
            "path": request.path,
            "outcome": f"link {link.pk}",
        },
    )
    response = render(
        request,
        "lti/deep_link_return.html",
        {"return_url": return_url, "jwt": jwt_value, "title": assignment.exercise.title},
    )
    return _frameable(response, message.platform, form_target=_origin(return_url))


# --- Teachers: an LMS course's page ----------------------------------------------------------


def _course_for(request, pk):
    return get_object_or_404(
        Course.objects.select_related("platform", "classroom").filter(classroom__teachers=request.user), pk=pk
    )


@teacher_required
@require_GET
def course_detail(request, pk):
    course = _course_for(request, pk)
    links = course.links.select_related("assignment__exercise").order_by("-created_at")
    return render(request, "lti/course.html", {"course": course, "links": links})


@teacher_required
@require_POST
def course_roster_sync(request, pk):
    course = _course_for(request, pk)
    try:
        result = services.roster_sync(course=course)
    except (LtiException, LtiServiceException, LaunchRefused, requests.RequestException) as error:
        text = error.message if isinstance(error, LaunchRefused) else str(error)[:300]
        Course.objects.filter(pk=course.pk).update(roster_error=text)
        messages.error(
            request, _("The roster could not be read from the platform: %(error)s") % {"error": text}
        )
    else:
        messages.success(
            request,
            _("Roster synced: %(added)s added, %(removed)s removed.")
            % {"added": len(result.added), "removed": len(result.removed)},
        )
    return redirect("lti:course", course.pk)


@teacher_required
@require_POST
def grades_resend(request, assignment_id):
    assignment = get_object_or_404(Assignment.objects.taught_by(request.user), pk=assignment_id)
    failed = list(
        GradePost.objects.filter(link__assignment=assignment, status=GradePost.Status.FAILED)
        .order_by("-pk")  # newest first: a stale hand-in notice never lands over a released mark
        .values_list("pk", flat=True)
    )
    GradePost.objects.filter(pk__in=failed).update(status=GradePost.Status.PENDING, attempts=0)
    for pk in failed:
        transaction.on_commit(lambda pk=pk: grade_post_send.enqueue(pk))
    messages.success(request, _("%(count)s score(s) will be sent again.") % {"count": len(failed)})
    return redirect("teach:assignment-progress", assignment.pk)


# --- Site admin: what a platform asks for -----------------------------------------------------


@require_GET
def connect(request):
    if not request.user.is_staff:
        raise Http404  # like every other page a user may not see

    def url(name):
        return request.build_absolute_uri(reverse(name))

    urls = [
        (_("Login initiation URL (OIDC)"), url("lti:login")),
        (_("Launch / redirect URL"), url("lti:launch")),
        (_("Deep linking URL"), url("lti:launch")),
        (_("Public keyset (JWKS) URL"), url("lti:jwks")),
        (_("Redirection URI"), url("lti:launch")),
    ]
    canvas = {
        "title": "Provenance",
        "description": "Historical source analysis: pupils read sources closely and answer with evidence.",
        "oidc_initiation_url": url("lti:login"),
        "target_link_uri": url("lti:launch"),
        "public_jwk_url": url("lti:jwks"),
        "scopes": [
            "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
            "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
            "https://purl.imsglobal.org/spec/lti-ags/scope/score",
            "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly",
        ],
        "extensions": [
            {
                "platform": "canvas.instructure.com",
                "privacy_level": "public",
                "settings": {
                    "placements": [
                        {
                            "placement": "link_selection",
                            "message_type": "LtiDeepLinkingRequest",
                            "target_link_uri": url("lti:launch"),
                        },
                        {
                            "placement": "assignment_selection",
                            "message_type": "LtiDeepLinkingRequest",
                            "target_link_uri": url("lti:launch"),
                        },
                    ]
                },
            }
        ],
        "custom_fields": {},
    }
    return render(
        request,
        "lti/connect.html",
        {
            "urls": urls,
            "key": active_key(),
            "platforms": Platform.objects.select_related("school").prefetch_related("deployments"),
            "canvas_json": json.dumps(canvas, indent=2),
            "schools": School.objects.order_by("name"),
            "debug": settings.DEBUG,
        },
    )


# --- Dynamic registration -------------------------------------------------------------------


@require_POST
def register_invite(request):
    """A one-time registration URL for one school, made by a site admin on the connect page."""
    if not request.user.is_staff:
        raise Http404
    try:
        school_id = int(request.POST.get("school", ""))
    except ValueError:
        raise Http404 from None
    school = get_object_or_404(School, pk=school_id)
    token = registration.invite_create(school=school)
    url = request.build_absolute_uri(reverse("lti:register")) + "?" + urlencode({"invite": token})
    messages.success(
        request,
        _("Registration URL for %(school)s (one use, for %(days)s days): %(url)s")
        % {"school": school.name, "url": url, "days": registration.INVITE_DAYS},
    )
    return redirect("lti:connect")


@login_not_required
@never_cache
@require_GET
def register(request):
    """The platform opens this (in its own frame or window) to register the tool."""
    try:
        platform = registration.register(
            invite=request.GET.get("invite", ""),
            openid_configuration=request.GET.get("openid_configuration", ""),
            registration_token=request.GET.get("registration_token", ""),
            build_url=request.build_absolute_uri,
        )
    except (LaunchRefused, requests.RequestException, School.DoesNotExist) as error:
        refusal = (
            error
            if isinstance(error, LaunchRefused)
            else LaunchRefused("registration_failed", _("The platform could not be reached."))
        )
        return refuse(request, refusal, status=404 if refusal.code == "invite_unknown" else 400)
    security_log.warning(
        "lti platform registered",
        extra={"event": "lti_registered", "path": request.path, "outcome": f"platform {platform.pk}"},
    )
    response = render(request, "lti/registered.html", {"platform": platform})
    return _frameable(response, platform)
