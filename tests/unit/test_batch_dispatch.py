"""How a ``batch=True`` inbox handler hands its deliveries to workers, with a stand-in container: those
waiting go together, at most ``BATCH_WORKERS`` workers at a time, the rest when one ends, none once the
container stops, and a batch that cannot start goes one by one."""
from types import SimpleNamespace

import pytest

from shared.platform import messaging
from shared.platform.guard import InflightMessages
from shared.platform.messaging import Batch, InboxEventHandler


class Container:
    """Runs managed threads at once; records the workers spawned and can finish them."""

    def __init__(self):
        self.workers = []
        self.refuse_batches = False

    def spawn_managed_thread(self, fn, identifier=None):
        fn()

    def spawn_worker(self, entrypoint, args, kwargs, context_data=None, handle_result=None):
        if self.refuse_batches and isinstance(args[0], Batch):
            raise RuntimeError("no worker for a batch")
        ctx = Worker(args, handle_result)
        self.workers.append(ctx)
        return ctx

    def finish(self, ctx, exc_info=None):
        ctx.handle_result(ctx, None, exc_info)


class Worker:
    def __init__(self, args, handle_result):
        self.args, self.handle_result = args, handle_result


class Message:
    def __init__(self, number):
        self.properties = {"message_id": f"m-{number}"}
        self.headers, self.delivery_info = {}, {"routing_key": "x_happened"}
        self.acked = False
        self.channel = SimpleNamespace(connection=True)


@pytest.fixture
def handler():
    handler = InboxEventHandler("intake", "x_happened", batch=True)
    handler.container = Container()
    handler.inflight = InflightMessages()
    handler.queue_consumer = SimpleNamespace(ack_message=lambda message: setattr(message, "acked", True))
    handler.handle_message_processed = lambda message, result=None, exc_info=None: setattr(message, "acked", True)
    return handler


def sizes(workers):
    return [len(ctx.args[0]) if isinstance(ctx.args[0], Batch) else 1 for ctx in workers]


def deliver(handler, numbers):
    """Deliveries read while the dispatcher waits its turn: they are handed over together."""
    spawn, handler.container.spawn_managed_thread = handler.container.spawn_managed_thread, lambda fn, identifier=None: None
    messages = [Message(n) for n in numbers]
    for message in messages:
        handler.handle_message({"n": message.properties["message_id"]}, message)
    handler.container.spawn_managed_thread = spawn
    handler._gathering = False
    handler._dispatch_soon()
    return messages


def test_waiting_deliveries_go_together_two_workers_at_a_time_and_the_rest_when_one_ends(handler):
    messages = deliver(handler, range(60))
    workers = handler.container.workers
    assert sizes(workers) == [messaging.BATCH_LIMIT, messaging.BATCH_LIMIT]  # 10 wait for a worker to end
    handler.container.finish(workers[0])
    assert sizes(workers) == [messaging.BATCH_LIMIT, messaging.BATCH_LIMIT, 10]
    assert all(m.acked for m in messages[:messaging.BATCH_LIMIT]) and not any(m.acked for m in messages[25:])
    for ctx in workers[1:]:
        handler.container.finish(ctx)
    assert all(m.acked for m in messages) and not handler._counted


def test_a_lone_delivery_goes_alone_at_once(handler):
    deliver(handler, [1])
    assert sizes(handler.container.workers) == [1]
    assert not isinstance(handler.container.workers[0].args[0], Batch)


def test_a_failed_batch_hands_each_delivery_to_a_worker_of_its_own(handler):
    messages = deliver(handler, range(3))
    batch = handler.container.workers[0]
    handler.container.finish(batch, (RuntimeError, RuntimeError("the database went away"), None))
    assert sizes(handler.container.workers) == [3, 1, 1, 1]
    assert not handler._counted  # the singles of a failed batch are not counted against new batches
    for ctx in handler.container.workers[1:]:
        handler.container.finish(ctx)
    assert all(m.acked for m in messages)


def test_a_batch_that_cannot_start_goes_one_by_one(handler):
    handler.container.refuse_batches = True
    deliver(handler, range(3))
    assert sizes(handler.container.workers) == [1, 1, 1]
    assert not handler._counted


def test_nothing_starts_once_the_container_stops(handler):
    handler._stopping = True
    messages = deliver(handler, range(3))
    assert handler.container.workers == [] and not any(m.acked for m in messages)


class Recording:
    """A unit of work in batch mode that records what each delivery began with."""

    def __init__(self):
        self.begun, self.committed, self.abandoned = [], False, False

    def begin_item(self, message_id, headers):
        self.begun.append((message_id, headers["nameko.call_id_stack"]))

    def end_item(self):
        pass

    def commit_batch(self):
        self.committed = True

    def abandon(self):
        self.abandoned = True


def test_each_delivery_carries_its_senders_call_stack_and_the_worker_s_as_long_as_nameko_keeps_one():
    batch = Batch([messaging.BatchItem({}, "m-1", ["a", "b", "c"]), messaging.BatchItem({}, "m-2", [])])
    uow = Recording()
    batch.bind(uow, SimpleNamespace(call_id="worker", config={"parent_calls_tracked": 2}))
    batch.run(lambda payload: None)
    assert uow.begun == [("m-1", ["b", "c", "worker"]), ("m-2", ["worker"])] and uow.committed


def test_a_batch_whose_handler_raises_is_abandoned_at_once():
    uow = Recording()
    batch = Batch([messaging.BatchItem({}, "m-1", [])])
    batch.bind(uow, SimpleNamespace(call_id="worker", config={}))

    def failing(payload):
        raise LookupError("the handler's own error")
    with pytest.raises(LookupError):
        batch.run(failing)
    assert uow.abandoned and not uow.committed
