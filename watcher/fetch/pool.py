"""httpcore's connection pool with its bookkeeping pass made linear.

httpcore (1.0.9) runs ``_assign_requests_to_connections`` whenever a request starts or ends, and
that pass counts the idle connections once for every idle connection: with the 32 keep-alive
connections of a round over four hosts it was a third of an unchanged round's CPU, more than the
new connection per request it saved. This pass walks the connections once, counts idle ones once
and picks a connection per queued request in one scan, as upstream's open fix does
(encode/httpcore#1035). It also never closes or re-offers a connection already handed to a
request that has not started on it yet (encode/httpcore#1110): a later pass would take it for idle.

The behaviour is otherwise httpcore's: reuse a connection to the same origin, else open one while
under ``max_connections``, else close an idle connection to make room.
"""

from __future__ import annotations

import httpcore
from httpcore._async.interfaces import AsyncConnectionInterface


class LinearConnectionPool(httpcore.AsyncConnectionPool):
    """An ``AsyncConnectionPool`` whose assignment pass costs O(connections + requests)."""

    def _assign_requests_to_connections(self) -> list[AsyncConnectionInterface]:
        reserved = {id(request.connection) for request in self._requests if request.connection is not None}
        closing, kept = self._drop_dead_connections()
        idle = [c for c in kept if id(c) not in reserved and c.is_idle()]
        surplus = len(idle) - self._max_keepalive_connections
        if surplus > 0:  # the first in the pool's order go first, as in httpcore
            evicted = {id(c) for c in idle[:surplus]}
            closing += idle[:surplus]
            kept = [c for c in kept if id(c) not in evicted]
            idle = idle[surplus:]
        self._connections = kept
        # An HTTP/1.1 connection serves one request at a time (we never negotiate HTTP/2): one
        # already handed to a request, in this pass or an earlier one, is not offered again.
        taken = set(reserved)
        for pool_request in (request for request in self._requests if request.is_queued()):
            origin = pool_request.request.url.origin
            connection = next(
                (
                    c
                    for c in self._connections
                    if id(c) not in taken and c.can_handle_request(origin) and c.is_available()
                ),
                None,
            )
            if connection is None:
                if len(self._connections) >= self._max_connections:
                    spare = next((c for c in idle if id(c) not in taken), None)
                    if spare is None:
                        continue  # stays queued until a connection is released
                    idle.remove(spare)
                    self._connections.remove(spare)
                    closing.append(spare)
                connection = self.create_connection(origin)
                self._connections.append(connection)
            taken.add(id(connection))
            pool_request.assign_to_connection(connection)
        return closing

    def _drop_dead_connections(self) -> tuple[list[AsyncConnectionInterface], list[AsyncConnectionInterface]]:
        """(expired connections to close, the live ones): closed ones are simply forgotten."""
        closing: list[AsyncConnectionInterface] = []
        kept: list[AsyncConnectionInterface] = []
        for connection in self._connections:
            if connection.is_closed():
                continue
            if connection.has_expired():
                closing.append(connection)
            else:
                kept.append(connection)
        return closing, kept
