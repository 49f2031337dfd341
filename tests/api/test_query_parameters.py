"""Query strings: a parameter an endpoint does not read is a 400 naming it (never an unfiltered answer),
paging numbers are bounded, and the page-size limit is stated in the schema."""

from __future__ import annotations

import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from questionnaires.api.pagination import MAX_PAGE_SIZE
from questionnaires.api.views.base import ApiListView, ApiView
from tests.api.conftest import client_token_api, problem_fields, staff_api, wai_sr

pytestmark = pytest.mark.django_db


def _api_routes() -> list[tuple[str, type]]:
    """(path with sample segments, view class) for every route under /api/v1/ served by an ApiView."""
    routes = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                view = getattr(pattern.callback, "view_class", None)
                if view is not None and issubclass(view, ApiView):
                    regex = (prefix + str(pattern.pattern)).replace("^", "").replace("/?$", "").replace("$", "")
                    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda match: f"sample-{match.group(1)}", regex)
                    routes.append(("/" + path.replace("//", "/") + "/", view))

    walk(get_resolver().url_patterns, "")
    return [route for route in routes if route[0].startswith("/api/v1/")]


ROUTES = _api_routes()
LIST_ROUTES = [route for route in ROUTES if issubclass(route[1], ApiListView)]


def test_the_walk_finds_every_list_endpoint():
    assert {path for path, _ in LIST_ROUTES} >= {
        "/api/v1/responses/", "/api/v1/clients/", "/api/v1/alerts/", "/api/v1/questionnaires/", "/api/v1/webhooks/",
        "/api/v1/clients/sample-external_id/tokens/",
    }


@pytest.mark.parametrize("path", [path for path, view in ROUTES if "get" in view.http_method_names
                                  and hasattr(view, "get")])
def test_every_get_endpoint_refuses_a_parameter_it_does_not_read(north, path):
    callers = [north.api(), staff_api(north.supervisor), client_token_api(north.client)]  # /me/ is the client's
    answers = [caller.get(path, {"received_since": "2020-01-01", "colour": "red"}) for caller in callers]
    refused = [answer for answer in answers if answer.status_code == 400]
    assert refused, [(answer.status_code, answer.content[:200]) for answer in answers]
    for answer in refused:
        assert problem_fields(answer) == {"received_since", "colour"}
        assert {error["code"] for error in answer.json()["errors"]} == {"unknown"}


def test_received_after_no_longer_answers_every_response(north):
    """The assessment's example: it was silently ignored; it is now a filter, and a misspelling is a 400."""
    assert north.api().post("/api/v1/responses/", wai_sr("north-client-1"), format="json").status_code == 201
    assert north.api().get("/api/v1/responses/", {"received_after": "2099-01-01"}).json()["results"] == []
    answer = north.api().get("/api/v1/responses/", {"received_since": "2099-01-01"})
    assert answer.status_code == 400
    assert "received_since" in answer.json()["detail"]


def test_declared_filters_paging_and_format_are_still_read(north):
    api = north.api()
    assert api.post("/api/v1/responses/", wai_sr("north-client-1"), format="json").status_code == 201
    answer = api.get("/api/v1/responses/", {"client": "north-client-1", "page": "1", "page_size": "10",
                                            "format": "json"})
    assert answer.status_code == 200, answer.content
    assert answer.json()["count"] == 1
    assert api.get("/api/v1/questionnaires/", {"all_versions": "true"}).status_code == 200
    assert api.get("/api/v1/questionnaires/srs/", {"version": "1.0.0"}).status_code in (200, 404)


@pytest.mark.parametrize(
    ("name", "value"),
    [("page", "²"), ("page", "٣"), ("page", "0"), ("page", "-1"), ("page", "9" * 30), ("page", "1e3"),
     ("page_size", "²"), ("page_size", "0"), ("page_size", "9" * 30), ("page_size", " 5")],
)
@pytest.mark.parametrize("path", [path for path, _ in LIST_ROUTES if "sample-" not in path])
def test_a_paging_number_that_is_not_plain_ascii_digits_in_bounds_is_a_400_naming_it(north, path, name, value):
    answer = north.api().get(path, {name: value})
    assert answer.status_code == 400, answer.content
    assert problem_fields(answer) == {name}


def test_a_page_size_above_the_limit_gets_pages_of_the_limit(north):
    answer = north.api().get("/api/v1/questionnaires/", {"page_size": str(MAX_PAGE_SIZE * 10)})
    assert answer.status_code == 200


def test_the_schema_states_the_page_size_limit_on_every_list():
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    lists = 0
    for path, operations in schema["paths"].items():
        for parameter in operations.get("get", {}).get("parameters", []):
            if parameter["name"] == "page_size":
                lists += 1
                assert parameter["schema"]["maximum"] == MAX_PAGE_SIZE, path
                assert str(MAX_PAGE_SIZE) in parameter["description"]
    assert lists >= len({path for path, _ in LIST_ROUTES})
