"""A loopback HTTP server speaking enough of the KFP v2beta1 REST API for the
KFP SDK client, recording every request it gets."""

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, List, Tuple


class FakeKfp:
  """Starts on 127.0.0.1, a free port; use as a context manager."""

  def __init__(self, existing_pipeline_id: str = None):
    self.requests: List[Tuple[str, str, bytes]] = []  # method, path, body
    self.existing_pipeline_id = existing_pipeline_id
    fake = self

    class Handler(BaseHTTPRequestHandler):

      def log_message(self, *args):
        del args

      def _reply(self, body: Dict):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

      def do_GET(self):
        fake.requests.append(('GET', self.path, b''))
        path = urllib.parse.urlparse(self.path).path
        if path == '/apis/v2beta1/healthz':
          return self._reply({'multi_user': False})
        if path == '/apis/v2beta1/experiments':
          return self._reply({})  # none yet: the client creates one
        if path == '/apis/v2beta1/pipelines':
          if fake.existing_pipeline_id:
            return self._reply({'pipelines': [{
                'pipeline_id': fake.existing_pipeline_id,
                'display_name': 'imdb-sentiment'}], 'total_size': 1})
          return self._reply({})
        self.send_error(404)

      def do_POST(self):
        length = int(self.headers.get('Content-Length', 0))
        body = self.rfile.read(length)
        fake.requests.append(('POST', self.path, body))
        path = urllib.parse.urlparse(self.path).path
        if path == '/apis/v2beta1/experiments':
          request = json.loads(body)
          return self._reply({'experiment_id': 'exp-1',
                              'display_name': request['display_name']})
        if path == '/apis/v2beta1/runs':
          return self._reply({'run_id': 'run-1', 'display_name': 'r'})
        if path == '/apis/v2beta1/recurringruns':
          return self._reply({'recurring_run_id': 'rr-1',
                              'display_name': json.loads(body)['display_name']})
        if path == '/apis/v2beta1/pipelines/upload':
          return self._reply({'pipeline_id': 'pipe-1',
                              'display_name': 'imdb-sentiment'})
        if path == '/apis/v2beta1/pipelines/upload_version':
          return self._reply({'pipeline_id': fake.existing_pipeline_id,
                              'pipeline_version_id': 'ver-2'})
        self.send_error(404)

    self._server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    self.host = f'http://127.0.0.1:{self._server.server_address[1]}'

  def __enter__(self):
    threading.Thread(target=self._server.serve_forever, daemon=True).start()
    return self

  def __exit__(self, *exc):
    self._server.shutdown()
    self._server.server_close()

  def posts(self, path: str) -> List[bytes]:
    return [body for method, p, body in self.requests
            if method == 'POST' and urllib.parse.urlparse(p).path == path]
