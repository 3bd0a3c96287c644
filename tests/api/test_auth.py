"""Tokens, scopes and input checks of the API, against a real server on loopback."""

from __future__ import annotations

from tests.api.conftest import Server
from tests.scheduler.helpers import runs


def test_requests_without_a_valid_token_are_refused(server: Server) -> None:
    with server.client() as anonymous:
        assert anonymous.get("/health").status_code == 200
        refused = anonymous.get("/runs")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == "Bearer"
    with server.client("rbk_not-a-real-token") as forged:
        assert forged.post("/runs", json={"playbook": "marker"}).status_code == 401
    with server.client(server.token[:-1]) as truncated:
        assert truncated.get("/playbooks").status_code == 401
    tokens_file = (server.work / "tokens.json").read_text()
    assert server.token not in tokens_file and server.other_token not in tokens_file


def test_a_token_sees_and_runs_only_its_playbooks(server: Server) -> None:
    with server.client(server.token) as ci, server.client(server.other_token) as other:
        assert [p["name"] for p in ci.get("/playbooks").json()] == ["gate", "marker"]
        assert [p["name"] for p in other.get("/playbooks").json()] == ["ticket"]
        refused = other.post("/runs", json={"playbook": "marker",
                                            "extra_vars": {"marker": "/tmp/x"}})
        assert refused.status_code == 403
        assert "may not run 'marker'" in refused.json()["detail"]


def test_unknown_playbooks_and_malformed_bodies_start_nothing(server: Server) -> None:
    before = len(runs(server.state))
    runs_dir = server.state / "api-runs"
    files_before = sorted(runs_dir.iterdir()) if runs_dir.exists() else []
    with server.client(server.token) as ci:
        unknown = ci.post("/runs", json={"playbook": "drop-database"})
        assert unknown.status_code == 404
        traversal = ci.post("/runs", json={"playbook": "../../etc/passwd"})
        assert traversal.status_code == 422
        for body in ({}, {"playbook": "marker", "surprise": 1},
                     {"playbook": "marker", "limit": "@/etc/hosts"},
                     {"playbook": "marker", "limit": "all:!localhost"},
                     {"playbook": "marker", "params": {"x": {"nested": "object"}}}):
            answer = ci.post("/runs", json=body)
            assert answer.status_code == 422, (body, answer.text)
        garbled = ci.post("/runs", content=b"{not json",
                          headers={"content-type": "application/json"})
        assert garbled.status_code == 422
        not_allowed = ci.post("/runs", json={"playbook": "marker",
                                             "extra_vars": {"ansible_connection": "ssh"}})
        assert not_allowed.status_code == 422
        assert "ansible_connection" in not_allowed.json()["detail"]
        templated = ci.post("/runs", json={"playbook": "marker", "extra_vars": {
            "marker": "{{ lookup('file', '/etc/passwd') }}"}})
        assert templated.status_code == 422 and "Jinja2" in templated.json()["detail"]
        # the playbook reads `marker`, which nobody gave: refused before anything starts
        undefined = ci.post("/runs", json={"playbook": "marker"})
        assert undefined.status_code == 422 and "marker" in undefined.json()["detail"]
        assert ci.get("/runs/../../etc/passwd").status_code == 404
        assert ci.get("/runs/last").status_code == 404
    with server.client(server.other_token) as other:
        bad_param = other.post("/runs", json={"playbook": "ticket",
                                              "params": {"ticket": "not-a-ticket"}})
        assert bad_param.status_code == 422 and "ticket" in bad_param.json()["detail"]
    assert len(runs(server.state)) == before
    assert (sorted(runs_dir.iterdir()) if runs_dir.exists() else []) == files_before


def test_openapi_describes_the_endpoints(server: Server) -> None:
    with server.client() as anonymous:
        document = anonymous.get("/openapi.json").json()
    assert {"/runs", "/runs/{run_id}", "/runs/{run_id}/events",
            "/runs/{run_id}/approve", "/runs/{run_id}/deny"} <= set(document["paths"])


def test_a_revoked_token_is_refused_without_a_restart(server: Server) -> None:
    from runbook_engine.api.config import load_server_config
    from runbook_engine.api.tokens import add_token, revoke_token

    config = load_server_config(server.work / "server.yml")
    temporary = add_token(config, "temporary", ["marker"])
    with server.client(temporary) as client:
        assert client.get("/playbooks").status_code == 200
        assert revoke_token(config, "temporary")
        assert client.get("/playbooks").status_code == 401
