"""Writes the LTI tool makes: users and classes met through launches, resource links, the
roster from the platform's membership service, and the grade outbox."""

import datetime
import hashlib
import secrets
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from pylti1p3.names_roles import NamesRolesProvisioningService
from pylti1p3.service_connector import ServiceConnector

from accounts.models import Classroom, Enrollment, User
from analysis.models import Assignment, Response, Submission
from lti.models import Course, GradePost, LaunchState, LtiIdentity, Platform, ResourceLink
from lti.tool import LaunchRefused, http_session, service_registration

CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
CONTEXT = CLAIM + "context"
RESOURCE_LINK = CLAIM + "resource_link"
CUSTOM = CLAIM + "custom"
ROLES = CLAIM + "roles"
MESSAGE_TYPE = CLAIM + "message_type"
NRPS = "https://purl.imsglobal.org/spec/lti-nrps/claim/namesroleservice"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
MEMBERSHIP = "http://purl.imsglobal.org/vocab/lis/v2/membership#"
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
TICKET_SECONDS = 5 * 60


def course_role(roles) -> str | None:
    """Provenance's role from the launch's course (context) roles: Instructor → teacher,
    Learner → student. Institution or system roles give nothing in a course."""
    names = set()
    for role in roles or []:
        if role.startswith(MEMBERSHIP):
            names.add(role[len(MEMBERSHIP) :].split("/")[0])
        elif "/" not in role and "#" not in role:
            names.add(role)
    if "Instructor" in names or "Administrator" in names:
        return User.Role.TEACHER
    if "Learner" in names:
        return User.Role.STUDENT
    return None


@dataclass
class LaunchOutcome:
    user: User
    platform: Platform
    course: Course
    is_deep_link: bool
    next_url: str
    created_user: bool = False


def _username_for(platform: Platform, sub: str) -> str:
    digest = hashlib.sha256(f"{platform.issuer}|{sub}".encode()).hexdigest()[:12]
    return f"lti-{platform.pk}-{digest}"


def identity_user(*, platform: Platform, sub: str, role: str, claims: dict) -> tuple[User, bool]:
    """The user linked to (issuer, sub), made on first launch with the course's role. Never
    matched to an existing account by name or e-mail."""
    identity = LtiIdentity.objects.select_related("user").filter(issuer=platform.issuer, sub=sub).first()
    if identity:
        user = identity.user
        if not user.is_active:
            raise LaunchRefused("inactive_user", "Your Provenance account is switched off.")
        if user.role != role:
            raise LaunchRefused(
                "role_mismatch",
                "Your role in this course is not the role of your Provenance account. Ask your school's "
                "Provenance administrator.",
            )
        return user, False
    username = _username_for(platform, sub)
    if User.objects.filter(username=username).exists():  # an identity removed by an admin
        username = f"{username}-{secrets.token_hex(3)}"
    user = User(
        username=username,
        first_name=str(claims.get("given_name") or "")[:150],
        last_name=str(claims.get("family_name") or "")[:150],
        role=role,
        school=platform.school if role == User.Role.TEACHER else None,
    )
    if not user.first_name and not user.last_name and claims.get("name"):
        user.first_name = str(claims["name"])[:150]
    user.set_unusable_password()
    user.save()
    LtiIdentity.objects.create(user=user, platform=platform, issuer=platform.issuer, sub=sub)
    return user, True


def _course_services(course: Course, body: dict) -> None:
    nrps = body.get(NRPS) or {}
    ags = body.get(AGS) or {}
    changed = []
    if nrps.get("context_memberships_url") and nrps["context_memberships_url"] != course.memberships_url:
        course.memberships_url = nrps["context_memberships_url"]
        changed.append("memberships_url")
    if ags.get("lineitems") and ags["lineitems"] != course.lineitems_url:
        course.lineitems_url = ags["lineitems"]
        changed.append("lineitems_url")
    if ags.get("scope") and ags["scope"] != course.ags_scopes:
        course.ags_scopes = list(ags["scope"])
        changed.append("ags_scopes")
    if changed:
        course.save(update_fields=changed)


def course_for(*, platform: Platform, body: dict, user: User) -> Course:
    """The course's class: made on the first instructor launch, then joined by each launch
    (an instructor teaches it, a learner is enrolled)."""
    context = body.get(CONTEXT) or {}
    context_id = str(context.get("id") or "")
    if not context_id:
        raise LaunchRefused("no_course", "Provenance opens from inside a course only.")
    course = (
        Course.objects.select_related("classroom").filter(platform=platform, context_id=context_id).first()
    )
    title = str(context.get("title") or context.get("label") or context_id)[:100]
    if course is None:
        if not user.is_teacher:
            raise LaunchRefused(
                "course_not_set_up", "Your teacher has not opened Provenance in this course yet."
            )
        classroom = Classroom.objects.create(name=title, school=platform.school)
        course = Course.objects.create(
            platform=platform, context_id=context_id, title=title, classroom=classroom
        )
    if user.is_teacher:
        course.classroom.teachers.add(user)
        _course_services(course, body)
    else:
        Enrollment.objects.get_or_create(classroom=course.classroom, student=user, ended_at=None)
    return course


def resource_link_for(*, course: Course, body: dict, user: User) -> ResourceLink | None:
    """The resource link this launch opens, if any. A link made by deep linking carries the
    assignment in its custom parameters, signed by the platform; it is honoured only for an
    assignment of this course's own class (a token from another course cannot claim it)."""
    link_claim = body.get(RESOURCE_LINK) or {}
    link_id = str(link_claim.get("id") or "")
    if not link_id:
        return None
    ags = body.get(AGS) or {}
    link = (
        ResourceLink.objects.select_related("assignment")
        .filter(course=course, resource_link_id=link_id)
        .first()
    )
    if link is None:
        custom = body.get(CUSTOM) or {}
        raw = str(custom.get("provenance_assignment") or "")
        if not raw:
            return None
        assignment = Assignment.objects.filter(pk=int(raw) if raw.isdigit() else 0).first()
        if assignment is None or assignment.classroom_id != course.classroom_id:
            raise LaunchRefused("foreign_resource", "This activity belongs to another course.")
        link = ResourceLink.objects.filter(
            course=course, assignment=assignment, resource_link_id=""
        ).first() or ResourceLink(course=course, assignment=assignment)
        link.resource_link_id = link_id
        link.save()
    if ags.get("lineitem") and ags["lineitem"] != link.lineitem_url:
        link.lineitem_url = ags["lineitem"]
        link.save(update_fields=["lineitem_url"])
    return link


def link_offer(*, platform: Platform, body: dict, user) -> bool:
    """Whether to offer a logged-in user to link this launch's LMS identity to their account:
    the identity is new, the user has none on this platform yet, and the course role is theirs."""
    if not user.is_authenticated or not user.is_active:
        return False
    if LtiIdentity.objects.filter(issuer=platform.issuer, sub=str(body.get("sub", ""))).exists():
        return False
    if LtiIdentity.objects.filter(user=user, issuer=platform.issuer).exists():
        return False
    if user.is_teacher and user.school_id != platform.school_id:
        return False  # a teacher of another school keeps to their own school
    return course_role(body.get(ROLES)) == user.role


@transaction.atomic
def identity_link(*, platform: Platform, body: dict, user) -> LtiIdentity:
    """Link the launch's (issuer, sub) to the user who confirmed it while logged in."""
    if not link_offer(platform=platform, body=body, user=user):
        raise LaunchRefused("link_refused", "This LMS account cannot be linked to your Provenance account.")
    return LtiIdentity.objects.create(
        user=user, platform=platform, issuer=platform.issuer, sub=str(body["sub"])
    )


@transaction.atomic
def launch_accept(*, platform: Platform, body: dict) -> LaunchOutcome:
    """Turn a validated launch into a Provenance user, class and destination."""
    role = course_role(body.get(ROLES))
    if role is None:
        raise LaunchRefused("role_unsupported", "Provenance is for a course's instructors and learners.")
    user, created = identity_user(platform=platform, sub=str(body["sub"]), role=role, claims=body)
    course = course_for(platform=platform, body=body, user=user)
    is_deep_link = body.get(MESSAGE_TYPE) == "LtiDeepLinkingRequest"
    if is_deep_link:
        if not user.is_teacher:
            raise LaunchRefused(
                "deep_link_learner", "Only a course's instructors can add Provenance activities."
            )
        return LaunchOutcome(user, platform, course, True, "", created)
    link = resource_link_for(course=course, body=body, user=user)
    if link is not None and link.assignment.archived_at is None:
        if user.is_teacher:
            next_url = reverse("teach:assignment-progress", args=[link.assignment_id])
        else:
            next_url = reverse("learn:workspace", args=[link.assignment_id])
    elif user.is_teacher:
        next_url = reverse("lti:course", args=[course.pk])
    else:
        next_url = reverse("learn:assignment-list")
    return LaunchOutcome(user, platform, course, False, next_url, created)


# --- Hand-over tickets: from the launch (maybe in a frame) to a logged-in page ---------------


def ticket_create(*, user: User, next_url: str, platform: Platform) -> str:
    token = secrets.token_urlsafe(32)
    LaunchState.objects.create(
        key=f"ticket-{token}",
        value={"user": user.pk, "next": next_url, "platform": platform.pk},
        expires_at=timezone.now() + datetime.timedelta(seconds=TICKET_SECONDS),
    )
    return token


def is_first_launch(*, platform: Platform, body: dict) -> bool:
    """A resource launch by an LMS account the tool has not met (a deep-linking launch makes the
    instructor's user at once: its pick page lives in the platform's window)."""
    if body.get(MESSAGE_TYPE) == "LtiDeepLinkingRequest":
        return False
    return not LtiIdentity.objects.filter(issuer=platform.issuer, sub=str(body.get("sub", ""))).exists()


def ticket_create_first(*, launch_id: str, platform: Platform) -> str:
    token = secrets.token_urlsafe(32)
    LaunchState.objects.create(
        key=f"ticket-{token}",
        value={"launch": launch_id, "platform": platform.pk},
        expires_at=timezone.now() + datetime.timedelta(seconds=TICKET_SECONDS),
    )
    return token


def ticket_peek(token: str) -> dict | None:
    row = LaunchState.objects.live(f"ticket-{token}").first()
    return row.value if row else None


def ticket_take(token: str) -> dict | None:
    """Use a ticket once: whoever deletes its row has it."""
    row = LaunchState.objects.live(f"ticket-{token}").first()
    if row is None:
        return None
    deleted, _ = LaunchState.objects.filter(pk=row.pk).delete()
    return row.value if deleted else None


def launch_states_purge() -> int:
    deleted, _ = LaunchState.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted


# --- Roster (Names and Role Provisioning Service) -----------------------------------------


@dataclass
class RosterResult:
    added: list[str]
    removed: list[str]


def roster_sync(*, course: Course) -> RosterResult:
    """Bring the class's LMS learners in line with the platform's membership list: new learners
    are made (linked by ``sub``) and enrolled, learners gone from the course have their
    enrolment ended (their work stays). Pupils who joined with a code are not the platform's to
    remove."""
    if not course.memberships_url:
        raise LaunchRefused("no_roster_service", "The platform has not offered its roster for this course.")
    platform = course.platform
    connector = ServiceConnector(service_registration(platform), http_session())
    service = NamesRolesProvisioningService(connector, {"context_memberships_url": course.memberships_url})
    members = service.get_members()
    learners = {}
    for member in members:
        if (
            member.get("status", "Active") != "Active"
            or course_role(member.get("roles")) != User.Role.STUDENT
        ):
            continue
        learners[str(member["user_id"])] = member
    result = RosterResult(added=[], removed=[])
    with transaction.atomic():
        linked = {
            identity.sub: identity.user
            for identity in LtiIdentity.objects.select_related("user").filter(issuer=platform.issuer)
        }
        current = set(
            Enrollment.objects.current()
            .filter(classroom=course.classroom)
            .values_list("student_id", flat=True)
        )
        for sub, member in learners.items():
            user = linked.get(sub)
            if user is None:
                user, _created = identity_user(
                    platform=platform, sub=sub, role=User.Role.STUDENT, claims=member
                )
            if not user.is_student:
                continue
            if user.pk not in current:
                Enrollment.objects.create(classroom=course.classroom, student=user)
                result.added.append(user.display_name)
        keep = {linked[sub].pk for sub in learners if sub in linked}
        platform_pupils = {user.pk for user in linked.values()}
        leaving = Enrollment.objects.current().filter(
            classroom=course.classroom, student_id__in=(platform_pupils & current) - keep
        )
        for enrollment in leaving.select_related("student"):
            enrollment.ended_at = timezone.now()
            enrollment.save(update_fields=["ended_at"])
            result.removed.append(enrollment.student.display_name)
        course.roster_synced_at = timezone.now()
        course.roster_error = ""
        course.save(update_fields=["roster_synced_at", "roster_error"])
    return result


# --- Grades (Assignment and Grade Services): the outbox -----------------------------------


def _score_of(submission: Submission) -> tuple[Decimal, Decimal, str]:
    responses = Response.objects.filter(submission=submission).select_related("mark", "question")
    given = responses.aggregate(total=Sum("mark__marks"))["total"] or 0
    maximum = submission.assignment.exercise.total_marks
    comments = [
        f"Q{response.question.number}: {response.mark.comment}"
        for response in responses.order_by("question__position")
        if hasattr(response, "mark") and response.mark.comment
    ]
    return Decimal(given), Decimal(maximum), "\n".join(comments)


def grade_posts_queue(*, submissions, step: str) -> list[GradePost]:
    """One outbox row per submission and LTI link of its assignment whose pupil the platform
    knows; each is handed to the worker. Work outside any LTI link queues nothing."""
    from lti.tasks import grade_post_send

    submissions = list(submissions)
    if not submissions:
        return []
    assignment_ids = {submission.assignment_id for submission in submissions}
    links = list(
        ResourceLink.objects.select_related("course__platform")
        .filter(assignment_id__in=assignment_ids, course__platform__active=True)
        .exclude(resource_link_id="")
    )
    if not links:
        return []
    identities = {
        (identity.user_id, identity.issuer): identity.sub
        for identity in LtiIdentity.objects.filter(user_id__in=[s.student_id for s in submissions])
    }
    posts = []
    for submission in submissions:
        for link in links:
            if link.assignment_id != submission.assignment_id:
                continue
            sub = identities.get((submission.student_id, link.course.platform.issuer))
            if sub is None:
                continue
            post = GradePost(link=link, submission=submission, lti_user_id=sub, step=step)
            if step == GradePost.Step.RETURNED:
                post.score_given, post.score_maximum, post.comment = _score_of(submission)
            post.save()
            posts.append(post)
    for post in posts:
        transaction.on_commit(lambda pk=post.pk: grade_post_send.enqueue(pk))
    return posts
