#!/usr/bin/python3
"""The victim's web login form, behind its nginx (location /login).

    loginform.py PORT USER PASSWORD

The traffic lab's target for hydra's http-post-form: a GET of /login gives a
sign-in form and a session cookie, as a real site's does; a POST of
user=...&pass=... with USER and PASSWORD answers 302 to /account/ with a new
cookie, anything else 200 with the form again and "login failed". Listens on
127.0.0.1:PORT only (nginx proxies to it), logs one line per POST to stderr
(the run's log file): the evidence that guesses reached the form. Stdlib only.
"""

import http.server
import secrets
import sys
import urllib.parse

FORM = """<!DOCTYPE html>
<html><head><title>Sign in - Lab Shop</title></head>
<body><h1>Sign in</h1>{msg}
<form method="post" action="/login">
<label>User <input name="user"></label>
<label>Password <input name="pass" type="password"></label>
<button type="submit">Sign in</button>
</form></body></html>
"""


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "lab-shop/1.0"

    def answer(self, code, body, headers=()):
        data = body.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path.split("?", 1)[0] != "/login":
            self.answer(404, "not found\n")
            return
        self.answer(200, FORM.format(msg=""), [("Set-Cookie", f"sid={secrets.token_hex(12)}; Path=/; HttpOnly")])

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(min(n, 65536)).decode(errors="replace"))
        user, password = form.get("user", [""])[0], form.get("pass", [""])[0]
        ok = self.path.split("?", 1)[0] == "/login" and (user, password) == (USER, PASSWORD)
        print(f"login {'ok' if ok else 'failed'} user={user!r} from {self.headers.get('X-Real-IP', '?')}",
              file=sys.stderr, flush=True)
        if ok:
            self.answer(302, "welcome\n", [("Location", "/account/"),
                                           ("Set-Cookie", f"sid={secrets.token_hex(12)}; Path=/; HttpOnly")])
        else:
            self.answer(200, FORM.format(msg="<p class=error>login failed</p>"))

    def log_message(self, fmt, *args):
        pass  # one line per POST above is enough


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: loginform.py PORT USER PASSWORD")
    USER, PASSWORD = sys.argv[2], sys.argv[3]
    http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
