"""Logging in and out, and the navigation each role sees."""

import pytest

from assess import create_app


def nav_labels(html: str) -> str:
    start = html.index("<nav")
    return html[start : html.index("</nav>")]


def test_login_with_wrong_password_gets_the_same_message_as_an_unknown_user(
    client, make_user, auth
):
    make_user("known@example.org", role="admin")
    wrong = auth.login("known@example.org", "not the right password")
    unknown = auth.login("nobody@example.org", "not the right password")
    assert wrong.status_code == unknown.status_code == 401
    message = "The email address or password is not correct."
    client.post("/language", data={"lang": "en"})
    wrong = auth.login("known@example.org", "not the right password")
    assert message in wrong.get_data(as_text=True)


def test_logout_ends_the_session(client, make_user, auth):
    make_user("leader@example.org", role="admin")
    auth.login("leader@example.org")
    assert client.get("/admin/questionnaires").status_code == 200
    auth.logout()
    assert client.get("/admin/questionnaires").status_code == 302


def test_disabling_a_user_ends_their_session(client, db, make_user, auth):
    user = make_user("gone@example.org", role="admin")
    auth.login("gone@example.org")
    user.is_enabled = False
    db.commit()
    assert client.get("/admin/questionnaires").status_code == 302


@pytest.mark.parametrize(
    ("role", "visible", "hidden"),
    [
        ("member", [], ["/networks", "/national", "/admin/questionnaires"]),
        ("leader", ["/networks"], ["/national", "/admin/questionnaires"]),
        ("coordinator", ["/networks"], ["/national", "/admin/questionnaires"]),
        ("analyst", ["/national"], ["/admin/questionnaires"]),
        ("admin", ["/networks", "/national", "/admin/questionnaires"], []),
    ],
)
def test_each_role_sees_its_own_navigation(client, make_user, make_network, auth, role, visible,
                                           hidden):
    network = make_network()
    scope = {"network": network} if role in ("member", "leader") else {}
    if role == "coordinator":
        scope = {"region": network.region}
    make_user(f"{role}@example.org", role=role, **scope)
    auth.login(f"{role}@example.org")
    nav = nav_labels(client.get("/").get_data(as_text=True))
    for href in visible:
        assert f'href="{href}' in nav
        assert client.get(href).status_code == 200
    for href in hidden:
        assert f'href="{href}' not in nav
        assert client.get(href).status_code == 404


@pytest.mark.parametrize(("roles", "shown"), [(["analyst"], False),
                                              (["analyst", "leader"], True)])
def test_the_networks_link_is_only_shown_to_roles_whose_network_list_is_not_empty(
        client, db, make_user, make_network, auth, roles, shown):
    from assess.services.accounts import assign_role

    network = make_network("Led network")
    user = make_user("national@example.org", role=roles[0])
    for role in roles[1:]:
        assign_role(db, user, role, network=network)
    db.commit()
    auth.login("national@example.org")
    client.post("/language", data={"lang": "en"})
    nav = nav_labels(client.get("/").get_data(as_text=True))
    assert ('href="/networks"' in nav) is shown
    # the page itself stays open to analysts (tests/security/test_access_matrix.py): it just
    # never lists a network for them, so a link to it would lead nowhere
    listing = client.get("/networks")
    assert listing.status_code == 200
    empty = "There are no networks whose reports you can read."
    assert (empty in listing.get_data(as_text=True)) is not shown


@pytest.mark.parametrize(
    ("lang", "text"), [("sv", "Logga in"), ("fi", "Kirjaudu sisään"), ("en", "Log in")]
)
def test_the_interface_speaks_swedish_finnish_and_english(client, lang, text):
    client.post("/language", data={"lang": lang})
    page = client.get("/login").get_data(as_text=True)
    assert f'<html lang="{lang}">' in page
    assert text in page


def test_open_redirect_through_next_is_refused(client, make_user, auth):
    make_user("r@example.org", role="admin")
    response = client.post(
        "/login?next=//evil.example/", data={"email": "r@example.org",
                                             "password": "correct horse battery"}
    )
    assert response.headers["Location"] == "/"


def test_secret_key_is_generated_once_and_kept_in_the_instance_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("ASSESS_SECRET_KEY", raising=False)
    db_url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    first = create_app({"DATABASE_URL": db_url, "INSTANCE": 1})
    key_file = tmp_path / "instance-key"
    del key_file
    second = create_app({"DATABASE_URL": db_url})
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 32


def test_admin_questionnaires_page_shows_the_flagship_questionnaires_statement_count(
    client, make_user, auth, questionnaire_row
):
    from assess.services.questionnaires import definition_of

    count = len(definition_of(questionnaire_row).items)
    assert count > 1
    make_user("admin@example.org", role="admin")
    auth.login("admin@example.org")
    page = client.get("/admin/questionnaires").get_data(as_text=True)
    assert "built-in method" not in page
    row = page[page.index("<td>network-maturity</td>") :]
    row = row[: row.index("</tr>")]
    assert f'<td class="num">{count}</td>' in row
