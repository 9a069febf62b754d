"""read_ahead: a connector's next page is read while the engine handles the current one."""

import threading

import pytest

from channels.connectors.base import ConnectorUnavailable, read_ahead


def test_the_pages_come_in_order_and_the_next_is_read_while_the_current_is_handled():
    second_read = threading.Event()

    def pages():
        yield 1
        second_read.set()
        yield 2
        yield 3

    got = []
    for page in read_ahead(pages()):
        if page == 1:
            # Nobody asked for page 2 yet: the reader fetched it while page 1 was handled.
            assert second_read.wait(timeout=5)
        got.append(page)
    assert got == [1, 2, 3]


def test_a_failure_of_the_reader_is_raised_after_the_pages_before_it():
    def pages():
        yield 1
        raise ConnectorUnavailable("Medusa cannot be reached.")

    handed = read_ahead(pages())
    assert next(handed) == 1
    with pytest.raises(ConnectorUnavailable, match="cannot be reached"):
        next(handed)


def test_a_caller_that_stops_early_stops_the_reader():
    produced, closed = [], threading.Event()

    def pages():
        try:
            for n in range(100):
                produced.append(n)
                yield n
        finally:
            closed.set()

    handed = read_ahead(pages(), depth=1)
    assert next(handed) == 0
    handed.close()
    assert closed.wait(timeout=5)
    # The page handed, one waiting in the queue, one being handed when the caller left.
    assert len(produced) <= 3
