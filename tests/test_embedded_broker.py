"""The embedded broker (oms/broker.py): a message or exchange table is read whole or not at
all, whatever a writer in another process is doing at that moment."""

import json
import threading
from queue import Empty

import pytest
from kombu import Connection, Exchange, Queue

from oms import broker


@pytest.fixture
def folders(tmp_path):
    queue, control = tmp_path / "queue", tmp_path / "control"
    queue.mkdir()
    return {
        "data_folder_in": str(queue),
        "data_folder_out": str(queue),
        "control_folder": str(control),
        "store_processed": False,
    }


def channel(folders):
    connection = Connection("filesystem://", transport="oms.broker:Transport", transport_options=folders)
    return connection, connection.channel()


def test_a_message_being_written_is_not_taken_by_a_reader(folders, monkeypatch):
    _, writer = channel(folders)
    _, reader = channel(folders)
    seen_mid_write = []
    rename = broker.os.replace

    def pausing(partial, final):
        # The payload is written, the file not yet in place: what does a reader get now?
        try:
            seen_mid_write.append(reader._get("jobs"))
        except Empty:
            seen_mid_write.append("nothing")
        rename(partial, final)

    monkeypatch.setattr(broker.os, "replace", pausing)
    writer._put("jobs", {"body": "run 7"})
    monkeypatch.undo()
    assert seen_mid_write == ["nothing"]
    assert reader._get("jobs") == {"body": "run 7"}


def test_messages_written_and_read_at_once_by_many_all_arrive_whole(folders):
    writers, each = 3, 200
    received, failures = [], []
    done_writing = threading.Event()

    def write(n):
        _, ch = channel(folders)
        for i in range(each):
            ch._put("jobs", {"body": f"{n}-{i}", "pad": "x" * 4000})

    def read():
        _, ch = channel(folders)
        while True:
            try:
                received.append(ch._get("jobs")["body"])
            except json.JSONDecodeError as exc:  # a message read before it was whole
                failures.append(exc)
            except Empty:
                if done_writing.is_set() and not ch._size("jobs"):
                    return

    readers = [threading.Thread(target=read) for _ in range(2)]
    for thread in readers:
        thread.start()
    producers = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in producers:
        thread.start()
    for thread in producers:
        thread.join()
    done_writing.set()
    for thread in readers:
        thread.join(timeout=30)
    assert failures == []
    assert sorted(received) == sorted(f"{n}-{i}" for n in range(writers) for i in range(each))


def test_queues_bound_at_once_by_many_processes_are_all_in_the_exchange_table(folders):
    exchange = Exchange("celery", type="direct")

    def bind(n):
        connection, ch = channel(folders)
        Queue(f"q{n}", exchange, routing_key=f"q{n}")(ch).declare()
        connection.close()

    threads = [threading.Thread(target=bind, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _, ch = channel(folders)
    assert sorted(entry.queue for entry in ch.get_table("celery")) == sorted(f"q{n}" for n in range(12))
