#!/usr/bin/env python3
"""Turns scripts/bench's raw runs (runs.jsonl / sweep.jsonl + meta) into results.csv, results.json,
SVG charts and the generated sections of docs/benchmarks.md. Standard library only.

  bench-report.py --out DIR [--docs docs/benchmarks.md] [--sweep]
"""
import argparse
import csv
import html
import json
import os
import re
import statistics
import sys

CASE_LABEL = {
    "zfs": {
        "a": "(a) zfs send | ssh | zfs recv",
        "b": "(b) + pbzip2 + mbuffer",
        "c": "(c) + zstd -T0 + mbuffer",
        "d": "(d) local zfs send | zfs recv",
        "push": "(e) pgmigrate push",
        "pull": "(e) pgmigrate pull",
        "tlspush": "(e) pgmigrate push, TLS data path",
        "tlspull": "(e) pgmigrate pull, TLS data path",
    },
    "transport": {
        "a": "(a') cat | ssh | cat",
        "b": "(b') pbzip2 + mbuffer + ssh",
        "c": "(c') zstd -T0 + mbuffer + ssh",
        "d": "(d') local zstd | zstd -d",
        "push": "(e') pgmigrate push",
        "pull": "(e') pgmigrate pull",
        "tlspush": "(e') pgmigrate push, TLS data path",
        "tlspull": "(e') pgmigrate pull, TLS data path",
    },
}
CASE_ORDER = ["a", "b", "c", "d", "push", "pull", "tlspush", "tlspull"]
PGM_CASES = ("push", "pull", "tlspush", "tlspull")
# How the targets name a pgmigrate case: "push", "TLS push" (--tls-port).
DIRN_NAME = {"push": "push", "pull": "pull", "tlspush": "TLS push", "tlspull": "TLS pull"}
MODE_TITLE = {"zfs": "ZFS end to end", "transport": "Transport only (cat FILE -> cat > /dev/null)"}
RTT_COLOR = {"0": "#4c78a8", "60": "#f58518", "local": "#54a24b"}
MIB = 1 << 20


def load(out, sweep):
    runs_file = os.path.join(out, "sweep.jsonl" if sweep else "runs.jsonl")
    meta_file = os.path.join(out, "sweep-meta.json" if sweep else "meta.json")
    with open(meta_file) as f:
        meta = json.load(f)
    runs = []
    with open(runs_file) as f:
        for line in f:
            line = line.strip()
            if line:
                runs.append(json.loads(line))
    return meta, runs


def median(vals):
    vals = [v for v in vals if v is not None and v >= 0]
    return statistics.median(vals) if vals else None


def aggregate(runs):
    """Median of repeated runs per (mode, rtt, case, variant); failed runs are kept apart."""
    groups = {}
    for r in runs:
        groups.setdefault((r["mode"], r["rtt"], r["case"], r["variant"]), []).append(r)
    rows = []
    for order, ((mode, rtt, case, variant), rs) in enumerate(groups.items()):
        good = [r for r in rs if r["ok"]]
        use = good or rs
        row = {
            "mode": mode, "rtt": rtt, "case": case, "variant": variant, "args": use[0]["args"],
            "runs": len(rs), "failed": len(rs) - len(good),
            "mb_s": median([r["mb_s"] for r in use]) if good else 0.0,
            "seconds": median([r["seconds"] for r in use]),
            "logical_bytes": use[0]["logical_bytes"],
            "wire_bytes": median([r["wire_c2s"] + r["wire_s2c"] for r in use]),
            "cpu_s": median([r["cpu_s"] for r in use]),
            "zfs_fuse_cpu_s": median([r["zfs_fuse_cpu_s"] for r in use]),
            "relay_cpu_s": median([r["relay_cpu_s"] for r in use]),
            "near_rss_mib": (median([r["near_rss_kib"] for r in use]) or 0) / 1024,
            "far_rss_mib": (median([r["far_rss_kib"] for r in use]) or 0) / 1024,
            "load": ", ".join(sorted({r["load"].split()[0] for r in rs})),
            "order": order,
        }
        rows.append(row)
    return rows


def add_ratios(rows):
    by = {(r["mode"], r["rtt"], r["case"]): r for r in rows if r["variant"] in (r["case"], "default", "d")}
    for r in rows:
        a = by.get((r["mode"], r["rtt"], "a"))
        d = by.get((r["mode"], "local", "d"))
        r["x_a"] = r["mb_s"] / a["mb_s"] if a and a["mb_s"] else None
        r["x_d"] = r["mb_s"] / d["mb_s"] if d and d["mb_s"] else None
    return by


def fmt(v, nd=1):
    if v is None:
        return "-"
    return f"{v:.{nd}f}"


def rtt_label(rtt):
    return "none" if rtt == "local" else f"{rtt} ms"


def sort_key(r):
    rtt = -1 if r["rtt"] == "local" else float(r["rtt"])
    return (r["mode"], rtt, CASE_ORDER.index(r["case"]) if r["case"] in CASE_ORDER else 99, r["variant"])


def table(rows, mode):
    out = [
        "| case | RTT | MB/s | seconds | on the wire (MB) | CPU s | CPU s per GB | zfs-fuse CPU s | peak RSS near / far (MiB) | x (a) | x (d) | load |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for r in sorted((r for r in rows if r["mode"] == mode), key=sort_key):
        label = CASE_LABEL[mode].get(r["case"], r["case"]).replace("|", "\\|")
        if r["variant"] not in (r["case"], "default"):
            label += f" [{r['variant']}]"
        if r["failed"]:
            label += f" (FAILED {r['failed']}/{r['runs']})"
        wire = "-" if r["rtt"] == "local" else fmt(r["wire_bytes"] / 1e6, 0)
        zf = fmt(r["zfs_fuse_cpu_s"]) if mode == "zfs" else "-"
        out.append(
            f"| {label} | {rtt_label(r['rtt'])} | **{fmt(r['mb_s'])}** | {fmt(r['seconds'])} | {wire} | {fmt(r['cpu_s'])} | {fmt(r['cpu_s'] / (r['logical_bytes'] / 1e9) if r['cpu_s'] is not None else None, 2)} | {zf} | "
            f"{fmt(r['near_rss_mib'], 0)} / {fmt(r['far_rss_mib'], 0) if r['rtt'] != 'local' else '-'} | "
            f"{fmt(r['x_a'], 2)} | {fmt(r['x_d'], 2)} | {r['load']} |"
        )
    return "\n".join(out)


def targets(rows):
    by = {(r["mode"], r["rtt"], r["case"]): r for r in rows if r["variant"] in (r["case"], "default", "d")}
    lines = ["| target | measured | met |", "|---|---|---|"]

    def chk(name, value, want, text):
        if value is None:
            return
        lines.append(f"| {name} | {text} | {'yes' if value >= want else '**no**'} |")

    for dirn in PGM_CASES:
        name_d = DIRN_NAME[dirn]
        z = by.get(("zfs", "60", dirn))
        d = by.get(("zfs", "local", "d"))
        if z and d and d["mb_s"]:
            chk(f"ZFS {name_d}, 60 ms >= 70% of (d)", z["mb_s"] / d["mb_s"], 0.7, f"{z['mb_s']:.0f} / {d['mb_s']:.0f} MB/s = {z['mb_s'] / d['mb_s']:.0%}")
        t = by.get(("transport", "60", dirn))
        if t:
            for ref, want, name in (("a", 5.0, "5x (a')"), ("c", 2.5, "2.5x (c')")):
                rr = by.get(("transport", "60", ref))
                if rr and rr["mb_s"]:
                    chk(f"transport {name_d}, 60 ms >= {name}", t["mb_s"] / rr["mb_s"], want, f"{t['mb_s']:.0f} / {rr['mb_s']:.0f} MB/s = {t['mb_s'] / rr['mb_s']:.2f}x")
            dd = by.get(("transport", "local", "d"))
            if dd and dd["mb_s"]:
                chk(f"transport {name_d}, 60 ms >= 60% of (d')", t["mb_s"] / dd["mb_s"], 0.6, f"{t['mb_s']:.0f} / {dd['mb_s']:.0f} MB/s = {t['mb_s'] / dd['mb_s']:.0%}")
        for mode in ("zfs", "transport"):
            p = by.get((mode, "0", dirn))
            c = by.get((mode, "0", "c"))
            if p and c and c["mb_s"]:
                chk(f"{mode} {name_d}, 0 ms >= (c)", p["mb_s"] / c["mb_s"], 1.0, f"{p['mb_s']:.0f} vs {c['mb_s']:.0f} MB/s")
    rss = [max(r["near_rss_mib"], r["far_rss_mib"]) for r in rows if r["case"] in PGM_CASES and r["variant"] == "default"]
    if rss:
        worst = max(rss)
        lines.append(f"| peak RSS at defaults <= 256 MiB each end | max {worst:.0f} MiB | {'yes' if worst <= 256 else '**no**'} |")
    return "\n".join(lines)


def svg_chart(rows, mode, title):
    data = [r for r in sorted((r for r in rows if r["mode"] == mode), key=sort_key)]
    if not data:
        return None
    cases = [c for c in CASE_ORDER if any(r["case"] == c for r in data)]
    rtts = []
    for r in data:
        if r["rtt"] not in rtts:
            rtts.append(r["rtt"])
    bar_h, gap, left, right, top = 16, 12, 250, 90, 48
    n_bars = sum(1 for c in cases for t in rtts if any(r["case"] == c and r["rtt"] == t for r in data))
    height = top + n_bars * (bar_h + 2) + len(cases) * gap + 40
    width = 820
    vmax = max(r["mb_s"] for r in data) or 1
    scale = (width - left - right) / vmax
    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
         f'<rect width="{width}" height="{height}" fill="white"/>',
         f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="15" font-weight="bold">{html.escape(title)}</text>',
         f'<text x="{width / 2}" y="37" text-anchor="middle" fill="#555">logical MB/s (higher is better)</text>']
    y = top
    for c in cases:
        first = True
        for t in rtts:
            r = next((r for r in data if r["case"] == c and r["rtt"] == t), None)
            if not r:
                continue
            if first:
                s.append(f'<text x="{left - 8}" y="{y + bar_h - 3}" text-anchor="end">{html.escape(CASE_LABEL[mode].get(c, c))}</text>')
                first = False
            w = max(1, r["mb_s"] * scale)
            color = RTT_COLOR.get(t, "#999")
            s.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{color}"/>')
            s.append(f'<text x="{left + w + 4:.1f}" y="{y + bar_h - 3}">{r["mb_s"]:.0f} ({rtt_label(t)})</text>')
            y += bar_h + 2
        y += gap
    s.append(f'<line x1="{left}" y1="{top - 4}" x2="{left}" y2="{y - gap + 2}" stroke="#333"/>')
    lx = left
    for t in rtts:
        s.append(f'<rect x="{lx}" y="{height - 22}" width="12" height="12" fill="{RTT_COLOR.get(t, "#999")}"/>')
        s.append(f'<text x="{lx + 16}" y="{height - 12}">{html.escape("no network" if t == "local" else "RTT " + t + " ms")}</text>')
        lx += 130
    s.append("</svg>")
    return "\n".join(s) + "\n"


def machine(meta):
    return (f"{meta['cores']} cores ({meta['cpu']}), {meta['ram_gib']} GiB RAM, Linux {meta['kernel']}; "
            f"{meta['openssh']}; libssh2 {meta['libssh2']}; {meta['zstd']}; zfs-fuse {meta['zfs_fuse']}; "
            f"pbzip2 {meta['pbzip2']}; mbuffer {meta['mbuffer']}; {meta['pgmigrate']} ({meta['commit']})")


def dataset(meta):
    return (f"{meta['size'] / MIB:.0f} MiB requested: pgbench scale {meta['pgbench_scale']} data directory "
            f"({meta['pgdata_bytes'] / MIB:.0f} MiB) + {meta['blob_bytes'] / MIB:.0f} MiB of random blobs; "
            f"send stream {meta['stream_bytes'] / 1e6:.0f} MB, zstd -3 makes it {meta['stream_zstd3_bytes'] / 1e6:.0f} MB "
            f"({meta['stream_bytes'] / max(1, meta['stream_zstd3_bytes']):.2f}x)")


def replace_section(doc, name, body):
    begin, end = f"<!-- BEGIN generated:{name} (scripts/bench) -->", f"<!-- END generated:{name} -->"
    text = open(doc).read() if os.path.exists(doc) else "# Benchmarks\n"
    block = f"{begin}\n{body.rstrip()}\n{end}"
    if begin in text and end in text:
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _m: block, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    with open(doc, "w") as f:
        f.write(text)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--docs")
    ap.add_argument("--sweep", action="store_true")
    a = ap.parse_args()
    meta, runs = load(a.out, a.sweep)
    rows = aggregate(runs)
    add_ratios(rows)
    rows.sort(key=sort_key)
    prefix = "sweep" if a.sweep else "results"
    with open(os.path.join(a.out, prefix + ".json"), "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=1)
    cols = ["mode", "rtt", "case", "variant", "args", "runs", "failed", "mb_s", "seconds", "logical_bytes", "wire_bytes",
            "cpu_s", "zfs_fuse_cpu_s", "relay_cpu_s", "near_rss_mib", "far_rss_mib", "x_a", "x_d", "load"]
    with open(os.path.join(a.out, prefix + ".csv"), "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(r)

    head = (f"Machine: {machine(meta)}.\n\nData: {dataset(meta)}.\n\nRun {meta['date']}, {meta['reps']} run(s) per line "
            f"(median){', pgmigrate options: ' + meta['pgm_args'] if meta['pgm_args'] else ''}; CPU accounting: cgroup {meta['cgroup']}.\n")
    if not a.sweep:
        md = [head]
        for mode in ("zfs", "transport"):
            if not any(r["mode"] == mode for r in rows):
                continue
            svg = svg_chart(rows, mode, MODE_TITLE[mode])
            name = f"{mode}.svg"
            with open(os.path.join(a.out, name), "w") as f:
                f.write(svg)
            md.append(f"### {MODE_TITLE[mode]}\n")
            md.append(table(rows, mode) + "\n")
            rel = os.path.relpath(os.path.join(a.out, name), os.path.dirname(os.path.abspath(a.docs)) if a.docs else a.out)
            md.append(f"![{MODE_TITLE[mode]}]({rel})\n")
        md.append("### Targets (issue 6)\n")
        md.append(targets(rows) + "\n")
        text = "\n".join(md)
        with open(os.path.join(a.out, "results.md"), "w") as f:
            f.write(text)
        if a.docs:
            replace_section(a.docs, "results", text)
    else:
        md = [head]
        for mode in ("transport", "zfs"):
            for dirn in PGM_CASES:
                sel = sorted((r for r in rows if r["mode"] == mode and r["case"] == dirn), key=lambda r: r["order"])
                if not sel:
                    continue
                rtts = sorted({r["rtt"] for r in sel})
                md.append(f"### {MODE_TITLE[mode]}: {dirn}, RTT {', '.join(rtts)} ms\n")
                md.append("| variant | MB/s | on the wire (MB) | CPU s | peak RSS near / far (MiB) | load |")
                md.append("|---|--:|--:|--:|--:|---|")
                for r in sel:
                    bad = f" (FAILED {r['failed']}/{r['runs']})" if r["failed"] else ""
                    md.append(f"| {r['variant']}{bad} | **{fmt(r['mb_s'])}** | {fmt(r['wire_bytes'] / 1e6, 0)} | {fmt(r['cpu_s'])} | "
                              f"{fmt(r['near_rss_mib'], 0)} / {fmt(r['far_rss_mib'], 0)} | {r['load']} |")
                md.append("")
        text = "\n".join(md)
        with open(os.path.join(a.out, "sweep.md"), "w") as f:
            f.write(text)
        if a.docs:
            replace_section(a.docs, "sweep", text)
    print(text)


if __name__ == "__main__":
    sys.exit(main())
