#!/usr/bin/env python3
"""A userspace TCP delay line on 127.0.0.1, for scripts/bench-network.sh (stdlib only).

    delay_proxy.py --upstream-port PORT --rtt-ms RTT --port-file F --stats-file S [--log-file L]
                   [--listen 127.0.0.X] [--port P]

Listens on 127.0.0.1 (or another loopback address) on a free port (or P) (written to F once listening) and relays every accepted
connection to 127.0.0.1:PORT, as if the client and the server were RTT milliseconds apart:

- every chunk, in each direction, is delivered RTT/2 after it was read (a delay line: order and
  chunk boundaries are kept, the relay does not wait for one chunk before reading the next);
- the client's connect() to this proxy is instant (the kernel completes it), so the TCP
  handshake's round trip is modelled here: the upstream connection is opened RTT/2 after the
  accept (when the SYN would reach the server), and nothing the client sends is delivered
  before accept + RTT + RTT/2 (the client could not have sent it before its connect had taken
  one round trip). The first answer of the server thus reaches the client 2 RTT after the
  connect, as over a real link (one round trip for TCP, one for the first TLS flight).
- a FIN is delayed like data (half-closes are relayed); a reset or an error closes both sides.

What a userspace proxy cannot model: connect() returning at once (a probe that only connects
costs nothing here instead of one RTT), and loss, bandwidth or congestion (loopback has none).

Counts: connections accepted, and the most open at once, "open" meaning from the accept until
the client's side of the connection has ended (its FIN, a reset, or the proxy closing it after
the server's FIN). On SIGTERM, SIGINT or SIGUSR1 it writes to the stats file one line:

    connections=N max_open=M open_now=K

and exits on SIGTERM/SIGINT. With --log-file, one line per accept and per end of a connection
(monotonic seconds, event, connection number, open count).
"""

import argparse
import asyncio
import os
import signal
import sys
import time

CHUNK = 65536
TASKS = set()  # strong references to the reading tasks (the loop keeps only weak ones)


class Stats:
    def __init__(self, stats_file, log_file):
        self.accepted = 0
        self.open = 0
        self.max_open = 0
        self.stats_file = stats_file
        self.log = open(log_file, "a", buffering=1) if log_file else None

    def event(self, what, n):
        if self.log:
            self.log.write(f"{time.monotonic():.6f} {what} {n} open={self.open}\n")

    def opened(self):
        self.accepted += 1
        self.open += 1
        self.max_open = max(self.max_open, self.open)
        self.event("accept", self.accepted)
        return self.accepted

    def closed(self, n):
        self.open -= 1
        self.event("close", n)

    def write(self):
        with open(self.stats_file, "w") as f:
            f.write(f"connections={self.accepted} max_open={self.max_open} open_now={self.open}\n")


def close_quietly(writer):
    try:
        writer.close()
    except Exception:
        pass


async def delay_line(reader, writer, one_way, not_before, on_end, abort):
    """Relay reader -> writer, each chunk (and the EOF) delivered `one_way` seconds after
    max(when it was read, not_before). Returns when the EOF was delivered or on an error."""
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def read_side():
        while True:
            try:
                data = await reader.read(CHUNK)
            except (ConnectionError, OSError):
                data = None  # a reset: closes both sides when it comes out of the line
            queue.put_nowait((max(loop.time(), not_before) + one_way, data))
            if not data:
                on_end()
                return

    # The reading side runs on by itself until its EOF or error (it ends when the sockets are
    # closed), so the client's end is seen at once whatever this side is waiting for.
    task = asyncio.create_task(read_side())
    TASKS.add(task)
    task.add_done_callback(TASKS.discard)
    while True:
        due, data = await queue.get()
        wait = due - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        if data is None:
            abort()
            return
        if data == b"":
            try:
                if writer.can_write_eof():
                    writer.write_eof()
                else:
                    close_quietly(writer)
            except (ConnectionError, OSError, RuntimeError):
                pass
            return
        try:
            writer.write(data)
            await writer.drain()
        except (ConnectionError, OSError, RuntimeError):
            abort()
            return


async def handle(client_r, client_w, args, stats):
    loop = asyncio.get_running_loop()
    # Let the loop poll once or twice first, so that a FIN already queued by the kernel for
    # another connection of the same client (closed just before this connect) is counted
    # before this accept: otherwise max_open would be off by one at random.
    for _ in range(3):
        await asyncio.sleep(0)
    t0 = loop.time()
    n = stats.opened()
    one_way = args.rtt_ms / 2000.0
    ended = False

    def client_ended():
        nonlocal ended
        if not ended:
            ended = True
            stats.closed(n)

    upstream_w = None

    def abort():
        client_ended()
        close_quietly(client_w)
        if upstream_w is not None:
            close_quietly(upstream_w)

    # Upstream is connected when the SYN would reach the server (t0 + RTT/2), and only then is
    # the client read; nothing it sent is delivered before its connect would have completed
    # (t0 + RTT) plus the one-way delay. (A client that closes within RTT/2 of its connect is
    # thus seen to end up to RTT/2 late; the timing of what it sends is not affected.)
    try:
        await asyncio.sleep(one_way)
        try:
            upstream_r, upstream_w = await asyncio.open_connection("127.0.0.1", args.upstream_port)
        except OSError:
            abort()
            return
        not_before = t0 + 2 * one_way
        await asyncio.gather(
            delay_line(client_r, upstream_w, one_way, not_before, client_ended, abort),
            delay_line(upstream_r, client_w, one_way, not_before, lambda: None, abort),
            return_exceptions=True,
        )
    finally:
        client_ended()
        close_quietly(client_w)
        if upstream_w is not None:
            close_quietly(upstream_w)


async def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--upstream-port", type=int, required=True)
    p.add_argument("--rtt-ms", type=float, default=0.0)
    p.add_argument("--port-file", required=True)
    p.add_argument("--stats-file", required=True)
    p.add_argument("--log-file")
    # Loopback only: 127.0.0.0/8 (127.0.0.2... need no set-up on Linux), port 0 = a free one.
    p.add_argument("--listen", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    args = p.parse_args()
    if not args.listen.startswith("127."):
        p.error("--listen must be a loopback address (127.0.0.0/8)")
    stats = Stats(args.stats_file, args.log_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGUSR1, stats.write)
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    server = await asyncio.start_server(
        lambda r, w: handle(r, w, args, stats), args.listen, args.port, backlog=1024
    )
    port = server.sockets[0].getsockname()[1]
    with open(args.port_file + ".tmp", "w") as f:
        f.write(f"{port}\n")
    os.replace(args.port_file + ".tmp", args.port_file)
    await stop.wait()
    stats.write()
    if stats.log:
        stats.log.flush()
    # Connections still open are dropped with the process (no cancellation noise on stderr).
    os._exit(0)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    sys.exit(0)
