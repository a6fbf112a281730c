"""Waiting in the tests: poll a condition until it holds or time runs out.

No timed assertions: a timeout only bounds how long a failure takes to show,
so the defaults are generous.  poll() leaves the verdict to the caller (who
may also want the condition to stay false); must() fails the test itself."""

import time


def poll(cond, timeout=60, step=0.1):
    """cond()'s first truthy value within timeout seconds, else what it gives
    at the deadline (falsy)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


def must(cond, what="condition", timeout=120, step=0.05):
    """cond()'s first truthy value; AssertionError naming what when none comes
    within timeout seconds."""
    v = poll(cond, timeout, step)
    if not v:
        raise AssertionError("timed out after %gs waiting for %s" % (timeout, what))
    return v
