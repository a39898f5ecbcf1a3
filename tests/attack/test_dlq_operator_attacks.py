"""Findings 4 and 5: what ``tdkt dlq`` does with dead letters an outsider shaped.

4. ``replay`` takes letters off ``dlq.<service>`` until the queue is empty; a letter that fails again (it is
   still invalid) is back in the DLQ within milliseconds, taken again by the same loop, and replayed
   again, up to ``--limit`` (100) times: the count the operator reads is inflated, each pass re-runs the
   handler, and with finding 2's ``CC`` header each pass delivers one more forged copy.
5. ``tdkt dlq list`` prints a letter's ``message_id`` (and a reason that quotes its ``content_type``) as the
   sender wrote them: terminal control sequences reach the operator's terminal (clear the screen, rewrite
   earlier lines to hide letters, OSC 52 to set the operator's clipboard, on terminals that honour it).
"""
from click.testing import CliRunner

from shared.cli.commands import main
from shared.platform.deadletters import peek, replay
from tests.attack.raw import publish_raw
from tests.harness import wait_until

ESCAPES = "\x1b[2J\x1b[1;1H\x1b]52;c;cm0gLXJmIH4K\x07"  # clear, home, set the clipboard


def test_replaying_a_letter_that_fails_again_sends_it_once(review, rabbit_config, monkeypatch):
    import eventlet
    from kombu import Producer

    publish = Producer.publish

    def remote_broker(self, *args, **kwargs):  # a broker a few milliseconds away, as in production
        result = publish(self, *args, **kwargs)
        eventlet.sleep(0.2)
        return result

    for n in range(5):
        publish_raw(rabbit_config["AMQP_URI"], "council.events", "vote_cast", b"[]", message_id=f"still-junk-{n}")
    wait_until(lambda: len(peek(rabbit_config["AMQP_URI"], "review")) == 5, what="the junk votes dead-lettered")
    monkeypatch.setattr(Producer, "publish", remote_broker)
    assert replay(rabbit_config["AMQP_URI"], "review", limit=20) == 5


def test_tdkt_dlq_list_prints_no_control_characters_of_the_sender(review, rabbit_config, monkeypatch):
    publish_raw(rabbit_config["AMQP_URI"], "council.events", "vote_cast", b"{}", message_id=ESCAPES,
                content_type="text/x-" + ESCAPES)
    wait_until(lambda: peek(rabbit_config["AMQP_URI"], "review"), what="the vote dead-lettered")
    monkeypatch.setenv("AMQP_URI", rabbit_config["AMQP_URI"])
    output = CliRunner().invoke(main, ["dlq", "list", "review"]).output
    assert "1 dead letter(s)" in output
    assert "\x1b" not in output and "\x07" not in output, repr(output)


def test_replay_keeps_a_letter_whose_origin_queue_no_longer_exists(review, rabbit_config):
    from kombu import Connection

    publish_raw(rabbit_config["AMQP_URI"], "council.events", "vote_cast", b"[]", message_id="orphan")
    wait_until(lambda: peek(rabbit_config["AMQP_URI"], "review"), what="the junk vote dead-lettered")
    review.container.stop()  # a release renamed the handler: its old queue is deleted
    with Connection(rabbit_config["AMQP_URI"]) as connection:
        connection.default_channel.queue_delete("evt-council-vote_cast--review.on_vote_cast")
    replayed = replay(rabbit_config["AMQP_URI"], "review")
    assert (replayed, [letter["message_id"] for letter in peek(rabbit_config["AMQP_URI"], "review")]) == \
        (0, ["orphan"])
