"""Access control as a matrix: every route of the app x every role, against an explicit table.

The parameters come from `app.url_map`, not from the table, so a route added without a
line in ACCESS fails here ("no entry"): a new page cannot slip in unreviewed. Adding
one is one line: the route as "METHOD /rule", then the expected status per role in
the order of ROLES.

The world (tests/security/conftest.py): network A in region R, network B in region S;
objects named in a URL belong to A (round, network, region R, practice) and the survey
link is a valid one of A's round (closed). Requests carry no form data, so a POST that
a role may make usually answers 400 (form invalid) or a redirect, and one it may not
make answers 404 (logged in) or 302 to the login page (anonymous).

Statuses: 200 page, 302/303 redirect (anonymous: to the login page), 400 invalid
form, 404 not found or not permitted (the same answer, by design).
"""

from __future__ import annotations

import pytest

from assess import create_app

from .conftest import ROLES, login

# anonymous, member (of A), leader of A, leader of B, coordinator of R, coordinator of S,
# analyst (national), admin
ACCESS: dict[str, tuple[int, ...]] = {
    #  route                                               anon mem ldA  ldB  crR  crS  anl  adm
    "GET /":                                              (200, 200, 200, 200, 200, 200, 200, 200),
    "GET /static/<path:filename>":                        (200, 200, 200, 200, 200, 200, 200, 200),
    "POST /language":                                     (302, 302, 302, 302, 302, 302, 302, 302),
    # logging in and out, passwords
    "GET /login":                                         (200, 302, 302, 302, 302, 302, 302, 302),
    "POST /login":                                        (200, 302, 302, 302, 302, 302, 302, 302),
    "GET /login/code":                                    (302, 302, 302, 302, 302, 302, 302, 302),
    "POST /login/code":                                   (302, 302, 302, 302, 302, 302, 302, 302),
    "POST /logout":                                       (302, 302, 302, 302, 302, 302, 302, 302),
    "GET /password/forgot":                               (200, 200, 200, 200, 200, 200, 200, 200),
    "POST /password/forgot":                              (400, 400, 400, 400, 400, 400, 400, 400),
    "GET /password/reset":                                (404, 404, 404, 404, 404, 404, 404, 404),
    "POST /password/reset":                               (404, 404, 404, 404, 404, 404, 404, 404),
    "GET /password/reset/<path:token>":                   (404, 404, 404, 404, 404, 404, 404, 404),
    # one's own account
    "GET /account":                                       (302, 200, 200, 200, 200, 200, 200, 200),
    "GET /account/password":                              (302, 200, 200, 200, 200, 200, 200, 200),
    "POST /account/password":                             (302, 400, 400, 400, 400, 400, 400, 400),
    "GET /account/mfa":                                   (302, 200, 200, 200, 200, 200, 200, 200),
    "POST /account/mfa":                                  (302, 400, 400, 400, 400, 400, 400, 400),
    "POST /account/recovery-codes":                       (302, 303, 303, 303, 303, 303, 303, 303),
    "POST /account/sessions":                             (302, 303, 303, 303, 303, 303, 303, 303),
    # answering (the session names no survey here; the link is valid)
    "GET /s/<path:token>":                                (302, 302, 302, 302, 302, 302, 302, 302),
    "GET /my-surveys":                                    (302, 200, 404, 404, 404, 404, 404, 404),
    "POST /rounds/<int:round_id>/answer":                 (302, 303, 404, 404, 404, 404, 404, 404),
    "GET /survey":                                        (404, 404, 404, 404, 404, 404, 404, 404),
    "GET /survey/page/<int:number>":                      (404, 404, 404, 404, 404, 404, 404, 404),
    "POST /survey/page/<int:number>":                     (404, 404, 404, 404, 404, 404, 404, 404),
    "GET /survey/review":                                 (404, 404, 404, 404, 404, 404, 404, 404),
    "POST /survey/submit":                                (404, 404, 404, 404, 404, 404, 404, 404),
    "GET /survey/thank-you":                              (404, 404, 404, 404, 404, 404, 404, 404),
    # rounds: leaders of the network and admins change them, the region's coordinators look
    "GET /rounds":                                        (302, 404, 200, 200, 200, 200, 404, 200),
    "POST /rounds":                                       (302, 404, 404, 404, 404, 404, 404, 404),
    "GET /rounds/<int:round_id>/manage":                  (302, 404, 200, 404, 200, 404, 404, 200),
    "POST /rounds/<int:round_id>/close":                  (302, 404, 400, 404, 404, 404, 404, 400),
    "POST /rounds/<int:round_id>/extend":                 (302, 404, 400, 404, 404, 404, 404, 400),
    "POST /rounds/<int:round_id>/reopen":                 (302, 404, 400, 404, 404, 404, 404, 400),
    "POST /rounds/<int:round_id>/invitations":            (302, 404, 400, 404, 404, 404, 404, 400),
    "POST /rounds/<int:round_id>/invitations/list":       (302, 404, 302, 404, 404, 404, 404, 302),
    "POST /rounds/<int:round_id>/invitations/mail":       (302, 404, 302, 404, 404, 404, 404, 302),
    "POST /rounds/<int:round_id>/reminders":              (302, 404, 302, 404, 404, 404, 404, 302),
    "GET /periods":                                       (302, 404, 404, 404, 404, 404, 200, 200),
    "POST /periods":                                      (302, 404, 404, 404, 404, 404, 400, 400),
    # a network's reports: its leaders, its region's coordinators, admins
    "GET /networks":                                      (302, 404, 200, 200, 200, 200, 200, 200),
    "GET /networks/<int:network_id>/trends":              (302, 404, 200, 404, 200, 404, 404, 200),
    "GET /rounds/<int:round_id>/report":                  (302, 404, 200, 404, 200, 404, 404, 200),
    "GET /rounds/<int:round_id>/report.json":             (302, 404, 200, 404, 200, 404, 404, 200),
    "GET /rounds/<int:round_id>/report.csv":              (302, 404, 200, 404, 200, 404, 404, 200),
    "GET /rounds/<int:round_id>/report.xlsx":             (302, 404, 200, 404, 200, 404, 404, 200),
    "GET /rounds/<int:round_id>/report.pdf":              (302, 404, 200, 404, 200, 404, 404, 200),
    "GET /rounds/<int:round_id>/targets":                 (302, 404, 302, 404, 404, 404, 404, 404),
    "POST /rounds/<int:round_id>/targets":                (302, 404, 302, 404, 404, 404, 404, 404),
    # regions: their coordinators and the national level
    "GET /regions":                                       (302, 404, 404, 404, 200, 200, 200, 200),
    "GET /regions/<int:region_id>":                       (302, 404, 404, 404, 200, 404, 200, 200),
    # national: analysts and admins, aggregates only
    "GET /national":                                      (302, 404, 404, 404, 404, 404, 200, 200),
    "GET /national.csv":                                  (302, 404, 404, 404, 404, 404, 200, 200),
    "GET /national.pdf":                                  (302, 404, 404, 404, 404, 404, 200, 200),
    "GET /national.xlsx":                                 (302, 404, 404, 404, 404, 404, 200, 200),
    "GET /national/instrument":                           (302, 404, 404, 404, 404, 404, 200, 200),
    "GET /national/instrument.csv":                       (302, 404, 404, 404, 404, 404, 200, 200),
    # good practices: published ones for everyone logged in; leaders write their network's
    "GET /practices":                                     (302, 200, 200, 200, 200, 200, 200, 200),
    "GET /practices/<int:practice_id>":                   (302, 200, 200, 200, 200, 200, 200, 200),
    "GET /practices/new":                                 (302, 404, 200, 200, 404, 404, 404, 404),
    "POST /practices/new":                                (302, 404, 200, 200, 404, 404, 404, 404),
    "GET /practices/<int:practice_id>/edit":              (302, 404, 200, 404, 404, 404, 404, 404),
    "POST /practices/<int:practice_id>/edit":             (302, 404, 200, 404, 404, 404, 404, 404),
    "POST /practices/<int:practice_id>/delete":           (302, 404, 302, 404, 404, 404, 404, 404),
    "GET /practices/settings":                            (302, 404, 200, 200, 404, 404, 404, 404),
    "POST /practices/settings":                           (302, 404, 404, 404, 404, 404, 404, 404),
    # administration
    "GET /admin/questionnaires":                          (302, 404, 404, 404, 404, 404, 404, 200),
}

IGNORED_METHODS = {"HEAD", "OPTIONS"}


def app_routes(app) -> list[tuple[str, str, str]]:
    """(key, endpoint, rule) of every route and method the app serves."""
    routes = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - IGNORED_METHODS):
            routes.append((f"{method} {rule.rule}", rule.endpoint, rule.rule))
    return sorted(routes)


def _collection_app():
    # Routes do not depend on the database; this app never connects to one.
    return create_app({"TESTING": True, "SECRET_KEY": "collection",
                       "DATABASE_URL": "sqlite://"})


ROUTES = app_routes(_collection_app())


def url_arguments(world) -> dict[str, object]:
    """A value for each URL argument; a new argument name fails until it is added here."""
    return {
        "round_id": world.round_a,
        "network_id": world.network_a,
        "region_id": world.region_r,
        "practice_id": world.practice_a,
        "token": world.token_a,
        "number": 1,
        "filename": "assess.css",
    }


def build_url(app, world, rule: str, method: str = "GET") -> str:
    """This very rule's URL (an endpoint may have several rules, e.g. new and edit)."""
    values = url_arguments(world)
    [matching] = [r for r in app.url_map.iter_rules()
                  if r.rule == rule and method in r.methods]
    missing = sorted(set(matching.arguments) - set(values))
    assert not missing, f"no value for URL argument(s) {missing} of {rule}: add to url_arguments"
    _domain, path = matching.build({a: values[a] for a in matching.arguments},
                                   append_unknown=False)
    return path


def test_every_route_has_a_line_in_the_table():
    served = {key for key, _endpoint, _rule in ROUTES}
    missing = sorted(served - set(ACCESS))
    stale = sorted(set(ACCESS) - served)
    assert not missing, ("routes without a line in ACCESS (add one per route and method): "
                         + ", ".join(missing))
    assert not stale, "lines in ACCESS for routes that no longer exist: " + ", ".join(stale)
    assert all(len(row) == len(ROLES) for row in ACCESS.values())


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("key", "endpoint", "rule"), ROUTES, ids=[r[0] for r in ROUTES])
def test_access(app, world, client, key, endpoint, rule, role):
    assert key in ACCESS, f"{key} has no line in ACCESS: add the expected status per role"
    expected = ACCESS[key][ROLES.index(role)]
    login(client, world, role)
    method = key.split(" ", 1)[0]
    url = build_url(app, world, rule, method)
    with client.open(url, method=method) as response:
        status = response.status_code
        location = response.headers.get("Location", "")
    assert status == expected, f"{role} {method} {url}: {status}, expected {expected}"
    if role == "anonymous" and status == 302 and endpoint not in (
            "main.set_language", "auth.logout", "auth.login_code", "survey.open_link"):
        assert "/login" in location, f"anonymous {key} redirects to {location}, not to login"
