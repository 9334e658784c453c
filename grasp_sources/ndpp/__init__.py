"""NDPP-Grasp: DiffuTOG's denoising guided by non-differentiable plausibility constraints (specs §4)."""
