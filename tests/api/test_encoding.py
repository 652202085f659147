"""API answers are UTF-8 JSON with Chinese text unescaped, so integrators can read raw answers."""
import json


def test_chinese_messages_are_not_unicode_escaped(client):
    resp = client.get("/api/v1/no-such-endpoint")
    body = resp.content.decode("utf-8")
    assert resp.status_code == 404 and resp["Content-Type"].startswith("application/json")
    assert "\\u" not in body
    assert "接口不存在" in json.loads(body)["error"]["message"] and "接口不存在" in body
