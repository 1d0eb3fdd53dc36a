"""Oversized request bodies are refused with 413 before anything reads them."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("path,content_type", [
    ("/login", "application/x-www-form-urlencoded"),
    ("/login", "application/json"),
    ("/register", "multipart/form-data; boundary=xyz"),
])
def test_a_20_mb_body_gets_413(client, path, content_type):
    response = client.post(path, data=b"a" * (20 * 1024 * 1024),
                           headers={"Content-Type": content_type})
    assert response.status_code == 413


def test_the_limit_is_configured(app):
    assert app.config["MAX_CONTENT_LENGTH"] == 2 * 1024 * 1024
