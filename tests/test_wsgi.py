"""The app process as gunicorn loads it (``hotline.wsgi``): what lives as long as the process is
loaded before the first request and kept out of the garbage collector's full collections."""

import json
import os
import subprocess
import sys


def test_the_app_loads_its_views_and_freezes_what_it_loaded(tmp_path):
    probe = ("import gc, json, sys; import hotline.wsgi; "
             "print(json.dumps({'frozen': gc.get_freeze_count(), 'tracked': len(gc.get_objects()), "
             "'views': 'hotline.web.views.queues' in sys.modules}))")
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'wsgi.sqlite3'}", "DEBUG": "0"}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=True)
    state = json.loads(out.stdout.strip().splitlines()[-1])
    # The URLconf was imported before the freeze, so the views a first request would load are in it.
    assert state["views"]
    # Nearly everything is frozen: a full collection walks only what the process makes from here on.
    assert state["frozen"] > 50_000
    assert state["tracked"] < state["frozen"] / 10
