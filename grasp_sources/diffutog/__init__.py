"""DiffuTOG: language-conditioned grasp diffusion (specs §3); torch is imported lazily by the modules that need it."""
