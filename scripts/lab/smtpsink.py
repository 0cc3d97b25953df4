#!/usr/bin/python3
"""The mail relay behind the victim's SMTP submission service.

    smtpsink.py PORT MAILDIR UID

Dovecot's submission service (port 587, AUTH) hands every accepted message to
a relay MTA; in the traffic lab that is this one, on 127.0.0.1:PORT inside the
victim's namespace (never on the wire). It speaks just enough SMTP (EHLO, MAIL,
RCPT, DATA, RSET, NOOP, QUIT) and delivers every message into MAILDIR/new as
user UID, so the lab user's IMAP inbox grows with what the mail clients send.
Logs one line per message to stderr (the run's log file). Stdlib only.
"""

import os
import socketserver
import sys
import time


class Session(socketserver.StreamRequestHandler):
    timeout = 60

    def reply(self, line):
        self.wfile.write(line.encode() + b"\r\n")

    def handle(self):
        self.reply("220 mail.lab.test ESMTP relay")
        sender, rcpts = "", []
        while True:
            line = self.rfile.readline(4096)
            if not line:
                return
            verb = line.split(b" ", 1)[0].strip().upper()
            if verb in (b"EHLO", b"HELO"):
                self.reply("250-mail.lab.test\r\n250 8BITMIME" if verb == b"EHLO" else "250 mail.lab.test")
            elif verb == b"MAIL":
                sender, rcpts = line[10:].strip().decode(errors="replace"), []
                self.reply("250 2.1.0 Ok")
            elif verb == b"RCPT":
                rcpts.append(line[8:].strip().decode(errors="replace"))
                self.reply("250 2.1.5 Ok")
            elif verb == b"DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                body = []
                while True:
                    l = self.rfile.readline(65536)
                    if not l or l in (b".\r\n", b".\n"):
                        break
                    body.append(l[1:] if l.startswith(b"..") else l)
                self.deliver(b"".join(body))
                print(f"delivered from {sender} to {' '.join(rcpts)}: {sum(map(len, body))} bytes",
                      file=sys.stderr, flush=True)
                self.reply("250 2.0.0 Ok: queued")
            elif verb in (b"RSET", b"NOOP"):
                self.reply("250 2.0.0 Ok")
            elif verb == b"QUIT":
                self.reply("221 2.0.0 Bye")
                return
            else:
                self.reply("502 5.5.2 Error: command not recognized")

    def deliver(self, data):
        # Maildir: write to tmp/, then rename into new/, owned by the mail user.
        name = f"{time.time():.6f}.P{os.getpid()}T{id(self)}.mail.lab.test"
        tmp, new = os.path.join(MAILDIR, "tmp", name), os.path.join(MAILDIR, "new", name)
        with open(tmp, "wb") as f:
            f.write(data)
        os.chown(tmp, UID, UID)
        os.rename(tmp, new)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: smtpsink.py PORT MAILDIR UID")
    MAILDIR, UID = sys.argv[2], int(sys.argv[3])
    Server(("127.0.0.1", int(sys.argv[1])), Session).serve_forever()
