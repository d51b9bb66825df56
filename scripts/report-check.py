#!/usr/bin/env python3
"""The HTML report in a real browser (scripts/test.sh step `report_browser`).

Seeds a sample store (examples/sample_report.rs: 53 hits within an hour,
19 real sources, 12 tokens, test and allowlisted hits, a rotated and a
planted token), writes the report with the real CLI, and opens it in
headless Chromium (Debian's `chromium`):

* a probe script, added to a copy of the page, asserts that no text overflows
  its cell, its section or the page, that no address or token id wraps, and
  that no chart text leaves its chart or overlaps another; at two widths;
* the same for the report of the same hits as a decoy without GeoIP
  databases records them;
* a screenshot of the whole page regenerates docs/report.png.

No pixel comparison: the probe reads the browser's own layout.

  scripts/report-check.py TARGET_DIR    (binaries built by the test step)
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WIDTHS = (1280, 900)
MAX_HEIGHT = 8000

# Runs in the page after everything is laid out (the end of <body>), and
# writes what it found into the DOM for --dump-dom to carry out.
PROBE = r"""
<script>
(function () {
  var bad = [], checked = 0;
  function say(el) {
    var t = (el.textContent || "").replace(/\s+/g, " ").trim();
    return el.tagName.toLowerCase() + (el.className && el.className.baseVal === undefined && el.className ? "." + el.className.split(" ").join(".") : "")
      + ' "' + t.slice(0, 50) + '"';
  }
  // Boxes whose content is wider than the box: a cell, a card, a section, the page.
  document.querySelectorAll("td, th, .stat, section, main, header, p, h1, h2, .split > div").forEach(function (el) {
    checked++;
    if (el.scrollWidth > el.clientWidth + 1) bad.push("overflows: " + say(el) + " (" + el.scrollWidth + " > " + el.clientWidth + ")");
  });
  if (document.documentElement.scrollWidth > window.innerWidth) {
    bad.push("the page scrolls sideways (" + document.documentElement.scrollWidth + " > " + window.innerWidth + ")");
  }
  // Addresses and token ids are read whole: one line box each.
  document.querySelectorAll(".id, .addr").forEach(function (el) {
    checked++;
    if (el.tagName.toLowerCase() !== "text" && el.getClientRects().length > 1) bad.push("wraps: " + say(el));
    var r = el.getBoundingClientRect(), range = document.createRange();
    range.selectNodeContents(el);
    if (el.tagName.toLowerCase() !== "text" && range.getClientRects().length > 1) bad.push("wraps: " + say(el));
  });
  // Chart text: inside its chart, and not on top of other text.
  document.querySelectorAll("svg").forEach(function (svg) {
    var vb = svg.viewBox.baseVal, texts = Array.prototype.slice.call(svg.querySelectorAll("text"));
    texts.forEach(function (t) {
      checked++;
      var b = t.getBBox();
      if (b.width > 0 && (b.x < vb.x - 0.5 || b.x + b.width > vb.x + vb.width + 0.5 || b.y < vb.y - 0.5 || b.y + b.height > vb.y + vb.height + 0.5)) {
        bad.push("outside its chart: " + say(t) + " (x " + b.x.toFixed(1) + ".." + (b.x + b.width).toFixed(1) + " of " + vb.width + ")");
      }
    });
    for (var i = 0; i < texts.length; i++) {
      var a = texts[i].getBoundingClientRect();
      for (var j = i + 1; j < texts.length; j++) {
        var b = texts[j].getBoundingClientRect();
        if (a.width && b.width && a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1) {
          bad.push("chart text overlaps: " + say(texts[i]) + " / " + say(texts[j]));
        }
      }
    }
  });
  var out = document.createElement("pre");
  out.id = "layout-probe";
  out.textContent = JSON.stringify({ checked: checked, bad: bad, height: document.documentElement.scrollHeight });
  document.body.appendChild(out);
})();
</script>
"""


def die(msg):
    print("error: " + msg, file=sys.stderr)
    sys.exit(1)


def chromium_cmd(profile, width, height):
    exe = shutil.which("chromium") or die("chromium is not installed (apt-get install -y chromium)")
    return [
        exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--hide-scrollbars", "--force-device-scale-factor=1",
        "--user-data-dir=" + profile, "--window-size=%d,%d" % (width, height),
    ]


def probe(html_path, work, width):
    """Lays the page out at `width` and returns what the probe found."""
    html = open(html_path, encoding="utf-8").read()
    # The report forbids every script by its CSP; only this copy runs the probe.
    probed, n = re.subn(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)
    if n != 1:
        die("%s: no Content-Security-Policy meta tag" % html_path)
    probed = probed.replace("</body>", PROBE + "</body>", 1)
    path = os.path.join(work, "probe-%d.html" % width)
    open(path, "w", encoding="utf-8").write(probed)
    profile = tempfile.mkdtemp(dir=work)
    out = subprocess.run(
        chromium_cmd(profile, width, 1000) + ["--dump-dom", "file://" + path],
        capture_output=True, text=True, timeout=120,
    )
    m = re.search(r'<pre id="layout-probe">(.*?)</pre>', out.stdout, re.S)
    if not m:
        die("the probe did not run in chromium (exit %d): %s" % (out.returncode, out.stderr[-2000:]))
    text = m.group(1).replace("&quot;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return json.loads(text)


def screenshot(html_path, work, png, height):
    profile = tempfile.mkdtemp(dir=work)
    subprocess.run(
        chromium_cmd(profile, WIDTHS[0], height) + ["--screenshot=" + png, "file://" + html_path],
        capture_output=True, text=True, timeout=120, check=True,
    )
    if not os.path.exists(png) or os.path.getsize(png) < 10000:
        die("chromium wrote no screenshot to " + png)


def main():
    target = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "debug")
    cli = os.path.join(target, "honeytoken")
    sample = os.path.join(target, "examples", "sample_report")
    work = tempfile.mkdtemp(prefix="report-check-")
    failures = []
    try:
        reports = {}
        for name, flag in (("report", []), ("report-no-geoip", ["--no-geo"])):
            data = os.path.join(work, name)
            subprocess.run([sample, data] + flag, check=True)
            out = os.path.join(work, name + ".html")
            subprocess.run([cli, "--data-dir", data, "report", "--out", out], check=True)
            reports[name] = out
        height = None
        for name, path in reports.items():
            for width in WIDTHS:
                found = probe(path, work, width)
                if found["checked"] < 100:
                    failures.append("%s at %dpx: only %d elements checked" % (name, width, found["checked"]))
                for b in found["bad"]:
                    failures.append("%s at %dpx: %s" % (name, width, b))
                print("%s at %dpx: %d elements checked, %d problems, page %dpx high"
                      % (name, width, found["checked"], len(found["bad"]), found["height"]))
                if name == "report" and width == WIDTHS[0]:
                    height = found["height"]
        png = os.path.join(ROOT, "docs", "report.png")
        screenshot(reports["report"], work, png, min(height, MAX_HEIGHT))
        print("wrote %s (%dx%d)" % (png, WIDTHS[0], min(height, MAX_HEIGHT)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("\n".join(failures), file=sys.stderr)
        die("%d layout problems in the report" % len(failures))
    print("report layout ok")


if __name__ == "__main__":
    main()
