"""Initial-pose providers (isf, rule, diffutog, ndpp, file) behind one registry.

A source is any object with ``name`` and ``sample(obj, task, n, rng) -> Grasps``
(``registry.GraspSource``). ``registry.get_source(spec)`` finds one by a saved ``.npz`` path,
a ``"package.module:Class"`` string, or an entry-point name in the group
``dextog_gym.grasp_sources`` (how third-party packages plug in); ``available_sources()`` lists
the names. Submodules are imported lazily so importing this package stays light.
"""
