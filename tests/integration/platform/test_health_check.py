import json


def test_health_reports_each_dependency(client):
    response = client.http.get("/health")
    assert response.status_code == 200
    assert json.loads(response.body) == {"status": "ok", "mysql": "ok", "redis": "ok"}


def test_health_is_503_naming_redis_when_redis_is_down(client, monkeypatch):
    from tests.support.environment import reset_clients

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    reset_clients()
    response = client.http.get("/health")
    body = json.loads(response.body)
    assert response.status_code == 503
    assert body["mysql"] == "ok"
    assert body["redis"].startswith("unavailable")
