"""Initial-pose providers (isf, rule, diffutog, ndpp, file) behind one registry.

Filled in by the grasp-source issues; the package exists so the layout of DESIGN.md holds.
"""
