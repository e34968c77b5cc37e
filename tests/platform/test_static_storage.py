"""Static files: hashed names once `collectstatic` has written its manifest, plain names (served by WhiteNoise's
finders) before, so that a site never fails on a missing manifest."""

import json

from webapp.static_storage import StaticStorage


def test_it_links_the_hashed_name_once_collected(tmp_path):
    manifest = {"version": "1.1", "hash": "x", "paths": {"surveys/reader.css": "surveys/reader.0123456789ab.css"}}
    (tmp_path / "staticfiles.json").write_text(json.dumps(manifest))
    assert StaticStorage(location=tmp_path).url("surveys/reader.css").endswith("/surveys/reader.0123456789ab.css")


def test_it_links_the_plain_name_before_anything_is_collected(tmp_path):
    assert StaticStorage(location=tmp_path / "not-collected").url("surveys/reader.css").endswith("/surveys/reader.css")
