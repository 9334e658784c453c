import sys, time
from dextog_gym.objects.catalog import get_object
from grasp_sources.isf.generate import generate_raw
g, st = generate_raw(get_object(sys.argv[1]), int(sys.argv[2]), 0, max_candidates=int(sys.argv[3]))
print(st)
import numpy as np
print(len(g), g.extras['q1'].mean() if len(g) else 0, np.bincount(g.extras['family'], minlength=2))
g.save(f'/tmp/{sys.argv[1]}_isf.npz')
