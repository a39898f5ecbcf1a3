"""Whether the machine is busy, read from Linux's pressure stall information (the documents wait for a
quiet machine): the ``some avg10`` share, and None (never busy) for whatever the file does not say."""
import pytest

from services.review.documents import pressure

PSI = ("some avg10={some} avg60=1.87 avg300=21.29 total=846024412\n"
       "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")


@pytest.mark.parametrize("some, share", [("0.05", 0.05), ("63.20", 63.2), ("100.00", 100.0)])
def test_the_share_of_the_last_ten_seconds_some_task_waited_for_a_cpu(tmp_path, some, share):
    path = tmp_path / "cpu"
    path.write_text(PSI.format(some=some))
    assert pressure.cpu_pressure(path) == share


@pytest.mark.parametrize("text", ["", "full avg10=90.00 avg60=0 avg300=0 total=0\n", "some avg60=1.0 total=3\n",
                                  "some avg10=lots avg60=1.0\n", "some avg10=nan\n", "some avg10=inf\n",
                                  "some avg10=-1\n", "some avg10=100.5\n", "some avg10\n", "\x00\xff\n"])
def test_a_file_that_does_not_say_gives_none(tmp_path, text):
    path = tmp_path / "cpu"
    path.write_bytes(text.encode("latin-1"))
    assert pressure.cpu_pressure(path) is None


def test_no_file_or_an_unreadable_one_gives_none(tmp_path):
    assert pressure.cpu_pressure(tmp_path / "missing") is None
    assert pressure.cpu_pressure(tmp_path) is None  # a directory


def test_busy_from_a_fifth_of_the_time_waited_and_never_where_the_kernel_does_not_say():
    assert pressure.busy(lambda: pressure.BUSY) and pressure.busy(lambda: 95.0)
    assert not pressure.busy(lambda: pressure.BUSY - 0.01) and not pressure.busy(lambda: None)


def test_this_machine_says_or_does_not_without_failing():
    share = pressure.cpu_pressure()
    assert share is None or 0.0 <= share <= 100.0
