"""A horizontal bar chart of median latency per configuration, drawn with OpenCV (no plotting
library in the lock): one group per model and thread count, one bar per runtime and options."""
import os

import cv2
import numpy as np

COLORS = {"eager": (90, 90, 200), "lite_py": (200, 150, 60), "lite_cc": (60, 160, 60), "onnxruntime": (60, 120, 230)}


def write_png(rows, path):
    rows = sorted(rows, key=lambda r: (r["model"], r["threads"], r["median_ms"]))
    bar, gap, left, width = 22, 14, 430, 1100
    groups = []
    for r in rows:
        key = (r["model"], r["threads"])
        if not groups or groups[-1][0] != key:
            groups.append((key, []))
        groups[-1][1].append(r)
    height = 60 + sum(30 + len(g[1]) * bar + gap for g in groups)
    image = np.full((height, width, 3), 255, np.uint8)
    longest = max(r["median_ms"] for r in rows)
    scale = (width - left - 120) / longest
    cv2.putText(image, "Median latency (ms), lower is better", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (0, 0, 0), 2)
    y = 60
    for (model, threads), members in groups:
        cv2.putText(image, "%s, %d thread(s)" % (model, threads), (10, y + 18), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 2)
        y += 30
        for r in members:
            label = "%s [%s]" % (r["runtime"], r["options"])
            cv2.putText(image, label[:52], (20, y + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (40, 40, 40), 1)
            end = left + int(r["median_ms"] * scale)
            cv2.rectangle(image, (left, y + 2), (end, y + bar - 4), COLORS.get(r["runtime"], (128, 128, 128)), -1)
            cv2.putText(image, "%.1f" % r["median_ms"], (end + 6, y + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1)
            y += bar
        y += gap
    tmp = path + ".tmp.png"
    if not cv2.imwrite(tmp, image):
        raise OSError("cannot write " + path)
    os.replace(tmp, path)
