"""One HTTP request to a service on this machine, as the tests make them: (status, the JSON
body), an error status included; a control request carries the bearer token it is given."""
import json
import urllib.error
import urllib.request


def call(port: int, method: str, path: str, token: str | None = None, timeout: float = 5) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
