"""A page's models are indexed once when the page is put on its document (the cost behind
the time to first byte of the heavier pages, benchmarks/bench_dashboard.py)."""

import pytest


def _walks(monkeypatch, build) -> int:
    """How many times Bokeh re-walked the document's models while ``build(doc)`` ran."""
    from bokeh.document import Document
    from bokeh.document.models import DocumentModelManager
    from panel.io.state import set_curdoc

    count = {"n": 0}
    real = DocumentModelManager.recompute

    def counted(self):
        count["n"] += 1
        return real(self)

    monkeypatch.setattr(DocumentModelManager, "recompute", counted)
    doc = Document()
    with set_curdoc(doc):
        build(doc)
    monkeypatch.setattr(DocumentModelManager, "recompute", real)
    assert doc.roots, "nothing was put on the document"
    return count["n"]


@pytest.mark.parametrize("name", ["monitoring", "market", "sessions"])
def test_a_page_is_indexed_once(tmp_path, monkeypatch, name):
    import panel as pn

    from workbench.apps.app import page
    from workbench.apps.hub import SessionHub

    hub = SessionHub(tmp_path / "runs")
    try:
        built = {}

        def build(doc):
            template = page(name, hub, tmp_path / "runs")
            built["t"] = template
            template.server_doc(doc)

        assert _walks(monkeypatch, build) == 1
        # The check can fail: the plain template, the same page, walks once per root it adds.
        template = built["t"]

        def plain(doc):
            pn.template.BootstrapTemplate(title="x", main=list(template.main), sidebar=list(template.sidebar),
                                          busy_indicator=None).server_doc(doc)

        assert _walks(monkeypatch, plain) > 1
    finally:
        hub.close()
