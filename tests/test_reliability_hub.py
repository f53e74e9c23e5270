"""load_gpt2 and the hub: honest fallbacks, one deadline, errors for paths that do not exist.

Every "hub" here is a local server on 127.0.0.1 started by the test (no internet needed): one that accepts
connections and never answers, one that answers HTTP 500, one that answers 404 (no such repository).
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from minigpt_lib.pretrained import HubUnavailableError, load_gpt2

pytest.importorskip("huggingface_hub")


@pytest.fixture
def online(monkeypatch, tmp_path):
    """Offline mode off, an empty cache: what a learner's first run on a bad network looks like."""
    import huggingface_hub.constants as constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("MINIGPT_CACHE", str(tmp_path / "minigpt"))

    def use(endpoint: str) -> None:
        monkeypatch.setattr(constants, "ENDPOINT", endpoint)

    return use


@pytest.fixture
def silent_server():
    """Accepts TCP connections and never answers (a stalled proxy)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held, stop = [], threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def http_server(status: int, headers: dict[str, str] | None = None):
    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_HEAD = _answer

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def server_500():
    server = http_server(500)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def server_404():
    server = http_server(404, {"X-Error-Code": "RepositoryNotFound", "X-Error-Message": "Repository not found"})
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_hub_that_never_answers_falls_back_at_the_deadline(online, silent_server, capsys):
    online(silent_server)
    model = load_gpt2("gpt2", timeout=3.0, connect_timeout=1.0)
    notice = capsys.readouterr().out
    assert model.config.n_embd == 64  # the bundled model
    assert "không trả lời trong 1 giây" in notice and "bundled-gpt2-tiny" in notice, notice


def test_a_hub_that_never_answers_is_an_error_when_strict(online, silent_server):
    online(silent_server)
    with pytest.raises(HubUnavailableError, match=r"gave no answer within 1 s"):
        load_gpt2("gpt2", strict=True, timeout=3.0, connect_timeout=1.0)


def test_the_overall_deadline_bounds_the_first_answer_too(online, silent_server):
    online(silent_server)
    with pytest.raises(HubUnavailableError, match=r"gave no answer within 0\.5 s"):
        load_gpt2("gpt2", strict=True, timeout=0.5, connect_timeout=10.0)


def test_a_hub_that_answers_500_is_named(online, server_500, capsys):
    online(server_500)
    model = load_gpt2("gpt2", timeout=3.0, connect_timeout=2.0)
    notice = capsys.readouterr().out
    assert model.config.n_embd == 64
    assert "HTTP 500" in notice, notice
    assert "không có mạng" not in notice  # the network is fine: it is not blamed


def test_a_refused_connection_is_named(online, capsys):
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    online(f"http://127.0.0.1:{port}")
    load_gpt2("gpt2", timeout=3.0, connect_timeout=1.0)
    assert "không kết nối được" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["runs/ckpt", "my_finetune", "./runs/ckpt", "runs/a/b"])
def test_a_folder_that_does_not_exist_is_an_error_offline(name, monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises((FileNotFoundError, HubUnavailableError), match="is not a folder"):
        load_gpt2(name, timeout=3.0, connect_timeout=1.0)
    assert capsys.readouterr().out == ""  # no fallback notice: nothing was loaded


@pytest.mark.parametrize("name", ["runs/ckpt", "my_finetune"])
def test_a_name_the_hub_does_not_have_is_not_found(name, online, server_404, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    online(server_404)
    with pytest.raises(FileNotFoundError, match="nor a model on the Hugging Face hub"):
        load_gpt2(name, timeout=3.0, connect_timeout=1.0)


def test_a_hub_model_name_on_a_hub_that_lacks_it_says_so(online, server_404, capsys):
    online(server_404)
    model = load_gpt2("gpt2", timeout=3.0, connect_timeout=1.0)
    notice = capsys.readouterr().out
    assert model.config.n_embd == 64 and "không có kho 'gpt2'" in notice, notice


def test_offline_notice_names_offline_mode(monkeypatch, tmp_path, capsys):
    import huggingface_hub.constants as constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("MINIGPT_CACHE", str(tmp_path / "minigpt"))
    load_gpt2("gpt2-xl")
    assert "HF_HUB_OFFLINE=1" in capsys.readouterr().out


@pytest.mark.parametrize("bad", [0, -1, float("nan"), "10", True])
def test_timeouts_must_be_positive_numbers(bad):
    with pytest.raises(ValueError, match="timeout must be a positive number"):
        load_gpt2("gpt2", timeout=bad)


@pytest.fixture
def file_server():
    """Serves the bundled model as the hub's 'gpt2' (weights behind a redirect, as the real hub's CDN)."""
    from minigpt_lib.pretrained import bundled_model_path

    folder = bundled_model_path()
    requests = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if self.path.startswith(("/gpt2/", "/cdn/")):  # (huggingface_hub may query its own /api paths)
                requests.append(self.path)
            if self.path == "/gpt2/resolve/main/model.safetensors":
                self.send_response(302)
                self.send_header("Location", "/cdn/model.safetensors")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            name = {"/gpt2/resolve/main/config.json": "config.json", "/cdn/model.safetensors": "model.safetensors"}.get(self.path)
            if name is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = (folder / name).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    server.shutdown()
    server.server_close()


def test_a_working_hub_is_downloaded_once_then_read_from_the_cache(online, file_server, capsys):
    import torch

    from minigpt_lib.pretrained import load_bundled

    endpoint, requests = file_server
    online(endpoint)
    model = load_gpt2("gpt2", strict=True, timeout=30.0, connect_timeout=5.0)
    assert capsys.readouterr().out == ""  # no fallback notice: this is the hub's model
    idx = torch.arange(10)[None]
    with torch.no_grad():
        torch.testing.assert_close(model(idx), load_bundled()(idx), atol=0, rtol=0)
    assert len(requests) == 3  # config.json, the redirect, the weights
    online("http://127.0.0.1:9")  # the hub is gone: the cached copy is used without the network
    load_gpt2("gpt2", strict=True, timeout=1.0, connect_timeout=1.0)
    assert len(requests) == 3
