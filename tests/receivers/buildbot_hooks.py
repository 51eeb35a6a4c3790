"""Buildbot's change hooks for GitHub (buildbot.www.hooks.github, which checks the
SHA-1 X-Hub-Signature) and for Gitea (the buildbot-gitea plugin, which checks
X-Gitea-Signature), served over HTTP: each request goes to the handler of its path
(/github or /gitea) as Buildbot's web server would hand it over, and the changes the
handler makes, or its refusal, are written as one JSON line to the record file.

Usage: python3 buildbot_hooks.py PORT SECRET RECORD_FILE
"""

import io
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

from buildbot.www.hooks.github import GitHubEventHandler
from buildbot_gitea.webhook import GiteaHandler

PORT, SECRET, RECORD = int(sys.argv[1]), sys.argv[2], sys.argv[3]

HANDLERS = {
    "/github": GitHubEventHandler(SECRET, True, master=None),
    "/gitea": GiteaHandler(None, {"secret": SECRET}),
}


class TwistedRequest:
    """What the handlers read of a twisted.web request."""

    def __init__(self, headers, body):
        self.headers = {k.lower(): v for k, v in headers.items()}
        self.content = io.BytesIO(body)
        self.args = {}

    def getHeader(self, name):
        if isinstance(name, bytes):
            name = name.decode()
        value = self.headers.get(name.lower())
        return None if value is None else value.encode()


def run(handler, request):
    """Runs the handler's deferred to its end; returns (changes, error)."""
    result = {}
    method = getattr(handler, "process", None) or handler.getChanges
    deferred = method(request)
    deferred.addCallbacks(lambda r: result.update(ok=r), lambda f: result.update(err=f))
    if "err" in result:
        return None, str(result["err"].value)
    changes = result["ok"][0]
    if hasattr(changes, "addCallbacks"):
        # The GitHub handler hands its changes over as a Deferred of their own.
        changes.addCallbacks(lambda r: result.update(ok=(r,)), lambda f: result.update(err=f))
        if "err" in result:
            return None, str(result["err"].value)
        changes = result["ok"][0]
    return changes, None


class Server(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        handler = HANDLERS.get(self.path)
        changes, error = run(handler, TwistedRequest(dict(self.headers), body))
        line = {"path": self.path, "error": error}
        if changes is not None:
            for change in changes:
                change["when_timestamp"] = change["when_timestamp"].isoformat()
            line["changes"] = changes
        with open(RECORD, "a") as f:
            f.write(json.dumps(line) + "\n")
        self.send_response(403 if error else 200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


HTTPServer(("127.0.0.1", PORT), Server).serve_forever()
