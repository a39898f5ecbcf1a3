"""The development mail sink of ``make run``: an SMTP server (aiosmtpd) that keeps every mail as a file.

Each accepted message is written atomically to ``DIR/<time>-<n>.eml`` (the raw RFC 5322 bytes, with
the envelope recipients in an ``X-Envelope-To`` header), and one line naming the file is printed, so a
person can open the mail and a test can wait for the line.
"""
from __future__ import annotations

import asyncio
import itertools
import os
import signal
import time
from pathlib import Path

from aiosmtpd.smtp import SMTP


class FileSink:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.counter = itertools.count(1)

    async def handle_DATA(self, server, session, envelope):
        name = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{next(self.counter):06d}.eml"
        envelope_to = ", ".join(envelope.rcpt_tos).encode()
        data = b"X-Envelope-To: " + envelope_to + b"\r\n" + envelope.original_content
        partial = self.directory / (name + ".part")
        partial.write_bytes(data)
        partial.rename(self.directory / name)
        print(f"mail {self.directory / name} to {envelope_to.decode()}", flush=True)
        return "250 Message accepted for delivery"


def serve(host: str, port: int, directory: str) -> None:
    """Run the sink in the foreground until SIGINT or SIGTERM."""
    asyncio.run(_serve(host, port, FileSink(Path(directory))))


async def _serve(host, port, handler):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, enable_SMTPUTF8=True, decode_data=False), host, port)
    stopped = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    print(f"mail sink listening on {host}:{port}, writing to {handler.directory}", flush=True)
    async with server:
        await stopped.wait()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", default="var/mail")
    args = parser.parse_args()
    serve(args.host, args.port, args.dir)
