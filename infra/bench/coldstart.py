"""Cold start of the decoy Lambda: time from exec of its bootstrap to its
first response, under a minimal Lambda Runtime API emulator, with peak memory
from /usr/bin/time -v. The function's AWS calls (the signing key from Secrets
Manager at init) go to a moto server, as in the tests.

    python3 infra/bench/coldstart.py BOOTSTRAP [RUNS]
    COLDSTART_EVENT=tests/fixtures/cloudtrail_event.json python3 infra/bench/coldstart.py target/debug/cloudtrail

Needs the test tools venv (scripts/test.sh tools) for moto and boto3.
"""
import http.server
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

BOOTSTRAP = sys.argv[1]
RUNS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV = os.path.join(ROOT, ".venv-tools", "bin")
EVENT = open(os.path.join(ROOT, "tests", "fixtures", "apigw_v2_event.json")).read() if os.path.exists(
    os.path.join(ROOT, "tests", "fixtures", "apigw_v2_event.json")) else None
# Another function's event (the cloudtrail function:
# COLDSTART_EVENT=tests/fixtures/cloudtrail_event.json).
if os.environ.get("COLDSTART_EVENT"):
    EVENT = open(os.environ["COLDSTART_EVENT"]).read()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Runtime(http.server.BaseHTTPRequestHandler):
    """Hands out one invocation, records when its response arrives."""
    served = False
    done = None
    event = "{}"

    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path.endswith("/invocation/next") and not Runtime.served:
            Runtime.served = True
            body = Runtime.event.encode()
            self.send_response(200)
            self.send_header("Lambda-Runtime-Aws-Request-Id", "bench-1")
            self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30000))
            self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:000000000000:function:decoy")
            self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        else:
            time.sleep(3600)  # the next invocation never comes

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        self.rfile.read(n)
        Runtime.done = (time.perf_counter(), self.path)
        self.send_response(202)
        self.end_headers()


def main():
    moto_port = free_port()
    moto = subprocess.Popen([os.path.join(VENV, "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{moto_port}"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", moto_port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                   AWS_REGION="us-east-1", AWS_ENDPOINT_URL=endpoint)
        arn = subprocess.check_output([os.path.join(VENV, "python"), "-c", f"""
import boto3
sm = boto3.client("secretsmanager", endpoint_url="{endpoint}", region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
print(sm.create_secret(Name="bench-key", SecretString="0123456789abcdef0123456789abcdef0123456789abcdef")["ARN"])
"""], text=True).strip()
        event = EVENT or json.dumps({
            "version": "2.0", "routeKey": "$default", "rawPath": "/v1/users", "rawQueryString": "",
            "headers": {"authorization": "Bearer acme_4eC39HqLyjWDarjtT1zdp7dcXyZ0ab", "user-agent": "curl/8.5.0"},
            "requestContext": {"http": {"method": "GET", "path": "/v1/users", "protocol": "HTTP/1.1",
                                        "sourceIp": "203.0.113.9", "userAgent": "curl/8.5.0"},
                               "requestId": "bench", "stage": "$default", "accountId": "000000000000",
                               "apiId": "api", "domainName": "api.example.org", "domainPrefix": "api",
                               "time": "28/Nov/2026:12:00:00 +0000", "timeEpoch": 0},
            "isBase64Encoded": False})
        times, rss = [], []
        for _ in range(RUNS):
            port = free_port()
            Runtime.served, Runtime.done, Runtime.event = False, None, event
            srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Runtime)
            threading.Thread(target=srv.serve_forever, daemon=True).start()
            fenv = dict(env, AWS_LAMBDA_RUNTIME_API=f"127.0.0.1:{port}", AWS_LAMBDA_FUNCTION_NAME="decoy",
                        AWS_LAMBDA_FUNCTION_MEMORY_SIZE="128", AWS_LAMBDA_FUNCTION_VERSION="1",
                        TOKENS_TABLE="Tokens", HITS_TABLE="Hits", SIGNING_KEY_SECRET_ARN=arn)
            t0 = time.perf_counter()
            p = subprocess.Popen(["/usr/bin/time", "-v", BOOTSTRAP], env=fenv, start_new_session=True,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            while Runtime.done is None and time.perf_counter() - t0 < 10:
                time.sleep(0.0002)
            if Runtime.done is None:
                os.killpg(p.pid, signal.SIGKILL)
                sys.exit("the function did not answer within 10 s")
            times.append((Runtime.done[0] - t0) * 1000)
            # /usr/bin/time reports once its child (the function) ends.
            subprocess.run(["pkill", "-TERM", "-P", str(p.pid)])
            err = p.communicate()[1]
            m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
            rss.append(int(m.group(1)) / 1024 if m else float("nan"))
            srv.shutdown()
        print(f"cold start (exec -> first response), {RUNS} runs: min {min(times):.1f} ms, "
              f"median {statistics.median(times):.1f} ms, max {max(times):.1f} ms")
        print(f"peak RSS: median {statistics.median(rss):.1f} MiB, max {max(rss):.1f} MiB")
        print(f"binary: {BOOTSTRAP} {os.path.getsize(BOOTSTRAP)} bytes")
    finally:
        moto.terminate()
        moto.wait()


if __name__ == "__main__":
    import faulthandler
    faulthandler.dump_traceback_later(int(os.environ.get("COLDSTART_DEBUG", "0")) or 10**9)
    main()
