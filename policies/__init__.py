"""PPO training and evaluation of the reference policies (later issues)."""
