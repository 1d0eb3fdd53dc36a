"""Finding 9 (and issue 13, bug 5): what any signed-in user can send that used to answer
500 — unknown filter values, date ranges, odd ids, 64-bit overflows, deep or broken
JSON, huge searches — now answers 4xx with a message, or is ignored with one."""
from __future__ import annotations

import pytest

from tests.clients import bearer
from tests.factories import make_incident, make_user

BIG = "9223372036854775808"  # 2**63: one more than a 64-bit id holds


@pytest.fixture
def world():
    admin, reporter = make_user("admin"), make_user("reporter")
    incident = make_incident(reporter=reporter, admin=admin)
    return {"admin": admin, "reporter": reporter, "incident": incident}


# (who, path, the filter's name in the message). Filter indexes: the grid's column_filters.
UNKNOWN_FILTER_VALUES = [
    ("admin", "/admin/incidents/?flt1_0=bogus", "Status"),
    ("admin", "/admin/incidents/?flt1_1=bogus", "Priority"),
    ("admin", "/admin/incidents/?flt1_2=bogus", "Category"),
    ("admin", f"/admin/incidents/?flt1_3={BIG}", "Technician"),
    ("admin", "/admin/incidents/?flt1_6=maybe", "Overdue"),
    ("reporter", "/admin/mine/?flt0_0=bogus", "Status"),
    ("reporter", "/admin/mine/?flt0_1=bogus", "Priority"),
    ("admin", "/admin/history/?flt0_0=bogus", "Kind"),
    ("admin", "/admin/history/?flt0_1=bogus", "Incident number"),
    ("admin", f"/admin/history/?flt0_1={BIG}", "Incident number"),
    ("admin", "/admin/incidents/?flt0_5=yesterday", "Created"),
]


@pytest.mark.parametrize("who,path,name", UNKNOWN_FILTER_VALUES)
def test_unknown_filter_values_are_ignored_with_a_message(client, login, world, who, path,
                                                          name):
    login(world[who])
    page = client.get(path)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert f"Filter “{name}”" in text and "ignored" in text
    assert world["incident"].number in text  # the grid is shown, unfiltered


@pytest.mark.parametrize("who,path", [
    ("admin", "/admin/incidents/?flt0_5=2000-01-01+00:00:00+to+2100-01-01+00:00:00"),
    ("reporter", "/admin/mine/?flt0_3=2000-01-01+00:00:00+to+2100-01-01+00:00:00"),
    ("admin", "/admin/history/?flt0_2=2000-01-01+00:00:00+to+2100-01-01+00:00:00"),
    ("admin", "/admin/access/?flt0_3=2000-01-01+00:00:00+to+2100-01-01+00:00:00"),
    ("admin", "/admin/outbox/?flt0_2=2000-01-01+00:00:00+to+2100-01-01+00:00:00"),
])
def test_date_range_filters_work(client, login, world, who, path):
    login(world[who])
    page = client.get(path)
    assert page.status_code == 200
    assert "ignored" not in page.get_data(as_text=True)


def test_date_ranges_select_by_utc_time(client, login, world):
    login(world["admin"])
    created = world["incident"].created_at
    inside = f"{created:%Y-%m-%d %H}:00:00 to {created:%Y-%m-%d %H}:59:59"
    outside = "2000-01-01 00:00:00 to 2000-01-02 00:00:00"
    number = world["incident"].number
    assert number in client.get("/admin/incidents/", query_string={"flt0_5": inside}).text
    assert number not in client.get("/admin/incidents/", query_string={"flt0_5": outside}).text


@pytest.mark.parametrize("view", ["mine", "incidents", "history", "access", "outbox",
                                  "users"])
@pytest.mark.parametrize("value", ["%C2%B2", "%D9%A3", BIG, "-1", "1e3"])
def test_odd_ids_find_nothing(client, login, world, view, value):
    login(world["admin"])
    response = client.get(f"/admin/{view}/details/?id={value}")
    assert response.status_code in (302, 404)


@pytest.mark.parametrize("query", [f"page={BIG}", "page=-1", "page=x", f"sort={BIG}",
                                   "page_size=100000", "search=" + "+".join(["a"] * 1000)])
def test_grid_arguments_out_of_bounds_are_dropped_with_a_message(client, login, world, query):
    login(world["admin"])
    response = client.get(f"/admin/incidents/?{query}")
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert page.status_code == 200 and "it was ignored" in page.get_data(as_text=True)


@pytest.mark.parametrize("method,path,body,status", [
    ("get", f"/api/v1/incidents/{BIG}", None, 404),
    ("get", f"/api/v1/incidents/{BIG}/events", None, 404),
    ("patch", f"/api/v1/incidents/{BIG}", {"title": "x"}, 404),
    ("get", f"/api/v1/incidents?technician_id={BIG}", None, 422),
    ("get", f"/api/v1/incidents?reporter_id={BIG}", None, 422),
    ("get", f"/api/v1/incidents?page={BIG}", None, 422),
    ("get", f"/api/v1/users?page={BIG}", None, 422),
    ("post", "/api/v1/incidents", {"title": "t", "description": "d", "reporter_id": 2 ** 64},
     422),
])
def test_api_numbers_beyond_64_bits(client, world, method, path, body, status):
    kwargs = {"json": body} if body is not None else {}
    response = getattr(client, method)(path, headers=bearer(world["admin"]), **kwargs)
    assert response.status_code == status
    assert response.get_json()["status"]


@pytest.mark.parametrize("raw,reason", [
    ("[" * 1000 + "]" * 1000, "nested too deeply"),
    ('{"title": "\\ud800", "description": "d"}', "lone surrogate"),
])
@pytest.mark.parametrize("path", ["/api/v1/incidents", "/api/v1/auth/token"])
def test_hostile_json_is_a_400_that_says_why(client, world, raw, reason, path):
    response = client.post(path, data=raw, content_type="application/json",
                           headers=bearer(world["admin"]))
    assert response.status_code == 400
    assert reason in response.get_json()["message"]


def test_hostile_json_to_flask_security_is_a_400(client):
    response = client.post("/login", data="[" * 1000 + "]" * 1000,
                           content_type="application/json")
    assert response.status_code == 400


def test_the_openapi_document_bounds_ids_and_pages(client):
    spec = client.get("/api/openapi.json").get_json()
    [param] = spec["paths"]["/api/v1/incidents/{incident_id}"]["parameters"]
    assert param["schema"] == {"type": "integer", "format": "int64", "minimum": 1,
                               "maximum": 2 ** 63 - 1}
    listing = {p["name"]: p["schema"] for p in
               spec["paths"]["/api/v1/incidents"]["get"]["parameters"]}
    assert listing["page"]["maximum"] == 100_000 and listing["page"]["format"] == "int64"
    # Several ids per filter (issue 18): each bounded, and how many too.
    assert listing["technician_id"]["items"]["maximum"] == 2 ** 63 - 1
    assert listing["technician_id"]["maxItems"] == 20
