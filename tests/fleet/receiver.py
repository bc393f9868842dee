"""A loopback receiver for tests/fleet/run.sh: takes memsample's pushes and
OTLP exports on 127.0.0.1, optionally over TLS, and appends one JSON line per
request to a log.

OTLP/HTTP JSON bodies (POST .../v1/metrics) are parsed strictly against the
official protobuf definitions (opentelemetry-proto): json_format.Parse into
ExportMetricsServiceRequest, unknown fields refused. Any other body is kept
as it came (the Pushgateway's text format, checked with promtool).

    receiver.py PORTFILE LOG [CERT KEY]
"""

import base64
import json
import os
import ssl
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

PORTFILE, LOG = sys.argv[1], sys.argv[2]
TLS = sys.argv[3:5]


class Handler(BaseHTTPRequestHandler):
    def handle_any(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        entry = {
            "method": self.command,
            "path": self.path,
            "content_type": self.headers.get("Content-Type"),
            "authorization": self.headers.get("Authorization"),
            "body": base64.b64encode(body).decode(),
        }
        status = 200
        if self.path.endswith("/v1/metrics"):
            try:
                message = ExportMetricsServiceRequest()
                json_format.Parse(body.decode("utf-8"), message, ignore_unknown_fields=False)
                entry["otlp"] = "parsed"
                entry["metrics"] = {}
                # Every data point, with its attributes (the phase series).
                entry["points"] = {}
                for resource in message.resource_metrics:
                    entry["resource"] = {
                        a.key: json_format.MessageToDict(a.value) for a in resource.resource.attributes
                    }
                    for scope in resource.scope_metrics:
                        for metric in scope.metrics:
                            points = metric.gauge.data_points or metric.sum.data_points
                            point = points[0]
                            value = point.as_int if point.HasField("as_int") else point.as_double
                            entry["metrics"][metric.name] = {"unit": metric.unit, "value": value}
                            entry["points"][metric.name] = [
                                {
                                    "attributes": {
                                        a.key: json_format.MessageToDict(a.value) for a in p.attributes
                                    },
                                    "value": p.as_int if p.HasField("as_int") else p.as_double,
                                }
                                for p in points
                            ]
            except Exception as err:  # the check fails on any parse error
                entry["otlp"] = "refused: %s" % err
                status = 400
        with open(LOG, "a") as log:
            log.write(json.dumps(entry) + "\n")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_PUT = do_POST = handle_any

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
if TLS:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(TLS[0], TLS[1])
    server.socket = context.wrap_socket(server.socket, server_side=True)
with open(PORTFILE + ".tmp", "w") as out:
    out.write(str(server.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
server.serve_forever()
