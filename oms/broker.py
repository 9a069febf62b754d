"""kombu's filesystem transport (the embedded broker, no REDIS_URL) with whole-file writes.

kombu writes a message into its final file name, in the folder workers read from: a
worker listing the folder at that moment moves the file away, reads it empty or cut
short, deletes it and fails to decode it, and the message is lost. Its exchange tables
(which queue an exchange routes to) are rewritten in place the same way, so a process
reading one while another declares a queue reads half a table. Here every file is
written under a name no reader looks at and renamed into place, which readers see
either whole or not at all; table changes are serialised by a lock file of their own.
"""

import fcntl
import os
import uuid
from contextlib import contextmanager
from pathlib import Path

from kombu.transport import filesystem, virtual
from kombu.utils.json import dumps

# A file being written: its name has no ".<queue>.msg" ending, so no reader takes it.
WRITING = ".writing-"


def write_whole(path: str | Path, payload: str) -> None:
    """Write `payload` to `path` so that a reader finds the old file or the new one, whole."""
    folder, name = os.path.split(os.fspath(path))
    partial = os.path.join(folder, f"{WRITING}{uuid.uuid4().hex}-{name}")
    with open(partial, "w", encoding="utf-8") as handle:
        handle.write(payload)
    os.replace(partial, path)


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        # The same name kombu gives (time first, so the folder's order is the queue's).
        name = f"{int(round(filesystem.monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        try:
            write_whole(os.path.join(self.data_folder_out, name), dumps(payload))
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add file {name!r} to directory") from exc

    @contextmanager
    def _table_lock(self, exchange):
        self.control_folder.mkdir(parents=True, exist_ok=True)
        with open(self.control_folder / f"{exchange}.lock", "a") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield self._exchange_file(exchange)
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with self._table_lock(exchange) as table:
            queues = self.get_table(exchange)
            if entry not in queues:
                write_whole(table, dumps([entry, *queues]))

    def _delete(self, queue, exchange, routing_key, pattern, *args, **kwargs):
        virtual.Channel._delete(self, queue, exchange, routing_key, pattern, *args, **kwargs)
        entry = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with self._table_lock(exchange) as table:
            queues = self.get_table(exchange)
            if entry in queues:
                queues.remove(entry)
                write_whole(table, dumps(queues))


class Transport(filesystem.Transport):
    Channel = Channel
