"""Workflows: jobs that combine grasp sources, verifiers and evaluation.

The benchmark suite (``suite``), the DiffuTOG data engine (``engine``) and the leaderboard
(``dextog_gym.leaderboard``) sit here, above both the grasp sources and the policies, and below the CLI.
"""
