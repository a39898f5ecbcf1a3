"""``make bench-ballot``: the ballot page of a 1,000-item sitting (on demand, not a timed test).

Starts the system as the browser tests do (its own vhost, SQLite, the mail sink, ``nameko run`` x 3),
submits ITEMS nominations of one unit whose council has 15 members, convenes it, then measures:
time to first byte of the page (requests, sequential), time to a usable page in Chromium (navigation
timing: first byte, DOM interactive = every radio is there, load), and 15 members casting at once
(POST to "recorded"). Prints a Markdown table and writes var/bench/ballot.json.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import yaml

from browser_tests.conftest import CHROMIUM_ARGS, ROOT, System, ballot_link

MEMBERS = 15


def directory() -> dict:
    def members(council):
        return [{"id": f"m-{council}-{n}", "name": f"Thành viên {n}", "email": f"m{n}.{council}@example.vn",
                 "role": "chair" if n == 1 else "member"} for n in range(1, MEMBERS + 1)]
    return {"units": [{"id": "bo", "name": "Bộ", "email": "bo@example.vn"},
                      {"id": "vp", "name": "Văn phòng Bộ", "email": "vanphong@example.vn", "parent": "bo"}],
            "councils": [{"id": "hd-vp", "name": "Hội đồng TĐKT Văn phòng Bộ", "level": "unit", "unit": "vp",
                          "members": members("vp")},
                         {"id": "hd-bo", "name": "Hội đồng TĐKT Bộ", "level": "ministry", "unit": "bo",
                          "members": members("bo")}]}


SUBMIT = """
import json, sys
from shared.devtools.demo import nominations_for
from shared.platform.client import rpc_proxy
from shared.platform.config import LOCAL_ADMIN_TOKEN
uri, count = sys.argv[1], int(sys.argv[2])
with rpc_proxy(uri, {"auth_token": LOCAL_ADMIN_TOKEN}, timeout=60) as proxy:
    token = proxy.intake.issue_unit_token("vp")
with rpc_proxy(uri, {"auth_token": token}, timeout=60) as proxy:
    ids = [proxy.intake.submit_nomination(n)["nomination_id"]
           for n in nominations_for({"id": "vp", "email": "vanphong@example.vn"}, count)]
with rpc_proxy(uri, {"auth_token": LOCAL_ADMIN_TOKEN}, timeout=60) as proxy:
    for nomination_id in ids:  # review has recorded every one
        while True:
            try:
                proxy.review.get_case(nomination_id)
                break
            except Exception:
                pass
    sitting = proxy.review.convene_sitting("hd-vp", {"working_days": 5})
print(sitting["sitting_id"], len(sitting["agenda"]))
"""


def p95(values):
    return sorted(values)[max(0, int(round(0.95 * len(values))) - 1)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1000)
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="tdkt-bench-ballot-"))
    system = System(base)
    try:
        system.start()
        (base / "directory.yml").write_text(yaml.safe_dump(directory(), allow_unicode=True), encoding="utf-8")
        system.tdkt("directory", "load", str(base / "directory.yml"))
        import subprocess
        import sys
        started = time.monotonic()
        out = subprocess.run([sys.executable, "-c", SUBMIT, system.env["AMQP_URI"], str(args.items)], cwd=ROOT,
                             env=system.env, check=True, timeout=1200, capture_output=True, text=True)
        print(f"sitting, items: {out.stdout.strip()} ({time.monotonic() - started:.0f} s to submit and convene)")
        invitations = system.invitations(MEMBERS)
        urls = [ballot_link(m) for m in invitations.values()]
        figures = measure(urls)
        figures["items"] = int(out.stdout.split()[1])  # on the agenda of the sitting convened
        out_dir = ROOT / "var" / "bench"
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "ballot.json").write_text(json.dumps(figures, indent=2))
        print(json.dumps(figures, indent=2))
    finally:
        system.stop()
        shutil.rmtree(base, ignore_errors=True)


def measure(urls: list[str]) -> dict:
    ttfb = []
    for url in urls + urls:  # 30 sequential GETs
        response = requests.get(url, timeout=60, stream=True)
        ttfb.append(response.elapsed.total_seconds() * 1000)
        response.content
    from playwright.sync_api import sync_playwright

    first_byte, interactive, loaded = [], [], []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        for url in urls:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.goto(url)
            timing = page.evaluate("JSON.stringify(performance.getEntriesByType('navigation')[0])")
            timing = json.loads(timing)
            first_byte.append(timing["responseStart"])
            interactive.append(timing["domInteractive"])
            loaded.append(timing["loadEventEnd"])
            page.close()
        browser.close()

    def cast(url):
        page = requests.get(url, timeout=60).text
        csrf = re.search(r'name="csrf" value="([0-9a-f]+)"', page).group(1)
        ids = sorted(set(re.findall(r'name="([^"]+)" value="approve"', page)))
        started = time.perf_counter()
        answer = requests.post(url, data={"csrf": csrf, "action": "cast", **{nid: "approve" for nid in ids}},
                               headers={"Sec-Fetch-Site": "same-origin"}, timeout=60)
        return (time.perf_counter() - started) * 1000, "đã được ghi nhận" in answer.text

    with ThreadPoolExecutor(MEMBERS) as pool:
        casts = list(pool.map(cast, urls))
    return {"ttfb_ms_p50": statistics.median(ttfb), "ttfb_ms_p95": p95(ttfb),
            "chromium_first_byte_ms_p95": p95(first_byte), "chromium_interactive_ms_p50": statistics.median(interactive),
            "chromium_interactive_ms_p95": p95(interactive), "chromium_load_ms_p95": p95(loaded),
            "cast_ms_p50": statistics.median([c[0] for c in casts]), "cast_ms_p95": p95([c[0] for c in casts]),
            "casts_recorded": sum(c[1] for c in casts), "casts": len(casts)}


if __name__ == "__main__":
    main()
