"""A scripted SMTP server for the delivery tests (aiosmtpd, run in its own process).

``--script 451,451,250`` answers the n-th DATA with the n-th code (the last one repeats); ``hang`` makes
that DATA wait ``--hang`` seconds before accepting; ``--refuse ADDRESS`` answers RCPT TO that address
with 550; ``--auth USER:PASSWORD`` requires that login; ``--tls-cert/--tls-key`` requires STARTTLS;
``--delay SECONDS`` makes every reply line (the greeting included) wait that long, like a slow server;
``--ehlo-lines N`` adds N extension lines to the EHLO reply (a server advertising much, line by line).
Accepted mail is kept like the development sink keeps it (shared.devtools.mailsink.FileSink).
"""
import argparse
import asyncio
import ssl
from pathlib import Path

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from shared.devtools.mailsink import FileSink

REPLIES = {"250": None, "451": "451 4.3.0 Try again later", "550": "550 5.1.1 Mailbox unavailable",
           "421": "421 4.7.0 Too busy"}


class ScriptedSink(FileSink):
    def __init__(self, directory, script, refused, hang_seconds):
        super().__init__(Path(directory))
        self.script, self.refused, self.hang_seconds, self.calls = script, refused, hang_seconds, 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        step = self.script[min(self.calls, len(self.script) - 1)]
        self.calls += 1
        print(f"data {self.calls} {step}", flush=True)
        if step == "hang":
            await asyncio.sleep(self.hang_seconds)
            return "451 4.4.2 Timed out"  # the client has long given up by now
        if REPLIES.get(step):
            return REPLIES[step]
        return await super().handle_DATA(server, session, envelope)


class SlowSMTP(SMTP):
    """Waits ``delay`` seconds before each reply it sends."""

    def __init__(self, handler, delay: float = 0.0, ehlo_lines: int = 0, **options):
        super().__init__(handler, **options)
        self.delay, self.ehlo_lines = delay, ehlo_lines

    async def push(self, status):
        if status == "250 HELP":  # the last line of the EHLO reply
            for number in range(self.ehlo_lines):
                await asyncio.sleep(self.delay)
                await super().push(f"250-X-TDKT-EXTENSION-{number}")
        await asyncio.sleep(self.delay)
        await super().push(status)


def _authenticator(expected: str):
    """Accepts only ``user:password`` given with ``--auth``."""
    user, _, password = expected.partition(":")

    def check(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login.decode(), auth_data.password.decode()) \
            == (user, password)
        return AuthResult(success=ok)
    return check


async def main(args):
    handler = ScriptedSink(args.dir, args.script.split(","), set(args.refuse), args.hang)
    options = {"enable_SMTPUTF8": True}
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        options.update(tls_context=context, require_starttls=True)
    if args.auth:
        options.update(authenticator=_authenticator(args.auth), auth_required=True,
                       auth_require_tls=bool(args.tls_cert))
    server = await asyncio.get_running_loop().create_server(
        lambda: SlowSMTP(handler, args.delay, args.ehlo_lines, **options), "127.0.0.1", args.port)
    print(f"scripted smtp listening on {args.port}", flush=True)
    async with server:
        await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--script", default="250")
    parser.add_argument("--refuse", action="append", default=[])
    parser.add_argument("--hang", type=float, default=30.0)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each reply")
    parser.add_argument("--ehlo-lines", type=int, default=0, help="extension lines added to the EHLO reply")
    parser.add_argument("--auth", help="user:password the server requires")
    parser.add_argument("--tls-cert", help="offer STARTTLS with this certificate (and --tls-key); require it")
    parser.add_argument("--tls-key")
    asyncio.run(main(parser.parse_args()))
