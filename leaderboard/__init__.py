"""Leaderboard submissions, verification, store and rendering (later issues)."""
