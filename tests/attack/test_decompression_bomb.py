"""Finding 6: the guard's 8 MiB limit is measured on the compressed body; a decompression bomb passes it.

* kombu decompresses a body whose ``compression`` header names a codec (``application/x-bz2``,
  ``x-lzma``, ``x-gzip``) in ``Message.__init__``, in the queue consumer's thread, before the guard sees
  the message. 79 bytes of bz2 become 64 MiB (ratio ~850 000:1; 1 KB -> GBs). The guard then refuses
  the 64 MiB body ("larger than 8 MiB") and ``dead_letter`` re-publishes it *decompressed*: a council
  member's 79-byte vote stores 64 MiB in ``dlq.review`` (which has no bound), until the broker's disk or
  memory alarm blocks every publisher. A bigger bomb exhausts the service's memory (512 Mi limit in
  deploy/k8s) while it decompresses; the unacked message then kills each restart too.
* with ``content_type`` omitted or ``application/data`` (kombu's trusted raw types) kombu applies
  ``codecs.decode(body, content_encoding)``, so ``content_encoding: bz2`` (or ``zlib``) decompresses in
  ``message.decode()``, after the guard measured the 79 compressed bytes: the 64 MiB reach a worker.
"""
import bz2

import requests

from shared.platform.deadletters import peek
from tests.attack.raw import publish_raw, table
from tests.harness import wait_until

BOMB = bz2.compress(b"\0" * (64 * 1024 * 1024))  # 79 bytes


def stored_bytes(rabbit_config, queue):
    vhost = requests.utils.quote(rabbit_config["vhost"], safe="")
    def settled():
        info = requests.get(f"http://127.0.0.1:15672/api/queues/{vhost}/{queue}", auth=("guest", "guest"),
                            timeout=5).json()
        return info if info.get("messages") and info.get("message_bytes") else None  # stats lag a few s
    return wait_until(settled, timeout=15, interval=0.5, what=f"{queue}'s statistics")["message_bytes"]


def test_a_79_byte_compressed_vote_does_not_store_64_mib_in_the_dead_letter_queue(review, rabbit_config):
    assert len(BOMB) < 100
    publish_raw(rabbit_config["AMQP_URI"], "council.events", "vote_cast", BOMB, message_id="bomb",
                application_headers=table(("compression", b"S" + len(b"application/x-bz2").to_bytes(4, "big")
                                           + b"application/x-bz2")))
    letters = wait_until(lambda: peek(rabbit_config["AMQP_URI"], "review"), timeout=30, what="the bomb refused")
    assert letters[0]["reason"] == "compressed bodies are not accepted"  # refused before kombu inflates it
    assert stored_bytes(rabbit_config, "dlq.review") < 1024 * 1024


def test_a_body_that_decodes_to_more_than_8_mib_is_refused_by_the_guard(review, rabbit_config):
    publish_raw(rabbit_config["AMQP_URI"], "council.events", "vote_cast", BOMB, message_id="bomb",
                content_type="application/data", content_encoding="bz2")
    letters = wait_until(lambda: peek(rabbit_config["AMQP_URI"], "review"), timeout=30, what="the bomb refused")
    assert letters[0]["reason"] == "content_encoding 'bz2' is not accepted", letters[0]["reason"]
