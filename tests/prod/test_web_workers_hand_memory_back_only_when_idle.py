"""A web worker returns freed heap memory to the system once it has served nothing for
MALLOC_TRIM_INTERVAL seconds, once per idle spell, never while a request is in flight: trimming
between busy requests only made the next search fault its large temporaries in again (~12 ms per
10 MB array at 2.6M papers, docs/scale.md). gunicorn calls the hooks that count requests: its
resolved configuration names them.
"""

from __future__ import annotations

import runpy
import time
from typing import Any

from tests.prod.helpers import ROOT

CONF = ROOT / "config" / "gunicorn.conf.py"


def _conf() -> dict[str, Any]:
    return runpy.run_path(str(CONF))


def test_idle_is_reported_once_per_spell_and_never_with_a_request_in_flight() -> None:
    conf = _conf()
    activity = conf["_Activity"]()
    assert activity.idle_for(0.0)  # the warm-up's temporaries: handed back before any request
    assert not activity.idle_for(0.0)  # nothing served since: no second trim
    activity.started()
    time.sleep(0.05)
    assert not activity.idle_for(0.01)  # a request in flight, however long ago it started
    activity.ended()
    assert not activity.idle_for(0.5)  # it ended just now: not idle for half a second yet
    assert activity.idle_for(0.0)
    assert not activity.idle_for(0.0)


def test_the_request_hooks_feed_the_workers_activity() -> None:
    conf = _conf()
    activity = conf["_activity"]
    conf["pre_request"](None, None)
    assert activity.in_flight == 1
    conf["post_request"](None, None, {}, None)
    assert activity.in_flight == 0 and activity.served_since_trim


def test_gunicorn_takes_the_request_hooks_from_the_config() -> None:
    from gunicorn.app.base import Application

    class _Loader(Application):  # gunicorn's own loading of a config file, as `gunicorn -c` does
        def init(self, parser: Any, opts: Any, args: Any) -> None:
            return None

        def load(self) -> Any:
            return None

    loader = _Loader.__new__(_Loader)
    loader.usage, loader.prog, loader.callable, loader.logger = None, None, None, None
    loader.do_load_config = lambda: None  # type: ignore[method-assign]
    loader.load_default_config()
    loader.load_config_from_file(str(CONF))
    for hook in ("pre_request", "post_request"):
        assert getattr(loader.cfg, hook).__code__.co_filename == str(CONF), hook
