"""The decoy endpoint as commonly written in Python, for comparison only.

Flask, one gunicorn sync worker, tokens in a JSON file loaded at start, one
line appended (and flushed, not fsynced) to a log file per hit, the same 401 for everyone.
"""
import json
import os
import time

from flask import Flask, request

app = Flask(__name__)
TOKENS = json.load(open(os.environ.get("BASELINE_TOKENS", "tokens.json")))
HITS = open(os.environ.get("BASELINE_HITS", "hits.log"), "a", buffering=1)
BODY = '{"error":{"code":"invalid_api_key","message":"Invalid API key provided.","type":"invalid_request_error"}}'


def candidates():
    auth = request.headers.get("Authorization", "")
    if auth.lower().startswith("bearer "):
        yield "authorization", auth[7:].strip()
    if "X-API-Key" in request.headers:
        yield "x-api-key", request.headers["X-API-Key"]
    for k, v in request.args.items():
        yield "query:" + k, v


@app.route("/", defaults={"path": ""}, methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
@app.route("/<path:path>", methods=["GET", "POST", "PUT", "DELETE", "PATCH"])
def decoy(path):
    for found_in, value in candidates():
        token = TOKENS.get(value)
        if token:
            HITS.write(json.dumps({
                "token_id": token["id"], "label": token["label"], "received_at": time.time(),
                "source_ip": request.remote_addr, "user_agent": request.headers.get("User-Agent", ""),
                "method": request.method, "path": request.path, "found_in": found_in,
            }) + "\n")
            HITS.flush()
    return BODY, 401, {"Content-Type": "application/json"}
