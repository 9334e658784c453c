"""The leaderboard: submissions (files track) and isolated generators on hidden objects (generator track),
evaluated by one protocol, verified bit for bit, stored and rendered. docs/leaderboard.md describes it."""
