"""The dashboard served for real: uvicorn on 127.0.0.1 (a free port) in a thread, over the
demo warehouse built once per session, and a TestClient for API tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from cspkit.products.web.app import create_app
from tests.products.web.users import web_users  # noqa: F401  (a fixture for every test)


class LiveServer:
    def __init__(self, app: object) -> None:
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0,
                                                    log_level="warning", lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the dashboard did not start")
            time.sleep(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="session")
def web_app(demo_warehouse_path: Path, tmp_path_factory: pytest.TempPathFactory) -> object:
    return create_app(demo_warehouse_path, data_dir=tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="session")
def client(web_app: object) -> Iterator[TestClient]:
    with TestClient(web_app) as test_client:  # type: ignore[arg-type]
        yield test_client


@pytest.fixture(scope="session")
def live_server(web_app: object) -> Iterator[str]:
    """The base URL of the running dashboard, e.g. http://127.0.0.1:40123."""
    with LiveServer(web_app) as url:
        yield url
