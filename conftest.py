"""Suite-wide set-up that must come before any test module.

The hook that gives each module- or session-scoped fixture a database of its own on the
PostgreSQL suite (tests/conftest.py) lives here, at the root, because pytest asks a
session-scoped fixture's hooks from the session node, which sees only root-level conftests.

Ctrl-C's signal, SIGINT, must reach the processes the tests start. A suite started in the
background of a script (`.ci/run &`, a CI runner without job control) inherits SIGINT *ignored*,
and an ignored signal stays ignored across exec, in every child: the tests that stop
`sanshen up` or the simulators with SIGINT would then wait for a process that never hears it.
A handler, unlike "ignore", is reset to the default on exec, so installing Python's own here
gives every child the default again.
"""

import signal

from tests.conftest import database_per_wide_fixture as pytest_fixture_setup

if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

__all__ = ["pytest_fixture_setup"]
