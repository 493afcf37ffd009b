import re
from types import SimpleNamespace

from django.template import Context, Template

from analysis.templatetags.passages import numbered_passages, render_passage


def _passage(text, pk=7, label="Term 1"):
    return SimpleNamespace(pk=pk, text=text, label=label)


def _term(term, definition="A definition."):
    return SimpleNamespace(term=term, definition=definition)


def _visible_text(html):
    """The text inside the <ol>, line by line, as a browser's text nodes would give it."""
    ol = html.split("</ol>")[0]
    lines = re.findall(r"<li[^>]*>(.*?)</li>", ol, re.S)
    return "\n".join(re.sub(r"<[^>]+>", "", line) for line in lines)


def test_lines_are_numbered_and_text_is_preserved_exactly():
    text = "Political combinations come and go,\nbut the interests of the classes remain…"
    html = render_passage(_passage(text))
    assert 'data-line="1" data-start="0"' in html
    assert 'data-line="2" data-start="36"' in html
    assert _visible_text(html) == text


def test_cited_spans_are_marked_across_line_breaks():
    text = "first line here\nsecond line here"
    html = render_passage(_passage(text), highlights=[(6, 21)])
    assert "<mark>line here</mark>" in html
    assert "<mark>secon</mark>" in html
    assert _visible_text(html) == text


def test_glossary_terms_become_popover_buttons_outside_the_text():
    text = "Unrelenting war against Kerenskii, Kornilov, Kaledin."
    html = render_passage(_passage(text), glossary=[_term("Kaledin", "Ataman of the Don Cossacks.")])
    assert 'popovertarget="gloss-7-0"' in html
    assert 'id="gloss-7-0" popover' in html
    assert "Ataman of the Don Cossacks." in html.split("</ol>")[1]
    assert _visible_text(html) == text


def test_longer_glossary_term_wins_over_a_shorter_one_inside_it():
    html = render_passage(
        _passage("ran to the City Duma to join"), glossary=[_term("Duma"), _term("City Duma")]
    )
    assert ">City Duma</button>" in html
    assert "gloss-7-0" not in html  # "Duma" alone is not marked twice


def test_user_text_is_escaped():
    html = render_passage(
        _passage('<script>alert(1)</script> & "x"'), glossary=[_term("x", "<img src=x onerror=alert(1)>")]
    )
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html and "&lt;img" in html


def test_mark_inside_a_glossary_term_keeps_one_button():
    html = render_passage(_passage("the City Duma met"), highlights=[(9, 17)], glossary=[_term("City Duma")])
    assert html.count("<button") == 1
    assert "City <mark>Duma</mark></button><mark> met</mark>" in html


def test_tag_renders_from_a_template():
    out = Template("{% load passages %}{% render_passage p %}").render(Context({"p": _passage("Hello")}))
    assert '<ol class="passage__lines" data-passage="7"' in out


def test_a_trailing_newline_adds_no_empty_numbered_line():
    html = render_passage(_passage("one\ntwo\n"))
    assert 'data-line="2"' in html and 'data-line="3"' not in html


def test_lines_are_numbered_through_the_whole_source():
    first = _passage("One.\nTwo.\nThree.\n", pk=1)
    second = _passage("Four.\nFive.", pk=2)
    numbered = numbered_passages([first, second])
    assert [p.first_line for p in numbered] == [1, 4]
    html = render_passage(second)
    assert re.findall(r'data-line="(\d+)"', html) == ["4", "5"]  # "Source A, line 5" is "Five."
