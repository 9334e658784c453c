"""Sweep NDPP source options on 2 seen objects per task × 4 grasps (docs/ndpp.md, NDPP Table 3 shape).

Run: ``python benchmarks/ndpp_gradient_scale.py '[["surrogate λ5", {"guidance": "surrogate_gradient",
"temperature": 5.0}], ["spsa λ50", {"guidance": "finite_difference", "temperature": 50.0}]]'``.
Every entry samples the same objects with the same seeds and prints one row of ``dextog ndpp compare``'s
table (metric figures with 95 % intervals, ms/grasp, network and constraint evaluations per grasp).
"""

from __future__ import annotations

import json
import sys


def main() -> None:
    import torch

    from dextog_gym.grasp_sources.ndpp import compare
    from dextog_gym.objects.catalog import list_objects
    from dextog_gym.objects.spec import CATEGORIES

    torch.set_num_threads(1)
    entries = json.loads(sys.argv[1])
    ids = [i for task in CATEGORIES for i in list_objects(task, "seen")[:2]]
    compare.warm_up(ids, "ndpp")
    for name, options in entries:
        compare.SETTINGS[name] = ("ndpp", dict(options))
        result = compare.run_setting(name, ids, 4)
        print(compare.format_rows([(result, compare.figures(result.grasps))]).splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
