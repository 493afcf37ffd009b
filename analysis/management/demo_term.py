"""A term of demo classwork for ``seed_demo``: past assignments with handed-in, marked and
returned work, so that the markbook, the pupils' profiles and "what's new" look like a real class
on first log-in. Never for production.

Each past exercise has three answers per question, written as pupils of different strengths
would (0: weak, 1: on the way, 2: strong), each with the evidence a pupil of that strength would
cite. Each pupil follows a path across the term (improving, steady, stuck…), so the marks rise for
some and stay flat for others. Everything is decided by a seeded random generator: the same
classes get the same work every time, with dates counted back from today.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from analysis.classwork.models import answer_fingerprint as fingerprint
from analysis.models import (
    Assignment,
    AssignmentVisit,
    Evidence,
    Mark,
    Response,
    Submission,
    SupportLevel,
)

# The term, oldest first: (exercise slug, weeks ago it opened, days it ran, days after the due
# date it was returned). The most recent one was returned two days ago and two late hand-ins are
# still waiting to be marked.
TERM = [
    ("izvestiia-terms", 8, 9, 6),
    ("trotsky-speech", 5, 8, 5),
    ("grace-hopper-portrait", 2, 5, 7),
]
TERM_SLUGS = {slug for slug, *_ in TERM}
SUPPORT = {"izvestiia-terms": SupportLevel.GUIDED, "trotsky-speech": SupportLevel.EXAM}

# A pupil's path through the term: their answers' strength on each past assignment, in order.
PATHS = [
    (0, 1, 2),  # improving
    (0, 1, 2),
    (1, 1, 2),  # improving late
    (0, 0, 1),  # improving slowly
    (2, 2, 2),  # strong throughout
    (1, 2, 2),
    (1, 1, 1),  # stuck in the middle
    (1, 1, 1),
    (0, 0, 0),  # stuck at the start
    (2, 1, 1),  # slipping
    (1, 2, 1),
    (0, 1, 1),
]

# Answers: exercise slug -> question number -> three (text, evidence) by strength. Evidence is a
# list of (passage position, quoted words) for a text source or (region label, None) for an image.
Cite = list[tuple[int | str, str | None]]
ANSWERS: dict[str, dict[int, list[tuple[str, Cite]]]] = {
    "izvestiia-terms": {
        1: [
            (
                "They had to accept the decrees on land and peace.",
                [(1, "the decrees of land and peace")],
            ),
            (
                "They had to accept the programme of the Soviet Government, which was the decrees of land "
                "and peace. They also had to fight against the counter-revolution, like Kerenskii.",
                [
                    (1, "the decrees of land and peace"),
                    (2, "Unrelenting war against the forces of counter-revolution"),
                ],
            ),
            (
                "First, they had to accept the programme of the Soviet Government: the decrees on land and "
                "peace and the projects on workers' control. Second, the Congress of Soviets had to be "
                "“the only source of authority”. Third, the government had to be responsible to the "
                "Congress's Central Executive Committee.",
                [
                    (1, "Acceptance of the program of the Soviet Government"),
                    (3, "as the only source of authority"),
                    (4, "The government to be responsible to the Congress’ Central Executive Committee"),
                ],
            ),
        ],
        2: [
            (
                "The Bolsheviks wanted to be in charge of the government.",
                [(3, "as the only source of authority")],
            ),
            (
                "I can infer that the Bolsheviks only wanted a government where the soviets had all the "
                "power, because Term 3 says the Congress is “the only source of authority”.",
                [(3, "as the only source of authority")],
            ),
            (
                "One thing I can infer is that they would only accept a government where the soviets held "
                "all the power, because Term 3 calls the Congress of Soviets “the only source of "
                "authority”. A second is that they would not let anyone undo their policies: Term 1 makes "
                "the other parties accept the decrees of land and peace that the Bolsheviks had already "
                "passed.",
                [(3, "as the only source of authority"), (1, "the decrees of land and peace")],
            ),
        ],
        3: [
            (
                "It is from a newspaper called Izvestiia in November 1917. It was written by the Bolsheviks.",
                [(0, "[Bolshevik] agreement with other Socialist parties")],
            ),
            (
                "Source A was printed in Izvestiia in November 1917. Izvestiia was the paper of the "
                "soviets, so this is an official statement by the Bolshevik leadership, not one person's "
                "opinion. We do not know the exact day it was printed.",
                [(0, "[Bolshevik] agreement with other Socialist parties is desirable")],
            ),
            (
                "Source A is an official statement of terms printed in Izvestiia, which from 27 October "
                "(9 November) had a new editorial board speaking for the Bolshevik-led Central Executive "
                "Committee. It is probably from early November, because Term 1 still mentions “two "
                "projects on workers' control” and the decree only came on 14 (27) November. It was aimed "
                "at the other socialist parties and the public. We do not know the exact issue or which "
                "body wrote it, and “[Bolshevik]” was added by an editor.",
                [(1, "the two projects on workers’ control"), (0, "[Bolshevik]")],
            ),
        ],
        4: [
            ("To tell people what the Bolsheviks wanted.", []),
            (
                "The Bolsheviks published the terms to look like they wanted an agreement with the other "
                "socialists, because it says an agreement is “desirable”. This would make workers and "
                "soldiers think they were being reasonable.",
                [(0, "is desirable on the following terms")],
            ),
            (
                "The terms came out while Vikzhel, the railway union, was threatening a strike unless the "
                "socialist parties shared power, so calling an agreement “desirable” made the Bolsheviks "
                "look willing. But Term 3 makes the Congress that the Mensheviks and Right SRs had walked "
                "out of “the only source of authority”, so they were unlikely to accept. The purpose was "
                "probably to seem open to unity while keeping control, and to blame the others if the "
                "talks failed.",
                [(0, "is desirable on the following terms"), (3, "as the only source of authority")],
            ),
        ],
        5: [
            (
                "It is fair because they were all against the Bolsheviks.",
                [(2, "Kerenskii, Kornilov, Kaledin")],
            ),
            (
                "It is partly fair because Kerenskii tried to take Petrograd back with Cossacks and Kaledin "
                "took power on the Don. But Kerenskii was a socialist, not a general like the other two.",
                [(2, "Kerenskii, Kornilov, Kaledin")],
            ),
            (
                "It is partly fair: in late October Kerenskii tried to retake Petrograd with Krasnov's "
                "Cossacks until he was beaten at Pulkovo, and Kaledin refused to recognise the Bolshevik "
                "government on the Don. But it is unfair to put Kerenskii with Kornilov, because he was a "
                "socialist lawyer linked to the SRs, not a general who wanted the old order back. Grouping "
                "him with two generals made any socialist who had backed him look like an enemy of the "
                "revolution, which suited the Bolsheviks.",
                [(2, "the forces of counter-revolution (that is Kerenskii, Kornilov, Kaledin)")],
            ),
        ],
        6: [
            (
                "Source A is useful because it tells us what the Bolsheviks wanted. They wanted the other "
                "parties to accept their decrees.",
                [(1, "the decrees of land and peace")],
            ),
            (
                "Source A is useful because it lists exactly what the Bolsheviks demanded, such as "
                "accepting the Congress as “the only source of authority” and the government being "
                "responsible to the Central Executive Committee. It was printed in Izvestiia, an official "
                "paper, so it shows their official position. But it only gives one side.",
                [
                    (3, "as the only source of authority"),
                    (4, "responsible to the Congress’ Central Executive Committee"),
                ],
            ),
            (
                "Source A is very useful because it gives the Bolshevik leaders' own demands: the decrees "
                "(Term 1), the Congress as “the only source of authority” (Term 3) and a government "
                "answerable to the Central Executive Committee (Term 4). Its provenance adds to this: as an "
                "official statement in Izvestiia it shows the position they were ready to defend in public. "
                "But a public statement can hide private aims, and Lenin told the Central Committee that "
                "the talks were cover for military operations. So it is useful for what they demanded "
                "openly, less for what they really intended.",
                [
                    (1, "the decrees of land and peace"),
                    (3, "as the only source of authority"),
                    (4, "responsible to the Congress’ Central Executive Committee"),
                ],
            ),
        ],
    },
    "trotsky-speech": {
        1: [
            ("The moderate groups were against the Bolsheviks.", [(0, "the different moderate groups")]),
            (
                "The counter-revolutionary bands and the moderate groups were against them. Some Left SRs "
                "worked with them.",
                [
                    (0, "Against us were the counter-revolutionary bands and the different moderate groups"),
                    (0, "Some of the Socialist-Revolutionaries of the Left worked with us"),
                ],
            ),
            (
                "The counter-revolutionary bands and the moderate groups were against the uprising. Some of "
                "the Left SRs worked with the Bolsheviks, while the others waited and stayed neutral. When "
                "the Bolsheviks offered to share power, the moderate Socialists “ran to the City Duma” "
                "instead.",
                [
                    (0, "Against us were the counter-revolutionary bands and the different moderate groups"),
                    (0, "Some of the Socialist-Revolutionaries of the Left worked with us"),
                    (2, "moderate Socialists ran to the City Duma"),
                ],
            ),
        ],
        2: [
            (
                "Trotsky thought they were strong because they won.",
                [(0, "gained an almost bloodless victory")],
            ),
            (
                "Trotsky believed their strength came from the soldiers and workers, because he says the "
                "coalition must be “with our garrison”.",
                [(1, "it must be a coalition with our garrison")],
            ),
            (
                "First, Trotsky believed their strength came from the soldiers, workers and peasants rather "
                "than from deals between parties: “Political combinations come and go”, but the coalition "
                "that matters is “with our garrison”. Second, he thought the rising had proved this support "
                "was real, because he says it “has stood the test of fire”.",
                [
                    (1, "Political combinations come and go"),
                    (1, "it must be a coalition with our garrison"),
                    (1, "It has stood the test of fire"),
                ],
            ),
        ],
        3: [
            ("It is a speech by Trotsky in 1917.", []),
            (
                "It is a speech Trotsky gave to the Second Congress of Soviets in October 1917, just after "
                "the Bolsheviks took power. He was a Bolshevik leader, so he was on one side.",
                [(2, "Our party held out its hand")],
            ),
            (
                "Source B is a speech by Leon Trotsky to the Second Congress of Soviets on the night of "
                "26–27 October (8–9 November) 1917, in the debate on the new all-Bolshevik government. He "
                "had led the Military Revolutionary Committee in practice and was made Commissar for "
                "Foreign Affairs in the same session, so he was defending his own side. Most of his "
                "audience were Bolsheviks and Left SRs. The text is an abridged report in translation, not "
                "his exact words.",
                [(2, "Our party held out its hand"), (0, "[sic]")],
            ),
        ],
        4: [
            ("Trotsky wanted people to support the Bolsheviks.", []),
            (
                "Trotsky wanted the delegates to reject a coalition. He calls the moderates “betrayers of "
                "the revolution” to make them look bad.",
                [(2, "betrayers of the revolution")],
            ),
            (
                "Trotsky wanted the delegates to back an all-Bolshevik government instead of a coalition of "
                "all the socialists. He answers the critics who said they were “drifting on the rocks” by "
                "pointing to an “almost bloodless victory”, and turns “coalition” into class support: “a "
                "coalition with our garrison”. The rhetorical question “What are these men but betrayers "
                "of the revolution?” puts the blame for the split on the moderates.",
                [
                    (0, "drifting on the rocks"),
                    (1, "a coalition with our garrison"),
                    (2, "What are these men but betrayers of the revolution?"),
                ],
            ),
        ],
        5: [
            ("It is accurate because not many people died.", [(0, "an almost bloodless victory")]),
            (
                "It is fairly accurate for Petrograd because the Bolsheviks took the Winter Palace with "
                "little fighting. But Trotsky wanted the rising to sound popular.",
                [(0, "an almost bloodless victory")],
            ),
            (
                "For Petrograd on 24–25 October it is largely accurate: the Military Revolutionary "
                "Committee took the bridges, stations and telegraph with little resistance, and few died "
                "when the Winter Palace was taken. But it did not stay true, because Kerenskii's advance "
                "with Krasnov's Cossacks and a week of heavy fighting in Moscow followed. Trotsky described "
                "it this way to show that the rising had the people behind it.",
                [(0, "gained an almost bloodless victory")],
            ),
        ],
        6: [
            (
                "Source B is useful because Trotsky says “We shall never form a union with them”. This "
                "shows they refused.",
                [(2, "We shall never form a union with them.")],
            ),
            (
                "Source B is useful because a leading Bolshevik explains why they refused: he calls the "
                "moderates “betrayers of the revolution” and says “We shall never form a union with "
                "them”. But Trotsky is biased because he was a Bolshevik leader speaking to his supporters.",
                [(2, "betrayers of the revolution"), (2, "We shall never form a union with them.")],
            ),
            (
                "Source B is useful because it shows, in a leader's own words, why the Bolsheviks rejected "
                "the moderates: power rested on “a coalition with our garrison”, and the moderates who "
                "“ran to the City Duma” were “betrayers”. As Trotsky helped to organise the rising, it shows "
                "the leaders' mindset at the moment they took power. Its limits are that it is a speech "
                "meant to rally the delegates, it leaves out that the Congress had backed Martov's call for "
                "coalition talks, and it is an abridged translation. It is more useful for their attitudes "
                "than as an accurate account.",
                [
                    (1, "a coalition with our garrison"),
                    (2, "moderate Socialists ran to the City Duma"),
                    (2, "betrayers of the revolution"),
                ],
            ),
        ],
    },
    "grace-hopper-portrait": {
        1: [
            (
                "It is a photo of Grace Hopper from 1984. She is in the Navy.",
                [("Name tag: COMO HOPPER", None)],
            ),
            (
                "It is an official portrait taken by the US Navy in January 1984. It was posed, so the Navy "
                "chose how she looked. We do not know who the photographer was.",
                [("The US flag behind her", None)],
            ),
            (
                "This is an official US Navy portrait from 20 January 1984, soon after Hopper was made a "
                "commodore. Because it is official it was posed and planned: the Navy chose the uniform, "
                "the flag and the lighting. The photographer is not named, and we do not know whether this "
                "copy from an online archive has been cropped.",
                [("The US flag behind her", None), ("Officer's cap with gold insignia", None)],
            ),
        ],
        2: [
            ("The Navy wanted her to look important.", [("Officer's cap with gold insignia", None)]),
            (
                "The Navy wanted to show her as a senior officer. The cap with gold insignia and the name "
                "tag “COMO HOPPER” show her rank.",
                [("Officer's cap with gold insignia", None), ("Name tag: COMO HOPPER", None)],
            ),
            (
                "The Navy wanted to present Hopper as a loyal senior officer: the flag behind her links her "
                "to the nation, the gold insignia on her cap and the “COMO HOPPER” name tag show her rank, "
                "and the medal ribbons show a long career. But nothing in it shows the computing work she "
                "was famous for, so it shows how the Navy wanted her to be seen more than what she did.",
                [
                    ("The US flag behind her", None),
                    ("Officer's cap with gold insignia", None),
                    ("Medal ribbons", None),
                ],
            ),
        ],
    },
}

# What a teacher writes beside each answer, by the kind of question (``_comment_kind``) and the
# answer's strength.
COMMENTS = {
    "points": [
        "One point from the source. Read every term and find the others.",
        "Two clear points. Look again for a third, and quote the words you use.",
        "Three precise points, each taken from the source. Well done.",
    ],
    "inference": [
        "That is a description, not an inference: what does the source suggest without saying it?",
        "One valid inference, well supported. Make a second one and back it with a detail too.",
        "Two different inferences, each backed by a precise detail from the source.",
    ],
    "origin": [
        "You say who and when; now explain what kind of source it is and what is uncertain about it.",
        "Good on who made it and where it appeared. Say what we do not know, and why that matters.",
        "A developed account of the origin, with the uncertainties named. Excellent.",
    ],
    "purpose": [
        "Say why it was made, not only what it says: who was it meant to persuade?",
        "A clear purpose backed by a quotation. Link it to what was happening at the time.",
        "A specific purpose, supported from the source and your own knowledge of the context.",
    ],
    "claim": [
        "You accept the claim without testing it: bring in what you know about the events.",
        "Some testing against your knowledge. Now explain why the author described it this way.",
        "A balanced judgement, tested against precise knowledge and explained through the provenance.",
    ],
    "usefulness": [
        "Say what the source is useful for in this enquiry, and use its provenance, not only its content.",
        "Content and provenance both used. Add a limitation and some precise context to reach the top band.",
        "A supported judgement on usefulness, with content, provenance, context and limits weighed.",
    ],
}
OVERALL = [
    "Quote the source in every answer, and explain what each quotation shows.",
    "Solid work. Push each answer one step further: why does it matter for the question?",
    "Thoughtful, well-supported answers. Keep weighing provenance like this.",
]


@dataclass
class TermPlan:
    """What happens to one pupil's work on one past assignment."""

    strength: int
    started: bool
    late: bool
    returned: bool
    read_feedback: bool


def plan_for(rng: random.Random, *, term_index: int, offset: int, path: tuple, last: bool) -> TermPlan:
    """A pupil's work on one assignment: their path's strength; one pupil in twelve never started;
    some handed in late; on the most recent assignment the late ones are not marked yet and only
    some pupils have read their feedback. The first pupil of each class (the first demo log-in)
    handed the most recent work in on time and has not read its feedback yet: it shows as new."""
    late_draw, read_draw = rng.random(), rng.random()
    first = offset == 0
    started = offset != (3 * term_index + 5) % 12
    late = started and late_draw < 0.2 and not (last and first)
    returned = started and not (last and late)
    read = returned and (not first and read_draw < 0.5 if last else read_draw < 0.85)
    return TermPlan(
        strength=path[term_index], started=started, late=late, returned=returned, read_feedback=read
    )


def _mark_for(rng: random.Random, levels: list, strength: int) -> tuple[int, int]:
    """(level, marks) for an answer of this strength under a scheme's levels (level 0 left out)."""
    creditable = [level for level in levels if level.number > 0]
    index = [0, len(creditable) // 2, len(creditable) - 1][strength]
    level = creditable[index]
    if strength == 2:
        marks = level.max_marks if rng.random() < 0.6 else max(level.min_marks, level.max_marks - 1)
    elif strength == 1 and index == len(creditable) - 1:
        marks = level.min_marks
    else:
        marks = rng.randint(level.min_marks, level.max_marks)
    return level.number, marks


def seed_term(*, classroom, students, teacher, exercises: dict, now: datetime, seed: str) -> None:
    """The past assignments of ``TERM`` for ``classroom`` with every pupil's work. Idempotent: a
    past assignment that exists is left as it is, with whatever demo users have done since."""
    rng = random.Random(seed)
    paths = PATHS[:]
    rng.shuffle(paths)
    for term_index, (slug, weeks_ago, days, return_after) in enumerate(TERM):
        exercise = exercises.get(slug)
        if exercise is None:
            continue
        opens_at = now - timedelta(weeks=weeks_ago)
        due_at = opens_at + timedelta(days=days)
        returned_at = due_at + timedelta(days=return_after)
        assignment, created = Assignment.objects.get_or_create(
            classroom=classroom,
            exercise=exercise,
            archived_at=None,
            defaults={
                "opens_at": opens_at,
                "due_at": due_at,
                "created_by": teacher,
                "support_level": SUPPORT.get(slug, SupportLevel.STANDARD),
                "time_limit_minutes": 45 if slug == "trotsky-speech" else None,
                "release_model_answers": slug == "izvestiia-terms",
            },
        )
        if not created:
            continue
        last = term_index == len(TERM) - 1
        _seed_assignment_work(
            rng,
            assignment=assignment,
            students=students,
            paths=paths,
            term_index=term_index,
            teacher=teacher,
            returned_at=returned_at,
            last=last,
            now=now,
        )


def _seed_assignment_work(rng, *, assignment, students, paths, term_index, teacher, returned_at, last, now):
    exercise = assignment.exercise
    questions = list(exercise.questions.select_related("mark_scheme").prefetch_related("mark_scheme__levels"))
    sources = {s.pk: s for s in exercise.sources.prefetch_related("passages", "regions")}
    answers = ANSWERS[exercise.slug]
    exam = assignment.support_level == SupportLevel.EXAM
    submissions, plans = [], []
    for offset, student in enumerate(students):
        plan = plan_for(rng, term_index=term_index, offset=offset, path=paths[offset], last=last)
        if not plan.started:
            continue
        if plan.late:
            submitted_at = assignment.due_at + timedelta(hours=rng.randint(3, 40))
        else:
            submitted_at = assignment.due_at - timedelta(hours=rng.randint(2, 90))
        submissions.append(
            Submission(
                assignment=assignment,
                student=student,
                status=Submission.Status.RETURNED if plan.returned else Submission.Status.SUBMITTED,
                submitted_at=submitted_at,
                returned_at=returned_at if plan.returned else None,
                feedback_seen_at=returned_at + timedelta(hours=rng.randint(2, 30))
                if plan.read_feedback
                else None,
                is_late=plan.late,
                overall_comment=OVERALL[plan.strength] if plan.returned else "",
            )
        )
        plans.append(plan)
    Submission.objects.bulk_create(submissions)
    responses, citations, marks = [], [], []
    for submission, plan in zip(submissions, plans, strict=True):
        own = []
        for question in questions:
            # A pupil's answers vary around their strength: now and then a question goes better
            # or worse than the rest.
            wobble = rng.choice((-1, 0, 0, 0, 0, 1))
            strength = min(2, max(0, plan.strength + wobble))
            text, cited = answers[question.number][strength]
            response = Response(
                submission=submission,
                question=question,
                text=text,
                version=rng.randint(2, 9),
                hints_used=0 if exam else rng.choice((0, 0, 1, 2)) * (strength < 2),
            )
            evidence = _evidence(response, sources[question.source_id], cited)
            response.content_hash = fingerprint(
                text,
                [
                    (e.passage_id, e.start, e.end) if e.passage_id else (f"r{e.region_id}", 0, 0)
                    for e in evidence
                ],
            )
            own.append(response)
            citations.append(evidence)
            if plan.returned and question.mark_scheme_id:
                level, value = _mark_for(rng, list(question.mark_scheme.levels.all()), strength)
                marks.append(
                    Mark(
                        response=response,
                        level=level,
                        marks=value,
                        max_marks=question.max_marks,
                        marker=teacher,
                        comment=COMMENTS[_comment_kind(question)][strength],
                        answer_hash=response.content_hash,
                    )
                )
        submission.receipt_hash = submission.compute_receipt_hash(own)
        responses.extend(own)
    Response.objects.bulk_create(responses)
    Evidence.objects.bulk_create([e for evidence in citations for e in evidence])
    Mark.objects.bulk_create(marks)
    Submission.objects.bulk_update(submissions, ["receipt_hash"])
    # The marks were given the day before the work went back; the teacher looked at the hand-ins
    # then. On the most recent assignment the late hand-ins came in after that look: new.
    Mark.objects.filter(response__submission__assignment=assignment).update(
        updated_at=returned_at - timedelta(days=1)
    )
    AssignmentVisit.objects.update_or_create(
        assignment=assignment,
        teacher=teacher,
        defaults={"seen_at": assignment.due_at if last else returned_at},
    )


def _comment_kind(question) -> str:
    """Which comments fit a question: its stage, and for reading and reliability its shape (the
    first reading question asks for points, the second for inferences; an 8-mark reliability
    question is about usefulness)."""
    if question.stage == "reading":
        return "points" if question.position == 0 else "inference"
    if question.stage == "reliability":
        return "usefulness" if question.max_marks >= 8 else "claim"
    return question.stage if question.stage in COMMENTS else "claim"


def _evidence(response: Response, source, cited: Cite) -> list[Evidence]:
    """Evidence rows for the quoted words (or image regions) of one answer."""
    rows = []
    if source.image:
        regions = {region.label: region for region in source.regions.all()}
        for label, _ in cited:
            region = regions.get(label)
            if region is not None:
                rows.append(Evidence(response=response, region=region, quote=region.label))
        return rows
    passages = {passage.position: passage for passage in source.passages.all()}
    seen = set()
    for position, words in cited:
        passage = passages.get(position)
        if passage is None or words not in passage.text:
            continue  # the pack changed: cite nothing rather than something wrong
        start = passage.text.index(words)
        key = (passage.pk, start, start + len(words))
        if key in seen:
            continue
        seen.add(key)
        rows.append(
            Evidence(response=response, passage=passage, start=start, end=start + len(words), quote=words)
        )
    return rows
