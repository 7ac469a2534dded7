"""SIGTERM inside ``sigterm_as_interrupt`` ends the block as ``Terminated`` (like Ctrl-C), and the handler
that was there before comes back."""

from __future__ import annotations

import os
import signal
import time

import pytest

from borrower_typing.workers import Terminated, sigterm_as_interrupt


def test_sigterm_unwinds_like_ctrl_c_and_the_old_handler_returns():
    before = signal.getsignal(signal.SIGTERM)
    cleaned = []
    with pytest.raises(Terminated) as caught, sigterm_as_interrupt():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)  # the handler raises at once; reaching the end of the sleep would fail the test
        finally:
            cleaned.append(True)
    assert isinstance(caught.value, KeyboardInterrupt) and caught.value.exit_code == 143
    assert cleaned == [True]
    assert signal.getsignal(signal.SIGTERM) == before


def test_an_exception_a_library_made_of_the_signal_still_ends_as_terminated():
    with pytest.raises(Terminated) as caught, sigterm_as_interrupt():
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(30)  # the handler raises at once; reaching the end of the sleep would fail the test
        except Terminated:
            raise RuntimeError("pool broken while shutting down") from None
    assert isinstance(caught.value.__cause__, RuntimeError)


def test_other_errors_pass_through_unchanged():
    with pytest.raises(ValueError, match="bad row"), sigterm_as_interrupt():
        raise ValueError("bad row")
