#!/usr/bin/env bash
# tests/bench/report.sh - the benchmark's table, from a results directory.
#
#   tests/bench/report.sh DIR
#
# Reads DIR/results.tsv (target, workload, rep, value, unit), DIR/notes.tsv
# (target, durability), DIR/meta.tsv, and the stdout of other benches in
# DIR/NAME/stdout. Prints the table (median and min-max of the
# repetitions per cell), the ratios against cephvol's goals
# (docs/benchmarks.md), the durability notes and the other benches' output; writes
# DIR/results.json with the same figures. Can be re-run on an old DIR.
set -euo pipefail
dir=${1:?usage: report.sh DIR}
[ -f "$dir/results.tsv" ] || { echo "report.sh: no $dir/results.tsv" >&2; exit 1; }

python3 - "$dir" <<'PY'
import json, os, statistics, sys

d = sys.argv[1]
rows = []
for line in open(os.path.join(d, "results.tsv")):
    f = line.rstrip("\n").split("\t")
    if len(f) != 5:
        continue
    try:
        rows.append((f[0], f[1], f[2], float(f[3]), f[4]))
    except ValueError:
        pass

def kv(name):
    out = {}
    p = os.path.join(d, name)
    if os.path.exists(p):
        for line in open(p):
            k, _, v = line.rstrip("\n").partition("\t")
            out[k] = (out[k] + "; " + v) if k in out else v
    return out

meta, notes = kv("meta.tsv"), kv("notes.tsv")

cells = {}	# (target, workload) -> {unit, values}
for t, w, rep, v, u in rows:
    c = cells.setdefault((t, w), {"unit": u, "values": []})
    c["values"].append(v)

def stat(t, w):
    c = cells.get((t, w))
    if not c:
        return None
    v = sorted(c["values"])
    return {"target": t, "workload": w, "unit": c["unit"], "n": len(v),
            "median": statistics.median(v), "min": v[0], "max": v[-1], "values": c["values"]}

MAIN = ["ours", "ours-ext4", "librbd", "librbd-cache", "rados", "rbd-fuse-nocache", "rbd-fuse", "cephfs", "local"]
WORK = [("seqwrite", "seq write 1M qd16"), ("seqread", "seq read 1M qd16"),
        ("randwrite", "4K randwrite qd16"), ("randread", "4K randread qd16"),
        ("fsync", "4K write+fsync qd1"), ("fsync_p50", "  p50 write+fsync"),
        ("fsync_p99", "  p99 write+fsync"), ("walfsync", "4K append+fsync qd1"),
        ("walfsync_p50", "  p50 append+fsync"), ("walfsync_p99", "  p99 append+fsync"),
        ("waldsync", "8K overwrite+fdatasync"),
        ("waldsync_p50", "  p50 overwr.+fdatasync"), ("waldsync_p99", "  p99 overwr.+fdatasync"),
        ("untar", "untar 20k files+sync"),
        ("pgbench_init", "pgbench -i"), ("pgbench", "pgbench TPS"),
        ("space_full", "RADOS/disk after load"), ("space_trimmed", "  after rm+fstrim"),
        ("rss_peak", "peak RSS (VmHWM)")]
targets = [t for t in MAIN if any(k[0] == t for k in cells)]
known = {w for w, _ in WORK}

def num(x):
    if x >= 100:
        return "%.0f" % x
    if x >= 10:
        return "%.1f" % x
    return "%.2f" % x

def cell(s):
    if not s:
        return "-"
    if s["n"] == 1:
        return num(s["median"])
    return "%s (%s-%s)" % (num(s["median"]), num(s["min"]), num(s["max"]))

print()
print("cephvol benchmark  %s  %s" % (meta.get("date", "?"), meta.get("commit", "")))
print("%s; %s" % (meta.get("host", ""), meta.get("params", "")))
print("cells: median (min-max) of the repetitions; the spread is this machine's noise")
print()
wl, wu = 22, 6
widths = {t: max(len(t), max((len(cell(stat(t, w))) for w, _ in WORK), default=1)) for t in targets}
if targets:
    print("%-*s %-*s " % (wl, "workload", wu, "unit") + "  ".join("%*s" % (widths[t], t) for t in targets))
for w, label in WORK if targets else []:
    ss = [stat(t, w) for t in targets]
    if not any(ss):
        continue
    unit = next(s["unit"] for s in ss if s)
    print("%-*s %-*s " % (wl, label, wu, unit) + "  ".join("%*s" % (widths[t], cell(s)) for t, s in zip(targets, ss)))

# the noise: spread of the repetitions, (max - min) / median, per cell of
# the table (an other bench's "reps" may be samples of a distribution, e.g.
# one per snapshot taken: not noise)
spreads = sorted(((s["max"] - s["min"]) / s["median"], t, w)
                 for s in (stat(t, w) for t, w in cells if t in MAIN) if s and s["n"] > 1 and s["median"] > 0
                 for t, w in [(s["target"], s["workload"])])
if spreads:
    med = statistics.median(x[0] for x in spreads)
    worst = spreads[-1]
    print()
    print("noise: the repetitions of a cell spread by %.0f%% of its median (median over %d cells), "
          "worst %.0f%% (%s %s)" % (100 * med, len(spreads), 100 * worst[0], worst[1], worst[2]))

# rows of other benches or workloads this report does not know: long format
extra = sorted(k for k in cells if k[0] not in MAIN or k[1] not in known)
if extra:
    print()
    print("other figures (target workload: median (min-max) unit)")
    for t, w in extra:
        s = stat(t, w)
        print("  %-16s %-24s %s %s" % (t, w, cell(s), s["unit"]))

# cephvol's goals (docs/benchmarks.md)
GOALS = [
    ("seq write vs librbd", "seqwrite", "librbd", ">=", 0.85),
    ("seq read vs librbd", "seqread", "librbd", ">=", 0.90),
    ("4K randwrite vs librbd", "randwrite", "librbd", ">=", 0.75),
    ("4K randread vs librbd", "randread", "librbd", ">=", 0.75),
    ("fsync p99 vs librbd", "fsync_p99", "librbd", "<=", 1.5),
    ("append+fsync p50 vs librbd", "walfsync_p50", "librbd", "<=", 2.0),
    ("append+fsync p99 vs librbd", "walfsync_p99", "librbd", "<=", 2.0),
    ("PG WAL fdatasync p50 vs librbd", "waldsync_p50", "librbd", "<=", 1.5),
    ("PG WAL fdatasync p99 vs librbd", "waldsync_p99", "librbd", "<=", 2.0),
    ("pgbench TPS vs rbd-fuse nc", "pgbench", "rbd-fuse-nocache", ">=", 1.0),
    ("pgbench TPS vs rbd-fuse", "pgbench", "rbd-fuse", ">=", 1.5),
    ("pgbench TPS vs CephFS", "pgbench", "cephfs", ">=", 2.0),
    ("untar time vs local ext4", "untar", "local", "<=", 1.5),
]
goals = []
print()
print("targets (ours / reference, medians; ours: the default, xfs; ours-ext4: -o fs=ext4)")
for me, label, w, ref, op, goal in [(m, l, w, r, o, g) for m in ("ours", "ours-ext4")
                                    for l, w, r, o, g in GOALS
                                    if m == "ours" or any(k[0] == m for k in cells)]:
    label = label if me == "ours" else "ext4: " + label
    a, b = stat(me, w), stat(ref, w)
    if a and b and b["median"] > 0:
        r = a["median"] / b["median"]
        ok = r >= goal if op == ">=" else r <= goal
        line = "%-34s %6.2fx  goal %s %.2fx  %s   (%s vs %s %s)" % (
            label, r, op, goal, "met" if ok else "MISSED", num(a["median"]), num(b["median"]), a["unit"])
    else:
        r, ok = None, None
        line = "%-34s      -   goal %s %.2fx  not measured (%s)" % (
            label, op, goal, me if not a else ref)
    goals.append({"what": label, "target": me, "workload": w, "reference": ref, "op": op, "goal": goal,
                  "ratio": r, "met": ok})
    print(line)
m = stat("ours", "rss_peak")
ok = None if not m else m["max"] <= 64
goals.append({"what": "cephvol-mount peak RSS", "workload": "rss_peak", "reference": None,
              "op": "<=", "goal": 64, "ratio": m["max"] if m else None, "met": ok})
print("%-34s %s" % ("cephvol-mount peak RSS",
      "not measured" if not m else "%s MiB  goal <= 64 MiB  %s" % (num(m["max"]), "met" if ok else "MISSED")))

if notes:
    print()
    print("durability of an acknowledged write")
    for t in sorted(notes):
        print("  %-12s %s" % (t, notes[t]))

for name in ("image", "datapath", "docker", "secrets", "snapshots", "backup", "qos", "scale"):
    p = os.path.join(d, name, "stdout")
    if os.path.exists(p):
        rc = open(os.path.join(d, name, "exit")).read().strip() if os.path.exists(os.path.join(d, name, "exit")) else "?"
        print()
        print("--- tests/bench/%s.sh (exit %s) ---" % (name, rc))
        sys.stdout.write(open(p).read())

if "duration" in meta:
    print()
    print("run took %s; load %s; %s" % (meta["duration"], meta.get("load", ""), meta.get("load_end", "")))

json.dump({"meta": meta, "durability": notes,
           "results": [stat(t, w) for t, w in sorted(cells)], "targets": goals},
          open(os.path.join(d, "results.json"), "w"), indent=1)
PY
