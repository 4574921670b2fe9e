"""Production mode: a real Celery worker on Redis runs the daily digest task and sends the email
through Django's SMTP backend to a local aiosmtpd server; a second run sends nothing again.

Real processes on 127.0.0.1 only (the pipeline tests' harness): a private redis-server and one
Celery worker with the real model; killed as a group at the end.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LISTING
from tests.library.conftest import Mailbox, body_text
from tests.pipeline.harness import Pipeline, RedisServer, Template, base_env, make_template, manage_env_python, on_postgres, wait_until

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not on_postgres(), reason="starts Redis and a Celery worker: runs in the PostgreSQL pass of make test"),
]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Template]:
    yield from make_template(tmp_path_factory.mktemp("digest-worker-template"))


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    from email import message_from_bytes

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    box = Mailbox(host="127.0.0.1", port=port)

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
            box.messages.append(message_from_bytes(envelope.original_content or envelope.content))
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def test_the_worker_sends_each_new_paper_once(template: Template, tmp_path: Path, mailbox: Mailbox) -> None:
    db = template.copy(tmp_path)
    env = base_env(tmp_path) | {"DATABASE_URL": db.url, "EMAIL_HOST": mailbox.host, "EMAIL_PORT": str(mailbox.port),
                                "SITE_URL": "http://paperscope.test"}
    pipeline = Pipeline(tmp=tmp_path, db=db, env=env)
    try:
        pipeline.manage("import_papers", str(LISTING), "--format", "hfpage", timeout=600)  # embedded and indexed in-process
        manage_env_python(pipeline, (
            "from django.contrib.auth.models import User; from library.services import saved_search_create; "
            "u = User.objects.create_user('ada', 'ada@example.org', 'x' * 20); "
            "saved_search_create(user=u, name='Reward models', query='reward models for aligning language models', floor=-1, digest='daily')"
        ))
        pipeline.redis = RedisServer(tmp_path)
        env["REDIS_URL"] = pipeline.redis.url
        worker = pipeline.worker(fast=False)
        enqueue = "from library.tasks import send_digests; send_digests.delay('daily')"
        manage_env_python(pipeline, enqueue)
        wait_until(lambda: mailbox.messages, timeout=120, what="the digest email", on_timeout=worker.tail)
        message = mailbox.messages[0]
        assert message["To"] == "ada@example.org" and message["List-Unsubscribe"].strip().startswith("<http://paperscope.test/library/unsubscribe/")
        text = body_text(message)
        assert 'New for your saved search "Reward models"' in text and "http://paperscope.test/papers/" in text
        out = manage_env_python(pipeline, "import json; from library.models import Delivery; print(json.dumps(Delivery.objects.count()))")
        sent = json.loads(out.strip().splitlines()[-1])
        assert sent == text.count("http://paperscope.test/papers/")

        # The next run finds nothing new for this reader: no second email.
        manage_env_python(pipeline, enqueue)
        wait_until(lambda: worker.text().count("library.tasks.send_digests") >= 4, timeout=60, what="the second run", on_timeout=worker.tail)
        assert len(mailbox.messages) == 1
    finally:
        pipeline.close()
        db.drop()
