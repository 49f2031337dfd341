"""Load generation with wrk (a separate C process on loopback): Lua scripts for the API's calls, results parsed.

wrk reports latency percentiles from its own histogram; the Lua `done` hook prints them in
one parseable line, with the count of non-2xx answers.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from dataclasses import dataclass

from harness import LOG_DIR, WAI_SR_ANSWERS

DONE_HOOK = """
done = function(summary, latency, requests)
  io.write(string.format("WRK requests=%d non2xx=%d socket_errors=%d p50=%d p95=%d p99=%d\\n",
    summary.requests, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""


@dataclass
class WrkResult:
    requests: int
    rate: float
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    output: str


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def post_script(*, key: str, clients: int, authored: str) -> str:
    answers = json.dumps(WAI_SR_ANSWERS, separators=(",", ":"))
    return f"""
wrk.method = "POST"
wrk.headers["Authorization"] = "Api-Key {key}"
wrk.headers["Content-Type"] = "application/json"
local counter = 0
request = function()
  counter = counter + 1
  local body = string.format(
    '{{"questionnaire":"wai-sr","client":"bench-client-%d","authored":"{authored}","answers":{answers}}}',
    counter % {clients})
  return wrk.format(nil, "/api/v1/responses/", nil, body)
end
""" + DONE_HOOK


def get_script(*, key: str, path: str) -> str:
    return f"""
wrk.method = "GET"
wrk.headers["Authorization"] = "Api-Key {key}"
request = function() return wrk.format(nil, "{path}") end
""" + DONE_HOOK


def run_wrk(
    *, name: str, script: str, port: int, seconds: int, connections: int, threads: int = 1, rate: int | None = None
) -> WrkResult:
    """Run wrk against loopback; bounded by `seconds` (plus a kill after twice that)."""
    path = LOG_DIR / f"{name}.lua"
    path.write_text(script)
    argv = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--timeout", "10s", "-s", str(path),
            f"http://127.0.0.1:{port}"]
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=seconds * 2 + 30)
    output = completed.stdout + completed.stderr
    line = re.search(
        r"WRK requests=(\d+) non2xx=(\d+) socket_errors=(\d+) p50=(\d+) p95=(\d+) p99=(\d+)", output
    )
    rate_match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if not line or not rate_match:
        raise RuntimeError(f"cannot parse wrk output:\n{output}")
    requests, non_2xx, socket_errors, p50, p95, p99 = (int(value) for value in line.groups())
    return WrkResult(
        requests=requests, rate=float(rate_match.group(1)), non_2xx=non_2xx, socket_errors=socket_errors,
        p50_ms=p50 / 1000, p95_ms=p95 / 1000, p99_ms=p99 / 1000, output=output,
    )
