"""Plain vs residual PPO: success against env steps, and the steps each needs to reach the controller.

    python benchmarks/sample_efficiency.py --runs runs/plain runs/residual --tasks Stapler SprayerTrigger \
        --png docs/images/sample_efficiency.png

Reads each run's ``tb/progress.csv`` (the success rate of the training rollouts, which are stochastic
and start from random grasps of the training set), smooths it over ``--window`` PPO iterations, and
prints, per task, the first step where each kind of run reached the task controller's success on the
same grasp set (``results/controller/table_ii``, rule grasps of seen objects). Side by side in one run.
Every ``<Task>_rule_s<seed>`` run in the folders is read: a row per run, a summary row per kind when there
are several seeds, and the chart shows the mean over seeds with the min–max band.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

TASK_OF = {"Stapler": "stapler", "SprayerPress": "sprayer_press", "SprayerTrigger": "sprayer_trigger",
           "BottleCap": "bottle", "PenPress": "pen"}


def curve(run: Path, window: int, max_steps: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    from dextog_gym.policies.progress_log import read_progress

    rows = [r for r in read_progress(run / "tb") if r.get("episode/success_rate") not in (None, "")]
    if max_steps is not None:  # a run continued past the compared budget counts up to it only
        rows = [r for r in rows if float(r["time/total_timesteps"]) <= max_steps]
    steps = np.array([float(r["time/total_timesteps"]) for r in rows])
    rate = np.array([float(r["episode/success_rate"]) for r in rows])
    # Full windows only: the first iterations hold a handful of episodes each.
    smooth = np.array([rate[i - window + 1: i + 1].mean() for i in range(window - 1, len(rate))])
    return steps[window - 1:], smooth


def controller_rate(task: str, results: Path) -> float | None:
    path = results / f"{TASK_OF[task]}__rule__seen__policy-controller.json"
    if not path.is_file():
        return None
    episodes = [e for e in json.loads(path.read_text())["episodes"] if not e.get("skipped")]
    return float(np.mean([e["success"] for e in episodes])) if episodes else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", nargs="+", type=Path, required=True, help="folders of <Task>_rule_s<seed> runs")
    parser.add_argument("--tasks", nargs="+", default=["Stapler", "SprayerTrigger"])
    parser.add_argument("--window", type=int, default=10, help="PPO iterations in the rolling mean")
    parser.add_argument("--controller-results", type=Path, default=Path("results/controller/table_ii"))
    parser.add_argument("--max-steps", type=int, default=None, help="compare the runs up to this many env steps")
    parser.add_argument("--png", type=Path, default=None)
    args = parser.parse_args()
    from dextog_gym.tables import format_table

    rows, curves = [], []
    for task in args.tasks:
        target = controller_rate(task, args.controller_results)
        for folder in args.runs:
            for run in sorted(folder.glob(f"{task}_rule_s*")):
                if not (run / "tb" / "progress.csv").is_file():
                    continue
                base = json.loads((run / "config.json").read_text())["hyperparams"].get("base", "none")
                steps, smooth = curve(run, args.window, args.max_steps)
                hit = target is not None and bool((smooth >= target).any())
                reached = steps[np.argmax(smooth >= target)] if hit else None
                label = "residual" if base == "controller" else "plain"
                curves.append((task, label, run.name, steps, smooth))
                rows.append([task, label, run.name, f"{int(steps[-1])}", f"{100 * smooth[-1]:.0f}%",
                             "-" if target is None else f"{100 * target:.0f}%",
                             "not within the run" if reached is None else f"{int(reached)}"])
    for task in args.tasks:  # one summary row per kind: the seeds side by side
        for label in ("plain", "residual"):
            runs = [(steps, smooth) for t, lab, _, steps, smooth in curves if t == task and lab == label]
            if len(runs) < 2:
                continue
            target = controller_rate(task, args.controller_results)
            finals = [100 * smooth[-1] for _, smooth in runs]
            hits = [int(steps[np.argmax(smooth >= target)]) if target is not None and (smooth >= target).any()
                    else None for steps, smooth in runs]
            reached = sorted(h for h in hits if h is not None)
            rows.append([task, label, f"{len(runs)} seeds", f"{int(min(int(s[-1]) for s, _ in runs))}",
                         f"{np.mean(finals):.0f}% (seeds {', '.join(f'{v:.0f}' for v in finals)})",
                         "-" if target is None else f"{100 * target:.0f}%",
                         f"{len(reached)} of {len(runs)} seeds" + (f", median {int(np.median(reached))}" if reached
                                                                   else "")])
    print(format_table(["task", "PPO", "run", "steps", f"final success (mean of {args.window} iterations)",
                        "controller", "steps to reach the controller"], rows))
    if args.png:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, len(args.tasks), figsize=(5 * len(args.tasks), 3.4), dpi=110, squeeze=False)
        for ax, task in zip(axes[0], args.tasks):
            for label, colour in (("plain", "tab:orange"), ("residual", "tab:blue")):
                runs = [(steps, smooth) for t, lab, _, steps, smooth in curves if t == task and lab == label]
                if not runs:
                    continue
                n = min(len(steps) for steps, _ in runs)  # seeds log the same iterations; cut to the shortest
                grid = runs[0][0][:n]
                stack = 100 * np.array([smooth[:n] for _, smooth in runs])
                ax.plot(grid, stack.mean(axis=0), color=colour, label=f"{label} PPO, mean of {len(runs)} seed(s)")
                if len(runs) > 1:
                    ax.fill_between(grid, stack.min(axis=0), stack.max(axis=0), color=colour, alpha=0.2,
                                    label=f"{label}: min–max over seeds")
            target = controller_rate(task, args.controller_results)
            if target is not None:
                ax.axhline(100 * target, color="grey", linestyle="--", label="controller alone")
            ax.set_title(task)
            ax.set_xlabel("env steps")
            ax.set_ylabel("training success (%)")
            ax.set_ylim(0, 100)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
        fig.tight_layout()
        args.png.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.png)
        print(f"chart: {args.png}")


if __name__ == "__main__":
    main()
