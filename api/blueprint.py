"""The API's Blueprint: smorest's, with the pagination header documented as what it is."""
from __future__ import annotations

from flask_smorest import Blueprint as SmorestBlueprint

from api.bounds import SafeJSONParser


class Blueprint(SmorestBlueprint):
    """smorest's ``Blueprint``; ``X-Pagination`` is documented as JSON content.

    The header carries a JSON object (``{"total": 25, "page": 1, ...}``). smorest
    documents it with a plain object ``schema``, which OpenAPI reads as comma-separated
    ``key,value`` pairs; ``content: application/json`` says what clients really receive.

    JSON bodies are read by ``SafeJSONParser`` (too deep, lone surrogates: 400).
    """

    ARGUMENTS_PARSER = SafeJSONParser()

    def _document_pagination_metadata(self, spec, resp_doc):
        resp_doc.setdefault("headers", {})[self.PAGINATION_HEADER_NAME] = {
            "description": "Pagination metadata (JSON)",
            "content": {"application/json": {"schema": "PaginationMetadata"}},
        }
