"""Reading a layer's properties, or adding to one, reads that one layer
from the library: not every layer with every annotation (which made
annotating a big session quadratic)."""

import evident


def test_layer_properties_read_one_layer_not_every_annotation(monkeypatch):
    s = evident.Session(name="s")
    for i in range(50):
        s.annotate(f"n{i}", time=float(i), layer="notes")
    layer = s.annotation_layers["uart"] if "uart" in s.annotation_layers else None
    assert layer is None
    s.annotate("first", time=0.0, layer="uart")
    s.annotation_layers["uart"].color = "#0000FF"
    calls = []
    real = evident.Session._json_of

    def spy(self, what, *args):
        calls.append(what)
        return real(self, what, *args)

    monkeypatch.setattr(evident.Session, "_json_of", spy)
    for i in range(20):
        layer = s.annotation_layers["uart"]
        layer.add(text=f"bit {i}", time=i * 1e-6)
        assert layer.color == "#0000FF" and layer.visible and not layer.locked
        assert len(layer) == i + 2
    assert "layers_json" not in calls, calls
    assert len(s.annotation_layers["notes"]) == 50
    assert [a.text for a in s.annotation_layers["uart"].annotations][:2] == ["first", "bit 0"]
