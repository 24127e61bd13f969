"""Issue 15, point 4: decisions and plans are tagged PDF (built to the structure rules of
PDF/UA-1) as well as PDF/A-2b, and stay so once sealed: a structure tree with the document's
headings, paragraphs and tables, MarkInfo /Marked true, /Lang, the title shown."""

from __future__ import annotations

from collections import Counter
from io import BytesIO

import pikepdf

from sprechstunde.agreements import services
from sprechstunde.agreements.rendering import html_to_pdfa
from sprechstunde.core.testing.pdfa import assert_pdfa_2b

from .conftest import DECISION_VALUES
from .test_plans import drafted


def _text(node: pikepdf.Object) -> str:
    return str(node) if node is not None else ""


def structure(pdf: bytes) -> dict[str, object]:
    """What a screen reader gets: the catalog entries and the structure tree's element
    types (standard PDF types, as no role map is used), with the page content they mark."""
    with pikepdf.open(BytesIO(pdf)) as document:
        root = document.Root
        tree = root.get("/StructTreeRoot")
        types: Counter[str] = Counter()
        marked_content = 0
        pages = {page.objgen for page in document.pages}
        on_pages = True
        stack = [tree.K] if tree is not None else []
        while stack:
            node = stack.pop()
            if isinstance(node, pikepdf.Array):
                stack.extend(node)
            elif isinstance(node, pikepdf.Dictionary):
                if node.get("/Type") == "/StructElem" or "/S" in node:
                    types[str(node.S)[1:]] += 1
                    if "/Pg" in node and node.Pg.objgen not in pages:
                        on_pages = False
                if "/K" in node:
                    stack.append(node.K)
                if node.get("/Type") == "/MCR":
                    marked_content += 1
            elif isinstance(node, int):
                marked_content += 1  # a marked-content id on the element's page
        mark_info = root.get("/MarkInfo")
        viewer = root.get("/ViewerPreferences")
        return {
            "has_tree": tree is not None,
            "has_parent_tree": tree is not None and "/ParentTree" in tree,
            "marked": bool(mark_info is not None and mark_info.get("/Marked")),
            "lang": _text(root.get("/Lang")),
            "display_title": bool(viewer is not None and viewer.get("/DisplayDocTitle")),
            "title": _text(document.docinfo.get("/Title")),
            "types": types,
            "marked_content": marked_content,
            "on_pages": on_pages,
            "tabs": [str(page.get("/Tabs", "")) for page in document.pages],
        }


def assert_tagged(pdf: bytes, *, lang: str, headings: tuple[str, ...]) -> dict[str, object]:
    found = structure(pdf)
    assert found["has_tree"] and found["has_parent_tree"], "no structure tree"
    assert found["marked"], "MarkInfo /Marked is not true"
    assert found["lang"] == lang
    assert found["display_title"] and found["title"]
    types = found["types"]
    assert isinstance(types, Counter)
    assert types["Document"] == 1
    for heading in headings:
        assert types[heading] >= 1, (heading, types)
    assert types["P"] >= 2, types
    assert found["marked_content"] > 10  # the text is linked to its structure elements
    assert found["on_pages"]
    assert set(found["tabs"]) == {"/S"}  # tab order follows the structure
    return found


def test_sealed_decision_is_tagged_in_german_with_headings_paragraphs_and_table(
    seal_pki, case_manager, client_record, decision_template, django_capture_on_commit_callbacks
):
    client_record.preferred_language = "uk"  # the decision itself is in the office language
    client_record.save(update_fields=["preferred_language"])
    decision = services.decision_create(
        actor=case_manager, client=client_record, template=decision_template, values=DECISION_VALUES
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.decision_issue(actor=case_manager, decision=decision)
    decision.refresh_from_db()
    unsealed = assert_tagged(bytes(decision.unsealed_pdf), lang="de", headings=("H1", "H2"))
    sealed_pdf = bytes(decision.pdf)
    assert b"/ByteRange" in sealed_pdf
    # The seal is an incremental update: the same structure, still PDF/A-2b.
    sealed = assert_tagged(sealed_pdf, lang="de", headings=("H1", "H2"))
    assert sealed["types"] == unsealed["types"]
    assert sealed["types"]["Table"] >= 1 and sealed["types"]["TH"] >= 1
    assert_pdfa_2b(sealed_pdf)


def test_issued_plan_is_tagged(
    case_manager, client_record, plan_template, review_on, django_capture_on_commit_callbacks
):
    plan = drafted(case_manager, client_record, plan_template, review_on)
    with django_capture_on_commit_callbacks(execute=True):
        version = services.plan_issue(actor=case_manager, plan=plan)
    found = assert_tagged(bytes(version.pdf), lang="de", headings=("H1",))
    types = found["types"]
    assert isinstance(types, Counter)
    assert types["L"] >= 1 and types["LI"] >= 1  # goals and steps are lists, not loose text
    assert_pdfa_2b(bytes(version.pdf))


def test_the_language_comes_from_the_document_and_untagged_stays_untagged():
    html = (
        '<html lang="{lang}"><head><title>T</title></head><body><h1>Titel</h1><p>Eins</p>'
        "<p>Zwei</p></body></html>"
    )
    tagged = html_to_pdfa(html.format(lang="tr"), tagged=True)
    assert structure(tagged)["lang"] == "tr"
    assert_pdfa_2b(tagged)
    plain = structure(html_to_pdfa(html.format(lang="de")))
    assert not plain["has_tree"] and not plain["marked"]
